// COORD-M-04 and COORD-M-05: the route destinations of a CoordinatorSpec in the form the
// coordinator plugin parses at CNI ADD. Shared by SpiderCoordinator and SpiderMultusConfig.
import { formatPrefix, parseAddr, parseIPOrPrefix } from '../../ipam/ip.ts'
import type { CoordinatorSpec } from '../../schemas/types.ts'

/** COORD-M-04: a bare address gets `/32` or `/128`; a zoned one is left for validation to refuse (a prefix has no zone). */
export function hijackCIDRAsPrefix(entry: string): string | undefined {
  if (typeof entry !== 'string') return undefined
  if (entry.includes('/')) return entry
  const addr = parseAddr(entry)
  if (!addr.ok || addr.value.zone !== '') return undefined
  return `${entry}/${addr.value.family === 4 ? 32 : 128}`
}

/** COORD-M-05: the destination re-printed as Go's netip prints the prefix (host bits kept). */
export function policyRouteDstAsPrefix(dst: string): string | undefined {
  const prefix = parseIPOrPrefix(dst)
  return prefix.ok ? formatPrefix(prefix.value) : undefined
}

/**
 * Applies COORD-M-04 and COORD-M-05 all or nothing: when one entry cannot be normalised
 * nothing changes and `false` is returned, so validation reports the entry as the user wrote it.
 */
export function normaliseCoordinatorSpec(spec: CoordinatorSpec): boolean {
  const routes = Array.isArray(spec.policyRoutes) ? spec.policyRoutes : []
  const hijack = Array.isArray(spec.hijackCIDR) ? spec.hijackCIDR.map(hijackCIDRAsPrefix) : undefined
  const dsts = routes.map((route) => policyRouteDstAsPrefix(route?.dst))
  if (hijack?.includes(undefined) || dsts.includes(undefined)) return false
  if (hijack) spec.hijackCIDR = hijack as string[]
  routes.forEach((route, i) => {
    route.dst = dsts[i] as string
  })
  return true
}
