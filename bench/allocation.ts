// Issue 4: a thousand pods created at once take a thousand addresses of one pool. The local control
// plane (2 ms added to every write) calls two webhook replicas, each in its own process, through a
// TCP round-robin; the pods are created with the lean store, then each pod's CNI ADD runs the plugin's
// own sequence (GET the pod, write its SpiderEndpoint, whose webhook claims the reservation through the
// replica's batched pool writer), then the pods are deleted and the leader's collector must give every
// address back.
//
// Prints seconds to reserve and to claim, against two baselines of the same burst in the same run
// (pods no webhook is asked about; pods the pod webhook is asked about but that reserve nothing), pool
// writes per address (counted by the replicas' pool writers and, independently, by a watch on the
// pool's resourceVersion), conflicts retried, and the checks: no address twice, every ADD answered with
// its reserved address and the record claimed by its pod, the next pod refused as exhausted, nothing
// left after the deletes.
// BENCH_ROUNDS (3) fresh set-ups are run; BENCH_PODS (1000) pods and addresses; BENCH_CONCURRENCY
// (0: all at once) caps the creates and deletes in flight, BENCH_CLAIM_CONCURRENCY (0) the claims;
// BENCH_CLAIM_SECONDS (30) is the claims' budget; BENCH_CPU_PROF=<dir> profiles the replicas.
import { fork, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startControlPlane, type ControlPlane } from '../kube/controlplane/index.ts'
import { loadKubeconfig } from '../kube/kubeconfig.ts'
import { createTransport } from '../kube/transport.ts'
import { createStore, type Store } from '../kube/store.ts'
import { resources } from '../kube/resources.ts'
import { ApiError } from '../kube/errors.ts'
import { parseRecords, type PoolRecord } from '../ipam/records.ts'
import { decodeReservation, reservationAnnotation } from '../ipam/reservation.ts'
import { webhookConfigurations } from '../server/webhook-configurations.ts'
import { allKinds } from '../webhooks/registry.ts'
import { defaultSettings } from '../webhooks/settings.ts'
import { claimAll } from './cni-claims.ts'
import { sleep, until } from './wait.ts'
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin-proxy.ts'
import type { ReplicaMessage, ReplicaQuery, ReplicaState } from './allocation-replica.ts'

const root = join(import.meta.dirname, '..')
const pods = Number(process.env.BENCH_PODS ?? 1000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 0)
const claimConcurrency = Number(process.env.BENCH_CLAIM_CONCURRENCY ?? 0)
const claimBudgetSeconds = Number(process.env.BENCH_CLAIM_SECONDS ?? 30)
const kubeletRetryMs = 1000
const socketsPerClient = 250
const cpuProfDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined
const writeLatencyMs = 2
const target = { seconds: 5, writesPerIP: 1.2 }

const namespace = 'bench'
const nadName = 'macvlan'
const poolName = 'bench-pool'

// ---- the objects ----

const dotted = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')
const firstAddress = (10 << 24) | (50 << 16) | (1 << 8)

const pool = {
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderIPPool',
  metadata: { name: poolName },
  spec: { subnet: '10.50.0.0/16', ips: [`${dotted(firstAddress)}-${dotted(firstAddress + pods - 1)}`] },
}

/** macvlan asking the spiderpool IPAM, no coordinator: its readiness check needs a cluster's subnets. */
const nad = {
  apiVersion: 'k8s.cni.cncf.io/v1',
  kind: 'NetworkAttachmentDefinition' as const,
  metadata: { name: nadName, namespace },
  spec: {
    config: JSON.stringify({
      cniVersion: '0.3.1',
      name: nadName,
      plugins: [{ type: 'macvlan', master: 'eth0', mode: 'bridge', ipam: { type: 'spiderpool', default_ipv4_ippool: [poolName] } }],
    }),
  },
}

/** A pod of the bench; without `networks` it asks nothing of our IPAM (the baselines). */
const podObject = (ns = namespace, networks = true) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'bench-', namespace: ns, annotations: networks ? { 'k8s.v1.cni.cncf.io/networks': nadName } : {} },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
})

// ---- helpers ----

