// `spec.routes` of a pool or subnet: extra routes `dst` via `gw`, checked per route.
import { formatCIDR, parseCIDROfFamily, type CIDR, type Family } from '../../ipam/ip.ts'
import { invalid, type FieldError } from '../field.ts'
import { checkAddressInSubnet } from './address-in-subnet.ts'
import { invalidCIDRDetail } from './subnet-cidr.ts'

interface RouteLike {
  dst?: unknown
  gw?: unknown
}

/**
 * Per route: the default route belongs to `spec.gateway` (V-15), a dst seen before (V-16), a dst
 * that is not a CIDR of the family (V-17), a gw that is not an address of the family inside the
 * subnet (V-18). Defaults and duplicates compare networks, so `10.0.0.1/8` repeats `10.0.0.0/8`.
 */
export function checkRoutes(routes: readonly RouteLike[] | undefined | null, family: Family, subnetText: string, subnet: CIDR | undefined): FieldError[] {
  const errors: FieldError[] = []
  const seen = new Set<string>()
  const defaultRoute = family === 4 ? '0.0.0.0/0' : '::/0'
  ;(routes ?? []).forEach((route, i) => {
    const dstField = `spec.routes[${i}].dst`
    const dst = route?.dst
    const cidr = typeof dst === 'string' ? parseCIDROfFamily(dst, family) : undefined
    const key = cidr ? formatCIDR(cidr) : String(dst)
    if (key === defaultRoute) errors.push(invalid(dstField, dst, "please specify 'spec.gateway' to configure the default route"))
    else if (seen.has(key)) errors.push(invalid(dstField, dst, 'duplicate route with the same dst'))
    else if (!cidr) errors.push(invalid(dstField, dst, invalidCIDRDetail(family, String(dst ?? ''))))
    seen.add(key)
    errors.push(...checkAddressInSubnet(`spec.routes[${i}].gw`, route?.gw, family, subnetText, subnet).errors)
  })
  return errors
}
