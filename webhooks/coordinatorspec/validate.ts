// COORD-V-02..V-13: the checks of a CoordinatorSpec shared by SpiderCoordinator (`spec`) and
// SpiderMultusConfig (`spec.coordinator`, SMC-V-30). Every failing field is reported.
import { parseAddr, parseIPOrPrefix, parsePrefix } from '../../ipam/ip.ts'
import { invalid, notSupported, required, type FieldError } from '../field.ts'
import type { CoordinatorSpec } from '../../schemas/types.ts'

export const coordinatorModes = ['auto', 'underlay', 'overlay', 'disabled'] as const
export const podCIDRTypes = ['auto', 'cluster', 'calico', 'cilium', 'none'] as const
export const podRPFilterValues = ['0', '1', '2'] as const

/** Checks every field of `spec`; `at` is where the spec sits in the object (`spec`, `spec.coordinator`). */
export function validateCoordinatorSpec(spec: CoordinatorSpec, at: string): FieldError[] {
  return [
    ...checkMode(spec.mode, at),
    ...checkPodCIDRType(spec.podCIDRType, at),
    ...checkHijackCIDR(spec.hijackCIDR, at),
    ...checkPolicyRoutes(spec.policyRoutes, at),
    ...checkPodMACPrefix(spec.podMACPrefix, at),
    ...checkTxQueueLen(spec.txQueueLen, at),
    ...checkPodRPFilter(spec.podRPFilter, at),
    ...checkVethLinkAddress(spec.vethLinkAddress, at),
    ...checkVethMTU(spec.vethMTU, at),
  ]
}

// The CRD enum, refused here too (Spiderpool leaves it to the schema, quirk 7). `disabled` is the
// CRD's spelling; the coordinator plugin treats it as "do nothing".
function checkMode(mode: unknown, at: string): FieldError[] {
  if (mode === undefined || mode === null) return []
  return (coordinatorModes as readonly unknown[]).includes(mode) ? [] : [notSupported(`${at}.mode`, mode, coordinatorModes)]
}

// COORD-V-02 (absence is COORD-V-01, SpiderCoordinator only)
function checkPodCIDRType(type: unknown, at: string): FieldError[] {
  if (type === undefined || type === null) return []
  return (podCIDRTypes as readonly unknown[]).includes(type) ? [] : [notSupported(`${at}.podCIDRType`, type, podCIDRTypes)]
}

// COORD-V-03: what COORD-M-04 turns into a prefix must be one. Spiderpool reports at
// `spec.extraCIDR[i]` (quirk 8) and lets a zoned address through to fail at CNI ADD.
function checkHijackCIDR(cidrs: unknown, at: string): FieldError[] {
  if (!Array.isArray(cidrs)) return []
  return cidrs.flatMap((cidr, i) => {
    const field = `${at}.hijackCIDR[${i}]`
    if (typeof cidr === 'string' && cidr.includes('/')) {
      const prefix = parsePrefix(cidr)
      return prefix.ok ? [] : [invalid(field, cidr, prefix.error)]
    }
    const addr = parseAddr(cidr)
    if (!addr.ok) return [invalid(field, cidr, addr.error)]
    if (addr.value.zone !== '') return [invalid(field, cidr, `a hijackCIDR entry is a route destination and cannot carry the zone "%${addr.value.zone}"`)]
    return []
  })
}

// COORD-V-04, V-05, V-06
function checkPolicyRoutes(routes: unknown, at: string): FieldError[] {
  if (!Array.isArray(routes)) return []
  return routes.flatMap((route, i) => {
    const field = `${at}.policyRoutes[${i}]`
    const { dst, gw } = (route ?? {}) as { dst?: unknown; gw?: unknown }
    const errs: FieldError[] = []
    const dstPrefix = dst === undefined || dst === null ? undefined : parseIPOrPrefix(dst as string)
    if (dstPrefix === undefined) errs.push(required(`${field}.dst`, 'dst is required'))
    else if (!dstPrefix.ok) errs.push(invalid(`${field}.dst`, dst, dstPrefix.error))
    const gwAddr = gw === undefined || gw === null ? undefined : parseAddr(gw as string)
    if (gwAddr === undefined) errs.push(required(`${field}.gw`, 'gw is required'))
    else if (!gwAddr.ok) errs.push(invalid(`${field}.gw`, gw, 'gw is an invalid IP address'))
    // an IPv4-mapped IPv6 gw is IPv6 here, as in Go's netip
    if (dstPrefix?.ok && gwAddr?.ok && dstPrefix.value.ip.family !== gwAddr.value.family) {
      errs.push(invalid(field, route, 'dst and gw must use the same IP family'))
    }
    return errs
  })
}

// COORD-V-07, V-08
function checkPodMACPrefix(prefix: unknown, at: string): FieldError[] {
  if (prefix === undefined || prefix === null || prefix === '') return []
  const field = `${at}.podMACPrefix`
  if (typeof prefix !== 'string' || !/^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}$/.test(prefix)) return [invalid(field, prefix, 'not a valid MAC prefix')]
  if (parseInt(prefix.slice(0, 2), 16) % 2 === 1) {
    return [invalid(field, prefix, 'not a unicast MAC: the lowest bit of the first byte must be 0')]
  }
  return []
}

// COORD-V-09
function checkTxQueueLen(len: unknown, at: string): FieldError[] {
  return typeof len === 'number' && len < 0 ? [invalid(`${at}.txQueueLen`, len, "txQueueLen can't be less than 0")] : []
}

// COORD-V-11: a negative value means "leave the host's setting" (absence is COORD-V-10, SpiderCoordinator only)
function checkPodRPFilter(filter: unknown, at: string): FieldError[] {
  if (typeof filter !== 'number' || filter < 0 || filter === 0 || filter === 1 || filter === 2) return []
  return [notSupported(`${at}.podRPFilter`, filter, podRPFilterValues)]
}

// COORD-V-12: either family
function checkVethLinkAddress(address: unknown, at: string): FieldError[] {
  if (address === undefined || address === null || address === '') return []
  return parseAddr(address as string).ok ? [] : [invalid(`${at}.vethLinkAddress`, address, 'vethLinkAddress is an invalid IP address')]
}

// COORD-V-13
function checkVethMTU(mtu: unknown, at: string): FieldError[] {
  return typeof mtu === 'number' && mtu <= 0 ? [invalid(`${at}.vethMTU`, mtu, 'vethMTU must be greater than 0')] : []
}