const began = performance.now()
const progress = (what: string) => console.error(`[${((performance.now() - began) / 1000).toFixed(1)} s] ${what}`)
const seconds = (fromMs: number) => (performance.now() - fromMs) / 1000


/** Runs fn(0..n-1) with at most `limit` in flight (0: all at once); results in order. */
async function inParallel<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n)
  let next = 0
  const worker = async () => {
    while (next < n) {
      const i = next++
      out[i] = await fn(i)
    }
  }
  await Promise.all(Array.from({ length: limit > 0 ? Math.min(limit, n) : n }, worker))
  return out
}

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

// ---- the replicas ----

interface Replica {
  name: string
  url: string
  caPem: string
  child: ChildProcess
  state(resetAdmissions?: boolean): Promise<ReplicaState>
  close(): Promise<void>
}

async function startReplica(name: string, kubeconfig: string, tlsDir: string): Promise<Replica> {
  const profile = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=replica-${name}-${Date.now()}.cpuprofile`] : []
  const child = fork(join(root, 'bench/allocation-replica.ts'), [kubeconfig, tlsDir], { execPath: process.execPath, execArgv: profile, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const waiting: ((s: ReplicaState) => void)[] = []
  const ready = new Promise<{ url: string; caPem: string }>((resolve, reject) => {
    child.on('message', (m: ReplicaMessage) => {
      if (m.type === 'ready') resolve(m)
      else waiting.shift()?.(m)
    })
    child.once('exit', (code) => reject(new Error(`replica ${name} exited with ${code} before it was ready`)))
  })
  const { url, caPem } = await ready
  const query: ReplicaQuery = { type: 'state', pool: poolName, namespace, nad: `${namespace}/${nadName}` }
  return {
    name,
    url,
    caPem,
    child,
    state: (resetAdmissions = false) =>
      new Promise((resolve) => {
        waiting.push(resolve)
        child.send({ ...query, resetAdmissions })
      }),
    close: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.send({ type: 'close' })
      await Promise.race([exited, sleep(10_000)])
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
}

// ---- counting the pool's writes where they land: its resourceVersion on a watch ----

function watchPoolWrites(store: Store, fromVersion: string) {
  const stop = new AbortController()
  let writes = 0
  let seen = BigInt(fromVersion)
  const running = (async () => {
    for await (const e of store.watch(resources.ippools, { resourceVersion: fromVersion, metadataOnly: true, timeoutSeconds: 3600, signal: stop.signal })) {
      if (e.type === 'MODIFIED' && e.object.metadata?.name === poolName) writes++
      const rv = e.object.metadata?.resourceVersion
      if (rv && BigInt(rv) > seen) seen = BigInt(rv)
    }
  })().catch((err) => {
    if (!stop.signal.aborted) console.error('the pool watch failed:', err)
  })
  return {
    writes: () => writes,
    /** waits until the watch has seen the pool at least at this version */
    caughtUp: (rv: string) => until('the pool watch to catch up', () => seen >= BigInt(rv), 30_000, 50),
    stop: async () => {
      stop.abort()
      await running
    },
  }
}

// ---- one round ----

interface WriterTotals {
  writes: number
  conflicts: number
  batches: number
}

const sumStats = (states: ReplicaState[]): WriterTotals =>
  states.reduce((s, x) => ({ writes: s.writes + x.stats.writes, conflicts: s.conflicts + x.stats.conflicts, batches: s.batches + x.stats.batches }), { writes: 0, conflicts: 0, batches: 0 })
const minus = (a: WriterTotals, b: WriterTotals): WriterTotals => ({ writes: a.writes - b.writes, conflicts: a.conflicts - b.conflicts, batches: a.batches - b.batches })

function recordsOf(p: { status?: unknown }): PoolRecord[] {
  const parsed = parseRecords((p.status as { allocatedIPs?: string } | undefined)?.allocatedIPs)
  if (parsed.error !== undefined) throw new Error(`${poolName}: ${parsed.error}`)
  return parsed.records
}

async function round(n: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-allocation-'))
  let cp: ControlPlane | undefined
  let proxy: RoundRobinProxy | undefined
  const replicas: Replica[] = []
  let clients: Store[] = []
  let watch: ReturnType<typeof watchPoolWrites> | undefined
  try {
    cp = await startControlPlane({ dataDir: join(dir, 'control-plane') })
    const tlsDir = join(dir, 'webhook-tls')
    // one after the other: the first writes the serving certificate and CA, the second loads them
    replicas.push(await startReplica('a', cp.kubeconfigPath, tlsDir))
    replicas.push(await startReplica('b', cp.kubeconfigPath, tlsDir))
    proxy = await startRoundRobinProxy(replicas.map((r) => ({ host: new URL(r.url).hostname, port: Number(new URL(r.url).port) })))
    // a keep-alive agent keeps at most 256 idle sockets: enough clients that every request in flight has a warm one
    const connection = await loadKubeconfig(cp.kubeconfigPath)
    const inFlight = Math.max(concurrency || pods, claimConcurrency || pods)
    clients = Array.from({ length: Math.ceil(inFlight / socketsPerClient) }, () => createStore(createTransport(connection, { timeoutMs: 120_000, userAgent: 'bench-allocation' })))
    const api = clients[0]
    const clientOf = (i: number) => clients[i % clients.length]
    const settings = defaultSettings()
    const configs = webhookConfigurations(allKinds, { url: `https://${proxy.address}` }, replicas[0].caPem, settings.excludedNamespaces)
    await api.create(resources.mutatingWebhookConfigurations, configs.mutating)
    await api.create(resources.validatingWebhookConfigurations, configs.validating)
    await api.create(resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } })
    await api.create(resources.networkAttachmentDefinitions, nad)
    await api.create(resources.ippools, pool as never)
    // both caches hold everything and the leader's pool controller has counted the pool
    await until('both replicas to cache the namespace, the NAD and the counted pool, and one to lead', async () => {
      const states = await Promise.all(replicas.map((r) => r.state()))
      return states.every((s) => s.synced && s.namespace && s.nad && s.pool?.totalIPCount === pods && s.pool.allocatedIPCount === 0) && states.filter((s) => s.leader).length === 1
    }, 30_000, 50)
    const settled = await api.get(resources.ippools, poolName)
    const startVersion = settled.metadata!.resourceVersion!
    const poolWatch = watchPoolWrites(api, startVersion)
    watch = poolWatch
    // warm-up outside the measure: the clients' keep-alive sockets to the control plane
    // (one client at a time: a thousand connections at once would overflow the control plane's accept queue)
    for (const c of clients) await inParallel(socketsPerClient, 0, () => c.get(resources.namespaces, namespace))
    // baselines in the same run, same burst and write latency: the control plane creating pods that no
    // webhook is asked about (an excluded namespace), then pods the pod webhook is asked about but that
    // use no pool of ours; each set deleted again before the measure
    const baseline = async (label: string, ns: string, networks: boolean) => {
      progress(`baseline: ${label}`)
      cp!.faults.writeLatencyMs = writeLatencyMs
      const t0 = performance.now()
      const made = await inParallel(pods, concurrency, (i) => clientOf(i).create(resources.pods, podObject(ns, networks) as never))
      const took = seconds(t0)
      cp!.faults.writeLatencyMs = 0
      if (made.some((p) => p.metadata?.annotations?.[reservationAnnotation] !== undefined)) throw new Error(`baseline ${label}: a pod got a reservation`)
      await inParallel(pods, concurrency, (i) => clientOf(i).delete(resources.pods, made[i].metadata!.name!, { namespace: ns }))
      return took
    }
    // the first burst of webhook calls also warms the replicas (JIT, TLS): not measured
    await baseline('warm-up', namespace, false)
    const noWebhookSeconds = await baseline('no webhook', 'kube-system', false)
    const webhookOnlySeconds = await baseline('webhook, nothing to reserve', namespace, false)

    const connectionsBefore = [...proxy.connections]
    const statsBefore = sumStats(await Promise.all(replicas.map((r) => r.state(true))))

    progress('set up; creating the pods')
    // -- reservation: every pod created at once, each create answered once its addresses are reserved
    cp.faults.writeLatencyMs = writeLatencyMs
    const latencies: number[] = []
    // other work on the machine moves every figure: the 1-minute load average when the measure began
    const loadAverage = loadavg()[0]
    const reserveStartEpoch = Date.now()
    const reserveStart = performance.now()
    const created = await inParallel(pods, concurrency, async (i) => {
      const t0 = performance.now()
      const pod = await clientOf(i).create(resources.pods, podObject() as never)
      latencies.push(performance.now() - t0)
      return pod as { metadata: { name: string; uid: string; annotations?: Record<string, string> } }
    })
    const reserveSeconds = seconds(reserveStart)
    const afterReserve = await Promise.all(replicas.map((r) => r.state()))
    const writer = minus(sumStats(afterReserve), statsBefore)
    const reservedPool = await api.get(resources.ippools, poolName)
    await poolWatch.caughtUp(reservedPool.metadata!.resourceVersion!)
    const reserveWrites = poolWatch.writes()
    const admissions = proxy.connections.map((c, i) => c - connectionsBefore[i])

    // duplicates: every pod's annotation names its own address, and the pool has one record per pod with that pod's token
    const reservations = created.map((p) => {
      const decoded = decodeReservation(p.metadata.annotations?.[reservationAnnotation])
      if (decoded.error !== undefined) throw new Error(`pod ${p.metadata.name}: ${decoded.error}`)
      const nic = decoded.reservation.ips[0]
      return { pod: p, token: decoded.reservation.token, nic: nic.interface, pool: nic.ipv4Pool!, address: nic.ipv4!.split('/')[0] }
    })
    const reservedRecords = recordsOf(reservedPool)
    const stored = await api.list(resources.pods, { namespace })
    const storedAddresses = stored.items.map((p) => decodeReservation(p.metadata?.annotations?.[reservationAnnotation]).reservation?.ips[0]?.ipv4?.split('/')[0])
    const byIP = new Map(reservedRecords.map((r) => [r.ip, r]))
    const duplicates = {
      podsSharingAnAddress: pods - new Set(reservations.map((r) => r.address)).size,
      storedPodsSharingAnAddress: stored.items.length - new Set(storedAddresses).size,
      addressesWithTwoRecords: reservedRecords.length - byIP.size,
      tokensWithTwoRecords: reservedRecords.length - new Set(reservedRecords.map((r) => r.token)).size,
      recordsNotMatchingTheirPod: reservations.filter((r) => byIP.get(r.address)?.token !== r.token || byIP.get(r.address)?.state !== 'reserved').length,
      recordsWithoutAPod: reservedRecords.length - pods,
    }
    const allocatedAfterReserve = (reservedPool.status as { allocatedIPCount?: number }).allocatedIPCount

    progress('reserved; claiming')
    // -- claim: the plugin's own ADD per pod: GET the pod, write its SpiderEndpoint (claimed at admission)
    const claimWritesBefore = poolWatch.writes()
    const claim = await claimAll(
      clients,
      reservations.map((r) => ({ namespace, name: r.pod.metadata.name, uid: r.pod.metadata.uid, pool: r.pool, nic: r.nic })),
      (i) => reservations[i].address,
      { concurrency: claimConcurrency, budgetMs: claimBudgetSeconds * 1000, retryPauseMs: kubeletRetryMs },
    )
    const claimedPool = await api.get(resources.ippools, poolName)
    await poolWatch.caughtUp(claimedPool.metadata!.resourceVersion!)
    const claimWrites = poolWatch.writes() - claimWritesBefore
    const claimWriter = minus(sumStats(await Promise.all(replicas.map((r) => r.state()))), sumStats(afterReserve))
    const claimedRecords = recordsOf(claimedPool)
    const claimedByIP = new Map(claimedRecords.map((r) => [r.ip, r]))
    const notClaimed = reservations.filter((r) => {
      const rec = claimedByIP.get(r.address)
      return rec?.state !== 'claimed' || rec.podUid !== r.pod.metadata.uid || rec.pod !== `${namespace}/${r.pod.metadata.name}`
    }).length

    // a claim storm leaves the control plane a backlog and can cost the leader its lease; the release
    // measured below needs both settled: prompt answers and one leader, three checks in a row
    const termsBeforeClaims = afterReserve.reduce((n, s) => n + s.terms, 0)
    let calm = 0
    const afterClaims = await until(
      'the control plane to answer promptly and one replica to lead',
      async () => {
        const t0 = performance.now()
        await api.get(resources.namespaces, namespace)
        const prompt = performance.now() - t0 < 100
        const states = await Promise.all(replicas.map((r) => r.state()))
        calm = prompt && states.filter((s) => s.leader).length === 1 ? calm + 1 : 0
        return calm >= 3 && { terms: states.reduce((n, s) => n + s.terms, 0) }
      },
      180_000,
      500,
    )
    progress('claimed; the next pod')
    // -- the next pod: refused, the pool named as exhausted
    let refusal = ''
    try {
      await api.create(resources.pods, podObject() as never)
      refusal = '(created: not refused)'
    } catch (err) {
      refusal = err instanceof ApiError ? err.message : String(err)
    }
    const exhaustedRefused = /IPPool bench-pool is exhausted: \d+\/\d+ addresses in use/.test(refusal)

    progress('deleting')
    // -- deletes: the leader's collector releases the records of the deleted pods
    const releaseWritesBefore = poolWatch.writes()
    const statesBeforeRelease = await Promise.all(replicas.map((r) => r.state()))
    const statsBeforeRelease = sumStats(statesBeforeRelease)
    const releaseStart = performance.now()
    await inParallel(pods, concurrency, (i) => clientOf(i).delete(resources.pods, created[i].metadata.name, { namespace }))
    const deleteSeconds = seconds(releaseStart)
    const emptied = await until(
      'every record released and allocatedIPCount 0',
      async () => {
        const p = await api.get(resources.ippools, poolName)
        return recordsOf(p).length === 0 && (p.status as { allocatedIPCount?: number }).allocatedIPCount === 0 && p
      },
      120_000,
      100,
    )
    const releaseSeconds = seconds(releaseStart)
    cp.faults.writeLatencyMs = 0
    await poolWatch.caughtUp(emptied.metadata!.resourceVersion!)
    const releaseWrites = poolWatch.writes() - releaseWritesBefore
    const leftPods = (await api.list(resources.pods, { namespace })).items.length
    const finalStates = await Promise.all(replicas.map((r) => r.state()))

    return {
      round: n,
      loadAverage,
      baselines: { noWebhookSeconds, webhookOnlySeconds },
      reserve: {
        seconds: reserveSeconds,
        createP50Ms: percentile(latencies, 50),
        createP99Ms: percentile(latencies, 99),
        poolWrites: reserveWrites,
        poolWritesPerIP: reserveWrites / pods,
        writer,
        writerWritesPerIP: writer.writes / pods,
        meanBatch: pods / Math.max(1, writer.batches),
        admissionsPerReplica: admissions,
        // where a create's time went: the replicas' own time per admission, and when admissions arrived there
        replicaAdmission: afterReserve.map((s) => ({
          count: s.admissions.count,
          p50Ms: s.admissions.p50Ms,
          p99Ms: s.admissions.p99Ms,
          firstArrivalSeconds: (s.admissions.firstArrival - reserveStartEpoch) / 1000,
          lastAnswerSeconds: (s.admissions.lastAnswer - reserveStartEpoch) / 1000,
        })),
        allocatedIPCount: allocatedAfterReserve,
      },
      claim: { ...claim, poolWrites: claimWrites, writer: claimWriter, notClaimed, leaderTerms: afterClaims.terms - termsBeforeClaims },
      totalSeconds: reserveSeconds + claim.seconds,
      release: {
        deleteSeconds,
        seconds: releaseSeconds,
        poolWrites: releaseWrites,
        writer: minus(sumStats(finalStates), statsBeforeRelease),
        // a term begun after the deletes: that collector never saw them, and waits for the reservations' TTL
        leaderTerms: finalStates.reduce((n, s, i) => n + s.terms - statesBeforeRelease[i].terms, 0),
        podsLeft: leftPods,
        recordsLeft: recordsOf(emptied).length,
      },
      duplicates,
      exhaustion: { refused: exhaustedRefused, message: refusal },
      leaders: finalStates.map((s, i) => ({ replica: replicas[i].name, leader: s.leader, writer: s.stats })),
    }
  } finally {
    if (cp) cp.faults.writeLatencyMs = 0
    await watch?.stop()
    for (const c of clients) c.transport.close()
    await proxy?.close()
    for (const r of replicas) await r.close()
    await cp?.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---- the runs ----

type Round = Awaited<ReturnType<typeof round>>
const runs: Round[] = []
if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true })
for (let i = 1; i <= rounds; i++) {
  const r = await round(i)
  runs.push(r)
  const dup = Object.values(r.duplicates).reduce((a, b) => a + b, 0)
  console.log(
    `round ${i}: reserved in ${r.reserve.seconds.toFixed(2)} s (${r.reserve.poolWrites} pool writes, ${r.reserve.writer.conflicts} conflicts), ` +
      `claimed in ${r.claim.seconds.toFixed(2)} s (${r.claim.endpointWrites} endpoint writes, ${r.claim.poolWrites} pool writes, ${r.claim.conflicts} conflicts, ${r.claim.cniRetries} CNI retries), ` +
      `released in ${r.release.seconds.toFixed(2)} s; duplicates ${dup}, leaks ${r.release.recordsLeft}`,
  )
}

