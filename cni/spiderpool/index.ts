// The `spiderpool` IPAM plugin. ADD claims what the webhook reserved for the NIC: it reads the pod
// and writes its SpiderEndpoint, whose webhook claims in the pools and marks the outcome on it; a
// NIC the mark does not speak for is claimed here (one conditional write per pool). It allocates
// here only what could not be claimed. DEL releases once the pod is gone or finished and never
// fails on the API (the collector reconciles); CHECK asks the pools whether the pod still holds
// its addresses.
import type { Family } from '../../ipam/ip.ts'
import { parseRecords } from '../../ipam/records.ts'
import { addressesByPool, type ReservedInterface } from '../../ipam/reservation.ts'
import { isAlreadyExists, isConflict, isNotFound } from '../../kube/errors.ts'
import { resources } from '../../kube/resources.ts'
import type { Store } from '../../kube/store.ts'
import { getOrUndefined } from '../../kube/get-or-undefined.ts'
import type { SpiderEndpoint } from '../../schemas/types.ts'
import { CniError, errorCode } from '../errors.ts'
import type { CmdArgs, Plugin } from '../skel.ts'
import type { Result } from '../version.ts'
import { apiFailure, connect, writePool } from './api.ts'
import { claimMarkAnnotation, claimRecords, decodeClaimMark, lostByMark, releaseRecords, sameAddress } from '../../ipam/claim.ts'
import type { Claimant, ClaimOutcome, WantedAddress } from '../../ipam/claim.ts'
import { podIdentityOf, readIPAMConfig } from './config.ts'
import type { PodIdentity } from './config.ts'
import { endpointIsThePods, endpointNIC, endpointWithoutNIC, endpointWrite, nicOf, reservedInterfaceOf } from './endpoint.ts'
import type { EndpointNIC, PodFacts } from './endpoint.ts'
import { isAlive, nodeOf, podFacts, statefulSetKeeps } from './pod.ts'
import { reservationOf, statefulSetOf } from '../../webhooks/pod/claim.ts'
import type { PodObject } from './pod.ts'
import { ipamResult } from './result.ts'

/** CHECK found the records no longer give the pod its addresses. */
export const checkFailedCode = 100

export interface Dependencies {
  connect(kubeconfig: string): Promise<Store>
  now(): Date
}

export const productionDependencies: Dependencies = { connect: (k) => connect(k), now: () => new Date() }

const familyKeys = { 4: ['ipv4', 'ipv4Pool', 'ipv4Gateway'], 6: ['ipv6', 'ipv6Pool', 'ipv6Gateway'] } as const
const familyOfRoute = (gw: string): Family => (gw.includes(':') ? 6 : 4)
const bare = (address: string) => address.split('/')[0]

function requirePod(args: CmdArgs): PodIdentity {
  const who = podIdentityOf(args.args)
  if (!who) throw new CniError(errorCode.invalidEnvironment, 'CNI_ARGS must name the pod: K8S_POD_NAMESPACE and K8S_POD_NAME are missing')
  return who
}

interface Lost {
  family: Family
  pool: string
  why: string
}

/** Claims every address of the entry, the pools in parallel; what could not be claimed, and why. */
async function claimEntry(store: Store, entry: ReservedInterface, token: string | undefined, who: Claimant, now: Date): Promise<Lost[]> {
  const lost: Lost[] = []
  await Promise.all(
    [...addressesByPool(entry)].map(async ([pool, addresses]) => {
      const wanted: WantedAddress[] = addresses.map((a) => ({ address: a.address, token, nic: entry.interface }))
      const outcomes: ClaimOutcome[] = await writePool(store, pool, (records) =>
        records ? claimRecords(records, wanted, who, now) : { records: [], changed: false, value: wanted.map((w) => ({ address: w.address, lost: `IPPool ${pool} does not exist` })) },
      )
      outcomes.forEach((o, i) => {
        if (o.lost !== undefined) lost.push({ family: addresses[i].family, pool, why: o.lost })
      })
    }),
  )
  return lost
}

