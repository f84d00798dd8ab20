// Choosing the pod's addresses from the pools as they are now: each NIC and family takes the
// first candidate pool that has a free address (lowest free first) and serves a node that every
// pool chosen so far also serves, backtracking when a later NIC finds none. One pool may serve
// several NICs of one pod (Spiderpool gives them all the same address).
import { freeAddresses, nthFree, withPrefix, exhaustedMessage, type FreeAddresses } from '../../ipam/choose.ts'
import { cidrContains, formatIP, parseCIDR, parseIP, type Family } from '../../ipam/ip.ts'
import { parseRecords, type PoolRecord } from '../../ipam/records.ts'
import type { Reservation, ReservedInterface } from '../../ipam/reservation.ts'
import type { SpiderIPPool, SpiderReservedIP } from '../../schemas/types.ts'
import { goList } from '../common/go-list.ts'
import { routesAnnotation } from './annotations.ts'
import type { PoolNodeConstraint } from './affinity.ts'
import { describeNodes, intersectNodes, isNoNode, type NodeSet } from './nodes.ts'
import type { PlannedFamily, PlannedNIC, PodPlan } from './plan.ts'
import { refuse, type Refusal } from './refusal.ts'
import type { RecordedIP } from './static-ip.ts'

/** The pools as they are now (fresh from the API before a write, or from the cache). */
export type PoolsNow = (name: string) => SpiderIPPool | undefined

export interface ChosenAddress {
  interface: string
  family: Family
  pool: string
  /** with the subnet's prefix length: `10.6.212.100/16` */
  ip: string
  /** bare: the key of the pool record */
  address: string
  /** a StatefulSet pod's address whose pool record already exists */
  reused: boolean
}

/** What to record in one pool: the fresh addresses and the NIC each is for. */
export interface PoolReservation {
  pool: string
  addresses: { address: string; interface: string }[]
}

export interface Assignment {
  /** NIC by NIC, IPv4 before IPv6 */
  addresses: ChosenAddress[]
  /** fresh addresses to reserve, per pool in first-use order */
  pools: PoolReservation[]
  /** the entries of the reservation annotation */
  interfaces: ReservedInterface[]
  defaultRouteNIC?: string
  /** the nodes the pod can run on with the chosen pools */
  nodes: NodeSet
  /** chosen pools that constrain nodes: their constraint goes into the pod's node affinity */
  nodeConstraints: PoolNodeConstraint[]
  /** StatefulSet addresses not kept (their pool changed, or their record is now another pod's): to release */
  outdated: RecordedIP[]
  /** custom routes whose gateway no chosen subnet holds: not installed, as in Spiderpool */
  warnings: string[]
}

interface Slot {
  nic: PlannedNIC
  family: PlannedFamily
}

interface Pick {
  slot: Slot
  pool: string
  value: bigint
  /** the pool record exists already (this pod's, from before) */
  reused: boolean
  /** the StatefulSet's recorded address */
  kept: boolean
  /** the nodes the pool serves */
  nodes: NodeSet
  free: FreeAddresses
}

/** Gives up a search that would take longer than an admission call may. */
const searchLimit = 20_000

