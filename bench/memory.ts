// Issue 7: the webhook server's memory with a cluster of 100 SpiderIPPools holding 50 000 allocated
// addresses. The local control plane runs in this process, the server in its own (so its RSS is its
// own), registered with the control plane. The pools are created through the API, then their records
// written into their status as the pool writer writes them; once the server's informers hold them
// all, admission traffic runs for a while (pool validation and mutation posted to the server, and
// pods created through the control plane, which reserve, and are deleted again), and the server's
// RSS and heap are read after a full GC. Target: RSS ≤ 150 MiB.
// BENCH_MEMORY_SECONDS (60) of traffic at BENCH_MEMORY_RATE (500) requests/s, of which
// BENCH_MEMORY_POD_RATE (20) pods/s; BENCH_HEAP_SNAPSHOT=<file> writes the server's heap at the end.
// The server runs with the node flags and malloc settings the chart deploys it with (server/node-options.ts).
// To find where memory goes: BENCH_SERVER_NODE_FLAGS replaces those flags (empty: none),
// BENCH_SERVER_MALLOC those malloc settings (`NAME=value …`, empty: glibc's defaults),
// BENCH_SERVER_SCRIPT runs another build of bench/webhook-child.ts (e.g. an esbuild bundle).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { PoolRecord } from '../ipam/records.ts'
import { resources } from '../kube/resources.ts'
import { MiB, dotted, firstAddressOf, namespace, rssOf, runTraffic, sleep, startAdmissionCluster, until, type PoolPlan } from './admission-cluster.ts'
import type { Memory } from './webhook-child.ts'
import type { Window } from './traffic-child.ts'

const root = join(import.meta.dirname, '..')
const poolCount = 100
const allocatedIPs = 50_000
const poolSize = 1000
const seconds = Number(process.env.BENCH_MEMORY_SECONDS ?? 60)
const rate = Number(process.env.BENCH_MEMORY_RATE ?? 500)
const podRate = Number(process.env.BENCH_MEMORY_POD_RATE ?? 20)
const heapSnapshot = process.env.BENCH_HEAP_SNAPSHOT ? resolve(process.env.BENCH_HEAP_SNAPSHOT) : undefined
const restSeconds = 30
const target = { rssMiB: 150 }

const began = performance.now()
const progress = (what: string) => console.error(`[${((performance.now() - began) / 1000).toFixed(1)} s] ${what}`)
/** V8's pages kept in its pool after a GC freed them: resident 256 KiB pages beyond those its regular-page spaces hold. */
const pooled = (m: Memory) => {
  const inSpaces = ['new_space', 'old_space', 'trusted_space', 'shared_space', 'shared_trusted_space'].reduce((sum, name) => sum + (m.spaces[name]?.physical ?? 0), 0)
  return m.mappings ? Math.max(0, m.mappings.v8Pages - inSpaces) : undefined
}
/** RSS as file-backed (the node binary, libraries), V8's heap, V8's pool of freed pages, malloc (main heap and thread arenas), and the rest. */
const split = (m: Memory) => {
  if (!m.mappings || m.anonymous === undefined) return undefined
  const kept = pooled(m) ?? 0
  const malloc = m.mappings.brkHeap + m.mappings.mallocArenas
  return { fileBacked: m.rss - m.anonymous, v8Heap: m.v8.totalPhysicalSize, v8Pool: kept, malloc, other: Math.max(0, m.anonymous - m.v8.totalPhysicalSize - kept - malloc) }
}
const splitText = (m: Memory) => {
  const s = split(m)
  return s ? `${MiB(s.fileBacked).toFixed(1)} files + ${MiB(s.v8Heap).toFixed(1)} V8 heap + ${MiB(s.v8Pool).toFixed(1)} V8 pool + ${MiB(s.malloc).toFixed(1)} malloc + ${MiB(s.other).toFixed(1)} other MiB` : 'no /proc here'
}
const mib = (m: Memory) => ({
  splitMiB: ((s) => s && Object.fromEntries(Object.entries(s).map(([k, v]) => [k, MiB(v)])))(split(m)), rssMiB: MiB(m.rss), heapUsedMiB: MiB(m.heapUsed), heapTotalMiB: MiB(m.heapTotal), externalMiB: MiB(m.external), arrayBuffersMiB: MiB(m.arrayBuffers), anonymousMiB: m.anonymous === undefined ? undefined : MiB(m.anonymous), lazyFreeMiB: m.lazyFree === undefined ? undefined : MiB(m.lazyFree), mappingsMiB: m.mappings && { brkHeap: MiB(m.mappings.brkHeap), anonymousMappings: MiB(m.mappings.anonymousMappings), files: MiB(m.mappings.files), mallocArenas: MiB(m.mappings.mallocArenas), largestAnonymous: m.mappings.largestAnonymous.map((x) => `${MiB(x.rss).toFixed(1)} of ${MiB(x.size).toFixed(1)}`) }, v8MallocMiB: MiB(m.v8.mallocedMemory), v8PeakMallocMiB: MiB(m.v8.peakMallocedMemory), v8PhysicalMiB: MiB(m.v8.totalPhysicalSize), spacesMiB: Object.fromEntries(Object.entries(m.spaces).map(([k, v]) => [k, `${MiB(v.used).toFixed(1)} used, ${MiB(v.physical).toFixed(1)} resident of ${MiB(v.committed).toFixed(1)}`])) })

