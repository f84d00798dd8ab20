// The `ipam.spidernet.io/*` annotations of a pod and its namespace, parsed with Spiderpool's
// rules and messages (ipam-semantics §2.2); every error names its annotation. Spiderpool decodes
// them with Go's encoding/json, so keys match case-insensitively and `null` is an empty value.
import { parseCIDR, parseIPOfFamily } from '../../ipam/ip.ts'
import type { Namespace } from '../cluster.ts'

export const ippoolAnnotation = 'ipam.spidernet.io/ippool'
export const ippoolsAnnotation = 'ipam.spidernet.io/ippools'
export const routesAnnotation = 'ipam.spidernet.io/routes'
export const defaultIPv4PoolAnnotation = 'ipam.spidernet.io/default-ipv4-ippool'
export const defaultIPv6PoolAnnotation = 'ipam.spidernet.io/default-ipv6-ippool'
export const defaultRouteNICAnnotation = 'ipam.spidernet.io/default-route-nic'
export const subnetAnnotation = 'ipam.spidernet.io/subnet'
export const subnetsAnnotation = 'ipam.spidernet.io/subnets'
export const poolIPNumberAnnotation = 'ipam.spidernet.io/ippool-ip-number'
export const poolReclaimAnnotation = 'ipam.spidernet.io/ippool-reclaim'

export type Parsed<T> = { value: T; error?: undefined } | { value?: undefined; error: string }

/** Pool names per family, as written (wildcards not yet expanded). */
export interface PoolNames {
  ipv4: string[]
  ipv6: string[]
}

export interface IPPoolsItem extends PoolNames {
  /** '' in unnamed mode */
  interface: string
  cleanGateway: boolean
}

export interface Route {
  dst: string
  gw: string
}

const wrongInput = (annotation: string) => `wrong input, invalid format of Pod annotation '${annotation}'`

class DecodeError extends Error {}

const goType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v)

/** Go's field lookup: the exact key, else a key equal but for case. */
function field(obj: Record<string, unknown>, key: string): unknown {
  if (Object.hasOwn(obj, key)) return obj[key]
  const lower = key.toLowerCase()
  const match = Object.keys(obj).find((k) => k.toLowerCase() === lower)
  return match === undefined ? undefined : obj[match]
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (v === null || v === undefined) return {}
  if (typeof v !== 'object' || Array.isArray(v)) throw new DecodeError(`json: cannot unmarshal ${goType(v)} into Go value of type ${what}`)
  return v as Record<string, unknown>
}

function asStrings(v: unknown, at: string): string[] {
  if (v === null || v === undefined) return []
  if (!Array.isArray(v)) throw new DecodeError(`json: cannot unmarshal ${goType(v)} into Go struct field ${at} of type []string`)
  for (const x of v) if (typeof x !== 'string') throw new DecodeError(`json: cannot unmarshal ${goType(x)} into Go struct field ${at} of type string`)
  return v as string[]
}

function asString(v: unknown, at: string): string {
  if (v === null || v === undefined) return ''
  if (typeof v !== 'string') throw new DecodeError(`json: cannot unmarshal ${goType(v)} into Go struct field ${at} of type string`)
  return v
}

function asBool(v: unknown, at: string): boolean {
  if (v === null || v === undefined) return false
  if (typeof v !== 'boolean') throw new DecodeError(`json: cannot unmarshal ${goType(v)} into Go struct field ${at} of type bool`)
  return v
}

function decode<T>(text: string, read: (doc: unknown) => T): Parsed<T> {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    return { error: (e as Error).message }
  }
  try {
    return { value: read(doc) }
  } catch (e) {
    if (e instanceof DecodeError) return { error: e.message }
    throw e
  }
}

const withPrefix = <T>(prefix: string, p: Parsed<T>): Parsed<T> => (p.error !== undefined ? { error: `${prefix}: ${p.error}` } : p)

/** `ipam.spidernet.io/ippool`: `{"ipv4": [...], "ipv6": [...]}`, the same pools for every NIC. */
export function parseIPPool(text: string): Parsed<PoolNames> {
  return withPrefix(
    wrongInput(ippoolAnnotation),
    decode(text, (doc) => {
      const o = asObject(doc, 'types.AnnoPodIPPoolValue')
      return { ipv4: asStrings(field(o, 'ipv4'), 'AnnoPodIPPoolValue.ipv4'), ipv6: asStrings(field(o, 'ipv6'), 'AnnoPodIPPoolValue.ipv6') }
    }),
  )
}

