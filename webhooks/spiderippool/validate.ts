// Validation of a SpiderIPPool (IPPOOL-V-01..27, IPPOOL-D-01). Unlike Spiderpool, every independent
// error is reported; a check is skipped only when an earlier failure makes it meaningless.
import { ipv4Form, parseIP, type CIDR, type Family } from '../../ipam/ip.ts'
import type { Interval, IPSet } from '../../ipam/range.ts'
import type { SpiderIPPool } from '../../schemas/types.ts'
import { parseAllocatedIPs } from '../common/allocated-ips.ts'
import { parseControlledIPPools } from '../common/controlled-ippools.ts'
import { controllerOf } from '../common/controller-ref.ts'
import { hasSpiderpoolFinalizer } from '../common/finalizer.ts'
import { checkGateway, type EntryRanges } from '../common/gateway.ts'
import { goList } from '../common/go-list.ts'
import { checkIPVersion, checkIPVersionUnchanged, declaredOrDerivedVersion } from '../common/ip-version.ts'
import { autoPoolPodAffinityKeys, ippoolCIDRLabel, ownerApplicationNameLabel } from '../common/keys.ts'
import { validateLabelSelector } from '../common/label-selector.ts'
import { effectiveSet, parsePoolRange, rangeCollision, strictRangeOfEntry, type PoolRange } from '../common/pool-ranges.ts'
import { checkRoutes } from '../common/routes.ts'
import { checkSubnetIsCanonical, checkSubnetIsCIDR, checkSubnetUnchanged, usableSubnet } from '../common/subnet-cidr.ts'
import { parseRangeSet, totalIPSet } from '../common/total-ips.ts'
import { poolIndex } from './pool-index.ts'
import { forbidden, internal, invalid, refuseAlreadyExists, refuseForbidden, type FieldError, type ValidationResult } from '../field.ts'
import type { AdmissionContext } from '../kind.ts'

const versionNotDerived = "is not generated correctly, 'spec.subnet' may be invalid"
const jointlyDetermined = "total IP addresses of an IPPool are jointly determined by 'spec.ips' and 'spec.excludeIPs'"

export function validateIPPoolCreate(pool: SpiderIPPool, ctx: AdmissionContext): ValidationResult {
  const spec = pool.spec ?? ({} as SpiderIPPool['spec'])
  // IPPOOL-V-01..03
  const version = checkIPVersion(spec.ipVersion, ctx.settings, versionNotDerived)
  if (!version.family) return version.errors
  const family = version.family
  const errors = [...version.errors]

  const subnet = usableSubnet(spec.subnet, family)
  // IPPOOL-V-04
  if (!subnet) errors.push(...checkSubnetIsCIDR(spec.subnet, family))
  // IPPOOL-V-05
  else errors.push(...checkSubnetIsCanonical(spec.subnet, subnet))

  if (subnet && errors.length === 0) {
    const name = pool.metadata?.name ?? ''
    const others = poolIndex(ctx.cluster.ippools())
    // IPPOOL-V-06
    if (others.named(name, family)) return refuseAlreadyExists('SpiderIPPool', name)
    // IPPOOL-V-07 many pools may share one subnet, but not overlap with a different one (named in name order)
    const overlapping: { at: number; error: FieldError }[] = []
    for (const group of others.overlappingOrUnreadable(subnet)) {
      if (group.subnet === spec.subnet) continue
      for (const { pool: other, at } of group.pools) {
        const error = group.cidr
          ? invalid('spec.subnet', spec.subnet, `overlap with IPPool ${other.metadata?.name} which 'spec.subnet' is ${other.spec.subnet}`)
          : internal('spec.subnet', `failed to compare whether 'spec.subnet' overlaps: invalid CIDR format in IPv${family} '${other.spec?.subnet}'`)
        overlapping.push({ at, error })
      }
    }
    for (const { error } of overlapping.sort((a, b) => a.at - b.at)) errors.push(error)
  }

  const checked = checkSpec(pool, family, subnet, ctx)
  errors.push(...checked.errors)
  // IPPOOL-V-22, IPPOOL-V-23
  if (checked.total) errors.push(...checkControllerSubnet(pool, family, checked.total, ctx))
  return errors
}

