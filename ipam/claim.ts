// What a claim does to one pool's records, as pure functions: a reservation becomes the pod's
// (reserved → claimed with its name, uid and node), a StatefulSet pod keeps its address across a
// new uid, a release removes what a pod or its unclaimed reservation holds. The caller commits the
// records with one conditional status write (ipam-semantics §10.3). Also the claim mark: the
// outcome the endpoint webhook writes on the pod's SpiderEndpoint for the CNI plugin to read.
import { parseIP } from './ip.ts'
import type { PoolRecord } from './records.ts'
import { isObject } from './json.ts'

export interface Claimant {
  namespace: string
  name: string
  uid: string
  node: string
  /** a StatefulSet pod keeps the addresses recorded for its name, whatever its uid */
  statefulSet: boolean
}

export interface WantedAddress {
  /** bare address */
  address: string
  /** the reservation's token; absent when the address comes from the pod's SpiderEndpoint */
  token?: string
  nic: string
}

export type ClaimOutcome =
  | { address: string; claimed: 'now' | 'already' | 'rebound'; lost?: undefined }
  | { address: string; claimed?: undefined; lost: string }

export interface PoolChange<T> {
  records: PoolRecord[]
  changed: boolean
  value: T
}

/** The same address whatever its spelling (`fd00::0a` is `fd00::a`). */
export function sameAddress(a: string, b: string): boolean {
  const x = parseIP(a)
  const y = parseIP(b)
  return x && y ? x.family === y.family && x.value === y.value : a === b
}

const podKey = (c: Pick<Claimant, 'namespace' | 'name'>) => `${c.namespace}/${c.name}`

/** Why the record does not let `who` have its address, or undefined when it does (and how). */
function claimOf(r: PoolRecord, want: WantedAddress, who: Claimant): ClaimOutcome {
  const address = want.address
  if (r.podUid !== '' && r.podUid === who.uid) return { address, claimed: 'already' }
  if (r.state === 'reserved') {
    if (want.token === undefined || r.token !== want.token) return { address, lost: `${address} is reserved for another Pod` }
    if (r.nic !== undefined && r.nic !== want.nic) return { address, lost: `${address} is reserved for interface ${r.nic}, not ${want.nic}` }
    // a token copied into a pod of another namespace must not take the address
    if (r.pod !== `${who.namespace}/` && r.pod !== podKey(who)) return { address, lost: `${address} is reserved in another namespace (${r.pod})` }
    return { address, claimed: 'now' }
  }
  if (who.statefulSet && r.pod === podKey(who)) return { address, claimed: 'rebound' }
  return { address, lost: `${address} is held by Pod ${r.pod || '(unnamed)'}${r.podUid ? ` (uid ${r.podUid})` : ''}` }
}

/**
 * Claims each wanted address: its reservation (same token and NIC) becomes the pod's, a record
 * the pod's uid already holds stays (an ADD retried), a StatefulSet pod's record moves to the new
 * uid. An address without a record, or held by someone else, is lost: never handed out.
 */
export function claimRecords(records: readonly PoolRecord[], wanted: readonly WantedAddress[], who: Claimant, now: Date): PoolChange<ClaimOutcome[]> {
  const out = [...records]
  let changed = false
  const value = wanted.map((want): ClaimOutcome => {
    // the exact spelling first: records are keyed by the address as written, and parsing every key is slow for big batches
    let i = out.findIndex((r) => r.ip === want.address)
    if (i < 0) i = out.findIndex((r) => sameAddress(r.ip, want.address))
    if (i < 0) return { address: want.address, lost: `${want.address} has no record any more (the reservation was released)` }
    const r = out[i]
    const outcome = claimOf(r, want, who)
    if (outcome.lost !== undefined) return outcome
    const next: PoolRecord = { ...r, pod: podKey(who), podUid: who.uid, state: 'claimed', node: who.node }
    if (next.nic === undefined) next.nic = want.nic
    // the deadline was for the unclaimed reservation; a claimed record lives as long as its pod
    delete next.expiresAt
    if (outcome.claimed === 'now' && next.reservedAt === undefined) next.reservedAt = now.toISOString()
    if (JSON.stringify(next) !== JSON.stringify(r)) {
      out[i] = next
      changed = true
    }
    return outcome
  })
  return { records: out, changed, value }
}

