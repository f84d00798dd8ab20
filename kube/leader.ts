// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection package.
// Safety comes from two things: every write to the lease is conditional on the resourceVersion
// read just before (so two candidates never both win one round), and a leader that cannot renew
// within renewDeadline stops leading before the lease (leaseDurationSeconds) can expire for others.
// Expiry is judged by when this process saw the lease change, never by the holder's clock.
import { isAlreadyExists, isConflict, isNotFound } from './errors.ts'
import { resources } from './resources.ts'
import type { Lease } from './resources.ts'
import type { Store } from './store.ts'

export interface LeaderElectionOptions {
  namespace: string
  /** Name of the Lease object. */
  name: string
  /** Unique per candidate (pod name plus a random suffix, say). */
  identity: string
  leaseDurationSeconds?: number
  /** A leader that has not renewed for this long steps down; must be shorter than the lease duration. */
  renewDeadlineMs?: number
  /** Pause between attempts to acquire or renew. */
  retryPeriodMs?: number
  /** Called on becoming leader; `signal` aborts when leadership ends. A returned promise is awaited (up to renewDeadline) before the lease is released. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>
  onStoppedLeading?(): void
  /** Called when the observed holder changes (including to this candidate). */
  onNewLeader?(identity: string): void
  /** Give the lease up on stop() so a successor need not wait for it to expire. */
  releaseOnStop?: boolean
  onError?(err: unknown): void
}

export interface LeaderElector {
  /** What this candidate writes as the lease's holderIdentity. */
  readonly identity: string
  start(): void
  /** Stops leading (and campaigning), releases the lease if held, and waits for all of it. */
  stop(): Promise<void>
  isLeader(): boolean
  /** The holder last seen on the lease ('' when free or not yet read). */
  leader(): string
}

/** A MicroTime: RFC 3339 with six fractional digits, as the API server writes Lease times. */
export function microTime(at: Date = new Date()): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

/**
 * Writes a claim to the lease by `identity`, conditional on `current` (the lease as just read; undefined when
 * there is none yet). Renews when identity already holds it, takes it over otherwise. Throws the API's
 * Conflict / AlreadyExists when someone else wrote first.
 */
export async function claimLease(
  store: Store,
  ref: { namespace: string; name: string },
  current: Lease | undefined,
  identity: string,
  leaseDurationSeconds: number,
  options: { timeoutMs?: number } = {},
): Promise<Lease> {
  const now = microTime()
  if (!current) {
    return store.create(
      resources.leases,
      {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: ref.name, namespace: ref.namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
      },
      { timeoutMs: options.timeoutMs },
    )
  }
  const spec = current.spec ?? {}
  const renewing = spec.holderIdentity === identity
  return store.update(
    resources.leases,
    {
      ...current,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: renewing ? (spec.acquireTime ?? now) : now,
        renewTime: now,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (renewing ? 0 : 1),
      },
    },
    { timeoutMs: options.timeoutMs },
  )
}

