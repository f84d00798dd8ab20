// The collector of pool records nothing else will release (ipam-semantics §6.3, §10.2), run by the
// leader: reservations whose pod never appeared (refused after admission) once they expire, the
// records of deleted and finished pods, records of pods replaced under the same name. StatefulSet
// pods keep theirs while their ordinal is within the StatefulSet's replicas.
//
// Every pool is judged record by record from the informer caches, on pod and pool events, when a
// reservation expires, and in a full scan; each release is conditional on the record still being
// exactly what was judged, so a record another pod holds now is never released.
import type { FastifyBaseLogger } from 'fastify'
import type { SpiderEndpoint } from '../../schemas/types.ts'
import type { StoredPod } from '../../webhooks/cluster.ts'
import type { Settings } from '../../webhooks/settings.ts'
import { controllerOf } from '../../webhooks/common/controller-ref.ts'
import { spiderpoolFinalizer } from '../../webhooks/common/keys.ts'
import { parseRecords, type PoolRecord } from '../../ipam/records.ts'
import { decodeReservation, reservationAnnotation } from '../../ipam/reservation.ts'
import type { InformedCluster } from '../../kube/snapshot.ts'
import type { PoolWriter } from '../../kube/pool-writer.ts'
import type { AnyObject } from '../../kube/resources.ts'
import { resources } from '../../kube/resources.ts'
import { isConflict, isNotFound } from '../../kube/errors.ts'
import { retryOnConflict } from '../../kube/retry.ts'
import type { Store } from '../../kube/store.ts'
import { createWorkQueue } from './workqueue.ts'

// ---- judging one record (pure) ----

export type Verdict =
  | { keep: string; recheckAt?: number }
  | { release: string; /** the cache said the pod is gone: ask the API before releasing */ confirmGone?: { namespace: string; name: string; uid: string } }

export interface RecordView {
  now: number
  /** a reserved record without expiresAt expires this long after reservedAt */
  ttlMs: number
  enableStatefulSet: boolean
  /** existing pods of the namespace whose reservation annotation carries the token */
  podsWithToken(namespace: string, token: string): readonly StoredPod[]
  pod(namespace: string, name: string): StoredPod | undefined
  /** a pod the informer saw deleted a short while ago */
  deletedPod(uid: string): StoredPod | undefined
  deletedToken(namespace: string, token: string): boolean
  nodeExists(name: string): boolean
  statefulSet(namespace: string, name: string): AnyObject | undefined
  endpoint(namespace: string, name: string): SpiderEndpoint | undefined
}

/** Why a pod no longer needs its addresses (§1 "alive"), or until when a terminating pod may still need them. */
export function podEnd(pod: StoredPod, now: number): { ended: string } | { ended?: undefined; until?: number } {
  const phase = pod.status?.phase
  const restartPolicy = pod.spec?.restartPolicy ?? 'Always'
  if (phase === 'Succeeded' && restartPolicy !== 'Always') return { ended: `Succeeded (restartPolicy ${restartPolicy})` }
  if (phase === 'Failed' && restartPolicy === 'Never') return { ended: 'Failed (restartPolicy Never)' }
  if (phase === 'Failed' && pod.status?.reason === 'Evicted') return { ended: 'was evicted' }
  const deleting = pod.metadata.deletionTimestamp
  if (deleting) {
    const until = Date.parse(deleting) + (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000
    if (!(until > now)) return { ended: 'is terminating past its grace period' }
    return { until }
  }
  return {}
}

/** The StatefulSet that made the pod, by its controller reference. */
const statefulSetOfPod = (pod: StoredPod | undefined): string | undefined => {
  const owner = controllerOf(pod?.metadata)
  return owner?.apiVersion === 'apps/v1' && owner.kind === 'StatefulSet' ? owner.name : undefined
}

/** The StatefulSet a gone pod belonged to, as its SpiderEndpoint (which outlives it) records. */
const statefulSetOfEndpoint = (endpoint: SpiderEndpoint | undefined): string | undefined =>
  endpoint?.status?.ownerControllerType === 'StatefulSet' ? endpoint.status.ownerControllerName : undefined

/**
 * Whether the StatefulSet still has the pod's ordinal (§5.4): the pod is named `<sts>-<ordinal>`
 * and the ordinal lies in [start, start + replicas).
 */
export function statefulSetHolds(podName: string, statefulSet: string, sts: AnyObject | undefined): boolean {
  if (!sts) return false
  const m = /^(.*)-(0|[1-9][0-9]*)$/.exec(podName)
  if (!m || m[1] !== statefulSet) return false
  const ordinal = Number(m[2])
  const replicas = typeof sts.spec?.replicas === 'number' ? sts.spec.replicas : 1
  const start = typeof sts.spec?.ordinals?.start === 'number' ? sts.spec.ordinals.start : 0
  return ordinal >= start && ordinal < start + replicas
}

const splitPod = (key: string) => {
  const slash = key.indexOf('/')
  return slash < 0 ? { namespace: '', name: '' } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) }
}

