// CNI spec versions and the result type across them. Plugins work on one shape (1.1.0); the
// dispatcher parses prevResult into it and prints the plugin's result in the config's version.
import { parseCIDR, parseIP } from '../ipam/ip.ts'
import { CniError, errorCode } from './errors.ts'

export const supportedVersions = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const
export const latestVersion = '1.1.0'

/** `major.minor.micro` as numbers; an absent version is 0.1.0, as the CNI spec says. */
export function parseVersion(version: string | undefined): [number, number, number] {
  if (version === undefined || version === '') return [0, 1, 0]
  const parts = version.split('.')
  if (parts.length > 3 || parts.some((p) => !/^[0-9]+$/.test(p))) throw new CniError(errorCode.decodingFailure, `invalid version "${version}"`)
  const [major, minor = 0, micro = 0] = parts.map(Number)
  return [major, minor, micro]
}

export function versionAtLeast(version: string | undefined, than: string): boolean {
  const a = parseVersion(version)
  const b = parseVersion(than)
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i]
  return true
}

export interface Interface {
  name: string
  mac?: string
  /** 1.1.0 */
  mtu?: number
  sandbox?: string
  /** 1.1.0 */
  socketPath?: string
  /** 1.1.0 */
  pciID?: string
}

export interface IPConfig {
  /** `ip/prefix`, the host bits kept */
  address: string
  gateway?: string
  /** index into `interfaces` */
  interface?: number
}

export interface Route {
  dst: string
  gw?: string
  /** 1.1.0: mtu, advmss, priority, table, scope */
  mtu?: number
  advmss?: number
  priority?: number
  table?: number
  scope?: number
}

export interface DNS {
  nameservers?: string[]
  domain?: string
  search?: string[]
  options?: string[]
}

/** A CNI result in the 1.1.0 shape, whatever version it came in. */
export interface Result {
  cniVersion: string
  interfaces?: Interface[]
  ips?: IPConfig[]
  routes?: Route[]
  dns?: DNS
}

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The family of an `ip/prefix` address, or undefined when it is not one. */
export function addressFamily(address: string): 4 | 6 | undefined {
  return parseCIDR(address)?.family
}

/**
 * A result of any supported version (`prevResult`, or a delegated plugin's output) in the 1.1.0
 * shape. `ips[].version` of 0.3.x/0.4.0 is checked against the address and dropped; results
 * printed by Go plugins in the 1.0.0 shape under a 0.x version (Spiderpool's IPAM) pass too.
 */