const f2 = (x: number) => x.toFixed(2)
const rows: [string, (r: Round) => string, string][] = [
  ['load average (1 min) at the start, 2 cores', (r) => r.loadAverage.toFixed(1), ''],
  ['baseline: seconds to create the pods, no webhook asked', (r) => f2(r.baselines.noWebhookSeconds), ''],
  ['baseline: seconds to create the pods, pod webhook asked, nothing to reserve', (r) => f2(r.baselines.webhookOnlySeconds), ''],
  ['seconds until all reserved (pods created)', (r) => f2(r.reserve.seconds), ''],
  ['ratio reserved / webhook-only baseline', (r) => f2(r.reserve.seconds / r.baselines.webhookOnlySeconds), ''],
  ['create latency p50 / p99, ms', (r) => `${r.reserve.createP50Ms.toFixed(0)} / ${r.reserve.createP99Ms.toFixed(0)}`, ''],
  ['seconds to claim (CNI ADDs: pod GET, endpoint write)', (r) => f2(r.claim.seconds) + (r.claim.abandoned > 0 ? ` (budget spent: ${r.claim.claimed} of ${pods} claimed)` : ''), ''],
  ['seconds reserve + claim', (r) => f2(r.totalSeconds) + (r.claim.abandoned > 0 ? ' (claims unfinished)' : ''), `≤ ${target.seconds}`],
  ['reservation: pool writes per IP (control plane)', (r) => f2(r.reserve.poolWritesPerIP), `≤ ${target.writesPerIP}`],
  ['reservation: pool writes per IP (both pool writers)', (r) => f2(r.reserve.writerWritesPerIP), `≤ ${target.writesPerIP}`],
  ['reservation: conflicts retried (both pool writers)', (r) => String(r.reserve.writer.conflicts), ''],
  ['reservation: batches, mean requests per batch', (r) => `${r.reserve.writer.batches}, ${r.reserve.meanBatch.toFixed(1)}`, ''],
  ['admissions per replica', (r) => r.reserve.admissionsPerReplica.join(' / '), ''],
  ['time in a replica per admission p50 / p99, ms', (r) => r.reserve.replicaAdmission.map((a) => `${a.p50Ms.toFixed(0)} / ${a.p99Ms.toFixed(0)}`).join(', '), ''],
  ['admissions reaching the replicas, from … to … s', (r) => r.reserve.replicaAdmission.map((a) => `${a.firstArrivalSeconds.toFixed(2)} … ${a.lastAnswerSeconds.toFixed(2)}`).join(', '), ''],
  ['claim: endpoint writes, pool writes per IP (control plane)', (r) => `${r.claim.endpointWrites}, ${f2(r.claim.poolWrites / pods)}`, ''],
  ['claim: pool writes by the pool writers (batches), by the plugins', (r) => `${r.claim.writer.writes} (${r.claim.writer.batches}), ${r.claim.pluginPoolWrites}`, ''],
  ['claim: GETs, conflicts (plugins, pool writers), CNI retries', (r) => `${r.claim.gets}, ${r.claim.conflicts}, ${r.claim.writer.conflicts}, ${r.claim.cniRetries}`, ''],
  ['claim: reservations not claimed (abandoned at the budget, refused or answered otherwise)', (r) => `${r.claim.notClaimed} (${r.claim.abandoned}, ${r.claim.errors.length})`, '0'],
  ['claim: leader terms begun (the lease lapsed and was taken again)', (r) => String(r.claim.leaderTerms), ''],
  ['duplicates (shared addresses, double records, mismatches)', (r) => String(Object.values(r.duplicates).reduce((a, b) => a + b, 0)), '0'],
  [`pod ${pods + 1} refused as exhausted`, (r) => (r.exhaustion.refused ? 'yes' : 'NO'), 'yes'],
  ['seconds to delete all pods', (r) => f2(r.release.deleteSeconds), ''],
  ['seconds until every record released (from the first delete)', (r) => f2(r.release.seconds), ''],
  ['release: pool writes (control plane); writer writes, conflicts', (r) => `${r.release.poolWrites}; ${r.release.writer.writes}, ${r.release.writer.conflicts}`, ''],
  ['release: leader terms begun meanwhile', (r) => String(r.release.leaderTerms), ''],
  ['leaks (records left after the deletes)', (r) => String(r.release.recordsLeft), '0'],
]