export function judgeRecord(r: PoolRecord, v: RecordView): Verdict {
  return r.state === 'reserved' ? judgeReserved(r, v) : judgeClaimed(r, v)
}

function judgeReserved(r: PoolRecord, v: RecordView): Verdict {
  const { namespace } = splitPod(r.pod)
  const token = r.token ?? ''
  const holders = token ? v.podsWithToken(namespace, token) : []
  if (holders.length > 0) {
    let recheckAt: number | undefined
    const ends: string[] = []
    for (const pod of holders) {
      const end = podEnd(pod, v.now)
      if (end.ended === undefined) {
        if (end.until === undefined) return { keep: `reserved for Pod ${namespace}/${pod.metadata.name}` }
        recheckAt = Math.min(recheckAt ?? Infinity, end.until)
      } else ends.push(`Pod ${namespace}/${pod.metadata.name} ${end.ended}`)
    }
    if (recheckAt !== undefined) return { keep: `reserved for a terminating Pod`, recheckAt }
    return { release: `reserved, never claimed: ${ends.join(', ')}` }
  }
  if (token && v.deletedToken(namespace, token)) return { release: 'reserved, never claimed: its Pod was deleted' }
  const expiresAt = Date.parse(r.expiresAt ?? '')
  const expiry = Number.isNaN(expiresAt) ? Date.parse(r.reservedAt ?? '') + v.ttlMs : expiresAt
  if (!(expiry > v.now)) return { release: `reserved, never claimed, and no Pod carries its token ${token || '(none)'} past its expiry` }
  return { keep: 'reserved: its Pod may still be on its way', recheckAt: expiry }
}

function judgeClaimed(r: PoolRecord, v: RecordView): Verdict {
  const { namespace, name } = splitPod(r.pod)
  if (!name) return { keep: `claimed, but ${JSON.stringify(r.pod)} names no Pod` }
  const key = `${namespace}/${name}`
  const pod = v.pod(namespace, name)
  const samePod = pod && (r.podUid === '' || pod.metadata.uid === r.podUid)
  const statefulSetKeeps = (sts: string | undefined) => v.enableStatefulSet && sts !== undefined && statefulSetHolds(name, sts, v.statefulSet(namespace, sts))
  if (pod && samePod) {
    const end = podEnd(pod, v.now)
    if (end.ended === undefined) return { keep: `claimed by Pod ${key}`, ...(end.until !== undefined && { recheckAt: end.until }) }
    const sts = statefulSetOfPod(pod)
    if (statefulSetKeeps(sts)) return { keep: `Pod ${key} ${end.ended}, but StatefulSet ${namespace}/${sts} keeps its address` }
    return { release: `Pod ${key} ${end.ended}` }
  }
  // the pod that claimed the record is gone, or a pod of the same name replaced it
  const deleted = r.podUid ? v.deletedPod(r.podUid) : undefined
  const sts = statefulSetOfPod(deleted) ?? statefulSetOfPod(pod) ?? statefulSetOfEndpoint(v.endpoint(namespace, name))
  if (statefulSetKeeps(sts)) return { keep: `StatefulSet ${namespace}/${sts} keeps the address of ${key}` }
  const gone = pod ? `Pod ${key} was re-created (uid ${pod.metadata.uid}); uid ${r.podUid} is gone` : `Pod ${key} is gone`
  const node = r.node && !v.nodeExists(r.node) ? `, and so is its node ${r.node}` : ''
  const why = sts === undefined ? '' : v.enableStatefulSet ? `; StatefulSet ${namespace}/${sts} ${v.statefulSet(namespace, sts) ? 'no longer has its ordinal' : 'is gone'}` : ''
  const release: Verdict = { release: `${gone}${node}${why}` }
  if (!deleted) release.confirmGone = { namespace, name, uid: r.podUid }
  return release
}

