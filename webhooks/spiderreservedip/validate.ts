// Validation of a SpiderReservedIP (RIP-V-01..06). Every bad entry is reported, not only the first.
import type { SpiderReservedIP } from '../../schemas/types.ts'
import { checkIPVersion, checkIPVersionUnchanged } from '../common/ip-version.ts'
import { checkStrictRanges } from '../common/strict-ranges.ts'
import { refuseForbidden, type FieldError, type ValidationResult } from '../field.ts'
import type { AdmissionContext } from '../kind.ts'

const versionNotDerived = "is not generated correctly, 'spec.ips' is empty or 'spec.ips[0]' may be invalid"

function checkSpec(rip: SpiderReservedIP, ctx: AdmissionContext): FieldError[] {
  // RIP-V-01..03
  const version = checkIPVersion(rip.spec?.ipVersion, ctx.settings, versionNotDerived)
  if (!version.family) return version.errors
  // RIP-V-04 strict ranges of the family; reserved IPs belong to no subnet
  return [...version.errors, ...checkStrictRanges(rip.spec?.ips, 'spec.ips', version.family)]
}

export function validateReservedIPCreate(rip: SpiderReservedIP, ctx: AdmissionContext): ValidationResult {
  return checkSpec(rip, ctx)
}

export function validateReservedIPUpdate(oldRIP: SpiderReservedIP, rip: SpiderReservedIP, ctx: AdmissionContext): ValidationResult {
  // RIP-V-05 the update that starts the deletion passes; later ones are refused
  if (rip.metadata?.deletionTimestamp) {
    return oldRIP.metadata?.deletionTimestamp ? refuseForbidden('cannot update a terminating ReservedIP') : []
  }
  // RIP-V-06
  return [...checkIPVersionUnchanged(oldRIP.spec?.ipVersion, rip.spec?.ipVersion), ...checkSpec(rip, ctx)]
}
