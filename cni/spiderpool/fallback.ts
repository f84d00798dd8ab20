// Allocation at CNI time, for a NIC that has no reservation to claim: a pod admitted while the
// webhook was down (failurePolicy Ignore), a reservation annotation that does not hold up, or a
// reservation whose records are gone. The webhook's pure planner decides, now with the node
// known; each address is reserved and claimed in one conditional pool write. Loaded only when
// needed: the claim path never pays for the planner.
import { cidrContains, parseCIDR, parseIP } from '../../ipam/ip.ts'
import type { Family } from '../../ipam/ip.ts'
import type { PoolRecord } from '../../ipam/records.ts'
import { parseRecords } from '../../ipam/records.ts'
import type { ReservedInterface } from '../../ipam/reservation.ts'
import { reserveInPool } from '../../ipam/reserve.ts'
import { resources } from '../../kube/resources.ts'
import type { Store } from '../../kube/store.ts'
import { getOrUndefined } from '../../kube/get-or-undefined.ts'
import type { NetworkAttachmentDefinition, SpiderEndpoint, SpiderIPPool, SpiderReservedIP } from '../../schemas/types.ts'
import { clusterFromObjects } from '../../webhooks/cluster.ts'
import type { ClusterSnapshot, Namespace, Node } from '../../webhooks/cluster.ts'
import { controllerOf } from '../../webhooks/common/controller-ref.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import type { Settings } from '../../webhooks/settings.ts'
import { choosePodIPs, isSkip, planPod } from '../../webhooks/pod/plan.ts'
import type { PodPlan } from '../../webhooks/pod/plan.ts'
import { defaultNetworkAnnotation, networkKey, networksAnnotation, parseNetworkSelection, podNICs } from '../../webhooks/pod/networks.ts'
import { isRefusal } from '../../webhooks/pod/refusal.ts'
import { CniError, errorCode } from '../errors.ts'
import type { NetConf } from '../skel.ts'
import { writePool } from './api.ts'
import { claimRecords, heldRecord, sameAddress } from '../../ipam/claim.ts'
import type { Claimant } from '../../ipam/claim.ts'
import type { PodObject } from './pod.ts'

export interface FallbackRequest {
  store: Store
  pod: PodObject
  who: Claimant
  ifName: string
  /** the network config the plugin was called with: the NIC's IPAM section is in it */
  config: NetConf
  /** only these families (the others were claimed); all the NIC's families when absent */
  families?: Family[]
  endpoint?: SpiderEndpoint
  settings?: Settings
  now: Date
}

const attempts = 3

/** Chooses and records addresses for the NIC; the reservation-shaped entry of what it got. */
export async function allocateFresh(req: FallbackRequest): Promise<ReservedInterface> {
  // the plugin was called for this NIC: the namespaces the webhook leaves alone are served here
  const settings = { ...(req.settings ?? defaultSettings()), excludedNamespaces: [] }
  const where = `NIC ${req.ifName} of Pod ${req.who.namespace}/${req.who.name}`
  let lastError = ''
  for (let attempt = 0; attempt < attempts; attempt++) {
    const { cluster, reservedIPs } = await readCluster(req.store, req.pod, req.who, req.endpoint)
    const plan = planInterface(req, settings, cluster)
    if (typeof plan === 'string') throw new CniError(errorCode.internal, `no address for ${where}: ${plan}`)
    const pools = new Map<string, SpiderIPPool | undefined>()
    const poolNow = (name: string) => {
      if (!pools.has(name)) pools.set(name, cluster.ippool(name))
      return pools.get(name)
    }
    const adopted = adoptHeld(plan, poolNow, req.who.uid, req.ifName)
    const toChoose: PodPlan = { ...plan, nics: plan.nics.map((n) => ({ ...n, families: n.families.filter((f) => !adopted.has(f.family)) })) }
    const assignment = toChoose.nics[0].families.length ? choosePodIPs(toChoose, poolNow, reservedIPs) : undefined
    if (assignment && isRefusal(assignment)) throw new CniError(errorCode.internal, `no address for ${where}: ${assignment.message}`)
    const entry: ReservedInterface = assignment?.interfaces.find((i) => i.interface === req.ifName) ?? { interface: req.ifName, vlan: 0, cleanGateway: plan.nics[0].cleanGateway, routes: [] }
    for (const [family, held] of adopted) {
      const spec = poolNow(held.pool)!.spec
      const key = family === 4 ? 'ipv4' : 'ipv6'
      entry[key] = `${held.record.ip}/${spec.subnet.split('/')[1]}`
      entry[`${key}Pool`] = held.pool
      if (spec.gateway) entry[`${key}Gateway`] = spec.gateway
      for (const route of spec.routes ?? []) entry.routes.push({ dst: route.dst, gw: route.gw })
      const subnet = parseCIDR(spec.subnet)
      for (const route of plan.routes) {
        const gw = parseIP(route.gw)
        if (subnet && gw && cidrContains(subnet, gw)) entry.routes.push({ dst: route.dst, gw: route.gw })
      }
    }
    let full = false
    for (const a of assignment?.addresses ?? []) {
      const kept = toChoose.nics[0].families.find((f) => f.family === a.family)?.reuse
      const exact = kept && kept.pool === a.pool && sameAddress(kept.ip.split('/')[0], a.address) ? a.address : undefined
      const outcome = await writePool(req.store, a.pool, (records, pool) => recordFresh(records, pool, reservedIPs, req, exact, a.reused ? a.address : undefined, req.now))
      if (outcome.error !== undefined) {
        lastError = outcome.error
        full = true
        break
      }
      entry[a.family === 4 ? 'ipv4' : 'ipv6'] = outcome.ip
    }
    if (!full) return entry
    // another pod took what looked free: look again (what this attempt recorded is the uid's, and adopted next time)
  }
  throw new CniError(errorCode.internal, `no address for ${where}: ${lastError}`)
}

