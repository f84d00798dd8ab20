// `spec.gateway` of a pool or subnet: an address of the family inside the subnet that no pod can get.
import type { CIDR, Family } from '../../ipam/ip.ts'
import { parseStrictRange } from '../../ipam/range.ts'
import { invalid, type FieldError } from '../field.ts'
import { checkAddressInSubnet } from './address-in-subnet.ts'

/**
 * Gateway not an address of the family (V-12), outside the subnet (V-13), or inside `ips[i]` and
 * in no `excludeIPs` entry (V-14, at `spec.ips[i]`). V-14 only runs on a gateway that passed V-12/V-13.
 */
export function checkGateway(
  gateway: unknown,
  family: Family,
  subnetText: string,
  subnet: CIDR | undefined,
  ips: readonly unknown[] | undefined,
  excludeIPs: readonly unknown[] | undefined,
): FieldError[] {
  const address = checkAddressInSubnet('spec.gateway', gateway, family, subnetText, subnet)
  if (address.errors.length > 0 || !subnet || !address.ip) return address.errors
  const gw = address.ip.value
  const contains = (text: unknown) => {
    const r = typeof text === 'string' ? parseStrictRange(text, family) : undefined
    return r !== undefined && r.start <= gw && gw <= r.end
  }
  if ((excludeIPs ?? []).some(contains)) return []
  const errors: FieldError[] = []
  ;(ips ?? []).forEach((text, i) => {
    if (contains(text)) {
      errors.push(invalid(`spec.ips[${i}]`, text, `conflicts with 'spec.gateway' ${gateway}, add the gateway IP address to 'spec.excludeIPs' or remove it from 'spec.ips'`))
    }
  })
  return errors
}