/**
 * `ipam.spidernet.io/ippools`: one item per NIC, every item named or none. Whether the named
 * NICs are the pod's is for the caller, who knows the NICs.
 */
export function parseIPPools(text: string): Parsed<IPPoolsItem[]> {
  const parsed = decode(text, (doc) => {
    if (doc !== null && !Array.isArray(doc)) throw new DecodeError(`json: cannot unmarshal ${goType(doc)} into Go value of type types.AnnoPodIPPoolsValue`)
    return ((doc as unknown[] | null) ?? []).map((raw) => {
      const o = asObject(raw, 'types.AnnoIPPoolItem')
      return {
        interface: asString(field(o, 'interface'), 'AnnoIPPoolItem.interface'),
        ipv4: asStrings(field(o, 'ipv4'), 'AnnoIPPoolItem.ipv4'),
        ipv6: asStrings(field(o, 'ipv6'), 'AnnoIPPoolItem.ipv6'),
        cleanGateway: asBool(field(o, 'cleangateway'), 'AnnoIPPoolItem.cleangateway'),
      }
    })
  })
  if (parsed.error !== undefined) return { error: `${wrongInput(ippoolsAnnotation)}: ${parsed.error}` }
  const items = parsed.value
  const problem = (() => {
    if (items.length === 0) return 'value requires at least one item'
    const named = items[0].interface !== ''
    if (items.some((item) => (item.interface !== '') !== named)) return 'NIC should be either all specified or all unspecified'
    const seen = new Set<string>()
    for (const item of items) {
      if (named && seen.has(item.interface)) return `duplicate interface ${item.interface}`
      seen.add(item.interface)
    }
    return undefined
  })()
  return problem ? { error: `${wrongInput(ippoolsAnnotation)}: ${problem}` } : { value: items }
}

/** `ipam.spidernet.io/routes`: `[{"dst": CIDR, "gw": IP}]`, dst and gw of one family. */
export function parseRoutes(text: string): Parsed<Route[]> {
  const parsed = decode(text, (doc) => {
    if (doc !== null && !Array.isArray(doc)) throw new DecodeError(`json: cannot unmarshal ${goType(doc)} into Go value of type types.AnnoPodRoutesValue`)
    return ((doc as unknown[] | null) ?? []).map((raw) => {
      const o = asObject(raw, 'types.AnnoRouteItem')
      const route = { dst: asString(field(o, 'dst'), 'AnnoRouteItem.dst'), gw: asString(field(o, 'gw'), 'AnnoRouteItem.gw') }
      if (!isRoute(route)) throw new DecodeError(`invalid route format 'dst: ${route.dst}, gw: ${route.gw}'`)
      return route
    })
  })
  return withPrefix(wrongInput(routesAnnotation), parsed)
}

function isRoute(r: Route): boolean {
  const dst = parseCIDR(r.dst)
  if (!dst) return false
  return !!parseIPOfFamily(r.gw, dst.family)
}

/** A namespace's `default-ipv4-ippool` / `default-ipv6-ippool`: JSON lists of pool names. */
export function parseNamespaceDefaultPools(ns: Namespace): Parsed<PoolNames> {
  const annotations = ns.metadata.annotations ?? {}
  const value: PoolNames = { ipv4: [], ipv6: [] }
  for (const [key, annotation] of [['ipv4', defaultIPv4PoolAnnotation], ['ipv6', defaultIPv6PoolAnnotation]] as const) {
    if (!Object.hasOwn(annotations, annotation)) continue
    const parsed = decode(annotations[annotation], (doc) => asStrings(doc, `types.AnnoNSDefautl${key === 'ipv4' ? 'V4' : 'V6'}PoolValue`))
    if (parsed.error !== undefined) return { error: `invalid format of Namespace annotation '${annotation}' of Namespace ${ns.metadata.name}: ${parsed.error}` }
    value[key] = parsed.value
  }
  return { value }
}

/** One interface of `ipam.spidernet.io/subnet(s)`: only the first subnet of each family counts. */
export interface SubnetItem {
  interface: string
  ipv4?: string
  ipv6?: string
}

export interface SubnetAnnotations {
  /** which annotation the items come from */
  annotation: typeof subnetAnnotation | typeof subnetsAnnotation
  items: SubnetItem[]
  /** `ippool-ip-number`: `N` fixed or `+N` flexible; undefined when absent */
  ipNumber?: { flexible: boolean; count: number }
  /** `ippool-reclaim`, default true */
  reclaim: boolean
}

