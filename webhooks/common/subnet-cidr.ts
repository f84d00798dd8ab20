// `spec.subnet` of a pool or subnet: a CIDR of the declared family, written canonically.
import { formatCIDR, parseCIDROfFamily, type CIDR, type Family } from '../../ipam/ip.ts'
import { forbidden, invalid, type FieldError } from '../field.ts'

const field = 'spec.subnet'

export const invalidCIDRDetail = (family: Family, text: string): string => `invalid CIDR format in IPv${family} '${text}'`

/** The subnet when it is a CIDR of the family, else undefined: range, gateway and route checks need it. */
export function usableSubnet(subnet: unknown, family: Family): CIDR | undefined {
  return typeof subnet === 'string' ? parseCIDROfFamily(subnet, family) : undefined
}

/** Not a CIDR of the family (IPPOOL-V-04, SUBNET-V-04). */
export function checkSubnetIsCIDR(subnet: unknown, family: Family): FieldError[] {
  return usableSubnet(subnet, family) ? [] : [invalid(field, subnet, invalidCIDRDetail(family, String(subnet ?? '')))]
}

/** Not written as Go prints the network: host bits set, IPv6 not lowercase RFC 5952 (IPPOOL-V-05, SUBNET-V-05). */
export function checkSubnetIsCanonical(subnet: string, cidr: CIDR): FieldError[] {
  const canonical = formatCIDR(cidr)
  return canonical === subnet ? [] : [invalid(field, subnet, `unformatted subnet ${subnet}, please change it to ${canonical}`)]
}

/** The subnet text may not change (IPPOOL-V-26, SUBNET-V-21). */
export function checkSubnetUnchanged(oldSubnet: unknown, newSubnet: unknown): FieldError[] {
  return oldSubnet !== newSubnet ? [forbidden(field, 'is not changeable')] : []
}
