// The endpoint webhook (/mutate-spiderpool-spidernet-io-v2beta1-spiderendpoint): the CNI ADD
// writes the pod's SpiderEndpoint, and before it is stored this claims the NIC's reservation
// through the batched pool writer and marks the outcome on the endpoint (ipam/claim.ts), so a
// thousand pods starting at once cost a few dozen pool writes, not a thousand conflicting ones.
// It never refuses an endpoint for a claim: a NIC it could not claim stays unmarked and the
// plugin claims it itself.
import type { FastifyBaseLogger } from 'fastify'
import { claimMarkAnnotation, decodeClaimMark, encodeClaimMark, nicClaimOf, type Claimant, type ClaimMark, type ClaimOutcome } from '../ipam/claim.ts'
import { addressesByPool, type ReservedInterface } from '../ipam/reservation.ts'
import type { PoolWriter } from '../kube/pool-writer.ts'
import type { SpiderEndpoint } from '../schemas/types.ts'
import type { ClusterSnapshot, StoredPod } from '../webhooks/cluster.ts'
import { reservationOf, statefulSetOf } from '../webhooks/pod/claim.ts'
import { diff, jsonEqual, type JsonValue } from './patch.ts'
import { missingObject, type AdmissionRequest, type Decision } from './review.ts'
import { badRequestStatus } from './status.ts'
import { isObject } from '../ipam/json.ts'

export interface EndpointClaimOptions {
  cluster: () => ClusterSnapshot
  /** commits the claims; absent (no Kubernetes API) nothing is claimed and nothing marked */
  writer?: PoolWriter
  /** the pod read through the API, when the cache does not have it with the endpoint's uid yet */
  readPod?: (namespace: string, name: string) => Promise<StoredPod | undefined>
  now?: () => Date
}

type EndpointNIC = NonNullable<SpiderEndpoint['status']>['current']['ips'][number]

const familyKeys = [
  ['ipv4', 'ipv4Pool'],
  ['ipv6', 'ipv6Pool'],
] as const

/** The fields this webhook reads, shaped as the CRD says, or what is wrong with them. */
function shapeProblem(obj: Record<string, unknown>): string | undefined {
  const metadata = obj.metadata
  if (metadata !== undefined && !isObject(metadata)) return 'metadata must be an object'
  const annotations = (metadata as Record<string, unknown> | undefined)?.annotations
  if (annotations !== undefined && annotations !== null) {
    if (!isObject(annotations)) return 'metadata.annotations must be an object of strings'
    const bad = Object.entries(annotations).find(([, v]) => typeof v !== 'string')
    if (bad) return `metadata.annotations.${bad[0]} must be a string`
  }
  const status = obj.status
  if (status === undefined || status === null) return undefined
  if (!isObject(status)) return 'status must be an object'
  const current = status.current
  if (current === undefined || current === null) return undefined
  if (!isObject(current)) return 'status.current must be an object'
  for (const key of ['uid', 'node'] as const) if (current[key] !== undefined && typeof current[key] !== 'string') return `status.current.${key} must be a string`
  if (current.ips === undefined || current.ips === null) return undefined
  if (!Array.isArray(current.ips)) return 'status.current.ips must be a list'
  for (const [i, nic] of current.ips.entries()) {
    if (!isObject(nic) || typeof nic.interface !== 'string') return `status.current.ips[${i}].interface must be a string`
    for (const key of ['ipv4', 'ipv4Pool', 'ipv6', 'ipv6Pool']) if (nic[key] !== undefined && nic[key] !== null && typeof nic[key] !== 'string') return `status.current.ips[${i}].${key} must be a string`
  }
  return undefined
}

/** The endpoint's NIC records exactly the addresses and pools of the reservation entry. */
const recordsReservation = (nic: EndpointNIC, entry: ReservedInterface): boolean =>
  familyKeys.every(([ip, pool]) => (nic[ip] || undefined) === entry[ip] && (nic[pool] || undefined) === entry[pool])

