// One resolved coordinator configuration from the three places values come from: the network
// config (the NAD's coordinator block) first, then the pod's annotation (default-route NIC only),
// then the SpiderCoordinator `default` (spec, and status for the discovered CIDRs), then built-in
// defaults. Pure: the caller reads the objects.
import { formatCIDR, formatIP, parseCIDR, parseIP } from '../../ipam/ip.ts'
import type { SpiderCoordinator } from '../../schemas/types.ts'
import { CniError, errorCode } from '../errors.ts'
import { interfaceNameProblem } from '../skel.ts'
import type { NetConf } from '../skel.ts'

export type Mode = 'auto' | 'underlay' | 'overlay' | 'disabled'
export type Family = 4 | 6

export interface PolicyRoute {
  /** canonical `network/prefix` */
  dst: string
  gw: string
  family: Family
}

export interface ResolvedConfig {
  mode: Mode
  /** The pod NIC the mode logic calls "first" (`podDefaultCniNic`, default eth0). */
  firstNic: string
  overlayPodCIDR: string[]
  serviceCIDR: string[]
  hijackCIDR: string[]
  policyRoutes: PolicyRoute[]
  tunePodRoutes: boolean
  /** The NIC that should carry the pod's default route; "" keeps it where the CNIs put it. */
  podDefaultRouteNic: string
  hostRuleTable: number
  /** -1 leaves the pod's rp_filter alone. */
  podRPFilter: number
  /** rp_filter of the host end of the underlay veth; -1 leaves it alone. */
  hostRPFilter: number
  txQueueLen: number
  /** `xx:xx`, lower case, or "" */
  podMACPrefix: string
  vethLinkAddress: string
  vethMTU: number
  detectGateway: boolean
  detectIPConflict: boolean
}

/** What the coordinator reads from the API for one pod. */
export interface CoordinatorInputs {
  /** The SpiderCoordinator `default`; undefined when it does not exist. */
  coordinator?: SpiderCoordinator
  podAnnotations?: Record<string, string>
}

export const defaultRouteNicAnnotation = 'ipam.spidernet.io/default-route-nic'
export const coordinatorName = 'default'
const defaultHostRuleTable = 500
const defaultVethMTU = 1500
// Tables the kernel reserves (unspec, default, main, local) and the pod's own reply table.
const reservedTables = new Set([0, 100, 253, 254, 255])

/** `disable` is what Spiderpool's plugin knows, `disabled` what its CRD allows: both mean off. */
export function modeOf(value: unknown): Mode | undefined {
  if (value === 'disable' || value === 'disabled') return 'disabled'
  if (value === 'auto' || value === 'underlay' || value === 'overlay') return value
  return undefined
}

/** The mode the network config alone decides (so that a disabled coordinator needs no API read). */
export function netconfMode(netconf: NetConf): Mode | undefined {
  return netconf.mode === undefined || netconf.mode === '' ? undefined : modeOf(netconf.mode)
}

export interface ResolveOptions {
  /**
   * ADD and CHECK need the SpiderCoordinator (Synced) as Spiderpool's agent does; DEL goes on
   * with the network config and defaults, so that a pod can always be torn down.
   */
  requireCoordinator: boolean
}

type Source = { where: string; values: Record<string, unknown> }

