// IP ranges (`A` or `A-B`) and sets of them as sorted, disjoint big-integer intervals, so that
// an IPv6 pool of 2^64 addresses costs what a /24 does.
import { formatIP, parseIPOfFamily, type Family, type IP } from './ip.ts'

export interface Interval {
  start: bigint
  end: bigint
}

export interface IPRange extends Interval {
  family: Family
}

/**
 * A strict range of the family: `A` or `A-B` with both ends addresses of the family and A ≤ B.
 * (Spiderpool's ParseIPRanges, used for ReservedIPs, Subnets, merging and counting.)
 */
export function parseStrictRange(text: string, family: Family): IPRange | undefined {
  if (typeof text !== 'string') return undefined
  const dash = text.indexOf('-')
  if (dash >= 0 && text.indexOf('-', dash + 1) >= 0) return undefined
  const start = parseIPOfFamily(dash < 0 ? text : text.slice(0, dash), family)
  const end = dash < 0 ? start : parseIPOfFamily(text.slice(dash + 1), family)
  if (!start || !end || start.value > end.value) return undefined
  return { family, start: start.value, end: end.value }
}

export function formatRange(r: IPRange): string {
  const first = formatIP({ family: r.family, value: r.start })
  return r.start === r.end ? first : `${first}-${formatIP({ family: r.family, value: r.end })}`
}

/** An immutable set of addresses of one family. */
export class IPSet {
  readonly family: Family
  /** sorted, disjoint, non-adjacent */
  readonly intervals: readonly Interval[]

  constructor(family: Family, intervals: readonly Interval[] = []) {
    this.family = family
    this.intervals = normalise(intervals)
  }

  static of(family: Family, ranges: readonly Interval[]): IPSet {
    return new IPSet(family, ranges)
  }

  /** The set described by range texts; undefined if any text is not a strict range of the family. */
  static parse(texts: readonly string[] | undefined, family: Family): IPSet | undefined {
    const ranges: Interval[] = []
    for (const t of texts ?? []) {
      const r = parseStrictRange(t, family)
      if (!r) return undefined
      ranges.push(r)
    }
    return new IPSet(family, ranges)
  }

  get size(): bigint {
    let n = 0n
    for (const i of this.intervals) n += i.end - i.start + 1n
    return n
  }

  get isEmpty(): boolean {
    return this.intervals.length === 0
  }

  has(ip: IP | bigint): boolean {
    const v = typeof ip === 'bigint' ? ip : ip.value
    if (typeof ip !== 'bigint' && ip.family !== this.family) return false
    let lo = 0
    let hi = this.intervals.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const i = this.intervals[mid]
      if (v < i.start) hi = mid - 1
      else if (v > i.end) lo = mid + 1
      else return true
    }
    return false
  }

  union(other: IPSet): IPSet {
    return new IPSet(this.family, [...this.intervals, ...other.intervals])
  }

  subtract(other: IPSet): IPSet {
    const out: Interval[] = []
    let j = 0
    const cut = other.intervals
    for (const { start, end } of this.intervals) {
      let s = start
      while (j < cut.length && cut[j].end < s) j++
      let k = j
      while (s <= end) {
        if (k >= cut.length || cut[k].start > end) {
          out.push({ start: s, end })
          break
        }
        if (cut[k].start > s) out.push({ start: s, end: cut[k].start - 1n })
        s = cut[k].end + 1n
        k++
      }
    }
    return new IPSet(this.family, out)
  }

  intersect(other: IPSet): IPSet {
    const out: Interval[] = []
    let i = 0
    let j = 0
    const a = this.intervals
    const b = other.intervals
    while (i < a.length && j < b.length) {
      const start = a[i].start > b[j].start ? a[i].start : b[j].start
      const end = a[i].end < b[j].end ? a[i].end : b[j].end
      if (start <= end) out.push({ start, end })
      if (a[i].end < b[j].end) i++
      else j++
    }
    return new IPSet(this.family, out)
  }

  /** every address of this set is in `other` */
  isSubsetOf(other: IPSet): boolean {
    return this.subtract(other).isEmpty
  }

  /** Range texts in Spiderpool's merged form: single addresses alone, runs as `first-last`. */
  toRangeTexts(): string[] {
    return this.intervals.map((i) => formatRange({ family: this.family, ...i }))
  }

  /** Addresses in ascending order (lazy: safe on huge IPv6 sets). */
  *addresses(): Generator<bigint> {
    for (const { start, end } of this.intervals) for (let v = start; v <= end; v++) yield v
  }
}

const byStart = (x: Interval, y: Interval) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0)

function normalise(intervals: readonly Interval[]): Interval[] {
  let inOrder = true
  for (let i = 1; i < intervals.length && inOrder; i++) inOrder = intervals[i - 1].start <= intervals[i].start
  // the lists met in practice (a pool's ranges, results of set operations) are already in order
  const sorted = inOrder ? intervals : [...intervals].sort(byStart)
  const out: Interval[] = []
  for (const { start, end } of sorted) {
    const last = out[out.length - 1]
    if (last && start <= last.end + 1n) {
      if (end > last.end) out[out.length - 1] = { start: last.start, end }
    } else out.push({ start, end })
  }
  return out
}

/**
 * Spiderpool's merge of a range list (IPPOOL-M-07 and friends): undefined when any entry is not a
 * strict range of the family, so the caller leaves the list untouched.
 */
export function mergeRanges(texts: readonly string[], family: Family): string[] | undefined {
  return IPSet.parse(texts, family)?.toRangeTexts()
}

/** Total IPs of a pool or subnet: ips − excludeIPs (strict ranges); undefined if any entry is invalid. */
export function totalIPs(ips: readonly string[] | undefined, excludeIPs: readonly string[] | undefined, family: Family): IPSet | undefined {
  const all = IPSet.parse(ips, family)
  const excluded = IPSet.parse(excludeIPs, family)
  return all && excluded && all.subtract(excluded)
}
