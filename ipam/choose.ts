// Which addresses of one pool are free, and the lowest of them: Spiderpool's lowest-free-first
// in `spec.ips` order (ipam-semantics §4.2), by interval arithmetic so that a pool of 2^64
// addresses or 50 000 records costs no more than the records themselves.
import { formatIP, ipv4Form, parseCIDR, parseIP, type Family, type IP } from './ip.ts'
import { IPSet, type Interval } from './range.ts'

/** The parts of an IPPool the choice reads (a SpiderIPPool fits). */
export interface PoolToChooseFrom {
  metadata?: { name?: string }
  spec: {
    ipVersion?: number
    subnet: string
    ips?: readonly string[]
    excludeIPs?: readonly string[]
    gateway?: string
  }
}

/** The parts of a SpiderReservedIP the choice reads. */
export interface ReservedIPsLike {
  metadata?: { deletionTimestamp?: string }
  spec?: { ipVersion?: number; ips?: readonly string[] }
}

export interface FreeAddresses {
  pool: string
  family: Family
  /** prefix length of the pool subnet, written after each address handed out */
  prefix: number
  /** `ips − excludeIPs`: the pool's totalIPCount */
  total: bigint
  /** records on addresses of the total */
  inUse: bigint
  /** addresses of the total that no record holds but a SpiderReservedIP or the gateway keeps out */
  blocked: bigint
  free: IPSet
}

export type FreeAddressesResult = { free: FreeAddresses; error?: undefined } | { free?: undefined; error: string }

function addressOf(text: string, family: Family): IP | undefined {
  const ip = parseIP(text)
  if (!ip) return undefined
  const of = family === 4 ? ipv4Form(ip) : ip.family === 6 ? ip : undefined
  return of && { family, value: of.value }
}

/** `A` or `A-B`, ends in either order (the pool webhook keeps them sorted; a stored reversed range still counts). */
function rangeOf(text: unknown, family: Family): Interval | undefined {
  if (typeof text !== 'string') return undefined
  const parts = text.split('-')
  if (parts.length > 2) return undefined
  const a = addressOf(parts[0], family)
  const b = parts.length === 2 ? addressOf(parts[1], family) : a
  if (!a || !b) return undefined
  return a.value <= b.value ? { start: a.value, end: b.value } : { start: b.value, end: a.value }
}

function rangeSet(texts: readonly unknown[] | undefined, family: Family, field: string, pool: string): IPSet | string {
  const ranges: Interval[] = []
  for (const [i, text] of (texts ?? []).entries()) {
    const r = rangeOf(text, family)
    if (!r) return `IPPool ${pool} has an invalid ${field}[${i}] ${JSON.stringify(text)}`
    ranges.push(r)
  }
  return new IPSet(family, ranges)
}

/** Addresses of the family kept out by SpiderReservedIPs that are not being deleted; entries that do not parse keep nothing out. */
export function reservedSet(reservedIPs: readonly ReservedIPsLike[], family: Family): IPSet {
  const ranges: Interval[] = []
  for (const rip of reservedIPs) {
    if (rip.metadata?.deletionTimestamp) continue
    const declared = rip.spec?.ipVersion
    if (declared !== undefined && declared !== family) continue
    for (const text of rip.spec?.ips ?? []) {
      if (declared === undefined && !text.includes(family === 4 ? '.' : ':')) continue
      const r = rangeOf(text, family)
      if (r) ranges.push(r)
    }
  }
  return new IPSet(family, ranges)
}

/**
 * The pool's free addresses: `ips − excludeIPs − SpiderReservedIPs − gateway − records`.
 * `records` are the keys of `status.allocatedIPs` (bare addresses); keys that are no address of
 * the family cannot hold one of its addresses and are ignored.
 */
export function freeAddresses(pool: PoolToChooseFrom, records: readonly { ip: string }[], reservedIPs: readonly ReservedIPsLike[]): FreeAddressesResult {
  const name = pool.metadata?.name ?? ''
  const subnet = parseCIDR(pool.spec.subnet)
  if (!subnet) return { error: `IPPool ${name} has an invalid spec.subnet ${JSON.stringify(pool.spec.subnet)}` }
  const family = (pool.spec.ipVersion === 4 || pool.spec.ipVersion === 6 ? pool.spec.ipVersion : subnet.family) as Family
  if (family !== subnet.family) return { error: `IPPool ${name} is IPv${family} but its spec.subnet ${pool.spec.subnet} is not` }
  const ips = rangeSet(pool.spec.ips, family, 'spec.ips', name)
  if (typeof ips === 'string') return { error: ips }
  const excluded = rangeSet(pool.spec.excludeIPs, family, 'spec.excludeIPs', name)
  if (typeof excluded === 'string') return { error: excluded }
  const total = ips.subtract(excluded)

  const used: Interval[] = []
  for (const r of records) {
    const ip = addressOf(r.ip, family)
    if (ip) used.push({ start: ip.value, end: ip.value })
  }
  const usedSet = new IPSet(family, used).intersect(total)
  const gateway = pool.spec.gateway ? addressOf(pool.spec.gateway, family) : undefined
  const keptOut = reservedSet(reservedIPs, family).union(new IPSet(family, gateway ? [{ start: gateway.value, end: gateway.value }] : []))
  const free = total.subtract(usedSet).subtract(keptOut)
  return {
    free: {
      pool: name,
      family,
      prefix: subnet.prefix,
      total: total.size,
      inUse: usedSet.size,
      blocked: total.size - usedSet.size - free.size,
      free,
    },
  }
}

/** The n-th (0-based) lowest free address, walking intervals; undefined past the last one. */
export function nthFree(free: IPSet, n: bigint): bigint | undefined {
  let left = n
  for (const { start, end } of free.intervals) {
    const size = end - start + 1n
    if (left < size) return start + left
    left -= size
  }
  return undefined
}

/** `10.6.212.100/16`: the address with the pool subnet's prefix length, as the CNI result carries it. */
export const withPrefix = (f: Pick<FreeAddresses, 'family' | 'prefix'>, value: bigint): string =>
  `${formatIP({ family: f.family, value })}/${f.prefix}`

/** `IPPool 10-6-v4 is exhausted: 101/101 addresses in use` (plus what reserved IPs and the gateway keep out). */
export function exhaustedMessage(f: FreeAddresses, wanted = 1n): string {
  const kept = f.blocked > 0n ? `, ${f.blocked} kept out by SpiderReservedIPs or the gateway` : ''
  const usage = `${f.inUse}/${f.total} addresses in use${kept}`
  if (f.free.size === 0n) return `IPPool ${f.pool} is exhausted: ${usage}`
  return `IPPool ${f.pool} has ${f.free.size} free addresses, ${wanted} wanted: ${usage}`
}

export type Choice = { ips: string[]; error?: undefined } | { ips?: undefined; error: string }

/** The `count` lowest free addresses with prefix, or why there are not that many. */
export function chooseFreeIPs(pool: PoolToChooseFrom, records: readonly { ip: string }[], reservedIPs: readonly ReservedIPsLike[], count = 1): Choice {
  const result = freeAddresses(pool, records, reservedIPs)
  if (result.error !== undefined) return { error: result.error }
  const f = result.free
  const wanted = BigInt(count)
  if (f.free.size < wanted) return { error: exhaustedMessage(f, wanted) }
  const ips: string[] = []
  for (const { start, end } of f.free.intervals) {
    for (let v = start; v <= end && BigInt(ips.length) < wanted; v++) ips.push(withPrefix(f, v))
    if (BigInt(ips.length) === wanted) break
  }
  return { ips }
}
