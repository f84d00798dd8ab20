// Writes to SpiderIPPool status, batched per pool: reservations, claims and releases that arrive
// while a pool is being written wait and go together in its next write, so a thousand pods
// starting at once cost a few dozen writes, not a thousand conflicting ones. Safety between
// replicas comes from the resourceVersion precondition of every write, never from this process's
// queue.
import type { SpiderIPPool, SpiderReservedIP } from '../schemas/types.ts'
import { parseRecords, serialiseRecords, type PoolRecord } from '../ipam/records.ts'
import { reserveInPool, type ReserveOutcome, type ReserveWant } from '../ipam/reserve.ts'
import { claimRecords, type Claimant, type ClaimOutcome, type WantedAddress } from '../ipam/claim.ts'
import { isConflict, isNotFound } from './errors.ts'
import { resources } from './resources.ts'
import type { Store } from './store.ts'

export interface PoolWriterOptions {
  store: Store
  /** the cluster's SpiderReservedIPs now (from the informer cache) */
  reservedIPs: () => readonly SpiderReservedIP[]
  /** the pool as the cache has it: saves a GET on the first attempt; a stale copy costs one conflict */
  cachedPool?: (name: string) => SpiderIPPool | undefined
  /** attempts per batch before its requests fail (each conflict re-reads the pool) */
  maxAttempts?: number
}

export interface PoolWriterStats {
  writes: number
  conflicts: number
  batches: number
}

export interface PoolWriter {
  reserve(pool: string, want: ReserveWant): Promise<ReserveOutcome>
  /** Claims the addresses for the pod (ipam/claim.ts); one outcome per address, in order. */
  claim(pool: string, wanted: readonly WantedAddress[], who: Claimant, now: Date): Promise<ClaimOutcome[]>
  /** Removes the records `matches` selects; resolves with how many went. */
  release(pool: string, matches: (r: PoolRecord) => boolean): Promise<number>
  /** Resolves once every batch queued so far (and any queued meanwhile) is written or failed: a stopping server waits for it. */
  flush(): Promise<void>
  readonly stats: PoolWriterStats
}

type Op =
  | { kind: 'reserve'; want: ReserveWant; done: (o: ReserveOutcome) => void; fail: (e: unknown) => void }
  | { kind: 'release'; matches: (r: PoolRecord) => boolean; done: (n: number) => void; fail: (e: unknown) => void }
  | { kind: 'claim'; wanted: readonly WantedAddress[]; who: Claimant; now: Date; done: (o: ClaimOutcome[]) => void; fail: (e: unknown) => void }

