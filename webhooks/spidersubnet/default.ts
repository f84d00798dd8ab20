// Defaulting of a SpiderSubnet (SUBNET-M-01..06, in Spiderpool's order). Where Spiderpool stops
// mutating, this stops too and leaves the object for validation to name the problem.
import { mergeRanges } from '../../ipam/range.ts'
import type { SpiderSubnet } from '../../schemas/types.ts'
import { cidrLabelValue } from '../common/cidr-label.ts'
import { addSpiderpoolFinalizer } from '../common/finalizer.ts'
import { ipVersionOfCIDR } from '../common/ip-version.ts'
import { subnetCIDRLabel } from '../common/keys.ts'
import type { AdmissionContext } from '../kind.ts'

export function defaultSubnet(subnet: SpiderSubnet, _ctx: AdmissionContext): void {
  const meta = subnet.metadata
  const spec = subnet.spec
  if (!meta || !spec) return

  // SUBNET-M-01 a terminating subnet is left alone
  if (meta.deletionTimestamp) return

  // SUBNET-M-02
  addSpiderpoolFinalizer(meta)

  // SUBNET-M-03 ipVersion from the subnet
  if (spec.ipVersion === undefined || spec.ipVersion === null) {
    const version = ipVersionOfCIDR(spec.subnet)
    if (!version) return
    spec.ipVersion = version
  }

  // SUBNET-M-04 the CIDR label
  const cidrLabel = cidrLabelValue(spec.subnet, spec.ipVersion)
  if (cidrLabel === undefined) return
  meta.labels = { ...meta.labels, [subnetCIDRLabel]: cidrLabel }

  // SUBNET-M-05
  if (Array.isArray(spec.ips) && spec.ips.length > 1) {
    const merged = mergeRanges(spec.ips, spec.ipVersion)
    if (!merged) return
    spec.ips = merged
  }

  // SUBNET-M-06
  if (Array.isArray(spec.excludeIPs) && spec.excludeIPs.length > 1) {
    const merged = mergeRanges(spec.excludeIPs, spec.ipVersion)
    if (merged) spec.excludeIPs = merged
  }
}
