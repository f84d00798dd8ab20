// Every coordinator ADD asks the agent for the SpiderCoordinator and fails while it is not Synced
// (cni-coordinator.md §D.2): a pod whose network chains the coordinator plugin would be stuck in
// ContainerCreating. It is refused at admission instead, with what to fix.
import type { SpiderCoordinator } from '../../schemas/types.ts'
import type { ClusterSnapshot } from '../cluster.ts'
import { podNICs, networkKey } from './networks.ts'
import type { PlanContext } from './plan.ts'
import type { Pod } from './pod.ts'
import { isRefusal, refuse, type Refusal } from './refusal.ts'
import { defaultCoordinatorName } from '../spidercoordinator/discovery.ts'
import { isObject } from '../../ipam/json.ts'

/** Whether a NAD's CNI config (a single plugin or a conflist) runs the `coordinator` plugin. */
export function chainsCoordinator(config: unknown): boolean {
  if (typeof config !== 'string' || config === '') return false
  let doc: unknown
  try {
    doc = JSON.parse(config)
  } catch {
    return false
  }
  if (!isObject(doc)) return false
  const plugins = Array.isArray(doc.plugins) ? doc.plugins : [doc]
  return plugins.some((p) => isObject(p) && p.type === 'coordinator')
}

/** Why the coordinator cannot serve pods now, or undefined when it is Synced. */
export function coordinatorProblem(coordinator: SpiderCoordinator | undefined, name: string = defaultCoordinatorName): string | undefined {
  if (!coordinator) return `there is no SpiderCoordinator ${name}: create it (spec.podCIDRType: auto, as Spiderpool's chart does)`
  const status = coordinator.status as { phase?: string; reason?: string } | undefined
  if (status?.phase === 'Synced') return undefined
  if (!status?.phase) return `SpiderCoordinator ${name} has not been synced yet; try again in a moment`
  return `SpiderCoordinator ${name} is ${status.phase}${status.reason ? `: ${status.reason}` : ''}`
}

/** Refuses a pod with a NIC whose NAD chains the coordinator while the coordinator is not Synced. */
export function refuseWhileCoordinatorNotReady(pod: Pod, namespace: string, ctx: PlanContext): Refusal | undefined {
  const { settings, cluster } = ctx
  if (pod.spec?.hostNetwork === true || settings.excludedNamespaces.includes(namespace)) return undefined
  const nics = podNICs(pod, namespace, settings, cluster)
  // a bad networks annotation is planPod's to refuse
  if (isRefusal(nics)) return undefined
  const needing = nics.find((n) => n.network && chainsCoordinator(networkConfig(cluster, n.network)))
  if (!needing) return undefined
  const problem = coordinatorProblem(cluster.coordinator(defaultCoordinatorName))
  if (!problem) return undefined
  return refuse(
    `the Pod's interface ${needing.interface} uses NetworkAttachmentDefinition ${networkKey(needing.network!)}, whose coordinator plugin cannot run: ${problem}`,
  )
}

const networkConfig = (cluster: ClusterSnapshot, n: { namespace: string; name: string }) => cluster.networkAttachmentDefinition(n.namespace, n.name)?.spec?.config