export function choosePodIPs(plan: PodPlan, poolsNow: PoolsNow, reservedIPs: readonly SpiderReservedIP[]): Assignment | Refusal {
  const slots: Slot[] = plan.nics.flatMap((nic) => nic.families.map((family) => ({ nic, family })))
  const seen = new Map<string, SpiderIPPool | undefined>()
  const poolNow = (name: string) => {
    if (!seen.has(name)) seen.set(name, poolsNow(name))
    return seen.get(name)
  }
  const records = new Map<string, PoolRecord[] | string>()
  const recordsOf = (name: string): PoolRecord[] | string => {
    if (!records.has(name)) {
      const parsed = parseRecords(poolNow(name)?.status?.allocatedIPs)
      records.set(name, parsed.error !== undefined ? `IPPool ${name}: ${parsed.error}` : parsed.records)
    }
    return records.get(name)!
  }
  const available = new Map<string, FreeAddresses | string>()
  const availabilityOf = (name: string): FreeAddresses | string => {
    if (!available.has(name)) available.set(name, computeAvailability(name, poolNow(name), recordsOf(name), reservedIPs))
    return available.get(name)!
  }

  const path: Pick[] = []
  const takenFrom = (pool: string) => path.filter((p) => p.pool === pool).map((p) => p.value)
  const podKey = `${plan.namespace}/${plan.podName}`
  let steps = 0
  let failure: { slot: Slot; reasons: string[] } | undefined
  // a NIC whose pools fail whatever was chosen before it: trying other choices is pointless
  let hopeless = false

  const nextFree = (free: FreeAddresses, taken: bigint[]): bigint | undefined => {
    for (let j = 0n; ; j++) {
      const v = nthFree(free.free, j)
      if (v === undefined || !taken.includes(v)) return v
    }
  }

  /** The pool record of a StatefulSet's recorded address, when there is one. */
  const recordOf = (reuse: NonNullable<PlannedFamily['reuse']>): PoolRecord | undefined => {
    const held = recordsOf(reuse.pool)
    const ip = parseIP(reuse.ip.split('/')[0])
    return typeof held === 'string' || !ip ? undefined : held.find((r) => parseIP(r.ip)?.value === ip.value && parseIP(r.ip)?.family === ip.family)
  }

  /** The StatefulSet's recorded address, when this pod still holds it or it is free again. */
  const keptAddress = (slot: Slot, nodes: NodeSet): Pick | undefined => {
    const reuse = slot.family.reuse
    if (!reuse || isNoNode(intersectNodes(nodes, reuse.nodes))) return undefined
    const free = availabilityOf(reuse.pool)
    const ip = parseIP(reuse.ip.split('/')[0])
    if (typeof free === 'string' || !ip || ip.family !== slot.family.family || takenFrom(reuse.pool).includes(ip.value)) return undefined
    const pick = { slot, pool: reuse.pool, value: ip.value, kept: true, nodes: reuse.nodes, free }
    const record = recordOf(reuse)
    if (record) return record.pod === podKey ? { ...pick, reused: true } : undefined
    return free.free.has(ip.value) ? { ...pick, reused: false } : undefined
  }

  const search = (i: number, nodes: NodeSet): boolean => {
    if (++steps > searchLimit) return false
    if (i === slots.length) return true
    const slot = slots[i]
    const kept = keptAddress(slot, nodes)
    if (kept) {
      path.push(kept)
      if (search(i + 1, intersectNodes(nodes, kept.nodes))) return true
      path.pop()
      if (hopeless) return false
    }
    const reasons: string[] = []
    let dependsOnChoices = false
    for (const candidate of slot.family.candidates) {
      const free = availabilityOf(candidate.pool)
      if (typeof free === 'string') {
        reasons.push(free)
        continue
      }
      const narrowed = intersectNodes(nodes, candidate.nodes)
      if (isNoNode(narrowed)) {
        dependsOnChoices = true
        reasons.push(`IPPool ${candidate.pool} serves ${describeNodes(candidate.nodes)}, but with the IPPools chosen for the NICs before it the Pod can only run on ${describeNodes(nodes)}`)
        continue
      }
      const taken = takenFrom(candidate.pool)
      const value = nextFree(free, taken)
      if (value === undefined) {
        dependsOnChoices ||= taken.length > 0
        reasons.push(exhaustedMessage(free, BigInt(taken.length + 1)))
        continue
      }
      dependsOnChoices = true
      path.push({ slot, pool: candidate.pool, value, reused: false, kept: false, nodes: candidate.nodes, free })
      if (search(i + 1, narrowed)) return true
      path.pop()
      if (hopeless) return false
    }
    failure ??= { slot, reasons }
    hopeless ||= !dependsOnChoices
    return false
  }

  if (!search(0, plan.eligibleNodes)) {
    if (!failure) return refuse(`no addresses could be chosen for the Pod's ${slots.length} NICs and IP families within ${searchLimit} tries`)
    const { slot, reasons } = failure
    const pools = goList(slot.family.candidates.map((c) => c.pool))
    const unique = [...new Set(reasons)]
    const why = unique.length === 1 ? unique[0] : `[${unique.join(', ')}]`
    return refuse(`failed to allocate any IPv${slot.family.family} IP address to NIC ${slot.nic.interface} from IPPools ${pools}: ${why}`)
  }
  const outdated: RecordedIP[] = [...(plan.statefulSet?.outdated ?? [])]
  for (const slot of slots) {
    const reuse = slot.family.reuse
    if (!reuse || path.some((p) => p.slot === slot && p.kept)) continue
    // not kept (its nodes no longer fit the pod, or another pod holds it): release it only if it is still this pod's
    if (recordOf(reuse)?.pod === podKey) outdated.push({ interface: slot.nic.interface, family: slot.family.family, pool: reuse.pool, ip: reuse.ip })
  }
  return assignmentOf(plan, path, poolNow, outdated)
}