export function endpointClaimHandler(o: EndpointClaimOptions) {
  const now = o.now ?? (() => new Date())

  return async (request: AdmissionRequest, log: FastifyBaseLogger): Promise<Decision> => {
    if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return { allowed: true }
    if (!isObject(request.object)) return { allowed: false, status: badRequestStatus('the review carries no SpiderEndpoint') }
    if (request.operation === 'UPDATE') {
      const missing = missingObject(request, 'oldObject')
      if (missing) return missing
    }
    const malformed = shapeProblem(request.object) ?? (isObject(request.oldObject) ? shapeProblem(request.oldObject) : undefined)
    if (malformed) return { allowed: false, status: badRequestStatus(`the SpiderEndpoint is malformed: ${malformed}`) }

    const original = request.object as unknown as SpiderEndpoint
    const old = request.operation === 'UPDATE' ? (request.oldObject as unknown as SpiderEndpoint) : undefined
    const current = original.status?.current
    const uid = current?.uid ?? ''
    const before = old?.status?.current
    const nics = current?.ips ?? []
    // new NICs, changed NICs, or every NIC of a new uid (a StatefulSet pod's endpoint taken over)
    const handled = nics.filter((nic) => !before || before.uid !== uid || !jsonEqual(nic as JsonValue, (before.ips ?? []).find((b) => b.interface === nic.interface) as JsonValue))
    const incoming = original.metadata?.annotations?.[claimMarkAnnotation]
    if (handled.length === 0 && incoming === old?.metadata?.annotations?.[claimMarkAnnotation]) return { allowed: true }

    // the mark is ours alone: untouched NICs keep what the stored endpoint said, handled ones start bare
    const oldMark = decodeClaimMark(old?.metadata?.annotations?.[claimMarkAnnotation])
    const mark: ClaimMark = { uid, interfaces: {} }
    for (const nic of nics) {
      const kept = oldMark?.uid === uid ? oldMark.interfaces[nic.interface] : undefined
      if (kept && !handled.includes(nic)) mark.interfaces[nic.interface] = kept
    }
    if (handled.length > 0 && uid !== '' && request.dryRun !== true && o.writer) await claimNICs(o, request, original, handled, mark, now(), log)

    const endpoint = structuredClone(original)
    const annotations = { ...endpoint.metadata?.annotations }
    if (Object.keys(mark.interfaces).length > 0) annotations[claimMarkAnnotation] = encodeClaimMark(mark)
    else delete annotations[claimMarkAnnotation]
    endpoint.metadata = { ...endpoint.metadata }
    if (Object.keys(annotations).length > 0) endpoint.metadata.annotations = annotations
    else delete endpoint.metadata.annotations
    const patch = diff(original as unknown as JsonValue, endpoint as unknown as JsonValue)
    return { allowed: true, ...(patch.length > 0 && { patch }) }
  }
}

/** Claims the reservation entries the handled NICs record; marks each NIC whose every pool answered. */
async function claimNICs(o: EndpointClaimOptions, request: AdmissionRequest, endpoint: SpiderEndpoint, handled: EndpointNIC[], mark: ClaimMark, at: Date, log: FastifyBaseLogger): Promise<void> {
  const namespace = request.namespace || endpoint.metadata?.namespace || 'default'
  const name = endpoint.metadata?.name ?? request.name ?? ''
  const uid = mark.uid
  let pod: StoredPod | undefined = o.cluster().pod(namespace, name)
  try {
    if (pod?.metadata?.uid !== uid) pod = await o.readPod?.(namespace, name)
  } catch (err) {
    log.warn({ err, namespace, name }, 'reading the Pod of a SpiderEndpoint failed: its CNI ADD claims itself')
    return
  }
  if (!pod || pod.metadata?.uid !== uid) return
  const who: Claimant = { namespace, name, uid, node: endpoint.status?.current?.node || pod.spec?.nodeName || '', statefulSet: statefulSetOf(pod) !== undefined }
  await Promise.all(
    handled.map(async (nic) => {
      const lookup = reservationOf(pod, nic.interface)
      if (!lookup.entry || !recordsReservation(nic, lookup.entry)) return
      const entry = lookup.entry
      try {
        const outcomes: ClaimOutcome[][] = await Promise.all(
          [...addressesByPool(entry)].map(([pool, addresses]) => o.writer!.claim(pool, addresses.map(({ address }) => ({ address, token: lookup.reservation.token, nic: nic.interface })), who, at)),
        )
        mark.interfaces[nic.interface] = nicClaimOf(outcomes.flat())
      } catch (err) {
        log.warn({ err, namespace, name, nic: nic.interface }, 'claiming at the SpiderEndpoint failed: its CNI ADD claims itself')
      }
    }),
  )
}