type Recorded = { ip: string; error?: undefined } | { ip?: undefined; error: string }

/** The pool write of one fresh address: a StatefulSet pod's own record moves to it, else the lowest free (or `exact`) address. */
function recordFresh(records: PoolRecord[] | undefined, pool: SpiderIPPool | undefined, reservedIPs: readonly SpiderReservedIP[], req: FallbackRequest, exact: string | undefined, reused: string | undefined, now: Date) {
  const name = pool?.metadata.name ?? ''
  if (!records || !pool) return { records: [], changed: false, value: { error: `IPPool ${name} does not exist` } as Recorded }
  const prefix = pool.spec.subnet.split('/')[1]
  const held = heldRecord(records, req.who.uid, req.ifName)
  if (held) return { records, changed: false, value: { ip: `${held.ip}/${prefix}` } as Recorded }
  if (reused) {
    const claimed = claimRecords(records, [{ address: reused, nic: req.ifName }], req.who, now)
    const outcome = claimed.value[0]
    return { ...claimed, value: (outcome.lost !== undefined ? { error: `IPPool ${name}: ${outcome.lost}` } : { ip: `${reused}/${prefix}` }) as Recorded }
  }
  const record = { pod: `${req.who.namespace}/${req.who.name}`, podUid: req.who.uid, state: 'claimed' as const, nic: req.ifName, node: req.who.node, reservedAt: now.toISOString() }
  const batch = reserveInPool(pool, records, reservedIPs, [{ ip: exact, record }])
  const outcome = batch.outcomes[0]
  return { records: batch.records, changed: batch.changed, value: (outcome.error !== undefined ? { error: outcome.error } : { ip: outcome.ip }) as Recorded }
}

/** Records the pod's uid already holds for the NIC in a candidate pool (an earlier ADD got that far): kept, not chosen again. */
function adoptHeld(plan: PodPlan, poolNow: (name: string) => SpiderIPPool | undefined, uid: string, ifName: string): Map<Family, { pool: string; record: PoolRecord }> {
  const adopted = new Map<Family, { pool: string; record: PoolRecord }>()
  for (const family of plan.nics[0].families) {
    for (const candidate of family.candidates) {
      const parsed = parseRecords(poolNow(candidate.pool)?.status?.allocatedIPs)
      const held = parsed.records && heldRecord(parsed.records, uid, ifName)
      if (held) {
        adopted.set(family.family, { pool: candidate.pool, record: held })
        break
      }
    }
  }
  return adopted
}

