// Defaulting of a SpiderIPPool (IPPOOL-M-01..08, in Spiderpool's order). Where Spiderpool stops
// mutating, this stops too and leaves the object for validation to name the problem.
import { mergeRanges } from '../../ipam/range.ts'
import type { SpiderIPPool, SpiderSubnet } from '../../schemas/types.ts'
import { cidrLabelValue } from '../common/cidr-label.ts'
import { controllerOf, setControllerReference } from '../common/controller-ref.ts'
import { addSpiderpoolFinalizer } from '../common/finalizer.ts'
import { ipVersionOfCIDR } from '../common/ip-version.ts'
import { ippoolCIDRLabel, ownerSpiderSubnetLabel, spiderpoolAPIVersion, subnetCIDRLabel } from '../common/keys.ts'
import type { AdmissionContext } from '../kind.ts'

export function defaultIPPool(pool: SpiderIPPool, ctx: AdmissionContext): void {
  const meta = pool.metadata
  const spec = pool.spec
  if (!meta || !spec) return

  // IPPOOL-M-01 a terminating pool is left alone
  if (meta.deletionTimestamp) return

  // IPPOOL-M-02
  addSpiderpoolFinalizer(meta)

  // IPPOOL-M-03 ipVersion from the subnet
  if (spec.ipVersion === undefined || spec.ipVersion === null) {
    const version = ipVersionOfCIDR(spec.subnet)
    if (!version) return
    spec.ipVersion = version
  }

  // IPPOOL-M-04 the CIDR label
  const cidrLabel = cidrLabelValue(spec.subnet, spec.ipVersion)
  if (cidrLabel === undefined) return
  meta.labels = { ...meta.labels, [ippoolCIDRLabel]: cidrLabel }

  // IPPOOL-M-05 adopted by the SpiderSubnet of the same CIDR
  if (ctx.settings.enableSpiderSubnet) {
    const owner = controllerOf(meta)
    const alreadyAdopted = owner !== undefined && meta.labels[ownerSpiderSubnetLabel] === owner.name
    if (!alreadyAdopted) {
      const subnet = ctx.cluster.subnets().find((s) => subnetHasCIDR(s, cidrLabel, spec.subnet))
      if (subnet) {
        const name = subnet.metadata.name ?? ''
        const adopted = setControllerReference(meta, { apiVersion: spiderpoolAPIVersion, kind: 'SpiderSubnet', name, uid: subnet.metadata.uid ?? '' })
        if (!adopted) return
        meta.labels[ownerSpiderSubnetLabel] = name
        // IPPOOL-M-06 gateway and routes from the subnet unless the pool has its own
        if (subnet.spec?.gateway !== undefined && subnet.spec.gateway !== null && (spec.gateway === undefined || spec.gateway === null)) {
          spec.gateway = subnet.spec.gateway
        }
        // an explicit `routes: []` opts out of inheritance
        if ((subnet.spec?.routes?.length ?? 0) > 0 && (spec.routes === undefined || spec.routes === null)) {
          spec.routes = subnet.spec.routes!.map((r) => ({ ...r }))
        }
      }
    }
  }

  // IPPOOL-M-07
  if (Array.isArray(spec.ips) && spec.ips.length > 1) {
    const merged = mergeRanges(spec.ips, spec.ipVersion)
    if (!merged) return
    spec.ips = merged
  }

  // IPPOOL-M-08
  if (Array.isArray(spec.excludeIPs) && spec.excludeIPs.length > 1) {
    const merged = mergeRanges(spec.excludeIPs, spec.ipVersion)
    if (merged) spec.excludeIPs = merged
  }
}

/** Spiderpool finds the subnet by its label; a subnet stored without the label is found by its text. */
function subnetHasCIDR(subnet: SpiderSubnet, cidrLabel: string, cidr: string): boolean {
  const label = subnet.metadata?.labels?.[subnetCIDRLabel]
  return label !== undefined ? label === cidrLabel : subnet.spec?.subnet === cidr
}
