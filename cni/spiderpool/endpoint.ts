// The pod's SpiderEndpoint as Spiderpool's agent keeps it (ipam-semantics §5): named after the
// pod, owned by it (StatefulSet pods excepted: their endpoint outlives the pod and carries their
// addresses to the next one), `status.current` with the uid, node and one entry per NIC.
// Pure: the plugin reads the endpoint, asks what to write, and writes it conditionally.
import type { ReservedInterface } from '../../ipam/reservation.ts'
import type { OwnerReference } from '../../schemas/meta.ts'
import type { SpiderEndpoint } from '../../schemas/types.ts'
import { spiderpoolFinalizer } from '../../webhooks/common/keys.ts'

export type EndpointNIC = NonNullable<SpiderEndpoint['status']>['current']['ips'][number]

export interface PodFacts {
  namespace: string
  name: string
  uid: string
  node: string
  statefulSet: boolean
  /** the top controller: `Deployment`/`web`, or `Pod`/its own name */
  ownerControllerType: string
  ownerControllerName: string
}

/** What to do with the endpoint: nothing, create it, update the one read, or remove a stale one first. */
export type EndpointWrite =
  | { action: 'none' }
  | { action: 'create'; endpoint: SpiderEndpoint }
  | { action: 'update'; endpoint: SpiderEndpoint }
  /** a terminating endpoint of an earlier pod of the same name: let it go, then create */
  | { action: 'replace'; stale: SpiderEndpoint; endpoint: SpiderEndpoint }

/** The endpoint's entry for a NIC, from the reservation entry the NIC was given (same field names). */
export function endpointNIC(r: ReservedInterface): EndpointNIC {
  const nic: EndpointNIC = { interface: r.interface }
  for (const key of ['ipv4', 'ipv4Pool', 'ipv4Gateway', 'ipv6', 'ipv6Pool', 'ipv6Gateway'] as const) if (r[key] !== undefined) nic[key] = r[key]
  nic.vlan = r.vlan
  nic.cleanGateway = r.cleanGateway
  nic.routes = r.routes.map((route) => ({ dst: route.dst, gw: route.gw }))
  return nic
}

/** The reservation-shaped entry an endpoint records for a NIC (a retried ADD answers from it). */
export function reservedInterfaceOf(nic: EndpointNIC): ReservedInterface {
  const r: ReservedInterface = { interface: nic.interface, vlan: nic.vlan ?? 0, cleanGateway: nic.cleanGateway ?? false, routes: (nic.routes ?? []).map((x) => ({ dst: x.dst, gw: x.gw })) }
  for (const key of ['ipv4', 'ipv4Pool', 'ipv4Gateway', 'ipv6', 'ipv6Pool', 'ipv6Gateway'] as const) if (nic[key]) r[key] = nic[key]
  return r
}

export const nicOf = (endpoint: SpiderEndpoint | undefined, ifName: string): EndpointNIC | undefined =>
  endpoint?.status?.current?.ips?.find((n) => n.interface === ifName)

/** The endpoint speaks for this pod: same uid, or a StatefulSet pod's (kept across uids). */
export const endpointIsThePods = (endpoint: SpiderEndpoint | undefined, uid: string, statefulSet: boolean): boolean =>
  !!endpoint && !endpoint.metadata?.deletionTimestamp && (endpoint.status?.current?.uid === uid || statefulSet)

const podReference = (pod: PodFacts): OwnerReference => ({ apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid })

function fresh(pod: PodFacts, nic: EndpointNIC): SpiderEndpoint {
  const metadata: SpiderEndpoint['metadata'] = { name: pod.name, namespace: pod.namespace, finalizers: [spiderpoolFinalizer] }
  if (!pod.statefulSet) metadata.ownerReferences = [podReference(pod)]
  return {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderEndpoint',
    metadata,
    status: { current: { uid: pod.uid, node: pod.node, ips: [nic] }, ownerControllerType: pod.ownerControllerType, ownerControllerName: pod.ownerControllerName },
  }
}

/**
 * The write that makes the endpoint record `nic` for the pod. Other NICs of the same pod stay;
 * a StatefulSet pod's endpoint moves to the new uid and node; an endpoint of an earlier pod of the
 * same name (a stateless pod deleted and re-created) is replaced, as Spiderpool does.
 */
export function endpointWrite(existing: SpiderEndpoint | undefined, pod: PodFacts, nic: EndpointNIC): EndpointWrite {
  if (!existing) return { action: 'create', endpoint: fresh(pod, nic) }
  if (existing.metadata?.deletionTimestamp) return { action: 'replace', stale: existing, endpoint: fresh(pod, nic) }
  const current = existing.status?.current
  const ours = current?.uid === pod.uid || pod.statefulSet
  const others = ours ? (current?.ips ?? []).filter((n) => n.interface !== nic.interface) : []
  const at = ours ? (current?.ips ?? []).findIndex((n) => n.interface === nic.interface) : -1
  const ips = [...others]
  ips.splice(at < 0 ? ips.length : at, 0, nic)
  const metadata = { ...existing.metadata }
  metadata.finalizers = [...new Set([...(metadata.finalizers ?? []), spiderpoolFinalizer])]
  if (pod.statefulSet) delete metadata.ownerReferences
  else metadata.ownerReferences = [...(metadata.ownerReferences ?? []).filter((r) => !(r.kind === 'Pod' && r.apiVersion === 'v1')), podReference(pod)]
  const endpoint: SpiderEndpoint = {
    ...existing,
    metadata,
    status: { current: { uid: pod.uid, node: pod.node, ips }, ownerControllerType: pod.ownerControllerType, ownerControllerName: pod.ownerControllerName },
  }
  if (JSON.stringify(endpoint) === JSON.stringify(existing)) return { action: 'none' }
  return { action: 'update', endpoint }
}

/** The endpoint without the NIC; `delete` when no NIC is left (its finalizer is dropped first). */
export function endpointWithoutNIC(existing: SpiderEndpoint, ifName: string): { action: 'none' } | { action: 'update'; endpoint: SpiderEndpoint } | { action: 'delete'; endpoint: SpiderEndpoint } {
  const current = existing.status?.current
  const ips = (current?.ips ?? []).filter((n) => n.interface !== ifName)
  if (current && ips.length === (current.ips ?? []).length) return { action: 'none' }
  if (ips.length > 0) return { action: 'update', endpoint: { ...existing, status: { ...existing.status!, current: { ...current!, ips } } } }
  const finalizers = (existing.metadata?.finalizers ?? []).filter((f) => f !== spiderpoolFinalizer)
  return { action: 'delete', endpoint: { ...existing, metadata: { ...existing.metadata, finalizers } } }
}