export function resolveConfig(netconf: NetConf, inputs: CoordinatorInputs, options: ResolveOptions): ResolvedConfig {
  const problems: string[] = []
  const sc = inputs.coordinator
  if (options.requireCoordinator) {
    if (!sc) throw new CniError(errorCode.tryAgainLater, `spidercoordinator "${coordinatorName}" not found`, 'the coordinator takes the cluster CIDRs from it')
    if (sc.status?.phase !== 'Synced') {
      const reason = sc.status?.reason ? `: ${sc.status.reason}` : ''
      throw new CniError(errorCode.tryAgainLater, `spidercoordinator "${coordinatorName}" is not ready (phase "${sc.status?.phase ?? ''}")${reason}`)
    }
  }
  const nad: Source = { where: 'network config', values: netconf }
  const spec: Source = { where: `spidercoordinator ${coordinatorName} spec`, values: (sc?.spec ?? {}) as Record<string, unknown> }
  const status: Source = { where: `spidercoordinator ${coordinatorName} status`, values: (sc?.status ?? {}) as Record<string, unknown> }

  const present = (s: Source, key: string) => {
    const v = s.values[key]
    return v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0)
  }
  // NAD over the SpiderCoordinator: the first source where the key is present wins.
  const pick = (key: string, ...sources: Array<[Source, string?]>): [unknown, string] | undefined => {
    for (const [s, k = key] of sources) if (present(s, k)) return [s.values[k], `${s.where} ${k}`]
    return undefined
  }
  const int = (p: [unknown, string] | undefined, fallback: number, ok: (n: number) => boolean, rule: string): number => {
    if (!p) return fallback
    const [v, where] = p
    if (!Number.isInteger(v) || !ok(v as number)) {
      problems.push(`${where}: ${JSON.stringify(v)} ${rule}`)
      return fallback
    }
    return v as number
  }
  const bool = (p: [unknown, string] | undefined, fallback: boolean): boolean => {
    if (!p) return fallback
    if (typeof p[0] !== 'boolean') {
      problems.push(`${p[1]}: ${JSON.stringify(p[0])} is not true or false`)
      return fallback
    }
    return p[0]
  }
  const text = (p: [unknown, string] | undefined): string => {
    if (!p) return ''
    if (typeof p[0] !== 'string') {
      problems.push(`${p[1]}: ${JSON.stringify(p[0])} is not a string`)
      return ''
    }
    return p[0]
  }
  const cidrs = (p: [unknown, string] | undefined): string[] => {
    if (!p) return []
    const [v, where] = p
    if (!Array.isArray(v)) {
      problems.push(`${where}: is not a list`)
      return []
    }
    const out: string[] = []
    v.forEach((item, i) => {
      const cidr = typeof item === 'string' ? asCIDR(item) : undefined
      if (cidr) out.push(cidr)
      else problems.push(`${where}[${i}]: ${JSON.stringify(item)} is not a CIDR or an IP address`)
    })
    return out
  }
  const nic = (p: [unknown, string] | undefined): string => {
    const name = text(p)
    const problem = name ? interfaceNameProblem(name) : undefined
    if (problem) {
      problems.push(`${p![1]}: ${problem}`)
      return ''
    }
    return name
  }

  const modeValue = pick('mode', [nad], [spec])
  let mode: Mode = 'auto'
  if (modeValue) {
    const m = modeOf(modeValue[0])
    if (m) mode = m
    else problems.push(`${modeValue[1]}: unknown mode ${JSON.stringify(modeValue[0])} (auto, underlay, overlay or disabled)`)
  }

  const annotations: Source = { where: `pod annotation`, values: inputs.podAnnotations ?? {} }
  const macPrefix = text(pick('podMACPrefix', [nad], [spec]))
  const vethLinkAddress = text(pick('vethLinkAddress', [nad], [spec]))
  if (vethLinkAddress && parseIP(vethLinkAddress)?.family !== 4) problems.push(`vethLinkAddress: "${vethLinkAddress}" is not an IPv4 address`)

  const config: ResolvedConfig = {
    mode,
    firstNic: nic(pick('podDefaultCniNic', [nad])) || 'eth0',
    overlayPodCIDR: cidrs(pick('overlayPodCIDR', [nad], [status])),
    serviceCIDR: cidrs(pick('serviceCIDR', [nad], [status])),
    hijackCIDR: cidrs(pick('hijackCIDR', [nad], [spec])),
    policyRoutes: policyRoutes(pick('policyRoutes', [nad], [spec]), problems),
    tunePodRoutes: bool(pick('tunePodRoutes', [nad], [spec]), true),
    podDefaultRouteNic: nic(pick('podDefaultRouteNic', [nad], [annotations, defaultRouteNicAnnotation], [spec, 'podDefaultRouteNIC'])),
    // The SpiderCoordinator's value counts only when positive, as the agent passed it on.
    hostRuleTable: int(
      pick('hostRuleTable', [nad]) ?? ((spec.values.hostRuleTable as number) > 0 ? pick('hostRuleTable', [spec]) : undefined),
      defaultHostRuleTable,
      (n) => n > 0 && n < 2 ** 32 && !reservedTables.has(n),
      'is not a free routing table number (1 to 4294967295, not 100, 253, 254 or 255)',
    ),
    podRPFilter: int(pick('podRPFilter', [nad], [spec]), 0, (n) => n >= -1 && n <= 2, 'is not -1 (leave alone), 0, 1 or 2'),
    hostRPFilter: int(pick('hostRPFilter', [nad]), -1, (n) => n >= -1 && n <= 2, 'is not -1 (leave alone), 0, 1 or 2'),
    txQueueLen: int(pick('txQueueLen', [nad], [spec]), 0, (n) => n >= 0 && n < 2 ** 32, 'is not a queue length (0 or more)'),
    podMACPrefix: macPrefix ? (macPrefixProblem(macPrefix) ? '' : macPrefix.toLowerCase().replace('-', ':')) : '',
    vethLinkAddress,
    vethMTU: int(pick('vethMTU', [nad], [spec]), defaultVethMTU, (n) => n >= 68 && n <= 65535, 'is not an MTU (68 to 65535)'),
    detectGateway: bool(pick('detectGateway', [nad]), false),
    detectIPConflict: bool(pick('detectIPConflict', [nad]), false),
  }
  const macProblem = macPrefix ? macPrefixProblem(macPrefix) : undefined
  if (macProblem) problems.push(`podMACPrefix: ${macProblem}`)
  if (problems.length) throw new CniError(errorCode.invalidNetworkConfig, 'invalid coordinator configuration', problems.join('; '))
  return config
}

