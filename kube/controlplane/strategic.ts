// Strategic merge patch for built-in kinds, the subset `kubectl apply` and `kubectl patch` produce:
// maps merge, lists with a patch merge key merge element-wise, other lists are replaced;
// `$patch: replace|delete|merge`, `$retainKeys`, `$setElementOrder/<list>` and
// `$deleteFromPrimitiveList/<list>` directives are honoured.

type Json = unknown
type JsonMap = Record<string, Json>

const isMap = (v: Json): v is JsonMap => v !== null && typeof v === 'object' && !Array.isArray(v)

interface ListStrategy {
  /** Elements are maps matched by this key. */
  mergeKey?: string
  /** Elements are scalars kept as a set union. */
  union?: boolean
}

const containerLists = new Set(['containers', 'initContainers', 'ephemeralContainers'])

const mergeKeyByField: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  volumes: 'name',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
  schedulingGates: 'name',
  ownerReferences: 'uid',
  conditions: 'type',
  addresses: 'type',
  webhooks: 'name',
}

/** The patch strategy of the list at `path` (field names from the object root, indexes left out). */
export function listStrategy(kind: string, path: readonly string[]): ListStrategy {
  const field = path[path.length - 1]
  const parent = path[path.length - 2]
  if (field === 'ports') {
    if (containerLists.has(parent)) return { mergeKey: 'containerPort' }
    if (kind === 'Service' && path.length === 2 && parent === 'spec') return { mergeKey: 'port' }
    return {}
  }
  if (field === 'finalizers' && parent === 'metadata') return { union: true }
  if (field === 'podCIDRs' && kind === 'Node') return { union: true }
  const mergeKey = mergeKeyByField[field]
  return mergeKey ? { mergeKey } : {}
}

export function applyStrategicMergePatch(original: Json, patch: Json, kind: string): Json {
  return mergeValue(original, patch, [], kind)
}

function mergeValue(original: Json, patch: Json, path: string[], kind: string): Json {
  if (isMap(patch)) return mergeMap(isMap(original) ? original : {}, patch, path, kind)
  if (Array.isArray(patch)) return mergeList(Array.isArray(original) ? original : [], patch, path, kind)
  return patch
}

const setElementOrder = '$setElementOrder/'
const deleteFromPrimitiveList = '$deleteFromPrimitiveList/'

function mergeMap(original: JsonMap, patch: JsonMap, path: string[], kind: string): JsonMap | undefined {
  const directive = patch.$patch
  if (directive === 'delete') return undefined
  if (directive === 'replace') return mergeMap({}, withoutKey(patch, '$patch'), path, kind)
  const result: JsonMap = { ...original }
  const orders: [string, Json[]][] = []
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys') continue
    if (key.startsWith(setElementOrder)) {
      if (Array.isArray(value)) orders.push([key.slice(setElementOrder.length), value])
      continue
    }
    if (key.startsWith(deleteFromPrimitiveList)) {
      const field = key.slice(deleteFromPrimitiveList.length)
      if (Array.isArray(result[field]) && Array.isArray(value)) {
        result[field] = (result[field] as Json[]).filter((item) => !value.some((v) => v === item))
      }
      continue
    }
    if (value === null) {
      delete result[key]
      continue
    }
    const merged = mergeValue(result[key], value, [...path, key], kind)
    if (merged === undefined) delete result[key]
    else result[key] = merged
  }
  for (const [field, order] of orders) {
    if (Array.isArray(result[field])) result[field] = reorder(result[field] as Json[], order, listStrategy(kind, [...path, field]))
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[])
    for (const key of Object.keys(result)) if (!keep.has(key)) delete result[key]
  }
  return result
}

function withoutKey(map: JsonMap, key: string): JsonMap {
  const copy = { ...map }
  delete copy[key]
  return copy
}

function mergeList(original: Json[], patch: Json[], path: string[], kind: string): Json[] {
  const replaceMarker = patch.findIndex((item) => isMap(item) && item.$patch === 'replace')
  if (replaceMarker >= 0) {
    return mergeList([], patch.filter((_, i) => i !== replaceMarker), path, kind)
  }
  const strategy = listStrategy(kind, path)
  if (strategy.union) {
    const result = [...original]
    for (const item of patch) if (!result.some((existing) => existing === item)) result.push(item)
    return result
  }
  const key = strategy.mergeKey
  if (key === undefined) {
    return patch.flatMap((item) => {
      const merged = mergeValue(undefined, item, path, kind)
      return merged === undefined ? [] : [merged]
    })
  }
  const result = [...original]
  for (const item of patch) {
    if (!isMap(item)) {
      result.push(item)
      continue
    }
    const at = result.findIndex((existing) => isMap(existing) && existing[key] === item[key])
    if (item.$patch === 'delete') {
      if (at >= 0) result.splice(at, 1)
      continue
    }
    const merged = mergeMap(at >= 0 ? (result[at] as JsonMap) : {}, item, path, kind)
    if (merged === undefined) {
      if (at >= 0) result.splice(at, 1)
    } else if (at >= 0) result[at] = merged
    else result.push(merged)
  }
  return result
}

/** Puts the elements named by `$setElementOrder` first, in that order; the rest keep their order after them. */
function reorder(list: Json[], order: Json[], strategy: ListStrategy): Json[] {
  const identity = (item: Json): Json => (strategy.mergeKey && isMap(item) ? item[strategy.mergeKey] : item)
  const wanted = order.map(identity)
  const rank = (item: Json) => {
    const i = wanted.indexOf(identity(item))
    return i < 0 ? wanted.length : i
  }
  return list
    .map((item, index) => ({ item, index }))
    .sort((a, b) => rank(a.item) - rank(b.item) || a.index - b.index)
    .map((e) => e.item)
}