/** Go's strconv.ParseBool. */
const goBools: Record<string, boolean> = { '1': true, t: true, T: true, TRUE: true, true: true, True: true, '0': false, f: false, F: false, FALSE: false, false: false, False: false }

/**
 * The SpiderSubnet annotations (`subnets` wins over `subnet`), with Spiderpool's checks
 * (GetSubnetAnnoConfig); undefined when the pod has neither.
 */
export function parseSubnetAnnotations(annotations: Record<string, string>): Parsed<SubnetAnnotations | undefined> {
  const multiple = Object.hasOwn(annotations, subnetsAnnotation)
  if (!multiple && !Object.hasOwn(annotations, subnetAnnotation)) return { value: undefined }
  const annotation = multiple ? subnetsAnnotation : subnetAnnotation
  const text = annotations[annotation]
  const readItem = (raw: unknown): { interface: string; ipv4: string[]; ipv6: string[] } => {
    const o = asObject(raw, 'types.AnnoSubnetItem')
    return {
      interface: asString(field(o, 'interface'), 'AnnoSubnetItem.interface'),
      ipv4: asStrings(field(o, 'ipv4'), 'AnnoSubnetItem.ipv4'),
      ipv6: asStrings(field(o, 'ipv6'), 'AnnoSubnetItem.ipv6'),
    }
  }
  const parsed = decode(text, (doc) => {
    if (!multiple) return [readItem(doc)]
    if (doc !== null && !Array.isArray(doc)) throw new DecodeError(`json: cannot unmarshal ${goType(doc)} into Go value of type []types.AnnoSubnetItem`)
    return ((doc as unknown[] | null) ?? []).map(readItem)
  })
  if (parsed.error !== undefined) return { error: `failed to parse anntation '${annotation}' value '${text}', error: ${parsed.error}` }

  let ipNumber: SubnetAnnotations['ipNumber']
  if (Object.hasOwn(annotations, poolIPNumberAnnotation)) {
    const raw = annotations[poolIPNumberAnnotation]
    const plus = raw.split('+').length - 1
    const digits = plus === 1 ? raw.slice(raw.indexOf('+') + 1) : raw
    if (plus > 1 || !/^[+-]?[0-9]+$/.test(digits)) return { error: `annotation '${poolIPNumberAnnotation}': invalid input '${raw}'` }
    const count = Number(digits)
    if (count < 0) return { error: `subnet '${poolIPNumberAnnotation}' value must equal or greater than 0` }
    ipNumber = { flexible: plus === 1, count }
  }
  let reclaim = true
  if (Object.hasOwn(annotations, poolReclaimAnnotation)) {
    const raw = annotations[poolReclaimAnnotation]
    if (!Object.hasOwn(goBools, raw)) return { error: `failed to parse spider subnet '${poolReclaimAnnotation}', error: strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax` }
    reclaim = goBools[raw]
  }

  const shown = `annotation '${annotation}' ${text}`
  const items: SubnetItem[] = []
  const mode = multiple ? 'mutilple interfaces' : 'single interface'
  for (const raw of parsed.value) {
    const item: SubnetItem = { interface: raw.interface || (multiple ? '' : 'eth0') }
    for (const family of ['ipv4', 'ipv6'] as const) {
      if (raw[family].length === 0) continue
      if (raw[family][0] === '') return { error: `it's invalid to set an empty IPv${family === 'ipv4' ? 4 : 6} subnet with ${mode}: ${shown}` }
      item[family] = raw[family][0]
    }
    if (item.ipv4 === undefined && item.ipv6 === undefined) {
      return { error: `it's invalid to set dual empty subnet with ${multiple ? 'multiple interfaces' : 'single interface'}: ${shown}` }
    }
    items.push(item)
  }
  if (items.length === 0) return { error: `no subnets specified: ${shown}` }
  if (multiple) {
    const repeated = (values: (string | undefined)[]) => {
      const present = values.filter((v) => v !== undefined)
      return new Set(present).size !== present.length
    }
    if (repeated(items.map((i) => i.ipv4)) || repeated(items.map((i) => i.ipv6))) return { error: `it's invalid to use the same subnet for multiple interfaces: ${shown}` }
    if (repeated(items.map((i) => i.interface))) return { error: `it's invalid to use the same Interface name for multiple interfaces: ${shown}` }
  }
  return { value: { annotation, items, ipNumber, reclaim } }
}
