// Applying a batch of reservation requests to one pool's records: the pure half of a pool write.
// Every request of the batch gets an address or a reason, and the records to write back; the
// caller commits them with one conditional status update.
import { parseIP, ipv4Form } from './ip.ts'
import { freeAddresses, withPrefix, exhaustedMessage, type PoolToChooseFrom, type ReservedIPsLike } from './choose.ts'
import type { PoolRecord } from './records.ts'
import { IPSet } from './range.ts'

export interface ReserveWant {
  /** a bare address this request must get (a StatefulSet pod keeping its IP); absent: the lowest free one */
  ip?: string
  /** the record to store under the address */
  record: Omit<PoolRecord, 'ip'>
}

/** `ip` carries the pool's prefix (`10.6.212.100/16`), as the CNI result will. */
export type ReserveOutcome = { ip: string; error?: undefined } | { ip?: undefined; error: string }

export interface ReserveBatch {
  records: PoolRecord[]
  outcomes: ReserveOutcome[]
  /** false when no record changed (every want was already recorded): no write needed */
  changed: boolean
}

export function reserveInPool(pool: PoolToChooseFrom, records: readonly PoolRecord[], reservedIPs: readonly ReservedIPsLike[], wants: readonly ReserveWant[]): ReserveBatch {
  const result = freeAddresses(pool, records, reservedIPs)
  if (result.error !== undefined) return { records: [...records], outcomes: wants.map(() => ({ error: result.error })), changed: false }
  const f = result.free
  const byToken = new Map<string, PoolRecord>()
  for (const r of records) if (r.token) byToken.set(`${r.token}/${r.nic ?? ''}`, r)
  const taken = new Set<bigint>()
  const next = f.free.addresses()
  const out = [...records]
  let changed = false
  const valueOf = (text: string) => {
    const ip = parseIP(text)
    return ip && (f.family === 4 ? ipv4Form(ip) : ip)?.value
  }

  const outcomes = wants.map((want): ReserveOutcome => {
    // the same reservation asked again (webhook reinvoked, request retried): the address it already has
    const already = want.record.token ? byToken.get(`${want.record.token}/${want.record.nic ?? ''}`) : undefined
    if (already) {
      const v = valueOf(already.ip)
      return v === undefined ? { error: `IPPool ${f.pool} holds an unreadable record ${already.ip}` } : { ip: withPrefix(f, v) }
    }
    let value: bigint | undefined
    if (want.ip !== undefined) {
      value = valueOf(want.ip)
      if (value === undefined || !f.free.has(value) || taken.has(value)) {
        const holder = records.find((r) => r.ip === want.ip)
        return { error: `address ${want.ip} of IPPool ${f.pool} is not free${holder ? `: held by ${holder.pod || 'a reservation'}` : ''}` }
      }
    } else {
      for (let n = next.next(); !n.done; n = next.next()) {
        if (!taken.has(n.value)) {
          value = n.value
          break
        }
      }
      // every free address went to earlier requests of this batch
      if (value === undefined) return { error: exhaustedMessage({ ...f, inUse: f.inUse + BigInt(taken.size), free: new IPSet(f.family) }) }
    }
    taken.add(value)
    const ip = withPrefix(f, value).split('/')[0]
    out.push({ ...want.record, ip })
    changed = true
    return { ip: withPrefix(f, value) }
  })
  return { records: out, outcomes, changed }
}