function sleep(ms: number, ...signals: AbortSignal[]) {
  return new Promise<void>((resolve) => {
    if (signals.some((s) => s.aborted)) return resolve()
    const done = () => {
      clearTimeout(timer)
      for (const s of signals) s.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    for (const s of signals) s.addEventListener('abort', done, { once: true })
  })
}

export function createLeaderElector(store: Store, options: LeaderElectionOptions): LeaderElector {
  const { namespace, name, identity, leaseDurationSeconds = 15, renewDeadlineMs = 10_000, retryPeriodMs = 2_000, releaseOnStop = true } = options
  const leaseMs = leaseDurationSeconds * 1000
  if (!Number.isInteger(leaseDurationSeconds) || leaseDurationSeconds < 1) throw new RangeError('leaseDurationSeconds must be a whole number of seconds, at least 1')
  if (renewDeadlineMs >= leaseMs) throw new RangeError('renewDeadlineMs must be shorter than the lease duration')
  if (retryPeriodMs * 1.2 >= renewDeadlineMs) throw new RangeError('retryPeriodMs (with jitter) must be shorter than renewDeadlineMs')
  const report = options.onError ?? (() => {})
  const ref = { namespace, name }
  const stopper = new AbortController()
  let leading = false
  let holder = ''
  let lastLease: Lease | undefined
  // When this process saw the lease record change, and for how long that record holds.
  let observed: { version: string; at: number; durationMs: number } | undefined
  let loop: Promise<void> | undefined

  const observe = (lease: Lease, at: number) => {
    lastLease = lease
    const version = lease.metadata.resourceVersion ?? ''
    if (observed?.version !== version) {
      observed = { version, at, durationMs: (lease.spec?.leaseDurationSeconds ?? leaseDurationSeconds) * 1000 }
    }
    const seen = lease.spec?.holderIdentity ?? ''
    if (seen !== holder) {
      holder = seen
      if (seen) options.onNewLeader?.(seen)
    }
  }

  /** One round: read the lease, and claim it if it is ours or free or expired. True when we hold it now. */
  async function tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const startedAt = Date.now()
    let current: Lease | undefined
    try {
      current = await store.get(resources.leases, name, { namespace, timeoutMs })
      observe(current, Date.now())
    } catch (err) {
      if (!isNotFound(err)) throw err
    }
    if (current) {
      const theirs = current.spec?.holderIdentity && current.spec.holderIdentity !== identity
      const expired = observed !== undefined && Date.now() >= observed.at + observed.durationMs
      if (theirs && !expired) return false
    }
    try {
      const written = await claimLease(store, ref, current, identity, leaseDurationSeconds, { timeoutMs: Math.max(1, timeoutMs - (Date.now() - startedAt)) })
      observe(written, startedAt)
      return true
    } catch (err) {
      if (isConflict(err) || isAlreadyExists(err)) return false
      throw err
    }
  }

  async function attempt(timeoutMs: number) {
    try {
      return await tryAcquireOrRenew(timeoutMs)
    } catch (err) {
      report(err)
      return false
    }
  }

  async function release() {
    if (!lastLease || lastLease.spec?.holderIdentity !== identity) return
    try {
      const now = microTime()
      await store.update(
        resources.leases,
        { ...lastLease, spec: { ...lastLease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now } },
        { timeoutMs: renewDeadlineMs },
      )
    } catch (err) {
      // A conflict means someone else already wrote the lease: nothing of ours is left to release.
      if (!isConflict(err)) report(err)
    }
  }

  async function lead(acquiredAt: number) {
    const leadership = new AbortController()
    leading = true
    let work: Promise<void> = Promise.resolve()
    try {
      work = Promise.resolve(options.onStartedLeading(leadership.signal)).catch(report)
    } catch (err) {
      report(err)
    }
    let renewedAt = acquiredAt
    while (!stopper.signal.aborted) {
      await sleep(retryPeriodMs, stopper.signal)
      if (stopper.signal.aborted) break
      let renewed = false
      while (!stopper.signal.aborted && Date.now() < renewedAt + renewDeadlineMs) {
        const startedAt = Date.now()
        if (await attempt(renewedAt + renewDeadlineMs - startedAt)) {
          renewed = true
          renewedAt = startedAt
          break
        }
        if (holder && holder !== identity) break
        await sleep(Math.min(retryPeriodMs, Math.max(0, renewedAt + renewDeadlineMs - Date.now())), stopper.signal)
      }
      if (!renewed) break
    }
    leading = false
    leadership.abort(new Error(`leadership of lease ${namespace}/${name} ended`))
    try {
      options.onStoppedLeading?.()
    } catch (err) {
      report(err)
    }
    let timer: NodeJS.Timeout | undefined
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, renewDeadlineMs)))
    await Promise.race([work, bound])
    clearTimeout(timer)
  }

  // A follower's nap between attempts; the lease watch cuts it short when the lease is given up
  // (`wake` also covers a release seen while an attempt was under way, before the nap began).
  let nap = new AbortController()
  let wake = false

  /**
   * Between attempts a candidate also watches the lease, so it sees each renewal as it lands rather than
   * at its next poll. Expiry is then counted from (almost) the holder's last renewal, and a leader that
   * dies is replaced within the lease duration of its death, not that plus a poll period. A released or
   * deleted lease wakes the candidate at once. The polls stay the source of truth: a broken watch costs
   * only that precision, and is opened again after a retry period.
   */
  async function watchLease() {
    while (!stopper.signal.aborted) {
      try {
        const events = store.watch(resources.leases, { namespace, fieldSelector: `metadata.name=${name}`, timeoutSeconds: 300, signal: stopper.signal })
        for await (const event of events) {
          if (event.type === 'BOOKMARK') continue
          if (event.type !== 'DELETED') observe(event.object, Date.now())
          if (event.type === 'DELETED' || !event.object.spec?.holderIdentity) {
            wake = true
            nap.abort()
          }
        }
      } catch (err) {
        if (!stopper.signal.aborted) report(err)
      }
      await sleep(retryPeriodMs, stopper.signal)
    }
  }

  /** The jittered retry period, cut short to the moment the lease seen expires, so a takeover does not wait a further period. */
  function untilNextAttempt(): number {
    const retry = retryPeriodMs * (1 + 0.2 * Math.random())
    const expiresIn = observed ? observed.at + observed.durationMs - Date.now() : Infinity
    return expiresIn >= 0 ? Math.min(retry, expiresIn + 1) : retry
  }

  async function run() {
    const watching = watchLease()
    while (!stopper.signal.aborted) {
      const startedAt = Date.now()
      wake = false
      if (await attempt(renewDeadlineMs)) {
        if (stopper.signal.aborted) break
        await lead(startedAt)
        continue
      }
      if (wake) continue
      nap = new AbortController()
      await sleep(untilNextAttempt(), stopper.signal, nap.signal)
    }
    if (releaseOnStop) await release()
    await watching
  }

  return {
    identity,
    start() {
      loop ??= run()
    },
    async stop() {
      stopper.abort()
      await loop
    },
    isLeader: () => leading,
    leader: () => holder,
  }
}