export function validateIPPoolUpdate(oldPool: SpiderIPPool, pool: SpiderIPPool, ctx: AdmissionContext): ValidationResult {
  // IPPOOL-V-24 removing the finalizer of a terminating pool is allowed, anything else is not
  if (pool.metadata?.deletionTimestamp) {
    return hasSpiderpoolFinalizer(pool.metadata) ? refuseForbidden('cannot update a terminating IPPool') : []
  }
  const spec = pool.spec ?? ({} as SpiderIPPool['spec'])
  const errors: FieldError[] = []
  // IPPOOL-V-25
  errors.push(...checkIPVersionUnchanged(oldPool.spec?.ipVersion, spec.ipVersion))
  // IPPOOL-V-26
  errors.push(...checkSubnetUnchanged(oldPool.spec?.subnet, spec.subnet))
  // IPPOOL-V-01..03
  const version = checkIPVersion(spec.ipVersion, ctx.settings, versionNotDerived)
  errors.push(...version.errors)
  if (!version.family) return errors
  const family = version.family

  const subnet = usableSubnet(spec.subnet, family)
  // a pool stored without this webhook may carry a subnet that is not a CIDR of its family
  if (!subnet) errors.push(...checkSubnetIsCIDR(spec.subnet, family))
  const checked = checkSpec(pool, family, subnet, ctx)
  errors.push(...checked.errors)
  if (checked.total) {
    // IPPOOL-V-27
    errors.push(...checkAllocatedIPsKept(pool, family, checked.total))
    // IPPOOL-V-22, IPPOOL-V-23
    errors.push(...checkControllerSubnet(pool, family, checked.total, ctx))
  }
  return errors
}

export function validateIPPoolDelete(pool: SpiderIPPool, ctx: AdmissionContext): ValidationResult {
  // IPPOOL-D-01
  const allocated = pool.status?.allocatedIPCount ?? 0
  if (ctx.settings.enableValidatingResourcesDeletedWebhook && allocated > 0) {
    return refuseForbidden(`cannot delete an IPPool with allocated IPs(${allocated})`)
  }
  return []
}

interface ParsedEntries {
  ranges: PoolRange[]
  /** index in the list of each parsed range */
  indexes: number[]
  errors: FieldError[]
  /** every entry read as a strict range, for the gateway rule */
  strict: (Interval | undefined)[]
}

function parseEntries(texts: readonly unknown[] | undefined | null, path: string, subnet: CIDR): ParsedEntries {
  const out: ParsedEntries = { ranges: [], indexes: [], errors: [], strict: [] }
  if (!texts) return out
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]
    const parsed = parsePoolRange(text, subnet)
    out.strict.push(strictRangeOfEntry(text, parsed, subnet.family))
    if (parsed.error !== undefined) out.errors.push(invalid(`${path}[${i}]`, text, parsed.error))
    // Spiderpool takes `B-A` on create and then refuses every update of the pool: refuse it at once
    else if (parsed.range.reversed) out.errors.push(invalid(`${path}[${i}]`, text, `invalid range: ${parsed.range.raw}, its first IP is greater than its last`))
    else {
      out.ranges.push(parsed.range)
      out.indexes.push(i)
    }
  }
  return out
}

/** How `range` collides with the first of `earlier[0..count)` it collides with, if any. */
function firstCollision(range: PoolRange, earlier: readonly PoolRange[], count: number): string | undefined {
  for (let j = 0; j < count; j++) {
    const collision = rangeCollision(range, earlier[j])
    if (collision !== undefined) return collision
  }
  return undefined
}

interface CheckedSpec {
  errors: FieldError[]
  /** the pool's addresses (ips − excludeIPs), when every entry is valid; built on first use, as most pools share nothing that needs it */
  total?: () => IPSet
}