/** The entry with the lost families replaced by what was allocated for them. */
function withFresh(entry: ReservedInterface, fresh: ReservedInterface, families: Family[]): ReservedInterface {
  const out: ReservedInterface = { ...entry, routes: entry.routes.filter((r) => !families.includes(familyOfRoute(r.gw))) }
  for (const family of families) {
    for (const key of familyKeys[family]) {
      if (fresh[key] !== undefined) out[key] = fresh[key]
      else delete out[key]
    }
  }
  out.routes.push(...fresh.routes.filter((r) => families.includes(familyOfRoute(r.gw))))
  return out
}

const maxEndpointAttempts = 5

/** Creates or updates the pod's SpiderEndpoint so that it records the NIC; conflicts re-read it. Resolves with the endpoint as stored. */
async function recordEndpoint(store: Store, existing: SpiderEndpoint | undefined, pod: PodFacts, nic: EndpointNIC): Promise<SpiderEndpoint> {
  let current = existing
  for (let attempt = 0; attempt < maxEndpointAttempts; attempt++) {
    const w = endpointWrite(current, pod, nic)
    try {
      if (w.action === 'none') return current!
      if (w.action === 'update') return await store.update(resources.endpoints, w.endpoint)
      if (w.action === 'replace') await dropFinalizers(store, w.stale)
      return await store.create(resources.endpoints, w.endpoint)
    } catch (err) {
      if (!isConflict(err) && !isAlreadyExists(err) && !isNotFound(err)) throw err
      current = await getOrUndefined(store, resources.endpoints, pod.name, pod.namespace)
    }
  }
  throw new CniError(errorCode.tryAgainLater, `SpiderEndpoint ${pod.namespace}/${pod.name}: still conflicting after ${maxEndpointAttempts} attempts`)
}

/** Lets an endpoint go: without finalizers a terminating one is removed at once. */
async function dropFinalizers(store: Store, endpoint: SpiderEndpoint): Promise<void> {
  if (!(endpoint.metadata?.finalizers ?? []).length) return
  try {
    await store.update(resources.endpoints, { ...endpoint, metadata: { ...endpoint.metadata, finalizers: [] } })
  } catch (err) {
    if (!isNotFound(err)) throw err
  }
}

/** What the endpoint's claim mark says was lost of the entry, or undefined when it does not speak for this uid and NIC. */
function lostOfMark(endpoint: SpiderEndpoint, uid: string, entry: ReservedInterface): Lost[] | undefined {
  const byPool = [...addressesByPool(entry)]
  const lost = lostByMark(decodeClaimMark(endpoint.metadata?.annotations?.[claimMarkAnnotation]), uid, entry.interface, byPool.flatMap(([, a]) => a.map((x) => x.address)))
  if (!lost) return undefined
  return byPool.flatMap(([pool, addresses]) => addresses.filter((a) => lost.has(a.address)).map((a) => ({ family: a.family, pool, why: lost.get(a.address)! })))
}

/** The ADD of one NIC: exported so that bench/cni-claims.ts runs the plugin's own sequence. */
export async function add(store: Store, args: CmdArgs, who: PodIdentity, now: Date): Promise<Result> {
  const where = `Pod ${who.namespace}/${who.name} NIC ${args.ifName}`
  const pod = (await getOrUndefined(store, resources.pods, who.name, who.namespace)) as PodObject | undefined
  if (!pod) throw new CniError(errorCode.unknownContainer, `${where}: the Pod does not exist`)
  const uid = pod.metadata.uid ?? ''
  if (who.uid && uid !== who.uid) throw new CniError(errorCode.unknownContainer, `${where}: the Pod is now uid ${uid}, not ${who.uid}: a newer Pod of the same name replaced it`)
  const facts = podFacts(pod, nodeOf(pod))
  const claimant: Claimant = { namespace: who.namespace, name: who.name, uid, node: facts.node, statefulSet: facts.statefulSet }

  const lookup = reservationOf(pod, args.ifName)
  if (lookup.problem) args.log(`spiderpool: ${where}: ${lookup.problem}; allocating here`)
  let entry = lookup.entry
  let token = lookup.reservation?.token
  // the endpoint is only read when there is no reservation to claim: at a first ADD it does not exist yet
  let endpoint: SpiderEndpoint | undefined
  if (!entry) {
    endpoint = await getOrUndefined(store, resources.endpoints, who.name, who.namespace)
    const recorded = endpointIsThePods(endpoint, uid, facts.statefulSet) ? nicOf(endpoint, args.ifName) : undefined
    if (recorded) {
      entry = reservedInterfaceOf(recorded)
      token = undefined
    }
  }

  let lost: Lost[] | undefined
  let current = endpoint
  if (entry) {
    // created blind (re-read only when it exists); its webhook claims the reservation before storing it
    current = await recordEndpoint(store, endpoint, facts, endpointNIC(entry))
    lost = token !== undefined ? lostOfMark(current, uid, entry) : undefined
    // no mark for this uid and NIC (the webhook is absent or failed): claim here; a claim already made is found again
    lost ??= await claimEntry(store, entry, token, claimant, now)
    if (lost.length === 0) return ipamResult(entry, args.cniVersion)
    for (const l of lost) args.log(`spiderpool: ${where}: IPPool ${l.pool}: ${l.why}; allocating a fresh IPv${l.family} address`)
  }
  const families = lost?.map((l) => l.family)
  const { allocateFresh } = await import('./fallback.ts')
  const fresh = await allocateFresh({ store, pod, who: claimant, ifName: args.ifName, config: args.config, families, endpoint: current, now })
  const final = entry && families ? withFresh(entry, fresh, families) : fresh
  await recordEndpoint(store, current, facts, endpointNIC(final))
  return ipamResult(final, args.cniVersion)
}

