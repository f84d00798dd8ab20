// The pod webhook (/mutate--v1-pod): Spiderpool's resource injection, then the plan (pure, in
// webhooks/pod), then the reservation committed to the pools' status, then the patch that
// carries it. Nothing is left reserved when the pod is refused.
import type { FastifyBaseLogger } from 'fastify'
import type { ClusterSnapshot } from '../webhooks/cluster.ts'
import type { Settings } from '../webhooks/settings.ts'
import type { Pod } from '../webhooks/pod/pod.ts'
import { injectPodResources } from '../webhooks/pod/inject.ts'
import { planPod, isSkip, choosePodIPs, type PodPlan } from '../webhooks/pod/plan.ts'
import { reservationOf, type Assignment } from '../webhooks/pod/assign.ts'
import { nodeAffinityPatch } from '../webhooks/pod/affinity.ts'
import { isRefusal, type Refusal } from '../webhooks/pod/refusal.ts'
import { refuseWhileCoordinatorNotReady } from '../webhooks/pod/coordinator-ready.ts'
import { encodeReservation, newReservationToken, reservationAnnotation } from '../ipam/reservation.ts'
import type { PoolWriter } from '../kube/pool-writer.ts'
import type { SpiderIPPool } from '../schemas/types.ts'
import { diff, type JsonValue } from './patch.ts'
import { refusalStatus, badRequestStatus, internalErrorStatus } from './status.ts'
import type { AdmissionRequest, Decision } from './review.ts'

export interface PodAdmissionOptions {
  settings: Settings
  cluster: () => ClusterSnapshot
  /** commits reservations; absent (no Kubernetes API) pods are planned but nothing can be reserved */
  writer?: PoolWriter
  /** a fresh copy of a pool, read after a reservation found it fuller than the cache said */
  readPool?: (name: string) => Promise<SpiderIPPool | undefined>
  /** how long an unclaimed reservation may wait before the collector asks whether its pod exists */
  reservationTTLSeconds?: number
  now?: () => Date
}

// each retry re-reads the pools that turned out full; more than a few means they really are
const maxAttempts = 5

export function podReviewHandler(o: PodAdmissionOptions) {
  const now = o.now ?? (() => new Date())
  const ttlMs = (o.reservationTTLSeconds ?? 120) * 1000

  return async (request: AdmissionRequest, log: FastifyBaseLogger): Promise<Decision> => {
    if (request.operation !== 'CREATE') return { allowed: true }
    if (!request.object || typeof request.object !== 'object') return { allowed: false, status: badRequestStatus('the review carries no Pod') }
    const malformed = metadataProblem(request.object)
    if (malformed) return { allowed: false, status: badRequestStatus(`the Pod is malformed: ${malformed}`) }
    const original = request.object as unknown as Pod
    const pod = structuredClone(original)
    const namespace = request.namespace ?? pod.metadata?.namespace ?? 'default'
    pod.metadata ??= {}
    const cluster = o.cluster()
    const deny = (r: Refusal): Decision => ({ allowed: false, status: refusalStatus('Pod', pod.metadata.name ?? pod.metadata.generateName ?? '', r) })

    // a reservation annotation on a new pod was copied from another one: never trusted
    if (pod.metadata.annotations?.[reservationAnnotation] !== undefined) delete pod.metadata.annotations[reservationAnnotation]

    const injected = injectPodResources(pod, namespace, o.settings, cluster)
    if (injected) return deny(injected)
    const plan = planPod(pod, namespace, { settings: o.settings, cluster })
    if (isRefusal(plan)) return deny(plan)
    const coordinatorNotReady = refuseWhileCoordinatorNotReady(pod, namespace, { settings: o.settings, cluster })
    if (coordinatorNotReady) return deny(coordinatorNotReady)
    if (isSkip(plan)) return patched(original, pod)

    const token = newReservationToken()
    const fresh = new Map<string, SpiderIPPool | undefined>()
    const poolsNow = (name: string) => (fresh.has(name) ? fresh.get(name) : cluster.ippool(name))
    let lastError = ''
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const assignment = choosePodIPs(plan, poolsNow, cluster.reservedIPs())
      if (isRefusal(assignment)) return deny(assignment)
      if (request.dryRun === true || !o.writer) {
        if (!o.writer && request.dryRun !== true) log.warn('no Kubernetes API: the pod is planned but nothing is reserved')
        return finish(original, pod, assignment, token)
      }
      const full = await reserve(o.writer, plan, assignment, token, namespace, now(), ttlMs)
      if (full.length === 0) {
        await releaseOutdated(o.writer, assignment, namespace, plan.podName, log)
        return finish(original, pod, assignment, token)
      }
      // another pod took what the cache showed free: give back what this attempt got, look again
      await releaseReservation(o.writer, assignment, token, log)
      lastError = full.map((f) => f.error).join('; ')
      // the API failed (not a full pool): refuse now; anything the release missed expires unclaimed
      if (full.some((f) => f.broken)) return { allowed: false, status: internalErrorStatus(`reserving the Pod's addresses failed: ${lastError}`) }
      for (const f of full) fresh.set(f.pool, o.readPool ? await o.readPool(f.pool) : poolsNow(f.pool))
    }
    return deny({ reason: 'Forbidden', message: `no address could be reserved: ${lastError}` })
  }
}

