// The node constraint of the chosen pools, written into the pod as required node affinity so
// that the scheduler puts the pod where its reserved addresses can be used.
//
// Required terms are ORed, so the constraint is ANDed into every term the pod already has.
// A pool's `nodeName` list becomes `matchFields metadata.name In [node]`, one term per node,
// because Kubernetes allows a single value in a node field requirement; its `nodeAffinity`
// selector becomes `matchExpressions` (each matchLabels pair an `In` with one value).
import type { LabelSelectorLike } from '../common/label-selector.ts'
import type { NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod } from './pod.ts'

export interface PoolNodeConstraint {
  pool: string
  /** the pool's `spec.nodeName` (it wins over its nodeAffinity) */
  nodeName?: readonly string[]
  nodeAffinity?: LabelSelectorLike
}

const nameField = 'metadata.name'
const same = (a: NodeSelectorRequirement, b: NodeSelectorRequirement) =>
  a.key === b.key && a.operator === b.operator && JSON.stringify(a.values ?? []) === JSON.stringify(b.values ?? [])

function requirementsOf(selector: LabelSelectorLike): NodeSelectorRequirement[] {
  const out: NodeSelectorRequirement[] = []
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) out.push({ key, operator: 'In', values: [String(value)] })
  for (const e of selector.matchExpressions ?? []) {
    const r: NodeSelectorRequirement = { key: String(e?.key ?? ''), operator: String(e?.operator ?? '') }
    if ((e?.values ?? []).length > 0) r.values = (e!.values ?? []).map(String)
    out.push(r)
  }
  return out
}

/** The node the term pins with `matchFields metadata.name In [node]`, if any. */
const pinnedBy = (term: NodeSelectorTerm): string | undefined =>
  (term.matchFields ?? []).find((r) => r.key === nameField && r.operator === 'In' && r.values?.length === 1)?.values?.[0]

function withRequirements(term: NodeSelectorTerm, expressions: readonly NodeSelectorRequirement[], fields: readonly NodeSelectorRequirement[]): NodeSelectorTerm {
  const out: NodeSelectorTerm = {}
  const e = [...(term.matchExpressions ?? [])]
  for (const r of expressions) if (!e.some((x) => same(x, r))) e.push(r)
  const f = [...(term.matchFields ?? [])]
  for (const r of fields) if (!f.some((x) => same(x, r))) f.push(r)
  if (e.length > 0) out.matchExpressions = e
  if (f.length > 0) out.matchFields = f
  return out
}

/**
 * The pod's required node selector with the pools' constraints ANDed in; undefined when no pool
 * constrains nodes. Several nodeName lists meet in the nodes common to all of them.
 */
export function mergedNodeSelector(existing: NodeSelector | undefined, constraints: readonly PoolNodeConstraint[]): NodeSelector | undefined {
  const lists = constraints.filter((c) => (c.nodeName ?? []).length > 0).map((c) => c.nodeName!)
  const expressions = constraints.filter((c) => (c.nodeName ?? []).length === 0 && c.nodeAffinity).flatMap((c) => requirementsOf(c.nodeAffinity!))
  if (lists.length === 0 && expressions.length === 0) return undefined
  const names = lists.length === 0 ? undefined : [...new Set(lists[0])].filter((n) => lists.every((l) => l.includes(n)))
  const terms = (existing?.nodeSelectorTerms ?? []).length > 0 ? existing!.nodeSelectorTerms : [{}]

  const merged: NodeSelectorTerm[] = []
  for (const term of terms) {
    if (!names) {
      merged.push(withRequirements(term, expressions, []))
      continue
    }
    const pinned = pinnedBy(term)
    if (pinned !== undefined) {
      // a term pinned to a node outside the pools' nodes can never match: it is dropped
      if (names.includes(pinned)) merged.push(withRequirements(term, expressions, []))
      continue
    }
    for (const name of names) merged.push(withRequirements(term, expressions, [{ key: nameField, operator: 'In', values: [name] }]))
  }
  if (merged.length === 0) {
    // every term was pinned elsewhere: keep them, the scheduler will say the pod fits no node
    return { nodeSelectorTerms: terms.map((t) => withRequirements(t, expressions, (names ?? []).slice(0, 1).map((n) => ({ key: nameField, operator: 'In', values: [n] })))) }
  }
  return { nodeSelectorTerms: merged }
}

/**
 * Writes the merged required node affinity into the pod (a copy: the server turns the change
 * into the patch). Returns whether the pod changed; a pod already bound to a node is left alone.
 */
export function nodeAffinityPatch(pod: Pod, constraints: readonly PoolNodeConstraint[]): boolean {
  if (pod.spec?.nodeName) return false
  const existing = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
  const merged = mergedNodeSelector(existing, constraints)
  if (!merged || JSON.stringify(merged) === JSON.stringify(existing)) return false
  pod.spec ??= {}
  pod.spec.affinity ??= {}
  pod.spec.affinity.nodeAffinity ??= {}
  pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = merged
  return true
}