async function release(store: Store, args: CmdArgs, who: PodIdentity): Promise<void> {
  const where = `Pod ${who.namespace}/${who.name} NIC ${args.ifName}`
  const [pod, endpoint] = await Promise.all([
    getOrUndefined(store, resources.pods, who.name, who.namespace) as Promise<PodObject | undefined>,
    getOrUndefined(store, resources.endpoints, who.name, who.namespace),
  ])
  const thisPod = pod && (!who.uid || pod.metadata.uid === who.uid) ? pod : undefined
  if (thisPod && isAlive(thisPod)) return args.log(`spiderpool: ${where}: the Pod is alive, its addresses stay for its next sandbox`)
  const uid = thisPod?.metadata.uid || who.uid || endpoint?.status?.current?.uid || ''
  const statefulSet = thisPod ? statefulSetOf(thisPod) : endpoint?.status?.ownerControllerType === 'StatefulSet' ? endpoint.status.ownerControllerName : undefined
  if (statefulSet) {
    const sts = await getOrUndefined(store, resources.statefulsets, statefulSet, who.namespace)
    if (statefulSetKeeps(sts, who.name, statefulSet)) return args.log(`spiderpool: ${where}: StatefulSet ${statefulSet} keeps the Pod's addresses`)
  }
  const ours = endpoint && (endpoint.status?.current?.uid === uid || statefulSet !== undefined) ? endpoint : undefined
  const recorded = nicOf(ours, args.ifName)
  const reserved = thisPod ? reservationOf(thisPod, args.ifName) : undefined
  const pools = new Set<string>()
  for (const e of [recorded, reserved?.entry]) for (const pool of [e?.ipv4Pool, e?.ipv6Pool]) if (pool) pools.add(pool)
  if (!uid && !reserved?.reservation) return args.log(`spiderpool: ${where}: no uid and no reservation to release by; the collector will`)
  const selector = {
    uid: uid || undefined,
    token: reserved?.reservation?.token,
    nic: args.ifName,
    addresses: [recorded?.ipv4, recorded?.ipv6].filter((a): a is string => !!a).map(bare),
  }
  const released = await Promise.all([...pools].map((pool) => writePool(store, pool, (records) => (records ? releaseRecords(records, selector) : { records: [], changed: false, value: [] }))))
  const addresses = released.flat().map((r) => r.ip)
  if (addresses.length) args.log(`spiderpool: ${where}: released ${addresses.join(', ')}`)
  if (ours) await forgetNIC(store, ours, args.ifName)
}

