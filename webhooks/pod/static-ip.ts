// StatefulSet pods keep their IPs across re-creation (ipam-semantics §5.4): the SpiderEndpoint of
// the same name outlives the pod and records, per NIC, the address and pool of each family.
// A recorded address is kept while its pool is still among the pools the NIC's source names
// (before filtering, as in Spiderpool); otherwise it is outdated and the NIC gets a fresh one.
// The StatefulSet controller only creates pods whose ordinal is valid, so admission needs no
// check of the StatefulSet itself.
import type { Family } from '../../ipam/ip.ts'
import type { ClusterSnapshot } from '../cluster.ts'
import { controllerOf } from '../common/controller-ref.ts'
import type { Settings } from '../settings.ts'
import type { NICCandidates } from './candidates.ts'
import type { Pod } from './pod.ts'

export interface RecordedIP {
  interface: string
  family: Family
  pool: string
  /** with prefix length, as the endpoint records it */
  ip: string
}

export interface StatefulSetIPs {
  /** `ns/name` of the SpiderEndpoint */
  endpoint: string
  reuse: RecordedIP[]
  /** recorded addresses whose pool the NIC no longer names: theirs to release */
  outdated: RecordedIP[]
}

export const isStatefulSetPod = (pod: Pod, settings: Settings): boolean => {
  const owner = controllerOf(pod.metadata)
  return settings.enableStatefulSet && owner?.apiVersion === 'apps/v1' && owner.kind === 'StatefulSet'
}

export function statefulSetIPs(pod: Pod, namespace: string, settings: Settings, cluster: ClusterSnapshot, nics: readonly NICCandidates[]): StatefulSetIPs | undefined {
  const name = pod.metadata.name
  if (!name || !isStatefulSetPod(pod, settings)) return undefined
  const endpoint = cluster.spiderEndpoint(namespace, name)
  if (!endpoint) return undefined
  const reuse: RecordedIP[] = []
  const outdated: RecordedIP[] = []
  for (const detail of endpoint.status?.current?.ips ?? []) {
    const nic = nics.find((n) => n.interface === detail.interface)
    for (const family of [4, 6] as const) {
      const pool = family === 4 ? detail.ipv4Pool : detail.ipv6Pool
      const ip = family === 4 ? detail.ipv4 : detail.ipv6
      if (!pool || !ip) continue
      const recorded = { interface: detail.interface, family, pool, ip }
      const named = nic?.families.find((f) => f.family === family)?.named ?? []
      if (named.includes(pool)) reuse.push(recorded)
      else outdated.push(recorded)
    }
  }
  return { endpoint: `${namespace}/${name}`, reuse, outdated }
}
