// Strict range entries (SpiderSubnet and SpiderReservedIP `spec.ips`, SpiderSubnet `spec.excludeIPs`):
// `A` or `A-B` of the family with A ≤ B, and for a subnet both ends inside it.
import { cidrContains, type CIDR, type Family } from '../../ipam/ip.ts'
import { parseStrictRange } from '../../ipam/range.ts'
import { invalid, type FieldError } from '../field.ts'

export const invalidRangeDetail = (family: Family, text: string): string => `invalid IP range format in IPv${family} '${text}'`
export const outsideSubnetDetail = (subnet: string): string => `not pertains to the 'spec.subnet' ${subnet} of IPPool`

export interface Within {
  /** the subnet as written, for the message */
  text: string
  /** undefined when the subnet is unusable: containment is then not checked */
  cidr: CIDR | undefined
}

/** One error per bad entry at `<path>[i]`. */
export function checkStrictRanges(texts: readonly unknown[] | undefined | null, path: string, family: Family, within?: Within): FieldError[] {
  const errors: FieldError[] = []
  ;(texts ?? []).forEach((text, i) => {
    const range = typeof text === 'string' ? parseStrictRange(text, family) : undefined
    if (!range) {
      errors.push(invalid(`${path}[${i}]`, text, invalidRangeDetail(family, String(text))))
      return
    }
    const cidr = within?.cidr
    if (!cidr) return
    const inside = (value: bigint) => cidrContains(cidr, { family, value })
    if (!inside(range.start) || !inside(range.end)) errors.push(invalid(`${path}[${i}]`, text, outsideSubnetDetail(within.text)))
  })
  return errors
}
