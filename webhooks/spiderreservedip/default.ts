// Defaulting of a SpiderReservedIP (RIP-M-01..04, in Spiderpool's order). Where Spiderpool stops
// mutating, this stops too and leaves the object for validation to name the problem.
import { mergeRanges, parseStrictRange } from '../../ipam/range.ts'
import type { SpiderReservedIP } from '../../schemas/types.ts'
import type { AdmissionContext } from '../kind.ts'

export function defaultReservedIP(rip: SpiderReservedIP, _ctx: AdmissionContext): void {
  const spec = rip.spec
  if (!rip.metadata || !spec) return

  // RIP-M-01 a terminating object is left alone
  if (rip.metadata.deletionTimestamp) return

  // RIP-M-02
  if (!Array.isArray(spec.ips) || spec.ips.length === 0) return

  // RIP-M-03 ipVersion from the first entry only
  if (spec.ipVersion === undefined || spec.ipVersion === null) {
    const first = spec.ips[0]
    const version = parseStrictRange(first, 4) ? 4 : parseStrictRange(first, 6) ? 6 : undefined
    if (!version) return
    spec.ipVersion = version
  }

  // RIP-M-04
  if (spec.ips.length > 1 && (spec.ipVersion === 4 || spec.ipVersion === 6)) {
    const merged = mergeRanges(spec.ips, spec.ipVersion)
    if (merged) spec.ips = merged
  }
}
