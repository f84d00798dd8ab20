// `spec.ipVersion`: derived from the subnet when absent, then checked against the enabled families.
import { parseCIDR, type Family } from '../../ipam/ip.ts'
import { forbidden, invalid, notSupported, type FieldError } from '../field.ts'
import type { Settings } from '../settings.ts'

const field = 'spec.ipVersion'

/** The family of a CIDR text, as Spiderpool derives a missing ipVersion (undefined: not a CIDR). */
export function ipVersionOfCIDR(subnet: unknown): Family | undefined {
  return typeof subnet === 'string' ? parseCIDR(subnet)?.family : undefined
}

/** The version an existing object declares, or the one its subnet implies (objects stored without mutation). */
export function declaredOrDerivedVersion(ipVersion: unknown, subnet: unknown): Family | undefined {
  return ipVersion === 4 || ipVersion === 6 ? ipVersion : ipVersionOfCIDR(subnet)
}

export interface IPVersionCheck {
  /** set when later checks can use the family (also when the family is disabled) */
  family?: Family
  errors: FieldError[]
}

/** absent / not 4 or 6 / family disabled (IPPOOL-V-01..03, SUBNET-V-01..03, RIP-V-01..03). */
export function checkIPVersion(ipVersion: unknown, settings: Settings, absentDetail: string): IPVersionCheck {
  if (ipVersion === undefined || ipVersion === null) return { errors: [invalid(field, null, absentDetail)] }
  if (ipVersion !== 4 && ipVersion !== 6) return { errors: [notSupported(field, ipVersion, ['4', '6'])] }
  const errors: FieldError[] = []
  if (ipVersion === 4 && !settings.enableIPv4) errors.push(forbidden(field, 'IPv4 is disabled'))
  if (ipVersion === 6 && !settings.enableIPv6) errors.push(forbidden(field, 'IPv6 is disabled'))
  return { family: ipVersion, errors }
}

/** ipVersion may not change once both old and new carry one (IPPOOL-V-25, SUBNET-V-20, RIP-V-06). */
export function checkIPVersionUnchanged(oldVersion: unknown, newVersion: unknown): FieldError[] {
  const set = (v: unknown) => v !== undefined && v !== null
  return set(oldVersion) && set(newVersion) && oldVersion !== newVersion ? [forbidden(field, 'is not changeable')] : []
}