// ---- the controller ----

export interface ReservationCollectorOptions {
  store: Store
  cluster: InformedCluster
  writer: PoolWriter
  settings: Pick<Settings, 'enableStatefulSet' | 'reservationTTLSeconds' | 'gcScanIntervalSeconds'>
  log: FastifyBaseLogger
  now?: () => number
}

export interface ReservationCollector {
  /** Resolves when the caches synced and nothing is queued or running (tests). */
  idle(): Promise<void>
  stop(): Promise<void>
}

interface Reserved {
  token: string
  pools: string[]
}

/** The token and pools of a pod's reservation annotation; undefined when it has none that reads. */
function reservationOf(pod: StoredPod): Reserved | undefined {
  const text = pod.metadata.annotations?.[reservationAnnotation]
  if (text === undefined) return undefined
  const decoded = decodeReservation(text)
  if (decoded.error !== undefined) return undefined
  const pools = new Set<string>()
  for (const nic of decoded.reservation.ips) for (const p of [nic.ipv4Pool, nic.ipv6Pool]) if (p) pools.add(p)
  return { token: decoded.reservation.token, pools: [...pools] }
}

const podKey = (pod: StoredPod) => `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`

/** The exact record judged: a release matches only while the record is still this. */
const sameRecord = (a: PoolRecord, b: PoolRecord) => a.ip === b.ip && a.state === b.state && a.pod === b.pod && a.podUid === b.podUid && (a.token ?? '') === (b.token ?? '')

