// IPPool `spec.ips` / `spec.excludeIPs` entries as Spiderpool's NewCIDR reads them: `A` or `A-B`,
// each end an address inside the pool subnet (an IPv4 pool also takes `::ffff:a.b.c.d`).
import { cidrContains, ipv4Form, parseIP, type CIDR } from '../../ipam/ip.ts'
import { IPSet, type Interval } from '../../ipam/range.ts'

export interface PoolRange extends Interval {
  /** the entry as written */
  raw: string
  /** written `B-A`; start/end are already in order */
  reversed: boolean
}

export type PoolRangeParse = { range: PoolRange; error?: undefined } | { range?: undefined; error: string }

function addressInSubnet(text: string, subnet: CIDR): { value: bigint } | { error: string } {
  const ip = parseIP(text)
  if (!ip) return { error: `invalid IP address: ${text}` }
  const address = subnet.family === 4 ? ipv4Form(ip) : ip.family === 6 && !ipv4Form(ip) ? ip : undefined
  if (!address || !cidrContains(subnet, address)) return { error: `not match base subnet: ${text}` }
  return { value: address.value }
}

/** One entry; the error text is Spiderpool's (`invalid range: …`, `invalid IP address: …`, `not match base subnet: …`). */
export function parsePoolRange(text: unknown, subnet: CIDR): PoolRangeParse {
  const raw = String(text ?? '')
  const parts = raw.split('-')
  if (parts.length > 2 || (parts.length === 1 && raw.includes('/'))) return { error: `invalid range: ${raw}` }
  const first = addressInSubnet(parts[0], subnet)
  if ('error' in first) return first
  const last = parts.length === 2 ? addressInSubnet(parts[1], subnet) : first
  if ('error' in last) return last
  const reversed = first.value > last.value
  const [start, end] = reversed ? [last.value, first.value] : [first.value, last.value]
  return { range: { raw, start, end, reversed } }
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
