// One webhook replica for bench/allocation.ts, in its own process as in a cluster: the webhook
// server with its controllers against the given kubeconfig. It answers the bench over IPC with
// what its caches hold, its pool writer's counters and whether it leads.
import { startReplica } from '../test/server/fixtures/replica.ts'

export interface ReplicaQuery {
  type: 'state'
  pool: string
  namespace: string
  nad: string
  /** start counting admissions afresh after this answer */
  resetAdmissions?: boolean
}

/** Pod admissions as this replica's HTTPS server saw them: from the request's arrival to the answer's end. */
export interface AdmissionTimes {
  count: number
  p50Ms: number
  p99Ms: number
  /** epoch ms of the first arrival and the last answer */
  firstArrival: number
  lastAnswer: number
}

export interface ReplicaState {
  type: 'state'
  synced: boolean
  leader: boolean
  /** times this replica began leading (sampled every 10 ms): a new term starts its controllers afresh */
  terms: number
  stats: { writes: number; conflicts: number; batches: number }
  /** the pool as this replica's cache has it */
  pool?: { resourceVersion: string; totalIPCount?: number; allocatedIPCount?: number }
  namespace: boolean
  nad: boolean
  admissions: AdmissionTimes
}

export type ReplicaMessage = { type: 'ready'; url: string; caPem: string } | ReplicaState

const [kubeconfig, tlsDir] = process.argv.slice(2)
if (!kubeconfig || !tlsDir || !process.send) throw new Error('usage: forked by bench/allocation.ts with <kubeconfig> <tls dir>')
const send = (m: ReplicaMessage) => process.send!(m)

const server = await startReplica({ kubeconfig, tlsDir, logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn', syncTimeoutMs: 30_000 })

let terms = 0
let leading = false
setInterval(() => {
  const now = server.controllers?.elector.isLeader() ?? false
  if (now && !leading) terms++
  leading = now
}, 10).unref()

let admissions: { arrival: number; ms: number }[] = []
server.app.server.on('request', (req: { method?: string; url?: string }, res: { once(e: 'finish', f: () => void): void }) => {
  if (req.method !== 'POST' || !req.url?.startsWith('/mutate--v1-pod')) return
  const arrival = Date.now()
  const t0 = performance.now()
  res.once('finish', () => admissions.push({ arrival, ms: performance.now() - t0 }))
})
const admissionTimes = (): AdmissionTimes => {
  const ms = admissions.map((a) => a.ms).sort((a, b) => a - b)
  const at = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? 0
  return {
    count: ms.length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    firstArrival: Math.min(...admissions.map((a) => a.arrival)),
    lastAnswer: Math.max(...admissions.map((a) => a.arrival + a.ms)),
  }
}
send({ type: 'ready', url: server.url, caPem: server.caPem })

process.on('message', (m: ReplicaQuery | { type: 'close' }) => {
  if (m.type === 'close') {
    // a normal exit, so that --cpu-prof writes its profile
    void server.close().then(() => process.exit(0))
    return
  }
  const snapshot = server.cluster!.snapshot
  const pool = snapshot.ippool(m.pool)
  const [nadNamespace, nadName] = m.nad.split('/')
  const status = pool?.status as { totalIPCount?: number; allocatedIPCount?: number } | undefined
  send({
    type: 'state',
    synced: server.cluster!.hasSynced(),
    leader: server.controllers?.elector.isLeader() ?? false,
    terms,
    stats: { ...server.writer!.stats },
    pool: pool && { resourceVersion: pool.metadata!.resourceVersion!, totalIPCount: status?.totalIPCount, allocatedIPCount: status?.allocatedIPCount },
    namespace: snapshot.namespace(m.namespace) !== undefined,
    nad: snapshot.networkAttachmentDefinition(nadNamespace, nadName) !== undefined,
    admissions: admissionTimes(),
  })
  if (m.resetAdmissions) admissions = []
})
process.on('disconnect', () => process.exit(0))