export function startReservationCollector(o: ReservationCollectorOptions): ReservationCollector {
  const now = o.now ?? Date.now
  const { informers } = o.cluster
  const ttlMs = o.settings.reservationTTLSeconds * 1000
  const scanMs = o.settings.gcScanIntervalSeconds * 1000
  // a deleted pod is remembered while the reconciles its deletion queued may still run or retry
  const rememberMs = Math.max(2 * scanMs, 60_000)
  const stopper = new AbortController()

  const holders = new Map<string, Set<string>>()
  const deletedByUid = new Map<string, { pod: StoredPod; at: number }>()
  const deletedTokens = new Map<string, number>()
  const wakeups = new Map<string, { at: number; timer: NodeJS.Timeout }>()
  let scanTimer: NodeJS.Timeout | undefined
  let unwatch: (() => void)[] = []

  const queue = createWorkQueue({
    reconcile: (pool) => reconcile(pool),
    onError: (pool, err) => o.log.warn({ err, pool }, 'collecting pool records failed; retrying'),
  })

  const index = (pod: StoredPod, add: boolean) => {
    const token = reservationOf(pod)?.token
    if (!token) return
    let keys = holders.get(token)
    if (add) {
      if (!keys) holders.set(token, (keys = new Set()))
      keys.add(podKey(pod))
    } else if (keys) {
      keys.delete(podKey(pod))
      if (keys.size === 0) holders.delete(token)
    }
  }
  const enqueuePoolsOf = (pod: StoredPod) => {
    for (const pool of reservationOf(pod)?.pools ?? []) queue.add(pool)
  }
  const needsLook = (pod: StoredPod) => pod.metadata.deletionTimestamp !== undefined || podEnd(pod, now()).ended !== undefined
  const scanAll = () => {
    const t = now()
    for (const [uid, d] of deletedByUid) if (t - d.at > rememberMs) deletedByUid.delete(uid)
    for (const [key, at] of deletedTokens) if (t - at > rememberMs) deletedTokens.delete(key)
    for (const pool of informers.ippools.list()) queue.add(pool.metadata.name!)
  }
  const wakeAt = (pool: string, at: number) => {
    // the next scan comes first anyway
    if (at - now() > scanMs) return
    const current = wakeups.get(pool)
    if (current && current.at <= at) return
    if (current) clearTimeout(current.timer)
    // a little after the moment, so that the judgement made then sees it passed
    const timer = setTimeout(() => {
      wakeups.delete(pool)
      queue.add(pool)
    }, Math.max(0, at - now()) + 50)
    wakeups.set(pool, { at, timer })
  }

  const view = (): RecordView => ({
    now: now(),
    ttlMs,
    enableStatefulSet: o.settings.enableStatefulSet,
    podsWithToken: (namespace, token) =>
      [...(holders.get(token) ?? [])]
        .map((key) => splitPod(key))
        .filter((k) => k.namespace === namespace)
        .map((k) => informers.pods.get(k.name, k.namespace))
        .filter((p): p is StoredPod => p !== undefined),
    pod: (namespace, name) => informers.pods.get(name, namespace),
    deletedPod: (uid) => deletedByUid.get(uid)?.pod,
    deletedToken: (namespace, token) => deletedTokens.has(`${namespace}/${token}`),
    nodeExists: (name) => informers.nodes.get(name) !== undefined,
    statefulSet: (namespace, name) => informers.statefulSets.get(name, namespace),
    endpoint: (namespace, name) => informers.spiderEndpoints.get(name, namespace),
  })

  /** The API's answer, not the cache's: does the pod that claimed the record still exist? */
  async function stillThere(c: { namespace: string; name: string; uid: string }): Promise<boolean> {
    try {
      const pod = await o.store.get(resources.pods, c.name, { namespace: c.namespace })
      return c.uid === '' || pod.metadata?.uid === c.uid
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }

  async function reconcile(name: string): Promise<void> {
    const pool = informers.ippools.get(name)
    if (!pool) return
    const parsed = parseRecords((pool.status as { allocatedIPs?: string } | undefined)?.allocatedIPs)
    if (parsed.error !== undefined) {
      o.log.warn({ pool: name, error: parsed.error }, 'pool records unreadable: nothing collected')
      return
    }
    const v = view()
    const asked = new Map<string, Promise<boolean>>()
    const confirmedGone = async (c: { namespace: string; name: string; uid: string }) => {
      const key = `${c.namespace}/${c.name}/${c.uid}`
      if (!asked.has(key)) asked.set(key, stillThere(c).then((there) => !there))
      return asked.get(key)!
    }
    const releases: { record: PoolRecord; why: string }[] = []
    let recheckAt = Infinity
    for (const record of parsed.records) {
      const verdict = judgeRecord(record, v)
      if ('keep' in verdict) {
        if (verdict.recheckAt !== undefined) recheckAt = Math.min(recheckAt, verdict.recheckAt)
        continue
      }
      if (verdict.confirmGone && !(await confirmedGone(verdict.confirmGone))) {
        // the cache is behind the API: judged again on the pod's next event or the next scan
        continue
      }
      releases.push({ record, why: verdict.release })
    }
    if (recheckAt !== Infinity) wakeAt(name, recheckAt)
    if (releases.length === 0) return
    const judged = new Map(releases.map((x) => [x.record.ip, x.record]))
    const released = await o.writer.release(name, (r) => {
      const j = judged.get(r.ip)
      return j !== undefined && sameRecord(r, j)
    })
    for (const { record, why } of releases) o.log.info({ pool: name, ip: record.ip, pod: record.pod, podUid: record.podUid, token: record.token }, `released: ${why}`)
    if (released < releases.length) o.log.info({ pool: name, judged: releases.length, released }, 'some records changed before their release and were kept')
    const owners = new Map<string, { namespace: string; name: string; uid: string }>()
    for (const { record } of releases) if (record.state === 'claimed' && record.podUid) owners.set(`${record.pod}/${record.podUid}`, { ...splitPod(record.pod), uid: record.podUid })
    for (const owner of owners.values()) await removeEndpoint(owner)
  }

  /** The SpiderEndpoint of released records goes with them, while it still records that pod. */
  async function removeEndpoint(owner: { namespace: string; name: string; uid: string }): Promise<void> {
    await retryOnConflict(async () => {
      let endpoint: SpiderEndpoint
      try {
        endpoint = await o.store.get(resources.endpoints, owner.name, { namespace: owner.namespace })
      } catch (err) {
        if (isNotFound(err)) return
        throw err
      }
      if (endpoint.status?.current?.uid !== owner.uid) return
      const finalizers = endpoint.metadata?.finalizers ?? []
      if (finalizers.includes(spiderpoolFinalizer)) {
        const rest = finalizers.filter((f) => f !== spiderpoolFinalizer)
        endpoint = await o.store.update(resources.endpoints, { ...endpoint, metadata: { ...endpoint.metadata, finalizers: rest } })
      }
      if (endpoint.metadata?.deletionTimestamp) return
      try {
        await o.store.delete(resources.endpoints, owner.name, { namespace: owner.namespace, preconditions: { uid: endpoint.metadata?.uid } })
      } catch (err) {
        // gone already, or replaced by another pod's endpoint of the same name: not ours to delete
        if (!isNotFound(err) && !isConflict(err)) throw err
      }
    })
  }

  const started = (async () => {
    await o.cluster.waitForSync({ signal: stopper.signal })
    if (stopper.signal.aborted) return
    unwatch = [
      informers.pods.on({
        add: (pod) => {
          index(pod, true)
          if (needsLook(pod)) enqueuePoolsOf(pod)
        },
        update: (old, pod) => {
          index(old, false)
          index(pod, true)
          if (needsLook(pod)) enqueuePoolsOf(pod)
        },
        delete: (pod) => {
          index(pod, false)
          const t = now()
          if (pod.metadata.uid) deletedByUid.set(pod.metadata.uid, { pod, at: t })
          const token = reservationOf(pod)?.token
          if (token) deletedTokens.set(`${pod.metadata.namespace}/${token}`, t)
          enqueuePoolsOf(pod)
        },
      }),
      informers.ippools.on({
        add: (pool) => queue.add(pool.metadata.name!),
        update: (_old, pool) => queue.add(pool.metadata.name!),
      }),
      // a StatefulSet scaled down or deleted: the addresses it kept for its pods may go
      informers.statefulSets.on({
        update: (old, sts) => {
          if (JSON.stringify([old.spec?.replicas, old.spec?.ordinals]) !== JSON.stringify([sts.spec?.replicas, sts.spec?.ordinals])) scanAll()
        },
        delete: () => scanAll(),
      }),
    ]
    scanTimer = setInterval(scanAll, scanMs)
    scanAll()
  })().catch((err) => {
    if (!stopper.signal.aborted) o.log.error({ err }, 'the reservation collector could not start')
  })

  return {
    idle: async () => {
      await started
      await queue.idle()
    },
    stop: async () => {
      stopper.abort()
      await started
      clearInterval(scanTimer)
      for (const w of wakeups.values()) clearTimeout(w.timer)
      wakeups.clear()
      unwatch.forEach((u) => u())
      await queue.stop()
    },
  }
}
