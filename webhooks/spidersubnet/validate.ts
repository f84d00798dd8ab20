// Validation of a SpiderSubnet (SUBNET-V-01..22, SUBNET-D-01). Unlike Spiderpool, every independent
// error is reported; a check is skipped only when an earlier failure makes it meaningless.
import { cidrsOverlap, type CIDR, type Family } from '../../ipam/ip.ts'
import type { SpiderSubnet } from '../../schemas/types.ts'
import { parseControlledIPPools } from '../common/controlled-ippools.ts'
import { hasSpiderpoolFinalizer } from '../common/finalizer.ts'
import { checkGateway } from '../common/gateway.ts'
import { goList } from '../common/go-list.ts'
import { checkIPVersion, checkIPVersionUnchanged, declaredOrDerivedVersion } from '../common/ip-version.ts'
import { checkStrictRanges } from '../common/strict-ranges.ts'
import { checkRoutes } from '../common/routes.ts'
import { checkSubnetIsCanonical, checkSubnetIsCIDR, checkSubnetUnchanged, usableSubnet } from '../common/subnet-cidr.ts'
import { parseRangeSet, totalIPSet } from '../common/total-ips.ts'
import { forbidden, internal, invalid, refuseAlreadyExists, refuseForbidden, type FieldError, type ValidationResult } from '../field.ts'
import type { AdmissionContext } from '../kind.ts'

const versionNotDerived = "is not generated correctly, 'spec.subnet' may be invalid"

export function validateSubnetCreate(subnet: SpiderSubnet, ctx: AdmissionContext): ValidationResult {
  const spec = subnet.spec ?? ({} as SpiderSubnet['spec'])
  const name = subnet.metadata?.name ?? ''
  // SUBNET-V-01..03
  const version = checkIPVersion(spec.ipVersion, ctx.settings, versionNotDerived)
  if (!version.family) return version.errors
  const family = version.family
  const errors = [...version.errors]

  // SUBNET-V-04
  errors.push(...checkSubnetIsCIDR(spec.subnet, family))
  const cidr = usableSubnet(spec.subnet, family)
  // SUBNET-V-05
  if (cidr) errors.push(...checkSubnetIsCanonical(spec.subnet, cidr))

  if (cidr && errors.length === 0) {
    const sameVersion = ctx.cluster.subnets().filter((s) => declaredOrDerivedVersion(s.spec?.ipVersion, s.spec?.subnet) === family)
    // SUBNET-V-06
    if (sameVersion.some((s) => s.metadata?.name === name)) return refuseAlreadyExists('SpiderSubnet', name)
    // SUBNET-V-07 unlike pools, two subnets may not even share one CIDR
    for (const other of sameVersion) {
      const otherCIDR = usableSubnet(other.spec?.subnet, family)
      if (!otherCIDR) {
        errors.push(internal('spec.subnet', `failed to compare whether 'spec.subnet' overlaps: invalid CIDR format in IPv${family} '${other.spec?.subnet}'`))
      } else if (cidrsOverlap(cidr, otherCIDR)) {
        errors.push(invalid('spec.subnet', spec.subnet, `overlap with Subnet ${other.metadata?.name} which 'spec.subnet' is ${other.spec.subnet}`))
      }
    }
    errors.push(...checkExistingPools(subnet, family, cidr, ctx))
  }

  errors.push(...checkSpec(subnet, family, cidr))
  return errors
}

export function validateSubnetUpdate(oldSubnet: SpiderSubnet, subnet: SpiderSubnet, ctx: AdmissionContext): ValidationResult {
  // SUBNET-V-19 removing the finalizer of a terminating subnet is allowed, anything else is not
  if (subnet.metadata?.deletionTimestamp) {
    return hasSpiderpoolFinalizer(subnet.metadata) ? refuseForbidden('cannot update a terminaing Subnet') : []
  }
  const spec = subnet.spec ?? ({} as SpiderSubnet['spec'])
  const errors: FieldError[] = []
  // SUBNET-V-20
  errors.push(...checkIPVersionUnchanged(oldSubnet.spec?.ipVersion, spec.ipVersion))
  // SUBNET-V-21
  errors.push(...checkSubnetUnchanged(oldSubnet.spec?.subnet, spec.subnet))
  // SUBNET-V-01..03
  const version = checkIPVersion(spec.ipVersion, ctx.settings, versionNotDerived)
  errors.push(...version.errors)
  if (!version.family) return errors
  const family = version.family

  const cidr = usableSubnet(spec.subnet, family)
  // a subnet stored without this webhook may carry a subnet that is not a CIDR of its family
  if (!cidr) errors.push(...checkSubnetIsCIDR(spec.subnet, family))
  errors.push(...checkSpec(subnet, family, cidr))
  // SUBNET-V-22 addresses already handed to pools stay in the subnet
  errors.push(...checkHandedIPsKept(subnet, family))
  return errors
}

export function validateSubnetDelete(subnet: SpiderSubnet, ctx: AdmissionContext): ValidationResult {
  // SUBNET-D-01
  const allocated = subnet.status?.allocatedIPCount ?? 0
  if (ctx.settings.enableValidatingResourcesDeletedWebhook && allocated > 0) {
    return refuseForbidden(`cannot delete an Subnet with allocated IPs(${allocated})`)
  }
  return []
}

