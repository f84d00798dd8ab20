// An address field (gateway, route gw): an IP of the pool family, inside the pool subnet.
import { cidrContains, parseIPOfFamily, type CIDR, type Family, type IP } from '../../ipam/ip.ts'
import { invalid, type FieldError } from '../field.ts'
import { outsideSubnetDetail } from './strict-ranges.ts'

export const invalidIPDetail = (family: Family, text: string): string => `invalid IP format in IPv${family} '${text}'`

export type AddressCheck = { ip?: IP; errors: FieldError[] }

/** Not an address of the family, or (when the subnet is usable) outside it; network and broadcast count as inside. */
export function checkAddressInSubnet(field: string, text: unknown, family: Family, subnetText: string, subnet: CIDR | undefined): AddressCheck {
  const ip = typeof text === 'string' ? parseIPOfFamily(text, family) : undefined
  if (!ip) return { errors: [invalid(field, text, invalidIPDetail(family, String(text ?? '')))] }
  if (subnet && !cidrContains(subnet, ip)) return { ip, errors: [invalid(field, text, outsideSubnetDetail(subnetText))] }
  return { ip, errors: [] }
}
