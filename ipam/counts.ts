// The counters `kubectl get sp` shows: TOTAL-IP-COUNT = |ips − excludeIPs| (SpiderReservedIPs are not
// subtracted, as in Spiderpool), ALLOCATED-IP-COUNT = records in status.allocatedIPs (reserved ones too,
// so that total − allocated is the true number of free addresses).
import type { Family } from './ip.ts'
import { totalIPs } from './range.ts'

/** JSON numbers above 2^53 − 1 lose precision: huge IPv6 pools are capped here (Spiderpool caps at 2^63 − 1). */
export const maxCount = Number.MAX_SAFE_INTEGER

export interface PoolCounts {
  totalIPCount: number
  allocatedIPCount: number
}

export function countRecords(allocatedIPs: string | undefined | null): number | undefined {
  if (allocatedIPs === undefined || allocatedIPs === null || allocatedIPs.trim() === '') return 0
  try {
    const doc: unknown = JSON.parse(allocatedIPs)
    if (doc === null) return 0
    return typeof doc === 'object' && !Array.isArray(doc) ? Object.keys(doc as object).length : undefined
  } catch {
    return undefined
  }
}

/** undefined when the spec or the records cannot be read (the webhook refuses such pools; nothing to count). */
export function poolCounts(spec: { ipVersion?: number; ips?: string[]; excludeIPs?: string[] }, allocatedIPs?: string | null): PoolCounts | undefined {
  if (spec.ipVersion !== 4 && spec.ipVersion !== 6) return undefined
  const total = totalIPs(spec.ips ?? [], spec.excludeIPs ?? [], spec.ipVersion as Family)
  const allocated = countRecords(allocatedIPs)
  if (!total || allocated === undefined) return undefined
  const size = total.size
  return { totalIPCount: size > BigInt(maxCount) ? maxCount : Number(size), allocatedIPCount: allocated }
}