/**
 * The webhook's plan for the pod, cut down to this NIC (and the families asked for). The NIC's
 * NetworkAttachmentDefinition is read as the config the plugin was called with, and a NIC
 * Multus gives from its cluster network is looked up under the config's name.
 */
export function planInterface(req: Pick<FallbackRequest, 'pod' | 'who' | 'ifName' | 'config' | 'families'>, settings: Settings, cluster: ClusterSnapshot): PodPlan | string {
  const namespace = req.who.namespace
  let s = settings
  const nics = podNICs(req.pod, namespace, s, cluster)
  if (isRefusal(nics)) return nics.message
  let mine = nics.find((n) => n.interface === req.ifName)
  if (mine && !mine.network && req.ifName === 'eth0') {
    s = { ...settings, clusterNetwork: `${settings.multusNamespace}/${req.config.name}` }
    mine = { ...mine, network: { namespace: settings.multusNamespace, name: req.config.name } }
  }
  if (!mine?.network) return `interface ${req.ifName} is not one of the Pod's NICs [${nics.map((n) => n.interface).join(' ')}]`
  const key = networkKey(mine.network)
  const config = JSON.stringify(req.config)
  const asCalled: ClusterSnapshot = {
    ...cluster,
    networkAttachmentDefinition: (ns, name) =>
      `${ns}/${name}` === key
        ? ({ apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { namespace: ns, name }, spec: { config } } as NetworkAttachmentDefinition)
        : cluster.networkAttachmentDefinition(ns, name),
  }
  const plan = planPod(req.pod, namespace, { settings: s, cluster: asCalled })
  if (isRefusal(plan)) return plan.message
  if (isSkip(plan)) return plan.skip
  const nic = plan.nics.find((n) => n.interface === req.ifName)
  if (!nic) return `interface ${req.ifName} does not use the spiderpool IPAM`
  const families = req.families ? nic.families.filter((f) => req.families!.includes(f.family)) : nic.families
  if (families.length === 0) return `interface ${req.ifName} has no IPPool of the IP families [${(req.families ?? []).map((f) => `IPv${f}`).join(' ')}]`
  return { ...plan, nics: [{ ...nic, families }] }
}

/** What the planner reads, fresh from the API: every pool, subnet and reserved IP, and the pod's namespace, node, networks and owners. */
async function readCluster(store: Store, pod: PodObject, who: Claimant, endpoint: SpiderEndpoint | undefined) {
  const annotations = pod.metadata.annotations ?? {}
  const networks: { namespace: string; name: string }[] = []
  for (const [key, defaultNamespace] of [
    [defaultNetworkAnnotation, defaultSettings().multusNamespace],
    [networksAnnotation, who.namespace],
  ] as const) {
    const parsed = annotations[key]?.trim() ? parseNetworkSelection(annotations[key], defaultNamespace) : undefined
    for (const n of parsed?.networks ?? []) networks.push({ namespace: n.namespace, name: n.name })
  }
  const owner = controllerOf(pod.metadata)
  const ownerOf = (kind: string) => (owner?.kind === kind ? getOrUndefined(store, kind === 'ReplicaSet' ? resources.replicasets : resources.jobs, owner.name, who.namespace) : undefined)
  const [ippools, subnets, reservedIPs, namespace, node, nads, replicaSet, job] = await Promise.all([
    store.listAll(resources.ippools),
    store.listAll(resources.subnets),
    store.listAll(resources.reservedIPs),
    getOrUndefined(store, resources.namespaces, who.namespace),
    getOrUndefined(store, resources.nodes, who.node),
    Promise.all(networks.map((n) => getOrUndefined(store, resources.networkAttachmentDefinitions, n.name, n.namespace))),
    ownerOf('ReplicaSet'),
    ownerOf('Job'),
  ])
  const cluster = clusterFromObjects({
    ippools: ippools.items,
    subnets: subnets.items,
    reservedIPs: reservedIPs.items,
    namespaces: namespace ? [namespace as Namespace] : [],
    nodes: node ? [node as Node] : [],
    networkAttachmentDefinitions: nads.filter((n): n is NetworkAttachmentDefinition => n !== undefined),
    spiderEndpoints: endpoint ? [endpoint] : [],
    replicaSets: replicaSet ? [replicaSet] : [],
    jobs: job ? [job] : [],
  })
  return { cluster, reservedIPs: reservedIPs.items }
}
