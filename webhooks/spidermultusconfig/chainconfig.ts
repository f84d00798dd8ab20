// SMC-V-31: each `chainCNIJsonData` entry must be what libcni's ConfFromBytes accepts: JSON that
// decodes into a CNI NetConf (Go's encoding/json rules) and names a plugin `type`.

type Shape = 'string' | 'bool' | 'stringList' | 'boolMap' | 'object'

// NetConf's fields and their Go types; any other key is ignored, as encoding/json does
const netConfFields: Record<string, Shape | Record<string, Shape>> = {
  cniVersion: 'string',
  name: 'string',
  type: 'string',
  capabilities: 'boolMap',
  ipam: { type: 'string' },
  dns: { nameservers: 'stringList', domain: 'string', search: 'stringList', options: 'stringList' },
  prevResult: 'object',
}

const goTypes: Record<Shape, string> = {
  string: 'string',
  bool: 'bool',
  stringList: '[]string',
  boolMap: 'map[string]bool',
  object: 'map[string]interface {}',
}

const jsonKind = (v: unknown): string =>
  Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'boolean' ? 'bool' : typeof v === 'object' ? 'object' : typeof v

/** Go's encoding/json matches keys to fields exactly first, then case-insensitively. */
function fieldFor<T>(fields: Record<string, T>, key: string): [string, T] | undefined {
  if (Object.hasOwn(fields, key)) return [key, fields[key]]
  const folded = Object.keys(fields).find((name) => name.toLowerCase() === key.toLowerCase())
  return folded === undefined ? undefined : [folded, fields[folded]]
}

function shapeProblem(value: unknown, shape: Shape, where: string): string | undefined {
  if (value === null) return undefined
  const mismatch = (kind: string, type: string = goTypes[shape]) =>
    `json: cannot unmarshal ${kind} into Go struct field ${where} of type ${type}`
  switch (shape) {
    case 'string':
    case 'bool':
      return jsonKind(value) === shape ? undefined : mismatch(jsonKind(value))
    case 'stringList': {
      if (!Array.isArray(value)) return mismatch(jsonKind(value))
      const bad = value.find((item) => item !== null && typeof item !== 'string')
      return bad === undefined ? undefined : mismatch(jsonKind(bad), 'string')
    }
    case 'boolMap': {
      if (jsonKind(value) !== 'object') return mismatch(jsonKind(value))
      const bad = Object.values(value as object).find((item) => item !== null && typeof item !== 'boolean')
      return bad === undefined ? undefined : mismatch(jsonKind(bad), 'bool')
    }
    case 'object':
      return jsonKind(value) === 'object' ? undefined : mismatch(jsonKind(value))
  }
}

/** Why libcni refuses `text` as a network config, or undefined when it accepts it. */
export function cniNetworkConfigProblem(text: string): string | undefined {
  if (typeof text !== 'string') return `error parsing configuration: a ${jsonKind(text)} is not a JSON document`
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    return `error parsing configuration: ${(e as Error).message}`
  }
  if (doc !== null && jsonKind(doc) !== 'object') {
    return `error parsing configuration: json: cannot unmarshal ${jsonKind(doc)} into Go value of type types.NetConf`
  }
  // Go decodes keys in order; with duplicate (or case-folded) keys the last one wins
  let type: unknown = undefined
  for (const [key, value] of Object.entries((doc ?? {}) as Record<string, unknown>)) {
    const field = fieldFor(netConfFields, key)
    if (!field) continue
    const [name, shape] = field
    if (typeof shape === 'string') {
      const problem = shapeProblem(value, shape, `NetConf.${name}`)
      if (problem) return `error parsing configuration: ${problem}`
      if (name === 'type' && value !== null) type = value
      continue
    }
    if (value === null) continue
    if (jsonKind(value) !== 'object') {
      return `error parsing configuration: json: cannot unmarshal ${jsonKind(value)} into Go struct field NetConf.${name} of type types.${name === 'ipam' ? 'IPAM' : 'DNS'}`
    }
    for (const [innerKey, innerValue] of Object.entries(value as Record<string, unknown>)) {
      const inner = fieldFor(shape, innerKey)
      if (!inner) continue
      const problem = shapeProblem(innerValue, inner[1], `NetConf.${name}.${inner[0]}`)
      if (problem) return `error parsing configuration: ${problem}`
    }
  }
  if (typeof type !== 'string' || type === '') return "error parsing configuration: missing 'type'"
  return undefined
}