const pools: PoolPlan[] = Array.from({ length: poolCount }, (_, i) => ({ name: `pool-${String(i).padStart(3, '0')}`, octet: 100 + i, size: poolSize }))

/** Reservations as the pod webhook writes them, not yet claimed; expiring in a day, so the collector keeps them for the whole run. */
function recordsOf(pool: PoolPlan, count: number): PoolRecord[] {
  const reservedAt = new Date()
  const expiresAt = new Date(reservedAt.getTime() + 24 * 3600_000)
  const first = firstAddressOf(pool.octet)
  return Array.from({ length: count }, (_, i) => ({
    ip: dotted(first + i),
    pod: `${namespace}/`,
    podUid: '',
    state: 'reserved',
    token: `r-${randomBytes(16).toString('hex')}`,
    nic: 'net1',
    reservedAt: reservedAt.toISOString(),
    expiresAt: expiresAt.toISOString(),
  }))
}

const dir = mkdtempSync(join(tmpdir(), 'bench-memory-'))
const cluster = await startAdmissionCluster(dir)
try {
  const { webhook } = cluster
  const startedWith = `${webhook.flags.join(' ') || 'no node flags'}; ${Object.entries(webhook.environment).map(([k, v]) => `${k}=${v}`).join(' ') || 'no malloc settings'}`
  progress(`server started with ${startedWith}`)
  const idle = await webhook.memory(true)
  progress(`server up, empty cluster: RSS ${MiB(idle.rss).toFixed(1)} MiB; creating ${poolCount} pools`)
  await cluster.createPools(pools)
  const perPool = allocatedIPs / poolCount
  progress(`writing ${perPool} records into each pool`)
  for (const p of pools) await cluster.writeRecords(p.name, recordsOf(p, perPool))
  await until(`the server's caches to hold ${poolCount} pools and ${allocatedIPs} records`, async () => {
    const c = await webhook.cache()
    return c.synced && c.pools === poolCount && c.records === allocatedIPs
  })
  const synced = await webhook.memory(true)
  progress(`synced: RSS ${MiB(synced.rss).toFixed(1)} MiB, heap used ${MiB(synced.heapUsed).toFixed(1)} MiB; traffic for ${seconds} s at ${rate} req/s (${podRate} pods/s)`)

  const trimsBefore = synced.memoryTrims
  let peakRss = rssOf(webhook.pid) ?? 0
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssOf(webhook.pid) ?? 0)), 1000)
  const windows: Window[] = []
  const loadAverage = loadavg()[0]
  try {
    await runTraffic(
      cluster,
      {
        rate,
        podRate,
        podHoldMs: 2000,
        pools: pools.map((p) => p.name),
        reviews: ['ippool-validate', 'ippool-validate-v6', 'ippool-validate-update', 'ippool-mutate'],
        seconds,
        windowSeconds: 10,
        maxInFlight: 2000,
      },
      (w) => {
        windows.push(w)
        progress(`traffic ${w.at.toFixed(0)} s: ${(w.answered / w.seconds).toFixed(0)} answers/s, p99 ${w.p99Ms.toFixed(1)} ms, ${w.pods.created} pods, ${w.denied} denied, ${w.errors} errors, ${w.shed} shed; server RSS ${MiB(rssOf(webhook.pid) ?? 0).toFixed(1)} MiB`)
        for (const e of w.errorSamples) progress(`  ${e}`)
      },
    )
  } finally {
    clearInterval(sampler)
  }
  // the collector gives back what the deleted pods had reserved: the pools are back to the records written
  const settled = await until(
    'the pods gone and their reservations released',
    async () => {
      const c = await webhook.cache()
      const left = (await cluster.api.list(resources.pods, { namespace })).items.length
      return left === 0 && c.records === allocatedIPs && c
    },
    120_000,
    500,
  ).catch((err: Error) => {
    progress(`${err.message}; measuring anyway`)
    return undefined
  })
  // the server gives V8's freed pages back by itself once quiet after a burst (server/memory-trim.ts): what it holds from then on is the figure
  const trimmed = await until('the server to give memory back after the burst', async () => (await webhook.memory(false)).memoryTrims > trimsBefore, 90_000, 500).then(
    () => true,
    (err: Error) => (progress(`${err.message}; measuring anyway`), false),
  )
  const after = await webhook.memory(true)
  // what an idle server gives back (V8's memory reducer, malloc trimming) once the traffic has stopped a while
  await sleep(restSeconds * 1000)
  const rested = await webhook.memory(true)
  const requests = await webhook.requests()
  if (heapSnapshot) progress(`heap snapshot: ${await webhook.heapSnapshot(heapSnapshot)}`)

  const totals = windows.reduce(
    (s, w) => ({ seconds: s.seconds + w.seconds, answered: s.answered + w.answered, pods: s.pods + w.pods.created, denied: s.denied + w.denied, errors: s.errors + w.errors, shed: s.shed + w.shed }),
    { seconds: 0, answered: 0, pods: 0, denied: 0, errors: 0, shed: 0 },
  )
  const met = MiB(after.rss) <= target.rssMiB
  const rows: [string, string][] = [
    ['server started with', startedWith],
    ['load average (1 min) when the traffic began, 2 cores', loadAverage.toFixed(1)],
    ['server RSS / heap used, empty cluster, after GC', `${MiB(idle.rss).toFixed(1)} / ${MiB(idle.heapUsed).toFixed(1)} MiB`],
    [`server RSS / heap used, ${poolCount} pools and ${allocatedIPs} records cached, after GC`, `${MiB(synced.rss).toFixed(1)} / ${MiB(synced.heapUsed).toFixed(1)} MiB`],
    ['traffic: answers/s (pods/s), denied, errors, shed', `${(totals.answered / totals.seconds).toFixed(0)} (${(totals.pods / totals.seconds).toFixed(1)}), ${totals.denied}, ${totals.errors}, ${totals.shed}`],
    ['server RSS peak during the traffic (sampled every second)', `${MiB(peakRss).toFixed(1)} MiB`],
    [`server RSS / heap used after the traffic, once quiet (${trimmed ? `the server trimmed its memory ${after.memoryTrims - trimsBefore} time(s) after the traffic` : 'no trim came'}), after GC`, `${MiB(after.rss).toFixed(1)} / ${MiB(after.heapUsed).toFixed(1)} MiB`],
    ['server RSS after the traffic, split', splitText(after)],
    [`server RSS / heap used after ${restSeconds} s more without traffic, after GC`, `${MiB(rested.rss).toFixed(1)} / ${MiB(rested.heapUsed).toFixed(1)} MiB`],
    ['target: server RSS', `≤ ${target.rssMiB} MiB: ${met ? 'met' : 'NOT met'}`],
  ]
  console.log(`\nbench/memory: ${poolCount} SpiderIPPools, ${allocatedIPs} allocated IPs in their status, ${seconds} s of admission traffic at ${rate} req/s (${podRate} pods/s through the control plane)\n`)
  console.log('| figure | value |')
  console.log('|---|---|')
  for (const [name, value] of rows) console.log(`| ${name} | ${value} |`)
  mkdirSync(join(root, 'bench/results'), { recursive: true })
  writeFileSync(
    join(root, 'bench/results/memory.json'),
    JSON.stringify(
      {
        when: new Date().toISOString(),
        pools: poolCount,
        allocatedIPs,
        server: { nodeFlags: webhook.flags, environment: webhook.environment },
        traffic: { rate, podRate, loadAverage, ...totals, answersPerSecond: totals.answered / totals.seconds, byPath: requests.byPath, byStatus: requests.byStatus, windows },
        target,
        idle: mib(idle),
        synced: mib(synced),
        afterTraffic: mib(after),
        memoryTrims: after.memoryTrims,
        rested: { seconds: restSeconds, ...mib(rested) },
        peakRssMiB: MiB(peakRss),
        settled: settled !== undefined,
        rssMiB: MiB(after.rss),
        heapUsedMiB: MiB(after.heapUsed),
        met,
      },
      null,
      2,
    ),
  )
} finally {
  await cluster.close()
  rmSync(dir, { recursive: true, force: true })
}