/** IPPOOL-V-08..V-21: the rules CREATE and UPDATE share. */
function checkSpec(pool: SpiderIPPool, family: Family, subnet: CIDR | undefined, ctx: AdmissionContext): CheckedSpec {
  const spec = pool.spec ?? ({} as SpiderIPPool['spec'])
  const subnetText = String(spec.subnet ?? '')
  const errors: FieldError[] = []
  let total: (() => IPSet) | undefined
  let entryRanges: EntryRanges | undefined

  if (subnet) {
    // IPPOOL-V-08 entries are ranges inside the subnet (reported at the entry, not at spec.subnet)
    const ips = parseEntries(spec.ips, 'spec.ips', subnet)
    const excludeIPs = parseEntries(spec.excludeIPs, 'spec.excludeIPs', subnet)
    entryRanges = { ips: ips.strict, excludeIPs: excludeIPs.strict }
    errors.push(...ips.errors, ...excludeIPs.errors)

    // IPPOOL-V-09 ips entries do not overlap one another
    ips.ranges.forEach((range, k) => {
      const collision = firstCollision(range, ips.ranges, k)
      if (collision) errors.push(invalid(`spec.ips[${ips.indexes[k]}]`, range.raw, collision))
    })

    if (ips.errors.length === 0 && excludeIPs.errors.length === 0) {
      let set: IPSet | undefined
      total = () => (set ??= effectiveSet(subnet, ips.ranges, excludeIPs.ranges))
      errors.push(...checkSameSubnetPools(pool, family, total, ctx))
    }
  }

  // IPPOOL-V-12..14
  if (spec.gateway !== undefined && spec.gateway !== null) errors.push(...checkGateway(spec.gateway, family, subnetText, subnet, spec.ips, spec.excludeIPs, entryRanges))
  // IPPOOL-V-15..18
  errors.push(...checkRoutes(spec.routes, family, subnetText, subnet))
  // IPPOOL-V-19..21
  errors.push(...checkPodAffinity(pool))
  return { errors, total }
}

/** Another pool's entries as Spiderpool reads them: reversed ranges swapped, ips entries must not collide. */
function readEntries(texts: readonly unknown[] | undefined, subnet: CIDR, checkCollisions: boolean): { ranges: PoolRange[]; error?: undefined } | { ranges?: undefined; error: string } {
  const ranges: PoolRange[] = []
  for (const text of texts ?? []) {
    const parsed = parsePoolRange(text, subnet)
    if (parsed.error !== undefined) return { error: parsed.error }
    const collision = checkCollisions ? firstCollision(parsed.range, ranges, ranges.length) : undefined
    if (collision !== undefined) return { error: collision }
    ranges.push(parsed.range)
  }
  return { ranges }
}

/** IPPOOL-V-10, IPPOOL-V-11: pools of the same subnet must not hand out the same address. */
function checkSameSubnetPools(pool: SpiderIPPool, family: Family, total: () => IPSet, ctx: AdmissionContext): FieldError[] {
  const errors: FieldError[] = []
  const name = pool.metadata?.name
  const label = pool.metadata?.labels?.[ippoolCIDRLabel]
  const others = poolIndex(ctx.cluster.ippools())
  const candidates = label === undefined ? others.withSubnet(pool.spec.subnet) : [...new Set([...others.withSubnet(pool.spec.subnet), ...others.withCIDRLabel(label)])].sort((a, b) => a.at - b.at)
  for (const { pool: other } of candidates) {
    if (other.metadata?.name === name) continue
    const otherName = other.metadata?.name ?? ''
    const otherSubnet = usableSubnet(other.spec?.subnet, family)
    // IPPOOL-V-10 the other pool cannot be read (Spiderpool reads its reversed ranges swapped)
    if (!otherSubnet) {
      errors.push(invalid('spec.subnet', other.spec?.subnet, `IPPool ${otherName}: invalid CIDR format in IPv${family} '${other.spec?.subnet}'`))
      continue
    }
    const otherIPs = readEntries(other.spec?.ips, otherSubnet, true)
    const otherExcluded = readEntries(other.spec?.excludeIPs, otherSubnet, false)
    if (otherIPs.error !== undefined || otherExcluded.error !== undefined) {
      errors.push(invalid('spec.subnet', other.spec?.subnet, `IPPool ${otherName}: ${otherIPs.error ?? otherExcluded.error}`))
      continue
    }
    // IPPOOL-V-11 named by the other pool's entries that share addresses with this pool
    const shared = otherIPs.ranges
      .filter((r) => !effectiveSet(otherSubnet, [r], otherExcluded.ranges).intersect(total()).isEmpty)
      .map((r) => r.raw)
    if (shared.length > 0) {
      errors.push(forbidden('spec.ips', `overlap with IPPool ${otherName} in IP ranges ${goList([...new Set(shared)])}, ${jointlyDetermined}`))
    }
  }
  return errors
}