/** A bare address becomes a host prefix, and host bits are cleared, so that `ip route` takes it. */
export function asCIDR(text: string): string | undefined {
  if (text.includes('/')) {
    const c = parseCIDR(text)
    return c && formatCIDR(c)
  }
  const ip = parseIP(text)
  return ip && `${formatIP(ip)}/${ip.family === 4 ? 32 : 128}`
}

function macPrefixProblem(prefix: string): string | undefined {
  if (!/^[0-9a-fA-F]{2}[:-][0-9a-fA-F]{2}$/.test(prefix)) return `"${prefix}" is not two hex bytes such as 0a:1b`
  if (parseInt(prefix.slice(0, 2), 16) & 1) return `"${prefix}" starts with a multicast byte (the first byte must be even)`
  return undefined
}

function policyRoutes(p: [unknown, string] | undefined, problems: string[]): PolicyRoute[] {
  if (!p) return []
  const [v, where] = p
  if (!Array.isArray(v)) {
    problems.push(`${where}: is not a list`)
    return []
  }
  const routes: PolicyRoute[] = []
  v.forEach((item, i) => {
    const at = `${where}[${i}]`
    const dst = typeof item?.dst === 'string' ? asCIDR(item.dst) : undefined
    const gw = typeof item?.gw === 'string' ? parseIP(item.gw) : undefined
    if (!dst) problems.push(`${at}.dst: ${JSON.stringify(item?.dst)} is not a CIDR or an IP address`)
    if (!gw) problems.push(`${at}.gw: ${JSON.stringify(item?.gw)} is not an IP address`)
    if (!dst || !gw) return
    const family = parseCIDR(dst)!.family
    if (gw.family !== family) return void problems.push(`${at}: dst ${dst} and gw ${item.gw} must use the same IP family`)
    routes.push({ dst, gw: formatIP(gw), family })
  })
  return routes
}
