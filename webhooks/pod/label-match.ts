// Whether labels satisfy a LabelSelector (apimachinery's LabelSelectorAsSelector), and whether a
// node satisfies a NodeSelectorTerm (the scheduler's required node affinity).
import type { LabelSelectorLike } from '../common/label-selector.ts'
import type { NodeSelectorRequirement, NodeSelectorTerm } from './pod.ts'

type Labels = Readonly<Record<string, string>>

/** An empty selector selects everything; an unknown operator selects nothing. */
export function selectorMatches(selector: LabelSelectorLike | undefined | null, labels: Labels): boolean {
  if (!selector) return false
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!Object.hasOwn(labels, key) || labels[key] !== String(value)) return false
  }
  for (const expr of selector.matchExpressions ?? []) {
    const values = (expr?.values ?? []).map(String)
    if (!requirementMatches(String(expr?.key ?? ''), String(expr?.operator ?? ''), values, labels, false)) return false
  }
  return true
}

function requirementMatches(key: string, operator: string, values: readonly string[], labels: Labels, numeric: boolean): boolean {
  const has = Object.hasOwn(labels, key)
  switch (operator) {
    case 'In':
      return has && values.includes(labels[key])
    case 'NotIn':
      return !has || !values.includes(labels[key])
    case 'Exists':
      return has
    case 'DoesNotExist':
      return !has
    case 'Gt':
    case 'Lt': {
      if (!numeric || !has || values.length !== 1) return false
      const label = integer(labels[key])
      const bound = integer(values[0])
      if (label === undefined || bound === undefined) return false
      return operator === 'Gt' ? label > bound : label < bound
    }
    default:
      return false
  }
}

const integer = (text: string): bigint | undefined => (/^[+-]?[0-9]+$/.test(text) ? BigInt(text) : undefined)

/** A node selector requirement on labels (In, NotIn, Exists, DoesNotExist, Gt, Lt). */
const nodeRequirementMatches = (r: NodeSelectorRequirement, labels: Labels): boolean =>
  requirementMatches(r.key, r.operator, r.values ?? [], labels, true)

/** A field requirement: only `metadata.name` In / NotIn exists for nodes. */
function fieldRequirementMatches(r: NodeSelectorRequirement, nodeName: string): boolean {
  if (r.key !== 'metadata.name') return false
  const values = r.values ?? []
  if (r.operator === 'In') return values.includes(nodeName)
  if (r.operator === 'NotIn') return !values.includes(nodeName)
  return false
}

export function nodeSelectorTermMatches(term: NodeSelectorTerm, node: { name: string; labels: Labels }): boolean {
  const expressions = term.matchExpressions ?? []
  const fields = term.matchFields ?? []
  if (expressions.length === 0 && fields.length === 0) return false
  return expressions.every((r) => nodeRequirementMatches(r, node.labels)) && fields.every((r) => fieldRequirementMatches(r, node.name))
}
