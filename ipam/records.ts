// A pool's `status.allocatedIPs`: a JSON string mapping each bare address to its record.
// Spiderpool's records are `{pod, podUid}`; ours add the reservation fields of ipam-semantics
// §10.3. A record without `state` is claimed, so Spiderpool's own records read as claimed ones.
import { parseIP } from './ip.ts'
import { isObject } from './json.ts'

export type RecordState = 'reserved' | 'claimed'

export interface PoolRecord {
  /** the key as stored: a bare address */
  ip: string
  /** `namespace/name`; `namespace/` until the reservation is claimed */
  pod: string
  /** '' until claimed */
  podUid: string
  state: RecordState
  /** the reservation's token, also in the pod's `ipam.spidernet.io/reservation` annotation */
  token?: string
  nic?: string
  /** RFC 3339 */
  reservedAt?: string
  /** RFC 3339: an unclaimed reservation may be released after this */
  expiresAt?: string
  node?: string
  /** keys we do not know, kept so that writing the record back loses nothing */
  unknown?: Record<string, unknown>
}

export type RecordsParse = { records: PoolRecord[]; error?: undefined } | { records?: undefined; error: string }

const optionalStrings = ['token', 'nic', 'reservedAt', 'expiresAt', 'node'] as const
const knownKeys = new Set<string>(['pod', 'podUid', 'state', ...optionalStrings])

/** Records in stored order (ours are stored by address); an absent, empty or `null` text is no record. Never throws. */
export function parseRecords(text: string | undefined | null): RecordsParse {
  if (text === undefined || text === null || text.trim() === '') return { records: [] }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    return { error: `status.allocatedIPs is not JSON: ${(e as Error).message}` }
  }
  if (doc === null) return { records: [] }
  if (!isObject(doc)) return { error: 'status.allocatedIPs is not a JSON object' }
  const records: PoolRecord[] = []
  for (const [ip, raw] of Object.entries(doc)) {
    const record = parseRecord(ip, raw ?? {})
    if (typeof record === 'string') return { error: `the record of IP ${ip}: ${record}` }
    records.push(record)
  }
  return { records }
}

function parseRecord(ip: string, raw: unknown): PoolRecord | string {
  if (!isObject(raw)) return 'not a JSON object'
  for (const key of ['pod', 'podUid', ...optionalStrings]) {
    if (raw[key] !== undefined && raw[key] !== null && typeof raw[key] !== 'string') return `${key} is not a string`
  }
  const state = raw.state ?? 'claimed'
  if (state !== 'reserved' && state !== 'claimed') return `unknown state ${JSON.stringify(state)}`
  const record: PoolRecord = { ip, pod: (raw.pod as string) ?? '', podUid: (raw.podUid as string) ?? '', state }
  for (const key of optionalStrings) if (typeof raw[key] === 'string') record[key] = raw[key] as string
  for (const key in raw) {
    if (knownKeys.has(key)) continue
    record.unknown ??= {}
    record.unknown[key] = raw[key]
  }
  return record
}

/** Numeric address order, IPv4 before IPv6; keys that are not addresses come last, in text order. */
export function sortRecords(records: readonly PoolRecord[]): PoolRecord[] {
  const keyed = records.map((r) => ({ r, ip: parseIP(r.ip) }))
  keyed.sort((a, b) => {
    const x = a.ip
    const y = b.ip
    if (x && y) {
      if (x.family !== y.family) return x.family - y.family
      return x.value < y.value ? -1 : x.value > y.value ? 1 : 0
    }
    if (x || y) return x ? -1 : 1
    return a.r.ip < b.r.ip ? -1 : a.r.ip > b.r.ip ? 1 : 0
  })
  return keyed.map((k) => k.r)
}

/**
 * The `status.allocatedIPs` text: records by address, fields in a fixed order, unknown keys
 * after ours (sorted). Undefined when there is no record: Spiderpool removes the field then.
 */
export function serialiseRecords(records: readonly PoolRecord[]): string | undefined {
  if (records.length === 0) return undefined
  const doc: Record<string, Record<string, unknown>> = {}
  for (const r of sortRecords(records)) {
    const out: Record<string, unknown> = { pod: r.pod, podUid: r.podUid }
    if (r.state === 'reserved') out.state = 'reserved'
    for (const key of optionalStrings) if (r[key] !== undefined) out[key] = r[key]
    for (const key of Object.keys(r.unknown ?? {}).sort()) if (!(key in out)) out[key] = r.unknown![key]
    doc[r.ip] = out
  }
  return JSON.stringify(doc)
}

/** `status.allocatedIPCount`: reserved records count, so that total − allocated stays the free count. */
export const allocatedIPCount = (records: readonly PoolRecord[]): number => records.length

export const reservedCount = (records: readonly PoolRecord[]): number => records.filter((r) => r.state === 'reserved').length

export const claimedCount = (records: readonly PoolRecord[]): number => records.filter((r) => r.state === 'claimed').length

/** The records of one reservation. */
export const recordsOfToken = (records: readonly PoolRecord[], token: string): PoolRecord[] => records.filter((r) => r.token === token)

/** The records a pod holds: claimed by its uid. */
export const recordsOfPodUid = (records: readonly PoolRecord[], uid: string): PoolRecord[] => records.filter((r) => uid !== '' && r.podUid === uid)
