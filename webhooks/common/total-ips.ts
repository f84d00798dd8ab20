// Total IPs of a pool or subnet (ips − excludeIPs, strict ranges), with Spiderpool's error text
// naming the first entry that is not a strict range of the family.
import type { Family } from '../../ipam/ip.ts'
import { IPSet, parseStrictRange } from '../../ipam/range.ts'
import { invalidRangeDetail } from './strict-ranges.ts'

export type SetOrError = { set: IPSet; error?: undefined } | { set?: undefined; error: string }

export function parseRangeSet(texts: readonly unknown[] | undefined | null, family: Family): SetOrError {
  const ranges = []
  for (const text of texts ?? []) {
    const r = typeof text === 'string' ? parseStrictRange(text, family) : undefined
    if (!r) return { error: invalidRangeDetail(family, String(text)) }
    ranges.push(r)
  }
  return { set: new IPSet(family, ranges) }
}

export function totalIPSet(ips: readonly unknown[] | undefined | null, excludeIPs: readonly unknown[] | undefined | null, family: Family): SetOrError {
  const all = parseRangeSet(ips, family)
  if (all.error !== undefined) return all
  const excluded = parseRangeSet(excludeIPs, family)
  if (excluded.error !== undefined) return excluded
  return { set: all.set.subtract(excluded.set) }
}