/** What kube-apiserver's decoding guarantees and the planning relies on: string names, string maps. */
function metadataProblem(obj: object): string | undefined {
  const metadata = (obj as { metadata?: unknown }).metadata
  if (metadata === undefined) return undefined
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return 'metadata must be an object'
  const m = metadata as Record<string, unknown>
  for (const key of ['name', 'generateName', 'namespace', 'uid']) {
    if (m[key] !== undefined && typeof m[key] !== 'string') return `metadata.${key} must be a string`
  }
  for (const key of ['annotations', 'labels']) {
    const map = m[key]
    if (map === undefined || map === null) continue
    if (typeof map !== 'object' || Array.isArray(map)) return `metadata.${key} must be an object of strings`
    const bad = Object.entries(map).find(([, v]) => typeof v !== 'string')
    if (bad) return `metadata.${key}.${bad[0]} must be a string`
  }
  return undefined
}

/** Reserves every fresh address of the assignment; returns the pools that could not give one. */
async function reserve(writer: PoolWriter, plan: PodPlan, a: Assignment, token: string, namespace: string, at: Date, ttlMs: number) {
  const reservedAt = at.toISOString()
  const expiresAt = new Date(at.getTime() + ttlMs).toISOString()
  const fresh = a.addresses.filter((x) => !x.reused)
  const outcomes = await Promise.allSettled(
    fresh.map((x) => {
      // a StatefulSet pod whose record went missing takes exactly its old address; others the lowest free
      const kept = plan.nics.find((n) => n.interface === x.interface)?.families.find((f) => f.family === x.family)?.reuse
      const ip = kept && kept.pool === x.pool && kept.ip.split('/')[0] === x.address ? x.address : undefined
      return writer.reserve(x.pool, { ip, record: { pod: `${namespace}/`, podUid: '', state: 'reserved', token, nic: x.interface, reservedAt, expiresAt } })
    }),
  )
  const full: { pool: string; error: string; broken?: boolean }[] = []
  fresh.forEach((x, i) => {
    const settled = outcomes[i]
    if (settled.status === 'rejected') return full.push({ pool: x.pool, error: (settled.reason as Error)?.message ?? String(settled.reason), broken: true })
    const outcome = settled.value
    if (outcome.error !== undefined) return full.push({ pool: x.pool, error: outcome.error })
    // the writer picks the lowest free address at commit time: the annotation says what it picked
    x.ip = outcome.ip
    x.address = outcome.ip.split('/')[0]
    const entry = a.interfaces.find((e) => e.interface === x.interface)!
    entry[x.family === 4 ? 'ipv4' : 'ipv6'] = outcome.ip
  })
  return full
}

/** Gives back every address this reservation got (its records carry the token); what fails here expires unclaimed. */
async function releaseReservation(writer: PoolWriter, a: Assignment, token: string, log: FastifyBaseLogger) {
  const pools = new Set(a.addresses.filter((x) => !x.reused).map((x) => x.pool))
  const results = await Promise.allSettled([...pools].map((pool) => writer.release(pool, (r) => r.token === token)))
  for (const r of results) if (r.status === 'rejected') log.warn({ err: r.reason, token }, 'giving back a reservation failed; the collector will')
}

/** A StatefulSet pod's recorded addresses it no longer uses (its pools changed): still its own, so released. */
async function releaseOutdated(writer: PoolWriter, a: Assignment, namespace: string, podName: string, log: FastifyBaseLogger) {
  for (const old of a.outdated) {
    const address = old.ip.split('/')[0]
    try {
      await writer.release(old.pool, (r) => r.ip === address && r.pod === `${namespace}/${podName}`)
    } catch (err) {
      log.warn({ err, pool: old.pool, ip: old.ip }, 'releasing a StatefulSet address the pod no longer uses failed; the collector will')
    }
  }
}

function finish(original: Pod, pod: Pod, a: Assignment, token: string): Decision {
  pod.metadata.annotations = { ...pod.metadata.annotations, [reservationAnnotation]: encodeReservation(reservationOf(a, token)) }
  nodeAffinityPatch(pod, a.nodeConstraints)
  return patched(original, pod, a.warnings)
}

function patched(original: Pod, pod: Pod, warnings: string[] = []): Decision {
  const patch = diff(original as unknown as JsonValue, pod as unknown as JsonValue)
  return { allowed: true, ...(patch.length > 0 && { patch }), ...(warnings.length > 0 && { warnings }) }
}
