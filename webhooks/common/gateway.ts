// `spec.gateway` of a pool or subnet: an address of the family inside the subnet that no pod can get.
import type { CIDR, Family } from '../../ipam/ip.ts'
import { parseStrictRange, type Interval } from '../../ipam/range.ts'
import { invalid, type FieldError } from '../field.ts'
import { checkAddressInSubnet } from './address-in-subnet.ts'

/** The strict range (parseStrictRange) of each `ips` and `excludeIPs` entry, undefined where an entry is none. */
export interface EntryRanges {
  ips: readonly (Interval | undefined)[]
  excludeIPs: readonly (Interval | undefined)[]
}

/**
 * Gateway not an address of the family (V-12), outside the subnet (V-13), or inside `ips[i]` and
 * in no `excludeIPs` entry (V-14, at `spec.ips[i]`). V-14 only runs on a gateway that passed V-12/V-13.
 * `entryRanges` spares reading the entries again when the caller has read them already.
 */
export function checkGateway(
  gateway: unknown,
  family: Family,
  subnetText: string,
  subnet: CIDR | undefined,
  ips: readonly unknown[] | undefined,
  excludeIPs: readonly unknown[] | undefined,
  entryRanges?: EntryRanges,
): FieldError[] {
  const address = checkAddressInSubnet('spec.gateway', gateway, family, subnetText, subnet)
  if (address.errors.length > 0 || !subnet || !address.ip) return address.errors
  const gw = address.ip.value
  const strictRange = (text: unknown) => (typeof text === 'string' ? parseStrictRange(text, family) : undefined)
  const holdsGateway = (r: Interval | undefined) => r !== undefined && r.start <= gw && gw <= r.end
  const excluded = excludeIPs ?? []
  for (let i = 0; i < excluded.length; i++) {
    if (holdsGateway(entryRanges ? entryRanges.excludeIPs[i] : strictRange(excluded[i]))) return []
  }
  const errors: FieldError[] = []
  const included = ips ?? []
  for (let i = 0; i < included.length; i++) {
    const text = included[i]
    if (holdsGateway(entryRanges ? entryRanges.ips[i] : strictRange(text))) {
      errors.push(invalid(`spec.ips[${i}]`, text, `conflicts with 'spec.gateway' ${gateway}, add the gateway IP address to 'spec.excludeIPs' or remove it from 'spec.ips'`))
    }
  }
  return errors
}