export interface ReleaseSelector {
  /** records the pod claimed: by its uid */
  uid?: string
  /** records still reserved for it: by token */
  token?: string
  nic: string
  /** addresses its SpiderEndpoint lists for the NIC: Spiderpool's own records carry no NIC */
  addresses?: readonly string[]
}

/** Whether a record belongs to the pod's NIC as the selector describes it. */
export function isReleased(r: PoolRecord, s: ReleaseSelector): boolean {
  if (s.uid && r.podUid === s.uid) {
    if (r.nic !== undefined) return r.nic === s.nic
    return (s.addresses ?? []).some((a) => sameAddress(a, r.ip))
  }
  return s.token !== undefined && r.state === 'reserved' && r.token === s.token && (r.nic === undefined || r.nic === s.nic)
}

/** Removes the NIC's records (Spiderpool's uid-conditional release, plus unclaimed reservations by token). */
export function releaseRecords(records: readonly PoolRecord[], s: ReleaseSelector): PoolChange<PoolRecord[]> {
  const released = records.filter((r) => isReleased(r, s))
  return { records: records.filter((r) => !isReleased(r, s)), changed: released.length > 0, value: released }
}

/** The record the pod's uid holds for this NIC, if any (an allocation an earlier ADD made without a reservation). */
export function heldRecord(records: readonly PoolRecord[], uid: string, nic: string): PoolRecord | undefined {
  return records.find((r) => uid !== '' && r.podUid === uid && r.nic === nic)
}

// ---- the claim mark ----
//
// The SpiderEndpoint annotation `ipam.spidernet.io/claim`, written only by the endpoint webhook in
// the request that stores the endpoint: the pod uid the claims were made for and, per NIC, the
// addresses claimed and those lost with why.
//
//   { "uid": "6f0c…", "interfaces": { "net1": { "claimed": ["10.6.212.100"], "lost": { "fd00::64": "fd00::64 is reserved for another Pod" } } } }

export const claimMarkAnnotation = 'ipam.spidernet.io/claim'

export interface NICClaim {
  claimed: string[]
  /** address → why */
  lost: Record<string, string>
}

export interface ClaimMark {
  uid: string
  interfaces: Record<string, NICClaim>
}

/** The NIC's entry of a mark from claim outcomes. */
export function nicClaimOf(outcomes: readonly ClaimOutcome[]): NICClaim {
  const nic: NICClaim = { claimed: [], lost: {} }
  for (const o of outcomes) {
    if (o.lost !== undefined) nic.lost[o.address] = o.lost
    else nic.claimed.push(o.address)
  }
  return nic
}

export const encodeClaimMark = (mark: ClaimMark): string => JSON.stringify({ uid: mark.uid, interfaces: mark.interfaces })

/** The mark in an annotation value, or undefined when there is none or it is not one. Never throws. */
export function decodeClaimMark(text: unknown): ClaimMark | undefined {
  if (typeof text !== 'string') return undefined
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isObject(doc) || typeof doc.uid !== 'string' || !isObject(doc.interfaces)) return undefined
  const interfaces: Record<string, NICClaim> = {}
  for (const [name, raw] of Object.entries(doc.interfaces)) {
    if (!isObject(raw) || !Array.isArray(raw.claimed) || !raw.claimed.every((a) => typeof a === 'string')) return undefined
    const lost = raw.lost ?? {}
    if (!isObject(lost) || !Object.values(lost).every((w) => typeof w === 'string')) return undefined
    interfaces[name] = { claimed: raw.claimed as string[], lost: lost as Record<string, string> }
  }
  return { uid: doc.uid, interfaces }
}

/**
 * What the mark says of these addresses of the pod's NIC: why each lost one was lost (empty: all
 * claimed), or undefined when the mark is for another uid or does not speak of every address
 * (then the caller claims itself).
 */
export function lostByMark(mark: ClaimMark | undefined, uid: string, nic: string, addresses: readonly string[]): Map<string, string> | undefined {
  const entry = mark?.uid === uid && uid !== '' ? mark.interfaces[nic] : undefined
  if (!entry) return undefined
  const lost = new Map<string, string>()
  for (const address of addresses) {
    const why = Object.entries(entry.lost).find(([a]) => sameAddress(a, address))?.[1]
    if (why !== undefined) lost.set(address, why)
    else if (!entry.claimed.some((a) => sameAddress(a, address))) return undefined
  }
  return lost
}
