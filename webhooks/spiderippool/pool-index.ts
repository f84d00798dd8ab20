// The other pools a SpiderIPPool rule compares with, found through an index instead of a scan of
// every pool per review: by family and subnet (IPPOOL-V-06, V-07) and by subnet and CIDR label
// (IPPOOL-V-10, V-11). Built once per list of pools the snapshot hands out, which it keeps until a
// pool changes.
import { cidrBounds, type CIDR, type Family } from '../../ipam/ip.ts'
import type { SpiderIPPool } from '../../schemas/types.ts'
import { declaredOrDerivedVersion } from '../common/ip-version.ts'
import { ippoolCIDRLabel } from '../common/keys.ts'
import { usableSubnet } from '../common/subnet-cidr.ts'

/** A pool and its place in the snapshot's name order, so that answers keep that order. */
export interface IndexedPool {
  pool: SpiderIPPool
  at: number
}

/** The pools of one family that share one `spec.subnet` text; `cidr` is undefined when that text is no CIDR of the family. */
export interface SubnetGroup {
  subnet: unknown
  cidr: CIDR | undefined
  pools: IndexedPool[]
}

export interface PoolIndex {
  /** the subnet groups of the family whose CIDR overlaps `cidr`, and those whose subnet is no CIDR of the family */
  overlappingOrUnreadable(cidr: CIDR): SubnetGroup[]
  /** the pool of this name among the pools of the family */
  named(name: string, family: Family): SpiderIPPool | undefined
  /** pools whose `spec.subnet` is `subnet` */
  withSubnet(subnet: unknown): readonly IndexedPool[]
  /** pools whose CIDR label is `label` */
  withCIDRLabel(label: unknown): readonly IndexedPool[]
}

const indexes = new WeakMap<readonly SpiderIPPool[], PoolIndex>()

/** The index of `pools`, built on first use and kept while the same list is handed out. */
export function poolIndex(pools: readonly SpiderIPPool[]): PoolIndex {
  let index = indexes.get(pools)
  if (index === undefined) indexes.set(pools, (index = buildIndex(pools)))
  return index
}

const none: readonly IndexedPool[] = Object.freeze([])

function buildIndex(pools: readonly SpiderIPPool[]): PoolIndex {
  const families = new Map<Family, { groups: Map<unknown, SubnetGroup>; names: Map<string, SpiderIPPool> }>()
  /** per family and prefix length, the readable groups in address order (CIDRs of one length are equal or disjoint) */
  const byPrefix = new Map<Family, Map<number, { first: bigint; last: bigint; group: SubnetGroup }[]>>()
  const bySubnet = new Map<unknown, IndexedPool[]>()
  const byLabel = new Map<unknown, IndexedPool[]>()
  const add = (map: Map<unknown, IndexedPool[]>, key: unknown, entry: IndexedPool) => {
    const list = map.get(key)
    if (list) list.push(entry)
    else map.set(key, [entry])
  }
  pools.forEach((pool, at) => {
    const entry = { pool, at }
    const subnet = pool.spec?.subnet
    add(bySubnet, subnet, entry)
    const label = pool.metadata?.labels?.[ippoolCIDRLabel]
    if (label !== undefined) add(byLabel, label, entry)
    const family = declaredOrDerivedVersion(pool.spec?.ipVersion, subnet)
    if (!family) return
    let ofFamily = families.get(family)
    if (!ofFamily) families.set(family, (ofFamily = { groups: new Map(), names: new Map() }))
    const name = pool.metadata?.name
    if (name !== undefined && !ofFamily.names.has(name)) ofFamily.names.set(name, pool)
    let group = ofFamily.groups.get(subnet)
    if (!group) ofFamily.groups.set(subnet, (group = { subnet, cidr: usableSubnet(subnet, family), pools: [] }))
    group.pools.push(entry)
  })
  for (const [family, { groups }] of families) {
    const prefixes = new Map<number, { first: bigint; last: bigint; group: SubnetGroup }[]>()
    byPrefix.set(family, prefixes)
    for (const group of groups.values()) {
      if (!group.cidr) continue
      let blocks = prefixes.get(group.cidr.prefix)
      if (!blocks) prefixes.set(group.cidr.prefix, (blocks = []))
      blocks.push({ ...cidrBounds(group.cidr), group })
    }
    for (const blocks of prefixes.values()) blocks.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0))
  }
  const unreadable = new Map<Family, SubnetGroup[]>()
  for (const [family, { groups }] of families) unreadable.set(family, [...groups.values()].filter((g) => !g.cidr))
  return {
    overlappingOrUnreadable: (cidr) => {
      const found = [...(unreadable.get(cidr.family) ?? [])]
      const { first, last } = cidrBounds(cidr)
      for (const blocks of byPrefix.get(cidr.family)?.values() ?? []) {
        // the first block that ends at or after `first`, then every block that starts by `last`
        let low = 0
        let high = blocks.length
        while (low < high) {
          const mid = (low + high) >> 1
          if (blocks[mid].last < first) low = mid + 1
          else high = mid
        }
        for (let i = low; i < blocks.length && blocks[i].first <= last; i++) found.push(blocks[i].group)
      }
      return found
    },
    named: (name, family) => families.get(family)?.names.get(name),
    withSubnet: (subnet) => bySubnet.get(subnet) ?? none,
    withCIDRLabel: (label) => byLabel.get(label) ?? none,
  }
}