/** SUBNET-V-08, SUBNET-V-09: existing pools of this version either fit in the new subnet or stay clear of it. */
function checkExistingPools(subnet: SpiderSubnet, family: Family, cidr: CIDR, ctx: AdmissionContext): FieldError[] {
  const errors: FieldError[] = []
  const name = subnet.metadata?.name ?? ''
  const pools = ctx.cluster.ippools().filter((p) => declaredOrDerivedVersion(p.spec?.ipVersion, p.spec?.subnet) === family)
  let subnetTotal: ReturnType<typeof totalIPSet> | undefined
  for (const pool of pools) {
    const poolName = pool.metadata?.name ?? ''
    if (pool.spec?.subnet !== subnet.spec.subnet) {
      // SUBNET-V-08
      const poolCIDR = usableSubnet(pool.spec?.subnet, family)
      if (!poolCIDR) {
        errors.push(
          internal('spec.subnet', `failed to compare whether 'spec.subnet' overlaps with SpiderIPPool '${poolName}', error: invalid CIDR format in IPv${family} '${pool.spec?.subnet}'`),
        )
      } else if (cidrsOverlap(cidr, poolCIDR)) {
        errors.push(invalid('spec.subnet', subnet.spec.subnet, `overlap with SpiderIPPool '${poolName}' resource 'spec.subnet' ${pool.spec.subnet}`))
      }
      continue
    }
    // SUBNET-V-09 the subnet adopts pools of its CIDR later, so it must cover what they own
    const poolTotal = totalIPSet(pool.spec?.ips, pool.spec?.excludeIPs, family)
    if (poolTotal.error !== undefined) {
      errors.push(internal('spec.ips', `failed to assemble the total IP addresses of the IPPool '${poolName}', error: ${poolTotal.error}`))
      continue
    }
    subnetTotal ??= totalIPSet(subnet.spec.ips, subnet.spec.excludeIPs, family)
    // an unreadable subnet range is reported by SUBNET-V-10/11
    if (subnetTotal.error !== undefined) continue
    if (!poolTotal.set.isSubsetOf(subnetTotal.set)) {
      errors.push(invalid('spec.ips', subnet.spec.ips, `SpiderIPPool '${poolName}' owns some IP addresses that SpiderSubnet '${name}' can't control`))
    }
  }
  return errors
}

/** SUBNET-V-10..18: the rules CREATE and UPDATE share. */
function checkSpec(subnet: SpiderSubnet, family: Family, cidr: CIDR | undefined): FieldError[] {
  const spec = subnet.spec ?? ({} as SpiderSubnet['spec'])
  const subnetText = String(spec.subnet ?? '')
  const errors: FieldError[] = []
  // SUBNET-V-10 strict ranges inside the subnet (a reversed range is refused)
  errors.push(...checkStrictRanges(spec.ips, 'spec.ips', family, { text: subnetText, cidr }))
  // SUBNET-V-11
  errors.push(...checkStrictRanges(spec.excludeIPs, 'spec.excludeIPs', family, { text: subnetText, cidr }))
  // SUBNET-V-12..14
  if (spec.gateway !== undefined && spec.gateway !== null) errors.push(...checkGateway(spec.gateway, family, subnetText, cidr, spec.ips, spec.excludeIPs))
  // SUBNET-V-15..18
  errors.push(...checkRoutes(spec.routes, family, subnetText, cidr))
  return errors
}

/** SUBNET-V-22: every address in `status.controlledIPPools` is still a total IP of the subnet. */
function checkHandedIPsKept(subnet: SpiderSubnet, family: Family): FieldError[] {
  if (subnet.status?.controlledIPPools === undefined || subnet.status.controlledIPPools === null) return []
  const name = subnet.metadata?.name ?? ''
  const total = totalIPSet(subnet.spec?.ips, subnet.spec?.excludeIPs, family)
  // an unreadable range is reported by SUBNET-V-10/11
  if (total.error !== undefined) return []
  const controlled = parseControlledIPPools(subnet.status?.controlledIPPools)
  if (controlled.error !== undefined) {
    return [internal('status.controlledIPPools', `failed to unmarshal the controlled IPPools of Subnet ${name}: ${controlled.error}`)]
  }
  const errors: FieldError[] = []
  for (const { pool, ips } of controlled.pools) {
    const handed = parseRangeSet(ips, family)
    if (handed.error !== undefined) {
      errors.push(internal('status.controlledIPPools', `failed to parse the pre-allocation of the IPPool ${pool}: ${handed.error}`))
      continue
    }
    const removed = handed.set.subtract(total.set)
    if (!removed.isEmpty) {
      errors.push(
        forbidden(
          'spec.ips',
          `remove some IP ranges ${goList(removed.toRangeTexts())} that is being used by IPPool ${pool}, total IP addresses of an Subnet are jointly determined by 'spec.ips' and 'spec.excludeIPs'`,
        ),
      )
    }
  }
  return errors
}
