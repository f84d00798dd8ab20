// Node constraints as sets of node names. At admission a pod is rarely bound, so Spiderpool's
// per-node filters (nodeName, nodeAffinity) become: the nodes the pod may run on, the nodes a
// pool serves, and whether the two meet. `any` stands for "not constrained" (or not knowable,
// when the snapshot holds no node yet).
import type { ClusterSnapshot } from '../cluster.ts'
import type { SpiderIPPool } from '../../schemas/types.ts'
import { nodeSelectorTermMatches, selectorMatches } from './label-match.ts'
import type { Pod } from './pod.ts'

export type NodeSet = 'any' | ReadonlySet<string>

export const anyNode: NodeSet = 'any'

export function intersectNodes(a: NodeSet, b: NodeSet): NodeSet {
  if (a === 'any') return b
  if (b === 'any') return a
  return new Set([...a].filter((n) => b.has(n)))
}

export const isNoNode = (s: NodeSet): boolean => s !== 'any' && s.size === 0

/** `[node-1 node-2]`, `any node`, or the first few names and a count. */
export function describeNodes(s: NodeSet, shown = 5): string {
  if (s === 'any') return 'any node'
  const names = [...s].sort()
  if (names.length <= shown) return `[${names.join(' ')}]`
  return `[${names.slice(0, shown).join(' ')} and ${names.length - shown} more]`
}

const nodeView = (n: { metadata: { name?: string; labels?: Record<string, string> } }) => ({ name: n.metadata.name ?? '', labels: n.metadata.labels ?? {} })

/**
 * The nodes the pod may run on by its own constraints: `spec.nodeName`, `spec.nodeSelector`
 * and the required node affinity (terms ORed, `matchFields metadata.name` included, as DaemonSet
 * pods carry it). A pod pinned to a node the snapshot does not know yet may only run there; a pod
 * that fits no known node is the scheduler's to report, not the pools' fault: any node.
 */
export function eligibleNodes(pod: Pod, cluster: ClusterSnapshot): NodeSet {
  const spec = pod.spec ?? {}
  const pinned = pinnedNode(pod)
  if (pinned && !cluster.node(pinned)) return new Set([pinned])
  const known = cluster.nodes()
  if (known.length === 0) return anyNode
  const selector = spec.nodeSelector ?? {}
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []
  const names = known
    .map(nodeView)
    .filter((n) => !spec.nodeName || n.name === spec.nodeName)
    .filter((n) => Object.entries(selector).every(([k, v]) => n.labels[k] === v))
    .filter((n) => terms.length === 0 || terms.some((term) => nodeSelectorTermMatches(term, n)))
    .map((n) => n.name)
  return names.length > 0 ? new Set(names) : anyNode
}

/**
 * The one node the pod is bound or pinned to: `spec.nodeName`, or the node every required term
 * names with `matchFields metadata.name In [node]` (how the DaemonSet controller pins its pods).
 */
export function pinnedNode(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []
  const pins = terms.map((term) => {
    const names = (term.matchFields ?? []).filter((r) => r.key === 'metadata.name' && r.operator === 'In' && r.values?.length === 1)
    return names.length > 0 ? names[0].values![0] : undefined
  })
  if (pins.length === 0 || pins.some((p) => p === undefined)) return undefined
  return pins.every((p) => p === pins[0]) ? pins[0] : undefined
}

/**
 * The nodes a pool serves: its `nodeName` list (which wins over nodeAffinity, as in Spiderpool),
 * else the known nodes its `nodeAffinity` selects (`any` while no node is known), else any node.
 */
export function poolNodes(pool: SpiderIPPool, cluster: ClusterSnapshot): NodeSet {
  const names = pool.spec.nodeName ?? []
  if (names.length > 0) return new Set(names)
  const affinity = pool.spec.nodeAffinity
  if (!affinity) return anyNode
  const known = cluster.nodes()
  if (known.length === 0) return anyNode
  return new Set(known.map(nodeView).filter((n) => selectorMatches(affinity, n.labels)).map((n) => n.name))
}