interface PoolQueue {
  pending: Op[]
  busy: boolean
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** How long after its last write a pool's own copy waits for the cache to catch up before it is looked at again. */
const forgetAfterMs = 1000

// The connection broke during the write: whether it landed is unknown. Redoing the batch on a fresh
// read is safe: a landed reservation is found again by its token, a landed claim by the pod's uid,
// a landed release has nothing left.
const connectionLost = (err: unknown) => {
  const code = (err as { code?: unknown } | undefined)?.code
  return code === 'ECONNRESET' || code === 'EPIPE'
}

export function createPoolWriter(o: PoolWriterOptions): PoolWriter {
  const queues = new Map<string, PoolQueue>()
  const stats: PoolWriterStats = { writes: 0, conflicts: 0, batches: 0 }
  const maxAttempts = o.maxAttempts ?? 30
  let idleWaiters: (() => void)[] = []
  // a pool as this writer's own writes left it, and the versions those writes replaced: until the
  // cache shows the last one, the next batch starts from it instead of a stale copy that must conflict
  const written = new Map<string, { replaced: Set<string>; pool: SpiderIPPool }>()

  /** The newest copy of the pool this process knows without asking the API, if any. */
  const knownPool = (name: string): SpiderIPPool | undefined => {
    if (!o.cachedPool) return undefined
    const cached = o.cachedPool(name)
    const mine = written.get(name)
    if (mine && cached?.metadata?.resourceVersion !== undefined && mine.replaced.has(cached.metadata.resourceVersion)) return mine.pool
    written.delete(name)
    return cached
  }
  const rememberWrite = (name: string, from: string | undefined, pool: SpiderIPPool) => {
    if (!o.cachedPool || from === undefined || pool.metadata?.resourceVersion === undefined) return
    const mine = written.get(name)
    if (mine && mine.pool.metadata?.resourceVersion === from) {
      mine.replaced.add(from)
      mine.pool = pool
    } else written.set(name, { replaced: new Set([from]), pool })
  }

  const enqueue = (name: string, op: Op) => {
    let q = queues.get(name)
    if (!q) queues.set(name, (q = { pending: [], busy: false }))
    q.pending.push(op)
    // setImmediate: every request decided in this turn of the event loop joins the batch
    if (!q.busy) {
      q.busy = true
      setImmediate(() => void flush(name, q))
    }
  }

  async function flush(name: string, q: PoolQueue): Promise<void> {
    const batch = q.pending.splice(0)
    stats.batches++
    try {
      await writeBatch(name, batch)
    } catch (err) {
      for (const op of batch) op.fail(err)
    }
    if (q.pending.length > 0) setImmediate(() => void flush(name, q))
    else {
      q.busy = false
      queues.delete(name)
      // idle: keep the own copy only while the cache is still behind it, and look again once its
      // watch event has had time to arrive (a copy of every written pool costs megabytes)
      knownPool(name)
      if (written.has(name)) setTimeout(() => queues.has(name) || knownPool(name), forgetAfterMs).unref()
      if (queues.size === 0) {
        const waiters = idleWaiters
        idleWaiters = []
        waiters.forEach((w) => w())
      }
    }
  }

  async function writeBatch(name: string, batch: Op[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let pool = attempt === 0 ? knownPool(name) : undefined
      if (!pool) {
        try {
          pool = await o.store.get(resources.ippools, name)
        } catch (err) {
          if (!isNotFound(err)) throw err
          const gone = `IPPool ${name} does not exist`
          for (const op of batch) {
            if (op.kind === 'reserve') op.done({ error: gone })
            else if (op.kind === 'claim') op.done(op.wanted.map((w) => ({ address: w.address, lost: gone })))
            else op.done(0)
          }
          return
        }
      }
      const status = (pool.status ?? {}) as { allocatedIPs?: string; [k: string]: unknown }
      const parsed = parseRecords(status.allocatedIPs)
      if (parsed.error !== undefined) throw new Error(`IPPool ${name}: ${parsed.error}`)

      let records = parsed.records
      const released: number[] = []
      for (const op of batch) {
        if (op.kind !== 'release') continue
        const before = records.length
        records = records.filter((r) => !op.matches(r))
        released.push(before - records.length)
      }
      // claims first: a claim whose record was released is told so, not that this write's reservations took the address
      const claimed: ClaimOutcome[][] = []
      let claimsChanged = false
      for (const op of batch) {
        if (op.kind !== 'claim') continue
        const change = claimRecords(records, op.wanted, op.who, op.now)
        records = change.records
        claimsChanged ||= change.changed
        claimed.push(change.value)
      }
      const reserves = batch.filter((op) => op.kind === 'reserve')
      const result = reserves.length > 0 ? reserveInPool(pool, records, o.reservedIPs(), reserves.map((op) => op.want)) : { records, outcomes: [], changed: false }
      const changed = result.changed || claimsChanged || released.some((n) => n > 0)

      const settle = () => {
        let i = 0
        let c = 0
        for (const op of batch) {
          if (op.kind === 'release') op.done(released[i++])
          else if (op.kind === 'claim') op.done(claimed[c++])
        }
        reserves.forEach((op, j) => op.done(result.outcomes[j]))
      }
      if (!changed) return settle()
      const allocatedIPs = serialiseRecords(result.records)
      const next = { ...pool, status: { ...status, allocatedIPs, allocatedIPCount: result.records.length } }
      if (allocatedIPs === undefined) delete next.status.allocatedIPs
      try {
        stats.writes++
        rememberWrite(name, pool.metadata?.resourceVersion, await o.store.updateStatus(resources.ippools, next as SpiderIPPool))
        return settle()
      } catch (err) {
        if (!isConflict(err) && !connectionLost(err)) throw err
        if (isConflict(err)) stats.conflicts++
        if (attempt + 1 >= maxAttempts) throw new Error(`IPPool ${name}: still conflicting after ${maxAttempts} attempts`)
        // another replica wrote first: re-read and redo the whole batch, after a short jittered pause
        await sleep(Math.random() * Math.min(2 ** attempt, 50))
      }
    }
  }

  return {
    stats,
    reserve: (pool, want) => new Promise((done, fail) => enqueue(pool, { kind: 'reserve', want, done, fail })),
    claim: (pool, wanted, who, now) => new Promise((done, fail) => enqueue(pool, { kind: 'claim', wanted, who, now, done, fail })),
    release: (pool, matches) => new Promise((done, fail) => enqueue(pool, { kind: 'release', matches, done, fail })),
    flush: () => (queues.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
  }
}