/** Drops the NIC from the endpoint; the last NIC takes the endpoint with it. */
async function forgetNIC(store: Store, endpoint: SpiderEndpoint, ifName: string): Promise<void> {
  let current: SpiderEndpoint | undefined = endpoint
  for (let attempt = 0; current && attempt < maxEndpointAttempts; attempt++) {
    const w = endpointWithoutNIC(current, ifName)
    try {
      if (w.action === 'none') return
      if (w.action === 'update') return void (await store.update(resources.endpoints, w.endpoint))
      await dropFinalizers(store, current)
      if (!current.metadata?.deletionTimestamp) await store.delete(resources.endpoints, current.metadata!.name!, { namespace: current.metadata!.namespace, preconditions: { uid: current.metadata!.uid } })
      return
    } catch (err) {
      if (isNotFound(err)) return
      if (!isConflict(err)) throw err
      current = await getOrUndefined(store, resources.endpoints, endpoint.metadata!.name!, endpoint.metadata!.namespace)
    }
  }
}

async function check(store: Store, args: CmdArgs, who: PodIdentity): Promise<void> {
  const where = `Pod ${who.namespace}/${who.name} NIC ${args.ifName}`
  const [pod, endpoint] = await Promise.all([
    getOrUndefined(store, resources.pods, who.name, who.namespace) as Promise<PodObject | undefined>,
    getOrUndefined(store, resources.endpoints, who.name, who.namespace),
  ])
  if (!pod) throw new CniError(errorCode.unknownContainer, `${where}: the Pod does not exist`)
  const uid = pod.metadata.uid ?? ''
  const recorded = endpointIsThePods(endpoint, uid, statefulSetOf(pod) !== undefined) ? nicOf(endpoint, args.ifName) : undefined
  if (!recorded) throw new CniError(checkFailedCode, `${where}: its SpiderEndpoint records no addresses for the NIC`)
  const given = (args.prevResult?.ips ?? []).filter((ip) => ip.interface === undefined || args.prevResult?.interfaces?.[ip.interface]?.name === args.ifName).map((ip) => bare(ip.address))
  const entry = reservedInterfaceOf(recorded)
  for (const [pool, addresses] of addressesByPool(entry)) {
    const current = await getOrUndefined(store, resources.ippools, pool)
    const records = parseRecords(current?.status?.allocatedIPs).records ?? []
    for (const { address } of addresses) {
      if (given.length && !given.some((g) => sameAddress(g, address))) throw new CniError(checkFailedCode, `${where}: the result the runtime keeps has [${given.join(' ')}], the SpiderEndpoint ${address}`)
      const record = records.find((r) => sameAddress(r.ip, address))
      if (!record || record.podUid !== uid) {
        throw new CniError(checkFailedCode, `${where}: IPPool ${pool} ${record ? `gives ${address} to ${record.pod || 'a reservation'}` : `has no record of ${address}`}, not to the Pod (uid ${uid})`)
      }
    }
  }
}

export function createSpiderpoolIPAM(deps: Dependencies = productionDependencies): Plugin {
  /** Runs `work` on a connection to the API, naming the command and pod in any API failure. */
  const withApi = async <T>(args: CmdArgs, doing: string, work: (store: Store) => Promise<T>): Promise<T> => {
    const store = await deps.connect(readIPAMConfig(args.config).kubeconfig)
    try {
      return await work(store)
    } catch (err) {
      throw apiFailure(err, doing)
    } finally {
      store.transport.close()
    }
  }
  return {
    async add(args) {
      readIPAMConfig(args.config)
      const who = requirePod(args)
      return withApi(args, `ADD of Pod ${who.namespace}/${who.name} NIC ${args.ifName}`, (store) => add(store, args, who, deps.now()))
    },

    async del(args) {
      readIPAMConfig(args.config)
      const who = podIdentityOf(args.args)
      if (!who) return args.log('spiderpool: DEL: CNI_ARGS names no pod, nothing to release')
      try {
        await withApi(args, `DEL of Pod ${who.namespace}/${who.name} NIC ${args.ifName}`, (store) => release(store, args, who))
      } catch (err) {
        const e = err as CniError
        args.log(`spiderpool: ${e.message}${e.details ? ` (${e.details})` : ''}; DEL succeeds and the collector releases what is left`)
      }
    },

    async check(args) {
      readIPAMConfig(args.config)
      const who = requirePod(args)
      return withApi(args, `CHECK of Pod ${who.namespace}/${who.name} NIC ${args.ifName}`, (store) => check(store, args, who))
    },
  }
}

export const spiderpoolIPAM = createSpiderpoolIPAM()