function computeAvailability(name: string, pool: SpiderIPPool | undefined, records: PoolRecord[] | string, reservedIPs: readonly SpiderReservedIP[]): FreeAddresses | string {
  if (!pool) return `failed to get IPPool ${name}: not found`
  if (pool.metadata.deletionTimestamp) return `terminating IPPool ${name}`
  if (pool.spec.disable === true) return `disabled IPPool ${name}`
  if (typeof records === 'string') return records
  const result = freeAddresses(pool, records, reservedIPs)
  return result.error !== undefined ? result.error : result.free
}

function assignmentOf(plan: PodPlan, path: readonly Pick[], poolNow: PoolsNow, outdated: RecordedIP[]): Assignment {
  const addresses: ChosenAddress[] = path.map((p) => ({
    interface: p.slot.nic.interface,
    family: p.slot.family.family,
    pool: p.pool,
    ip: withPrefix(p.free, p.value),
    address: formatIP({ family: p.slot.family.family, value: p.value }),
    reused: p.reused,
  }))

  const pools: PoolReservation[] = []
  for (const a of addresses.filter((x) => !x.reused)) {
    let entry = pools.find((p) => p.pool === a.pool)
    if (!entry) pools.push((entry = { pool: a.pool, addresses: [] }))
    entry.addresses.push({ address: a.address, interface: a.interface })
  }

  const interfaces: ReservedInterface[] = plan.nics.map((nic) => {
    const entry: ReservedInterface = { interface: nic.interface, vlan: 0, cleanGateway: nic.cleanGateway, routes: [] }
    for (const a of addresses.filter((x) => x.interface === nic.interface)) {
      const spec = poolNow(a.pool)!.spec
      const key = a.family === 4 ? 'ipv4' : 'ipv6'
      entry[key] = a.ip
      entry[`${key}Pool`] = a.pool
      if (spec.gateway) entry[`${key}Gateway`] = spec.gateway
      for (const route of spec.routes ?? []) entry.routes.push({ dst: route.dst, gw: route.gw })
    }
    return entry
  })

  const warnings: string[] = []
  for (const route of plan.routes) {
    const gw = parseIP(route.gw)
    const home = addresses.find((a) => {
      const subnet = parseCIDR(a.ip)
      return gw && subnet && cidrContains(subnet, gw)
    })
    if (home) interfaces.find((i) => i.interface === home.interface)!.routes.push({ dst: route.dst, gw: route.gw })
    else warnings.push(`the route to ${route.dst} via ${route.gw} in annotation '${routesAnnotation}' is not installed: no subnet of the Pod's Spiderpool NICs holds its gateway`)
  }

  let nodes = plan.eligibleNodes
  const nodeConstraints: PoolNodeConstraint[] = []
  for (const p of path) {
    nodes = intersectNodes(nodes, p.nodes)
    if (nodeConstraints.some((c) => c.pool === p.pool)) continue
    const spec = poolNow(p.pool)!.spec
    if ((spec.nodeName ?? []).length > 0) nodeConstraints.push({ pool: p.pool, nodeName: [...spec.nodeName!] })
    else if (spec.nodeAffinity) nodeConstraints.push({ pool: p.pool, nodeAffinity: spec.nodeAffinity })
  }

  const assignment: Assignment = { addresses, pools, interfaces, nodes, nodeConstraints, outdated, warnings }
  if (plan.defaultRouteNIC !== undefined) assignment.defaultRouteNIC = plan.defaultRouteNIC
  return assignment
}

/** The reservation annotation's content for a committed assignment. */
export function reservationOf(assignment: Assignment, token: string): Reservation {
  const reservation: Reservation = { token, ips: assignment.interfaces }
  if (assignment.defaultRouteNIC !== undefined) reservation.defaultRouteNIC = assignment.defaultRouteNIC
  return reservation
}