console.log(
  `\nbench/allocation: ${pods} pods (generateName, namespace ${namespace}), one pool of ${pods} addresses, 2 webhook replicas (own processes) behind a TCP round-robin, ` +
    `local control plane with ${writeLatencyMs} ms per write; creates and deletes ${concurrency > 0 ? `at most ${concurrency} in flight` : 'all at once'}, claims ${claimConcurrency > 0 ? `at most ${claimConcurrency} in flight` : 'all at once'} within ${claimBudgetSeconds} s, kubelet's retry after ${kubeletRetryMs} ms\n`,
)
console.log(`| figure | ${runs.map((r) => `run ${r.round}`).join(' | ')} | target |`)
console.log(`|---|${runs.map(() => '---:|').join('')}---|`)
for (const [name, value, goal] of rows) console.log(`| ${name} | ${runs.map(value).join(' | ')} | ${goal} |`)

const medians = {
  reserveSeconds: median(runs.map((r) => r.reserve.seconds)),
  claimSeconds: median(runs.map((r) => r.claim.seconds)),
  totalSeconds: median(runs.map((r) => r.totalSeconds)),
  reservePoolWritesPerIP: median(runs.map((r) => r.reserve.poolWritesPerIP)),
  releaseSeconds: median(runs.map((r) => r.release.seconds)),
}
// the claims may run out of budget (a figure); a claim refused, a duplicate or a leak is a failure
const failed = runs.some((r) => Object.values(r.duplicates).some((x) => x !== 0) || r.release.recordsLeft !== 0 || !r.exhaustion.refused || r.claim.errors.length > 0)
console.log(
  `\nmedians: reserve ${f2(medians.reserveSeconds)} s + claim ${f2(medians.claimSeconds)} s = ${f2(medians.totalSeconds)} s (target ≤ ${target.seconds} s); ` +
    `${f2(medians.reservePoolWritesPerIP)} pool writes per IP while reserving (target ≤ ${target.writesPerIP}); checks ${failed ? 'FAILED' : 'passed'}`,
)
mkdirSync(join(root, 'bench/results'), { recursive: true })
writeFileSync(
  join(root, 'bench/results/allocation.json'),
  JSON.stringify({ when: new Date().toISOString(), pods, replicas: 2, writeLatencyMs, concurrency: concurrency || 'all at once', claimConcurrency: claimConcurrency || 'all at once', claimBudgetSeconds, kubeletRetryMs, target, medians, checksPassed: !failed, runs }, null, 2),
)
if (failed) process.exitCode = 1
