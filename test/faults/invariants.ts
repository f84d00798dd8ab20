// The promises every fault must leave intact, judged from the API alone (pools, pods,
// SpiderEndpoints): no address handed out twice, no address lost (each is free, reserved for a pod
// that may still come, or held by a live pod), and every pool's counters exact.
import { parseRecords, type PoolRecord } from '../../ipam/records.ts'
import { decodeReservation, reservationAnnotation } from '../../ipam/reservation.ts'
import { poolCounts } from '../../ipam/counts.ts'
import { resources } from '../../kube/resources.ts'
import type { Store } from '../../kube/store.ts'
import type { SpiderEndpoint, SpiderIPPool } from '../../schemas/types.ts'
import type { StoredPod } from '../../webhooks/cluster.ts'
import { podEnd } from '../../server/controllers/reservations.ts'

export interface InvariantReport {
  pools: number
  /** every address of every pool, each judged free, reserved or held */
  ipsChecked: number
  /** an address two live pods hold, or one a live pod holds while its pool records it for someone else or not at all */
  duplicates: string[]
  /** a record of a gone or finished pod, or a reservation nobody carries past its expiry and the grace */
  leaks: string[]
  /** reservations nobody carries yet, still within their time to live (not leaks yet) */
  pending: string[]
  /** allocatedIPCount or totalIPCount not what the records and the spec say */
  counters: string[]
}

export interface CheckOptions {
  /** only these pools (default: all) */
  pools?: readonly string[]
  now?: number
  /** how long after its expiry an uncarried reservation may wait for the collector */
  graceMs?: number
}

interface Held {
  pod: string
  uid: string
  /** claimed addresses come from the SpiderEndpoint, reserved ones from the annotation */
  how: 'claimed' | 'reserved'
  token?: string
}

const bare = (address: string) => address.split('/')[0]

