// IPPool `spec.ips` / `spec.excludeIPs` entries as Spiderpool's NewCIDR reads them: `A` or `A-B`,
// each end an address inside the pool subnet (an IPv4 pool also takes `::ffff:a.b.c.d`).
import { cidrContains, ipv4Form, parseIP, type CIDR, type Family } from '../../ipam/ip.ts'
import { IPSet, parseStrictRange, type Interval } from '../../ipam/range.ts'

export interface PoolRange extends Interval {
  /** the entry as written */
  raw: string
  /** written `B-A`; start/end are already in order */
  reversed: boolean
}

export type PoolRangeParse = { range: PoolRange; error?: undefined } | { range?: undefined; error: string }

/** The address as a value of the subnet's family, or Spiderpool's error text. */
function addressInSubnet(text: string, subnet: CIDR): bigint | string {
  const ip = parseIP(text)
  if (!ip) return `invalid IP address: ${text}`
  const address = subnet.family === 4 ? ipv4Form(ip) : ip.family === 6 && !ipv4Form(ip) ? ip : undefined
  if (!address || !cidrContains(subnet, address)) return `not match base subnet: ${text}`
  return address.value
}

/** One entry; the error text is Spiderpool's (`invalid range: …`, `invalid IP address: …`, `not match base subnet: …`). */
export function parsePoolRange(text: unknown, subnet: CIDR): PoolRangeParse {
  const raw = String(text ?? '')
  const dash = raw.indexOf('-')
  if (dash < 0 ? raw.includes('/') : raw.indexOf('-', dash + 1) >= 0) return { error: `invalid range: ${raw}` }
  const first = addressInSubnet(dash < 0 ? raw : raw.slice(0, dash), subnet)
  if (typeof first === 'string') return { error: first }
  const last = dash < 0 ? first : addressInSubnet(raw.slice(dash + 1), subnet)
  if (typeof last === 'string') return { error: last }
  const reversed = first > last
  return { range: reversed ? { raw, start: last, end: first, reversed } : { raw, start: first, end: last, reversed } }
}

/**
 * The entry read as a strict range (parseStrictRange of the family), from its pool reading where
 * the two agree: an entry inside the subnet reads alike both ways, except the IPv6 forms an IPv4
 * pool accepts, and a reversed entry is no strict range. Other entries are read again.
 */
export function strictRangeOfEntry(text: unknown, parsed: PoolRangeParse, family: Family): Interval | undefined {
  if (typeof text !== 'string') return undefined
  if (parsed.error !== undefined || (family === 4 && text.includes(':'))) return parseStrictRange(text, family)
  return parsed.range.reversed ? undefined : parsed.range
}

/**
 * How a later entry collides with an earlier one, worded as Spiderpool words it
 * (X = later entry, Y = earlier entry); undefined when they are disjoint.
 */
export function rangeCollision(later: PoolRange, earlier: PoolRange): string | undefined {
  if (later.start >= earlier.start && later.end <= earlier.end) return `range ${later.raw} is already covered by ${earlier.raw}`
  if (later.start <= earlier.start && later.end >= earlier.end) return `range ${later.raw} covers ${earlier.raw}`
  if (later.start <= earlier.end && later.end >= earlier.start) return `range ${later.raw} overlaps with ${earlier.raw}`
  return undefined
}

/** Addresses a pool hands out: its ips minus its excludeIPs. */
export function effectiveSet(subnet: CIDR, ips: readonly PoolRange[], excludeIPs: readonly PoolRange[]): IPSet {
  return new IPSet(subnet.family, ips).subtract(new IPSet(subnet.family, excludeIPs))
}
