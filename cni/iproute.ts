// iproute2 as the plugins' netlink: reads are one `ip -json -batch -`, writes one `ip -batch -`, run
// inside a network namespace through nsenter; a shell only when sysctls or other programs go with them.
import { runIn, runStreaming } from './netns.ts'
import type { RunResult, Streaming } from './netns.ts'

/** `ip -json link show` */
export interface IpLink {
  ifindex: number
  ifname: string
  flags: string[]
  mtu: number
  address?: string
  /** For a veth: the peer's ifindex (in the peer's namespace); for macvlan/vlan: the parent's. */
  link_index?: number
  link_netnsid?: number
  txqlen?: number
  operstate?: string
  link_type?: string
}

export interface IpAddrInfo {
  family: 'inet' | 'inet6'
  local: string
  prefixlen: number
  scope?: string
  tentative?: boolean
  dadfailed?: boolean
}

/** `ip -json addr show` */
export interface IpLinkAddrs extends IpLink {
  addr_info: IpAddrInfo[]
}

export interface IpNexthop {
  gateway?: string
  dev: string
  weight?: number
  flags?: string[]
}

/** `ip -json route show table all` (both families) */
export interface IpRoute {
  type?: string
  dst: string
  gateway?: string
  dev?: string
  table?: string
  protocol?: string
  scope?: string
  prefsrc?: string
  metric?: number
  mtu?: number
  nexthops?: IpNexthop[]
  flags?: string[]
}

/** `ip -json rule show` */
export interface IpRule {
  priority: number
  src?: string
  srclen?: number
  dst?: string
  dstlen?: number
  fwmark?: string
  table?: string
  not?: null
}

/** `ip -json neigh show` */
export interface IpNeigh {
  dst: string
  dev: string
  lladdr?: string
  state?: string[]
}

export interface Query {
  /** Arguments after `ip -json`, e.g. `route show table all`. */
  args: string
  /** `-4` / `-6`: rules and routes are listed per family. */
  family?: 4 | 6
}

