// Label selectors (=, ==, !=, in, notin, exists, !exists, gt, lt) and field selectors (=, ==, !=)
// parsed from query strings into predicates, with kube-apiserver's error wording.
import { badRequest } from './errors.ts'
import type { Resource } from './resources.ts'
import type { StoredObject } from './store.ts'

export type Predicate = (object: StoredObject) => boolean

type LabelRequirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' }
  | { key: string; op: 'gt' | 'lt'; value: number }

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++
    else if (text[i] === ')') depth--
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i))
      start = i + 1
    }
  }
  parts.push(text.slice(start))
  return parts.map((p) => p.trim())
}

const labelKey = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

function parseRequirement(text: string): LabelRequirement {
  const fail = (why: string) => badRequest(`unable to parse requirement: ${why}`)
  let m: RegExpMatchArray | null
  const checkKey = (key: string) => {
    if (!labelKey.test(key)) throw fail(`invalid label key ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' or '.'`)
    return key
  }
  const checkValue = (value: string) => {
    if (value.length > 63 || !labelValue.test(value)) throw fail(`invalid label value: ${JSON.stringify(value)}: must be 63 characters or less and consist of alphanumeric characters, '-', '_' or '.'`)
    return value
  }
  if ((m = text.match(/^(\S+)\s+(in|notin)\s*\((.*)\)$/))) {
    const values = m[3].split(',').map((v) => checkValue(v.trim()))
    return { key: checkKey(m[1]), op: m[2] as 'in' | 'notin', values }
  }
  if ((m = text.match(/^!\s*(\S+)$/))) return { key: checkKey(m[1]), op: '!exists' }
  if ((m = text.match(/^([^=!<>\s]+)\s*(==|=|!=)\s*(\S*)$/))) {
    return { key: checkKey(m[1]), op: m[2] === '!=' ? 'notin' : 'in', values: [checkValue(m[3])] }
  }
  if ((m = text.match(/^([^=!<>\s]+)\s*([<>])\s*(\S+)$/))) {
    const value = Number(m[3])
    if (!Number.isInteger(value)) throw fail(`for 'Gt', 'Lt' operators, the value must be an integer`)
    return { key: checkKey(m[1]), op: m[2] === '>' ? 'gt' : 'lt', value }
  }
  if ((m = text.match(/^(\S+)$/))) return { key: checkKey(m[1]), op: 'exists' }
  throw fail(`found '${text}', expected: key, !key, key=value, key!=value, key in (...), key notin (...)`)
}

function matchesRequirement(labels: Record<string, string>, r: LabelRequirement): boolean {
  const has = Object.hasOwn(labels, r.key)
  switch (r.op) {
    case 'exists':
      return has
    case '!exists':
      return !has
    case 'in':
      return has && r.values.includes(labels[r.key])
    case 'notin':
      return !has || !r.values.includes(labels[r.key])
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(labels[r.key])) return false
      const n = Number(labels[r.key])
      return r.op === 'gt' ? n > r.value : n < r.value
    }
  }
}

export function parseLabelSelector(text: string | null | undefined): Predicate {
  if (!text || text.trim() === '') return () => true
  const requirements = splitTopLevel(text).filter((p) => p !== '').map(parseRequirement)
  return (object) => {
    const labels = object.metadata.labels ?? {}
    return requirements.every((r) => matchesRequirement(labels, r))
  }
}

/** The value a field selector compares, as kube-apiserver renders it (absent fields are ""). */
function fieldValue(object: StoredObject, field: string): string {
  if (field === 'metadata.name') return object.metadata.name ?? ''
  if (field === 'metadata.namespace') return object.metadata.namespace ?? ''
  if (field === 'source') return String((object.source as { component?: string } | undefined)?.component ?? '')
  let at: unknown = object
  for (const part of field.split('.')) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined
  if (at === undefined || at === null) return field === 'spec.hostNetwork' || field === 'spec.unschedulable' ? 'false' : ''
  return String(at)
}

/** Splits on an unescaped separator; `\,` `\=` `\\` stand for themselves. */
function splitEscaped(text: string, separator: string): string[] {
  const parts: string[] = []
  let current = ''
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && i + 1 < text.length) current += text[i] + text[++i]
    else if (text.startsWith(separator, i)) {
      parts.push(current)
      current = ''
      i += separator.length - 1
    } else current += text[i]
  }
  parts.push(current)
  return parts
}

const unescape = (s: string) => s.replace(/\\(.)/g, '$1')

export function parseFieldSelector(text: string | null | undefined, resource: Resource): Predicate {
  if (!text || text.trim() === '') return () => true
  const allowed = ['metadata.name', 'metadata.namespace', ...resource.fieldSelectors]
  const terms = splitEscaped(text, ',')
    .filter((t) => t.trim() !== '')
    .map((term) => {
      const m = term.match(/^((?:[^=!\\]|\\.)+?)\s*(==|=|!=)\s*(.*)$/)
      if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`)
      const field = m[1].trim()
      if (!allowed.includes(field)) {
        throw badRequest(
          resource.custom
            ? `${JSON.stringify(field)} is not a known field selector: only "metadata.name", "metadata.namespace"`
            : `field label not supported: ${field}`,
        )
      }
      return { field, negate: m[2] === '!=', value: unescape(m[3]) }
    })
  return (object) => terms.every((t) => (fieldValue(object, t.field) === t.value) !== t.negate)
}
