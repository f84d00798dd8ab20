// The fault matrix: each fault test records its rows, and bench/results/faults.md is rewritten with
// them in place of that family's earlier rows (the test files run in parallel: a lock directory
// keeps their rewrites apart). The table is printed as the test's comment too.
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import type { InvariantReport } from './invariants.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const matrixFile = path.join(root, 'bench/results/faults.md')

/** The families in the order the table lists them. */
const families = ['conflict storm', 'API outage', 'webhook replica killed', 'CNI ADD retried', 'CNI DEL', 'node deleted', 'server restarted mid-GC']

export interface FaultRow {
  family: string
  fault: string
  runs: number
  ipsChecked: number
  duplicates: number
  leaks: number
  counters: number
}

const header = [
  '# Fault matrix',
  '',
  'Written by `npx tap test/faults/`: the whole path (webhook reservation → `spiderpool` IPAM claim and release) under each fault,',
  'then the invariants of `test/faults/invariants.ts` once the collector has caught up. *IPs checked*: every address of every pool,',
  'summed over the checks. *Duplicates*: an address two live pods hold, or one a live pod holds that its pool records for',
  'someone else or not at all. *Leaks*: a record of a gone or finished pod, or a reservation no pod carries past its',
  'expiry. *Counter errors*: `allocatedIPCount` / `totalIPCount` not what the records and the spec say.',
  '',
  '| family | fault | runs | IPs checked | duplicates | leaks | counter errors |',
  '|---|---|---:|---:|---:|---:|---:|',
]

const rowLine = (r: FaultRow) => `| ${r.family} | ${r.fault} | ${r.runs} | ${r.ipsChecked} | ${r.duplicates} | ${r.leaks} | ${r.counters} |`

function parseRows(text: string): FaultRow[] {
  const rows: FaultRow[] = []
  for (const line of text.split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim())
    if (cells.length !== 7 || !families.includes(cells[0])) continue
    const [family, fault, runs, ipsChecked, duplicates, leaks, counters] = cells
    rows.push({ family, fault, runs: Number(runs), ipsChecked: Number(ipsChecked), duplicates: Number(duplicates), leaks: Number(leaks), counters: Number(counters) })
  }
  return rows
}

async function withLock<T>(work: () => T): Promise<T> {
  const lock = `${matrixFile}.lock`
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock)
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      // a run that died holding the lock: after 5 s it is taken over
      if (i > 200) rmdirSync(lock)
      else await new Promise((r) => setTimeout(r, 25))
    }
  }
  try {
    return work()
  } finally {
    rmdirSync(lock)
  }
}

/** Replaces the family's rows in the matrix file; returns the whole table. */
export async function writeRows(family: string, rows: FaultRow[]): Promise<string> {
  return withLock(() => {
    let existing: FaultRow[] = []
    try {
      existing = parseRows(readFileSync(matrixFile, 'utf8'))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    const all = [...existing.filter((r) => r.family !== family), ...rows].sort((a, b) => families.indexOf(a.family) - families.indexOf(b.family))
    const text = [...header, ...all.map(rowLine), ''].join('\n')
    mkdirSync(path.dirname(matrixFile), { recursive: true })
    writeFileSync(matrixFile, text)
    return text
  })
}

/** Collects one family's rows over its subtests; `write` puts them in the matrix file and prints the table. */
export function faultMatrix(t: Test, family: string) {
  if (!families.includes(family)) throw new Error(`unknown fault family ${family}`)
  const rows = new Map<string, FaultRow>()
  return {
    async write() {
      const table = await writeRows(family, [...rows.values()])
      t.comment(`\n${table}`)
    },
    /** Adds the reports of one run of the fault to its row. */
    record(fault: string, ...reports: InvariantReport[]) {
      const row = rows.get(fault) ?? { family, fault, runs: 0, ipsChecked: 0, duplicates: 0, leaks: 0, counters: 0 }
      row.runs++
      for (const r of reports) {
        row.ipsChecked += r.ipsChecked
        row.duplicates += r.duplicates.length
        row.leaks += r.leaks.length
        row.counters += r.counters.length
      }
      rows.set(fault, row)
    },
  }
}

/** The three invariants as assertions, each listing what broke it. */
export function assertInvariants(t: Test, report: InvariantReport, when: string): void {
  t.strictSame(report.duplicates, [], `${when}: no address handed out twice`)
  t.strictSame(report.leaks, [], `${when}: no address lost (each is free, reserved or held by a live pod)`)
  t.strictSame(report.counters, [], `${when}: allocatedIPCount and totalIPCount exact`)
}