function checkPodAffinity(pool: SpiderIPPool): FieldError[] {
  const affinity = pool.spec?.podAffinity
  if (affinity === undefined || affinity === null) return []
  const field = 'spec.podAffinity'
  const labels = Object.keys(affinity.matchLabels ?? {})
  const expressions = affinity.matchExpressions ?? []
  const errors: FieldError[] = []
  if (pool.metadata?.labels?.[ownerApplicationNameLabel] !== undefined) {
    // IPPOOL-V-19 an auto-created pool carries only the application's selector
    for (const key of labels) {
      if (!autoPoolPodAffinityKeys.includes(key)) errors.push(invalid(field, key, "it's invalid to add additional podAffinity matchLabels for auto-created SpiderIPPool"))
    }
    if (expressions.length > 0) errors.push(invalid(field, expressions, "it's invalid to add additional podAffinity matchExpressions for auto-created SpiderIPPool"))
    return errors
  }
  // IPPOOL-V-20
  errors.push(...validateLabelSelector(affinity, field))
  // IPPOOL-V-21
  if (labels.length === 0 && expressions.length === 0) errors.push(invalid(field, affinity, 'empty podAffinity is invalid for SpiderIPPool'))
  return errors
}

/** IPPOOL-V-27: an address a pod holds stays among the pool's addresses. */
function checkAllocatedIPsKept(pool: SpiderIPPool, family: Family, total: () => IPSet): FieldError[] {
  const name = pool.metadata?.name ?? ''
  const allocated = parseAllocatedIPs(pool.status?.allocatedIPs)
  if (allocated.error !== undefined) return [internal('spec.ips', `failed to unmarshal the allocated IP records of IPPool ${name}: ${allocated.error}`)]
  const errors: FieldError[] = []
  for (const { ip, pod } of allocated.records) {
    const parsed = parseIP(ip)
    const address = parsed && (family === 4 ? ipv4Form(parsed) : parsed.family === 6 ? parsed : undefined)
    if (!address || !total().has(address.value)) {
      errors.push(forbidden('spec.ips', `remove an IP address ${ip} that is being used by Pod ${pod}, ${jointlyDetermined}`))
    }
  }
  return errors
}

/** IPPOOL-V-22, IPPOOL-V-23: a pool controlled by a SpiderSubnet only uses the subnet's addresses. */
function checkControllerSubnet(pool: SpiderIPPool, family: Family, poolTotal: () => IPSet, ctx: AdmissionContext): FieldError[] {
  if (!ctx.settings.enableSpiderSubnet) return []
  const owner = controllerOf(pool.metadata)
  // only a SpiderSubnet controller is looked up as one (Spiderpool takes any controller for a subnet)
  if (!owner || owner.kind !== 'SpiderSubnet') return []
  const total = poolTotal()
  if (total.isEmpty) return []
  const subnet = ctx.cluster.subnet(owner.name)
  if (!subnet) return [internal('spec.subnet', `failed to get controller Subnet ${owner.name}: not found`)]
  const subnetFamily = declaredOrDerivedVersion(subnet.spec?.ipVersion, subnet.spec?.subnet)
  if (!subnetFamily) return [internal('spec.ips', `failed to assemble the total IP addresses of the Subnet ${owner.name}: invalid IP version`)]
  const subnetTotal = totalIPSet(subnet.spec?.ips, subnet.spec?.excludeIPs, subnetFamily)
  if (subnetTotal.error !== undefined) return [internal('spec.ips', `failed to assemble the total IP addresses of the Subnet ${owner.name}: ${subnetTotal.error}`)]

  // IPPOOL-V-22
  const outside = subnetFamily === family ? total.subtract(subnetTotal.set) : total
  if (!outside.isEmpty) {
    return [forbidden('spec.ips', `add some IP ranges ${goList(outside.toRangeTexts())} that are not contained in controller Subnet ${owner.name}, ${jointlyDetermined}`)]
  }

  // IPPOOL-V-23 an auto-created pool holds exactly what the subnet handed it
  if (pool.metadata?.labels?.[ownerApplicationNameLabel] === undefined) return []
  const controlled = parseControlledIPPools(subnet.status?.controlledIPPools)
  if (controlled.error !== undefined) return [internal('spec.subnet', `failed to unmarshal SpiderSubnet ${owner.name} status.controlledIPPools: ${controlled.error}`)]
  const poolName = pool.metadata?.name ?? ''
  const handed = parseRangeSet(controlled.pools.find((p) => p.pool === poolName)?.ips ?? [], subnetFamily)
  if (handed.error !== undefined) return [internal('spec.subnet', `failed to parse SpiderSubnet ${owner.name} controlledIPPool ${poolName} IPs: ${handed.error}`)]
  if (!(handed.set.isSubsetOf(total) && total.isSubsetOf(handed.set))) {
    return [forbidden('spec.ips', "it's illegal to update AutoPool.Spec.IPs that are different from corresponding SpiderSubnet.Status.ControlledIPPools")]
  }
  return []
}