export async function checkInvariants(store: Store, o: CheckOptions = {}): Promise<InvariantReport> {
  const now = o.now ?? Date.now()
  const graceMs = o.graceMs ?? 0
  const [poolList, podList, endpointList] = await Promise.all([store.list(resources.ippools), store.list(resources.pods), store.list(resources.endpoints)])
  const pools = poolList.items.filter((p) => !o.pools || o.pools.includes(p.metadata!.name!)) as SpiderIPPool[]
  const pods = podList.items as unknown as StoredPod[]
  const endpoints = endpointList.items as SpiderEndpoint[]
  const live = pods.filter((p) => podEnd(p, now).ended === undefined)
  const report: InvariantReport = { pools: pools.length, ipsChecked: 0, duplicates: [], leaks: [], pending: [], counters: [] }

  const endpointOf = (pod: StoredPod) => endpoints.find((e) => e.metadata?.namespace === pod.metadata.namespace && e.metadata?.name === pod.metadata.name && e.status?.current?.uid === pod.metadata.uid)

  // what each live pod holds, per pool and address
  const held = new Map<string, Held[]>()
  const hold = (pool: string | undefined, address: string | undefined, h: Held) => {
    if (!pool || !address) return
    const key = `${pool} ${bare(address)}`
    held.set(key, [...(held.get(key) ?? []), h])
  }
  for (const pod of live) {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`
    const uid = pod.metadata.uid ?? ''
    const endpoint = endpointOf(pod)
    const claimedNICs = new Set<string>()
    for (const nic of endpoint?.status?.current?.ips ?? []) {
      claimedNICs.add(nic.interface)
      hold(nic.ipv4Pool, nic.ipv4, { pod: key, uid, how: 'claimed' })
      hold(nic.ipv6Pool, nic.ipv6, { pod: key, uid, how: 'claimed' })
    }
    const decoded = decodeReservation(pod.metadata.annotations?.[reservationAnnotation])
    if (decoded.error !== undefined) continue
    for (const nic of decoded.reservation.ips) {
      if (claimedNICs.has(nic.interface)) continue
      const token = decoded.reservation.token
      hold(nic.ipv4Pool, nic.ipv4, { pod: key, uid, how: 'reserved', token })
      hold(nic.ipv6Pool, nic.ipv6, { pod: key, uid, how: 'reserved', token })
    }
  }
  // a reservation is carried when a live pod's annotation names its token for that very pool and address
  const carried = new Set<string>()
  for (const pod of live) {
    const decoded = decodeReservation(pod.metadata.annotations?.[reservationAnnotation])
    if (decoded.error !== undefined) continue
    for (const nic of decoded.reservation.ips) {
      for (const [pool, address] of [[nic.ipv4Pool, nic.ipv4], [nic.ipv6Pool, nic.ipv6]]) {
        if (pool && address) carried.add(`${pod.metadata.namespace}/${decoded.reservation.token} ${pool} ${bare(address)}`)
      }
    }
  }

  for (const pool of pools) {
    const name = pool.metadata!.name!
    const status = (pool.status ?? {}) as { allocatedIPs?: string; allocatedIPCount?: number; totalIPCount?: number }
    const parsed = parseRecords(status.allocatedIPs)
    if (parsed.error !== undefined) {
      report.counters.push(`IPPool ${name}: records unreadable: ${parsed.error}`)
      continue
    }
    const counts = poolCounts(pool.spec as never, status.allocatedIPs)
    if (counts) {
      report.ipsChecked += counts.totalIPCount
      if (status.allocatedIPCount !== counts.allocatedIPCount) report.counters.push(`IPPool ${name}: allocatedIPCount ${status.allocatedIPCount}, ${counts.allocatedIPCount} records`)
      if (status.totalIPCount !== counts.totalIPCount) report.counters.push(`IPPool ${name}: totalIPCount ${status.totalIPCount}, the spec gives ${counts.totalIPCount}`)
    }
    const byAddress = new Map<string, PoolRecord>(parsed.records.map((r) => [r.ip, r]))

    for (const r of parsed.records) {
      const what = `IPPool ${name} ${r.ip} (${r.state} ${r.pod}${r.podUid ? ` uid ${r.podUid}` : ''})`
      if (r.state === 'claimed') {
        const [namespace, podName] = [r.pod.slice(0, r.pod.indexOf('/')), r.pod.slice(r.pod.indexOf('/') + 1)]
        const owner = live.find((p) => p.metadata.namespace === namespace && p.metadata.name === podName && (r.podUid === '' || p.metadata.uid === r.podUid))
        if (!owner) report.leaks.push(`${what}: its Pod is gone or finished`)
        else {
          // the pod's SpiderEndpoint, once written, lists every address the pod uses from the pool
          const listed = endpointOf(owner)?.status?.current?.ips
          if (listed && !listed.some((nic) => (nic.ipv4Pool === name && bare(nic.ipv4 ?? '') === r.ip) || (nic.ipv6Pool === name && bare(nic.ipv6 ?? '') === r.ip))) {
            report.leaks.push(`${what}: its Pod's SpiderEndpoint does not use it`)
          }
        }
        continue
      }
      const namespace = r.pod.slice(0, r.pod.indexOf('/'))
      if (r.token && carried.has(`${namespace}/${r.token} ${name} ${r.ip}`)) continue
      const expiry = Date.parse(r.expiresAt ?? '')
      if (Number.isNaN(expiry) || now > expiry + graceMs) report.leaks.push(`${what}: no live Pod carries token ${r.token ?? '(none)'}, expired ${r.expiresAt ?? '(never set)'}`)
      else report.pending.push(`${what}: expires ${r.expiresAt}`)
    }

    for (const [key, holders] of held) {
      const [poolName, address] = key.split(' ')
      if (poolName !== name) continue
      const uids = new Set(holders.map((h) => h.uid))
      if (uids.size > 1) report.duplicates.push(`IPPool ${name} ${address} is held by ${holders.map((h) => `${h.pod} (${h.how})`).join(' and ')}`)
      const r = byAddress.get(address)
      for (const h of holders) {
        const recorded = r !== undefined && (r.podUid === h.uid || (h.how === 'reserved' && r.state === 'reserved' && r.token === h.token))
        if (!recorded) report.duplicates.push(`IPPool ${name} ${address}: ${h.pod} holds it (${h.how}) but the pool ${r ? `records it for ${r.pod} ${r.podUid || r.token}` : 'has it free'}`)
      }
    }
  }
  return report
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Checks until no leak and no counter error is left (the collector and the pool controller catch
 * up) or the time is up; returns the last report. Duplicates never heal, so they end the wait.
 */
export async function settledInvariants(store: Store, o: CheckOptions & { timeoutMs?: number } = {}): Promise<InvariantReport> {
  const deadline = Date.now() + (o.timeoutMs ?? 15_000)
  for (;;) {
    let report: InvariantReport | undefined
    try {
      report = await checkInvariants(store, o)
    } catch (err) {
      if (Date.now() > deadline) throw err
    }
    if (report && ((report.leaks.length === 0 && report.counters.length === 0 && report.pending.length === 0) || report.duplicates.length > 0 || Date.now() > deadline)) return report
    await sleep(100)
  }
}
