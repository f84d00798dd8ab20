// What admission decides for a pod being created, before any address is chosen: which NICs
// Spiderpool serves, which pools may serve each NIC and family (in the order they are tried,
// with the nodes each serves), routes, the default-route NIC, and StatefulSet addresses kept.
//
// The pod webhook runs, in this order: resource injection (inject.ts, which may rewrite the
// Multus networks annotation), planPod, then choosePodIPs (assign.ts) against the pools as they
// are now — again after each write conflict — then the node affinity of the chosen pools
// (affinity.ts) and the reservation annotation (ipam/reservation.ts).
import type { Family } from '../../ipam/ip.ts'
import type { ClusterSnapshot } from '../cluster.ts'
import type { Settings } from '../settings.ts'
import { defaultRouteNICAnnotation, parseRoutes, routesAnnotation, type Route } from './annotations.ts'
import { poolCandidates } from './candidates.ts'
import { podNICs } from './networks.ts'
import { anyNode, eligibleNodes, pinnedNode, poolNodes, type NodeSet } from './nodes.ts'
import { annotationsOf, type Pod } from './pod.ts'
import { isRefusal, refuse, type Refusal } from './refusal.ts'
import { selectPoolSources, type PoolSource } from './sources.ts'
import { statefulSetIPs, type RecordedIP } from './static-ip.ts'
import { topControllerOf } from './top-controller.ts'

export { choosePodIPs } from './assign.ts'

export interface PlannedCandidate {
  pool: string
  /** the nodes the pool serves */
  nodes: NodeSet
}

export interface PlannedFamily {
  family: Family
  /** tried in this order; the first with a free address wins */
  candidates: PlannedCandidate[]
  /** a StatefulSet pod keeps this address of this pool instead of taking a free one */
  reuse?: { pool: string; ip: string; nodes: NodeSet }
}

export interface PlannedNIC {
  interface: string
  /** `ns/name` of its NetworkAttachmentDefinition */
  network: string
  source: PoolSource
  /** where the pools come from, for messages */
  from: string
  cleanGateway: boolean
  families: PlannedFamily[]
}

export interface PodPlan {
  namespace: string
  /** the pod's name; '' while only generateName is known */
  podName: string
  nics: PlannedNIC[]
  /** `ipam.spidernet.io/routes`: each goes to the NIC whose chosen subnet holds its gateway */
  routes: Route[]
  defaultRouteNIC?: string
  /** the nodes the pod may run on by its own constraints */
  eligibleNodes: NodeSet
  pinnedNode?: string
  /** set for a StatefulSet pod whose SpiderEndpoint exists */
  statefulSet?: { endpoint: string; outdated: RecordedIP[] }
}

/** Nothing to reserve, and why. */
export interface PodSkip {
  skip: string
}

export interface PlanContext {
  settings: Settings
  cluster: ClusterSnapshot
}

export const isSkip = (v: unknown): v is PodSkip => typeof v === 'object' && v !== null && typeof (v as PodSkip).skip === 'string'

export function planPod(pod: Pod, namespace: string, ctx: PlanContext): PodPlan | PodSkip | Refusal {
  const { settings, cluster } = ctx
  if (pod.spec?.hostNetwork === true) return { skip: 'the Pod uses the host network' }
  if (settings.excludedNamespaces.includes(namespace)) return { skip: `Namespace ${namespace} is excluded` }

  const nics = podNICs(pod, namespace, settings, cluster)
  if (isRefusal(nics)) return nics
  const ours = nics.filter((n) => n.ipam)
  if (ours.length === 0) return { skip: 'no NIC of the Pod uses the spiderpool IPAM' }

  const annotations = annotationsOf(pod)
  let routes: Route[] = []
  if (Object.hasOwn(annotations, routesAnnotation)) {
    const parsed = parseRoutes(annotations[routesAnnotation])
    if (parsed.error !== undefined) return refuse(parsed.error)
    routes = parsed.value
  }
  const defaultRouteNIC = annotations[defaultRouteNICAnnotation]
  if (defaultRouteNIC !== undefined && !nics.some((n) => n.interface === defaultRouteNIC)) {
    return refuse(`invalid annotation '${defaultRouteNICAnnotation}': ${defaultRouteNIC} is not an interface of the Pod [${nics.map((n) => n.interface).join(' ')}]`)
  }

  const app = topControllerOf(pod, namespace, cluster)
  const eligible = eligibleNodes(pod, cluster)
  const pinned = pinnedNode(pod)
  const selections = selectPoolSources({ pod, namespace, nics: ours, settings, cluster, app })
  if (isRefusal(selections)) return selections
  const candidates = poolCandidates(selections, { pod, namespace, settings, cluster, app, eligible, pinned })
  if (isRefusal(candidates)) return candidates

  const kept = statefulSetIPs(pod, namespace, settings, cluster, candidates)
  const plan: PodPlan = {
    namespace,
    podName: pod.metadata.name ?? '',
    nics: candidates.map((nic) => ({
      interface: nic.interface,
      network: nic.network,
      source: nic.source,
      from: nic.from,
      cleanGateway: nic.cleanGateway,
      families: nic.families.map((f) => {
        const family: PlannedFamily = { family: f.family, candidates: f.pools.map((c) => ({ pool: c.name, nodes: c.nodes })) }
        const recorded = kept?.reuse.find((r) => r.interface === nic.interface && r.family === f.family)
        if (recorded) {
          const pool = cluster.ippool(recorded.pool)
          family.reuse = { pool: recorded.pool, ip: recorded.ip, nodes: pool ? poolNodes(pool, cluster) : anyNode }
        }
        return family
      }),
    })),
    routes,
    eligibleNodes: eligible,
  }
  if (defaultRouteNIC !== undefined) plan.defaultRouteNIC = defaultRouteNIC
  if (pinned !== undefined) plan.pinnedNode = pinned
  if (kept) plan.statefulSet = { endpoint: kept.endpoint, outdated: kept.outdated }
  return plan
}