export class IpError extends Error {
  /** What was being done, in words. */
  readonly step: string
  constructor(step: string, message: string) {
    super(`${step}: ${message}`)
    this.name = 'IpError'
    this.step = step
  }
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
const separator = '\x1e'

/** A query as one line of an unspecified-family batch, or undefined when only `ip -4`/`ip -6` can ask it (rules). */
function batchLine(q: Query): string | undefined {
  // `rule show` without a family lists IPv4 rules
  if (!q.family || (q.family === 4 && /^rule (show|list)\b/.test(q.args))) return q.args
  // a route listing takes its family from a `root` prefix; a rule listing has no such selector
  if (/^route (show|list)\b/.test(q.args)) return `${q.args} root ${q.family === 4 ? '0.0.0.0/0' : '::/0'}`
  return undefined
}

/** Each line's stdout JSON or its error, from `ip -json -force -batch -`: successes print one JSON line each, failures "Command failed -:N" on stderr. */
function batchAnswers(lines: string[], r: RunResult, where: string): Array<unknown[] | { error: string }> {
  const failed = new Map<number, string>()
  let pending: string[] = []
  for (const line of r.stderr.split('\n')) {
    const m = /^Command failed \S+:(\d+)$/.exec(line.trim())
    if (m) {
      failed.set(Number(m[1]) - 1, pending.join('\n').trim())
      pending = []
    } else if (line.trim()) pending.push(line.trim())
  }
  // ip exits at once on some errors (a malformed argument), answering nothing after that line
  const fatal = pending.length && r.code !== 0 ? pending.join('; ') : undefined
  const outputs = r.stdout.split('\n').filter((l) => l.trim())
  const answers: Array<unknown[] | { error: string }> = []
  let next = 0
  for (let i = 0; i < lines.length; i++) {
    const error = failed.get(i)
    if (error !== undefined) {
      answers.push({ error: error || `ip ${lines[i]} failed` })
      continue
    }
    const text = outputs[next++]
    if (text === undefined) {
      answers.push({ error: fatal ?? `reading the network state${where} failed: ip printed nothing for ${lines[i]}` })
      continue
    }
    try {
      answers.push(JSON.parse(text) as unknown[])
    } catch {
      answers.push({ error: `ip ${lines[i]} printed no JSON: ${text.slice(0, 200)}` })
    }
  }
  return answers
}

export interface IpRead {
  /** Adds queries; their answers follow those asked before. */
  ask(queries: Query[]): void
  /** Ends the read: every query's parsed JSON, or the error text `ip` printed for it. */
  answers(): Promise<Array<unknown[] | { error: string }>>
}

/**
 * Starts reading with one `ip -json -batch -` in `netns` (here when undefined); more queries can be
 * asked until `answers()`, so a read can start before all its questions are known. Rule listings of
 * one family take one `ip -4`/`ip -6` more, as no batch line can choose the family of a rule listing.
 */
export function startIpRead(netns: string | undefined, queries: Query[] = [], timeoutMs?: number): IpRead {
  const where = netns ? ` of ${netns}` : ''
  const main: string[] = []
  const perFamily: Record<4 | 6, string[]> = { 4: [], 6: [] }
  const slots: Array<{ batch: 'main' | 4 | 6; index: number }> = []
  const batch = runStreaming(netns, ['ip', '-json', '-force', '-batch', '-'], { timeoutMs })
  const add = (qs: Query[]) => {
    for (const q of qs) {
      const line = batchLine(q)
      if (/[\n\r]/.test(q.args)) throw new Error(`an ip query cannot span lines: ${q.args}`)
      if (line !== undefined) {
        slots.push({ batch: 'main', index: main.length })
        main.push(line)
        batch.write(`${line}\n`)
      } else {
        const f = q.family as 4 | 6
        slots.push({ batch: f, index: perFamily[f].length })
        perFamily[f].push(q.args)
      }
    }
  }
  add(queries)
  return {
    ask: add,
    async answers() {
      const families = ([4, 6] as const).filter((f) => perFamily[f].length)
      const [mainResult, ...familyResults] = await Promise.all([
        batch.end(),
        ...families.map((f) => runIn(netns, ['ip', '-json', `-${f}`, '-force', '-batch', '-'], { timeoutMs, input: perFamily[f].map((l) => `${l}\n`).join('') })),
      ])
      const got = { main: batchAnswers(main, mainResult, where), 4: [] as Array<unknown[] | { error: string }>, 6: [] as Array<unknown[] | { error: string }> }
      families.forEach((f, i) => (got[f] = batchAnswers(perFamily[f], familyResults[i], where)))
      return slots.map((s) => got[s.batch][s.index])
    },
  }
}

/** Each query's parsed JSON, or the error text `ip` printed for it. */
export function readIp(netns: string | undefined, queries: Query[], timeoutMs?: number): Promise<Array<unknown[] | { error: string }>> {
  return startIpRead(netns, queries, timeoutMs).answers()
}

/** One change; `label` says in words what it does, for the error message when it fails. */
export type Step =
  /** One line of `ip -batch` (family told by its addresses), or of `ip -6 -batch` with family 6. */
  | { ip: string; family?: 6; label: string; tolerate?: 'exists' | 'missing' }
  /** A sysctl written through /proc/sys, e.g. `net/ipv4/conf/all/rp_filter`. */
  | { sysctl: string; value: string; label: string; ifExists?: boolean }
  /** A program run unless `unless` succeeds (`iptables -C` before `iptables -A`). */
  | { exec: string[]; unless?: string[]; label: string }
  /** An iptables rule (chain first) appended to `table` unless it is there; consecutive ones of a family and table run together. */
  | { iptables: 4 | 6; table: string; rule: string[]; label: string }
  /** The steps after it wait until `waitFor` resolves (a rejection stops them), so that those before can run meanwhile. */
  | { waitFor: Promise<unknown>; label: string }

type WaitStep = Extract<Step, { waitFor: Promise<unknown> }>
const isWait = (s: Step): s is WaitStep => 'waitFor' in s

/** Consecutive ip lines of one family: one `ip -batch -` (tolerant ones too: a failure there resumes after it). */
function ipGroupEnd(steps: Step[], i: number): number {
  const first = steps[i]
  if (!('ip' in first)) return i + 1
  let j = i
  while (j < steps.length) {
    const s = steps[j]
    if (!('ip' in s) || s.family !== first.family) break
    if (/[\n\r]/.test(s.ip)) throw new Error(`an ip command cannot span lines: ${s.ip}`)
    j++
  }
  return j
}

const ipArgv = (family: 6 | undefined) => ['ip', ...(family === 6 ? ['-6'] : []), '-batch', '-']

type IptablesStep = Extract<Step, { iptables: 4 | 6 }>
const isIptables = (s: Step): s is IptablesStep => 'iptables' in s

/** Consecutive iptables rules of one family and table. */
function iptablesGroupEnd(steps: Step[], i: number): number {
  const first = steps[i] as IptablesStep
  let j = i + 1
  while (j < steps.length) {
    const s = steps[j]
    if (!isIptables(s) || s.iptables !== first.iptables || s.table !== first.table) break
    j++
  }
  return j
}

const iptablesBin = (family: 4 | 6) => (family === 6 ? 'ip6tables' : 'iptables')
const iptablesCheck = (s: IptablesStep) => [iptablesBin(s.iptables), '-w', '5', '-t', s.table, '-C', ...s.rule]
const iptablesAppend = (s: IptablesStep) => [iptablesBin(s.iptables), '-w', '5', '-t', s.table, '-A', ...s.rule]
/** iptables-restore reads whitespace-separated words and its own quotes: rules made of other words stay one call each. */
const restorable = (s: IptablesStep) => [s.table, ...s.rule].every((w) => /^[A-Za-z0-9_./:-]+$/.test(w))

/**
 * Shell lines that append each rule unless it is there. A table without any rule yet (a new pod)
 * gets all of them from one `iptables-restore --noflush` in place of a check and an append per rule.
 */
function renderIptables(group: IptablesStep[]): string[] {
  const oneByOne = group.map((s) => `${iptablesCheck(s).map(quote).join(' ')} >/dev/null 2>&1 || ${iptablesAppend(s).map(quote).join(' ')}`)
  if (!group.every(restorable)) return oneByOne
  const bin = iptablesBin(group[0].iptables)
  const input = [`*${group[0].table}`, ...group.map((s) => `-A ${s.rule.join(' ')}`), 'COMMIT'].map(quote).join(' ')
  return [
    `rules=$(${bin}-save -t ${quote(group[0].table)} 2>/dev/null) || rules='-A ?'`,
    `case "$rules" in *'-A '*)`,
    ...oneByOne,
    ';;',
    `*) printf '%s\\n' ${input} | ${bin}-restore --wait=5 --noflush ;;`,
    'esac',
  ]
}

function sysctlFile(name: string): string {
  if (!/^[A-Za-z0-9_./-]+$/.test(name) || name.includes('..')) throw new Error(`not a sysctl name: ${name}`)
  return `/proc/sys/${name}`
}

/** The shell lines of the step at `i` (and of those that run with it), and where the next step starts. */
function stepLines(steps: Step[], i: number): { lines: string[]; next: number } {
  const step = steps[i]
  const lines = [`printf '@@%d\\n' ${i} >&2`]
  if ('ip' in step) {
    const j = ipGroupEnd(steps, i)
    lines.push(`${ipArgv(step.family).join(' ')} <<'@@EOF'`, ...steps.slice(i, j).map((s) => (s as { ip: string }).ip), '@@EOF')
    return { lines, next: j }
  }
  if (isIptables(step)) {
    const j = iptablesGroupEnd(steps, i)
    lines.push(...renderIptables(steps.slice(i, j) as IptablesStep[]))
    return { lines, next: j }
  }
  if ('sysctl' in step) {
    const file = quote(sysctlFile(step.sysctl))
    const write = `printf '%s\\n' ${quote(step.value)} > ${file}`
    lines.push(step.ifExists ? `if [ -e ${file} ]; then ${write}; fi` : write)
  } else if ('exec' in step) {
    const cmd = step.exec.map(quote).join(' ')
    lines.push(step.unless ? `${step.unless.map(quote).join(' ')} >/dev/null 2>&1 || ${cmd}` : cmd)
  }
  return { lines, next: i + 1 }
}

/**
 * The script of a shell that reads it from stdin, in pieces split where the steps wait: each piece
 * is written once the waits before it resolved, and runs as one group whose stdin is not the script.
 */
function renderPieces(steps: Step[]): string[] {
  const pieces: string[][] = [[]]
  for (let i = 0; i < steps.length; ) {
    if (isWait(steps[i])) {
      pieces.push([])
      i++
      continue
    }
    const { lines, next } = stepLines(steps, i)
    pieces.at(-1)!.push(...lines)
    i = next
  }
  const texts = pieces.map((lines) => (lines.length ? `{\n${lines.join('\n')}\n} </dev/null\n` : ''))
  texts[0] = `set -e\n${texts[0]}`
  return texts
}

const render = (steps: Step[]) => renderPieces(steps).join('')

/** A program started before its work is known, so that its start-up overlaps other work; it serves one use. */
export interface Standby {
  take(): Streaming | undefined
  /** Ends the program if nothing took it. */
  close(): void
}

function standby(netns: string | undefined, argv: string[]): Standby {
  let waiting: Streaming | undefined = runStreaming(netns, argv)
  return {
    take() {
      const program = waiting
      waiting = undefined
      return program
    },
    close() {
      void waiting?.end().catch(() => {})
      waiting = undefined
    },
  }
}

/** `ip -batch -` here, for the first ip lines without a family that applySteps runs here. */
export const standbyIp = (): Standby => standby(undefined, ['ip', '-batch', '-'])

/** A shell in `netns` that reads its script from stdin, for the next applySteps there. */
export const standbyShell = (netns: string): Standby => standby(netns, ['sh', '-s'])

export interface ApplyOptions {
  timeoutMs?: number
  /** started by standbyIp */
  ip?: Standby
  /** started by standbyShell in the namespace of the steps */
  shell?: Standby
}

interface Failure {
  /** index of the step that failed */
  index: number
  message: string
}

/** Where in an `ip -batch` group its stderr says it stopped, and what it printed. */
function ipFailure(groupStart: number, text: string, code: number | null): Failure {
  const failedLine = /Command failed \S+:(\d+)/.exec(text)
  const message = text
    .replace(/Command failed \S+:\d+\s*/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ')
  return { index: groupStart + (failedLine ? Number(failedLine[1]) - 1 : 0), message: message || `exit code ${code}` }
}

/** Runs the steps with one program per ip group, sysctls written here: where no shell is needed. */
async function applyDirect(netns: string | undefined, steps: Step[], o: ApplyOptions): Promise<Failure | undefined> {
  const { timeoutMs } = o
  const fs = process.getBuiltinModule('node:fs')
  for (let i = 0; i < steps.length; ) {
    const step = steps[i]
    if ('ip' in step) {
      const j = ipGroupEnd(steps, i)
      const input = steps.slice(i, j).map((s) => `${(s as { ip: string }).ip}\n`).join('')
      const ready = netns === undefined && step.family === undefined ? o.ip?.take() : undefined
      if (ready) ready.write(input)
      const r = await (ready ? ready.end() : runIn(netns, ipArgv(step.family), { timeoutMs, input }))
      if (r.code !== 0) return ipFailure(i, r.stderr || r.stdout, r.code)
      i = j
      continue
    }
    if (isWait(step)) {
      try {
        await step.waitFor
      } catch (err) {
        return { index: i, message: (err as Error).message }
      }
    } else if ('sysctl' in step) {
      const file = sysctlFile(step.sysctl)
      try {
        if (!step.ifExists || fs.existsSync(file)) fs.writeFileSync(file, `${step.value}\n`)
      } catch (err) {
        return { index: i, message: (err as Error).message }
      }
    } else {
      const [exec, unless] = isIptables(step) ? [iptablesAppend(step), iptablesCheck(step)] : [step.exec, step.unless]
      const guard = unless ? await runIn(undefined, unless, { timeoutMs }) : undefined
      if (guard?.code !== 0) {
        const r = await runIn(undefined, exec, { timeoutMs })
        if (r.code !== 0) return { index: i, message: (r.stderr || r.stdout).trim() || `exit code ${r.code}` }
      }
    }
    i++
  }
  return undefined
}

/** Runs the steps in one shell inside `netns`, writing its script piece by piece as the waits resolve. */
async function applyInShell(netns: string | undefined, steps: Step[], o: ApplyOptions): Promise<Failure | undefined> {
  const shell = o.shell?.take() ?? runStreaming(netns, ['sh', '-s'], { timeoutMs: o.timeoutMs })
  const [first, ...rest] = renderPieces(steps)
  shell.write(first)
  const waits = steps.flatMap((s, i) => (isWait(s) ? [{ i, waitFor: s.waitFor }] : []))
  let stopped: Failure | undefined
  for (const [k, w] of waits.entries()) {
    try {
      await w.waitFor
    } catch (err) {
      stopped = { index: w.i, message: (err as Error).message }
      break
    }
    shell.write(rest[k])
  }
  const r = await shell.end()
  if (r.code === 0) return stopped
  // stderr: "@@<first step of the group>" markers, then what failed; `ip -batch` adds "Command failed -:<line>".
  const text = r.stderr
  const markers = [...text.matchAll(/^@@(\d+)$/gm)]
  const last = markers.at(-1)
  const group = last ? Number(last[1]) : 0
  const after = last ? text.slice((last.index ?? 0) + last[0].length) : text
  return ipFailure(group, after, r.code)
}

const tolerated = { exists: /File exists/, missing: /Cannot find device|No such process|No such file or directory/ }

/**
 * Applies the steps in order inside `netns` (here when undefined); stops at the first failure but
 * for tolerant steps, whose "already there" / "already gone" lets the rest go on. Here, or when the
 * steps are ip lines and waits, no shell runs; in a namespace with sysctls or programs, one shell does.
 */
export async function applySteps(netns: string | undefined, steps: Step[], o: ApplyOptions = {}): Promise<void> {
  for (let from = 0; from < steps.length; ) {
    const rest = steps.slice(from)
    const changes = rest.filter((s) => !isWait(s))
    // a shell already started costs less than a program started now
    const direct = netns === undefined || !changes.length || (!o.shell && changes.every((s) => 'ip' in s) && ipGroupEnd(changes, 0) === changes.length)
    const failure = await (direct ? applyDirect(netns, rest, o) : applyInShell(netns, rest, o))
    if (!failure) return
    const index = from + failure.index
    const step = steps[index]
    if (step && 'ip' in step && step.tolerate && tolerated[step.tolerate].test(failure.message)) {
      from = index + 1
      continue
    }
    throw new IpError(step?.label ?? 'applying network changes', failure.message)
  }
}

export { render as renderSteps }