export function parseResult(raw: unknown, where = 'prevResult'): Result {
  const problems: string[] = []
  const bad = (path: string, why: string) => problems.push(`${where}${path} ${why}`)
  if (!isObject(raw)) throw new CniError(errorCode.decodingFailure, `${where} is not a JSON object`)
  const text = (o: Json, key: string, path: string, required = false): string | undefined => {
    const v = o[key]
    if (v === undefined || v === null || (v === '' && !required)) {
      if (required) bad(`${path}.${key}`, 'is missing')
      return undefined
    }
    if (typeof v !== 'string') return void bad(`${path}.${key}`, 'is not a string')
    return v
  }
  const int = (o: Json, key: string, path: string): number | undefined => {
    const v = o[key]
    if (v === undefined || v === null) return undefined
    if (!Number.isInteger(v)) return void bad(`${path}.${key}`, 'is not an integer')
    return v as number
  }
  const list = (key: string): unknown[] => {
    const v = raw[key]
    if (v === undefined || v === null) return []
    if (!Array.isArray(v)) return bad(`.${key}`, 'is not a list'), []
    return v
  }
  const strings = (o: Json, key: string, path: string): string[] | undefined => {
    const v = o[key]
    if (v === undefined || v === null) return undefined
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) return void bad(`${path}.${key}`, 'is not a list of strings')
    return v as string[]
  }

  const result: Result = { cniVersion: typeof raw.cniVersion === 'string' ? raw.cniVersion : '' }
  const interfaces: Interface[] = []
  list('interfaces').forEach((item, i) => {
    const path = `.interfaces[${i}]`
    if (!isObject(item)) return void bad(path, 'is not an object')
    const name = text(item, 'name', path, true)
    if (name === undefined) return
    const intf: Interface = { name }
    const mac = text(item, 'mac', path)
    const mtu = int(item, 'mtu', path)
    const sandbox = text(item, 'sandbox', path)
    const socketPath = text(item, 'socketPath', path)
    const pciID = text(item, 'pciID', path)
    if (mac !== undefined) intf.mac = mac
    if (mtu !== undefined) intf.mtu = mtu
    if (sandbox !== undefined) intf.sandbox = sandbox
    if (socketPath !== undefined) intf.socketPath = socketPath
    if (pciID !== undefined) intf.pciID = pciID
    interfaces.push(intf)
  })
  const ips: IPConfig[] = []
  list('ips').forEach((item, i) => {
    const path = `.ips[${i}]`
    if (!isObject(item)) return void bad(path, 'is not an object')
    const address = text(item, 'address', path, true)
    if (address === undefined) return
    const family = addressFamily(address)
    if (!family) return void bad(`${path}.address`, `"${address}" is not an address with a prefix length`)
    const version = text(item, 'version', path)
    if (version !== undefined && version !== String(family)) bad(`${path}.version`, `"${version}" does not match the IPv${family} address ${address}`)
    const ip: IPConfig = { address }
    const gateway = text(item, 'gateway', path)
    if (gateway !== undefined) {
      if (parseIP(gateway)?.family !== family) bad(`${path}.gateway`, `"${gateway}" is not an IPv${family} address`)
      ip.gateway = gateway
    }
    const index = int(item, 'interface', path)
    if (index !== undefined) {
      if (index < 0 || index >= list('interfaces').length) bad(`${path}.interface`, `${index} is not an index into interfaces`)
      ip.interface = index
    }
    ips.push(ip)
  })
  const routes: Route[] = []
  list('routes').forEach((item, i) => {
    const path = `.routes[${i}]`
    if (!isObject(item)) return void bad(path, 'is not an object')
    const dst = text(item, 'dst', path, true)
    if (dst === undefined) return
    if (!parseCIDR(dst)) return void bad(`${path}.dst`, `"${dst}" is not a CIDR`)
    const route: Route = { dst }
    const gw = text(item, 'gw', path)
    if (gw !== undefined) {
      if (!parseIP(gw)) bad(`${path}.gw`, `"${gw}" is not an IP address`)
      route.gw = gw
    }
    for (const key of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
      const v = int(item, key, path)
      if (v !== undefined) route[key] = v
    }
    routes.push(route)
  })
  if (raw.dns !== undefined && raw.dns !== null) {
    if (!isObject(raw.dns)) bad('.dns', 'is not an object')
    else {
      const dns: DNS = {}
      const nameservers = strings(raw.dns, 'nameservers', '.dns')
      const domain = text(raw.dns, 'domain', '.dns')
      const search = strings(raw.dns, 'search', '.dns')
      const options = strings(raw.dns, 'options', '.dns')
      if (nameservers?.length) dns.nameservers = nameservers
      if (domain) dns.domain = domain
      if (search?.length) dns.search = search
      if (options?.length) dns.options = options
      if (Object.keys(dns).length) result.dns = dns
    }
  }
  if (problems.length) throw new CniError(errorCode.decodingFailure, `cannot decode ${where}`, problems.join('; '))
  if (interfaces.length) result.interfaces = interfaces
  if (ips.length) result.ips = ips
  if (routes.length) result.routes = routes
  return result
}

const dropUndefined = <T extends Json>(o: T): T => {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k]
  return o
}

/**
 * The JSON a runtime expects from a plugin speaking `version`: 0.3.x/0.4.0 carry `ips[].version`
 * and always a `dns` object; 1.0.0 drops `version` and an empty `dns`; fields new in 1.1.0
 * (interface mtu/socketPath/pciID, route mtu/advmss/priority/table/scope) appear only in 1.1.0.
 */
export function resultForVersion(result: Result, version: string): Json {
  const old = !versionAtLeast(version, '1.0.0')
  const v11 = versionAtLeast(version, '1.1.0')
  const out: Json = { cniVersion: version }
  if (result.interfaces?.length) {
    out.interfaces = result.interfaces.map((i) =>
      dropUndefined({
        name: i.name,
        mac: i.mac,
        mtu: v11 ? i.mtu : undefined,
        sandbox: i.sandbox,
        socketPath: v11 ? i.socketPath : undefined,
        pciID: v11 ? i.pciID : undefined,
      }),
    )
  }
  if (result.ips?.length) {
    out.ips = result.ips.map((ip) =>
      dropUndefined({
        version: old ? String(addressFamily(ip.address)) : undefined,
        interface: ip.interface,
        address: ip.address,
        gateway: ip.gateway,
      }),
    )
  }
  if (result.routes?.length) {
    out.routes = result.routes.map((r) =>
      dropUndefined({
        dst: r.dst,
        gw: r.gw,
        mtu: v11 ? r.mtu : undefined,
        advmss: v11 ? r.advmss : undefined,
        priority: v11 ? r.priority : undefined,
        table: v11 ? r.table : undefined,
        scope: v11 ? r.scope : undefined,
      }),
    )
  }
  const dns = result.dns ?? {}
  if (old || Object.keys(dns).length) out.dns = { ...dns }
  return out
}

/** A result converted from one version to another, through the common shape. */
export function convertResult(raw: unknown, toVersion: string): Json {
  return resultForVersion(parseResult(raw, 'result'), toVersion)
}
