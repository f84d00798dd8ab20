// Helm's `--set` (the subset the docs use: `a.b=c`, several joined by commas, `{x,y}` lists)
// and the merge of values files, as `helm install` applies them over the chart's values.yaml.

export class ValuesError extends Error {}

type Values = Record<string, unknown>

const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Helm types `--set` values: true/false, null, whole numbers; anything else is a string. */
function typed(text: string): unknown {
  if (text === 'true') return true
  if (text === 'false') return false
  if (text === 'null') return null
  if (/^-?(0|[1-9]\d*)$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text)
  return text
}

/** Splits on `sep` outside `{…}` and not escaped with a backslash. */
function split(text: string, sep: string): string[] {
  const parts: string[] = []
  let cur = ''
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '\\' && i + 1 < text.length) {
      cur += c + text[++i]
      continue
    }
    if (c === '{') depth++
    if (c === '}') depth--
    if (c === sep && depth === 0) {
      parts.push(cur)
      cur = ''
    } else cur += c
  }
  parts.push(cur)
  return parts
}

const unescape = (s: string) => s.replace(/\\(.)/g, '$1')

/** One `--set` argument (`a.b=c,d={x,y}`) applied to `values` in place. */
export function applySet(values: Values, expression: string): void {
  for (const assignment of split(expression, ',')) {
    const eq = assignment.search(/(?<!\\)=/)
    if (eq <= 0) throw new ValuesError(`--set ${expression}: expected key=value, got ${JSON.stringify(assignment)}`)
    const key = assignment.slice(0, eq)
    const raw = assignment.slice(eq + 1)
    if (/[[\]]/.test(key)) throw new ValuesError(`--set ${expression}: list indexes (${key}) are not supported by this renderer`)
    const path = split(key, '.').map(unescape)
    if (path.some((p) => p === '')) throw new ValuesError(`--set ${expression}: empty key segment in ${key}`)
    const value = raw.startsWith('{') && raw.endsWith('}') ? (raw.length === 2 ? [] : split(raw.slice(1, -1), ',').map((x) => typed(unescape(x)))) : typed(unescape(raw))
    let node = values
    for (const segment of path.slice(0, -1)) {
      if (!isMap(node[segment])) node[segment] = {}
      node = node[segment] as Values
    }
    node[path[path.length - 1]] = value
  }
}

/** `over` merged into `base` as Helm coalesces values: maps merge key by key, a null removes the key, anything else replaces. */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base }
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k]
    else if (isMap(v) && isMap(out[k])) out[k] = mergeValues(out[k] as Values, v)
    else out[k] = v
  }
  return out
}

/** The keys of `given` that `defaults` does not have: a typo in `--set` that Helm would ignore silently. */
export function unknownKeys(defaults: Values, given: Values, prefix = ''): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(given)) {
    const path = prefix ? `${prefix}.${k}` : k
    if (!Object.hasOwn(defaults, k)) out.push(path)
    else if (isMap(v) && isMap(defaults[k])) out.push(...unknownKeys(defaults[k] as Values, v, path))
  }
  return out
}
