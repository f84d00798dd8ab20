// Which source names the pools of each Spiderpool NIC, in Spiderpool's strict order
// (ipam-semantics §2.1): SpiderSubnet auto-pool → pod `ippools` → pod `ippool` → namespace
// defaults → the NIC's NetworkAttachmentDefinition → pools with `spec.default: true`.
// A presence check decides the level; a lower level is never a fallback.
import type { Family } from '../../ipam/ip.ts'
import type { ClusterSnapshot } from '../cluster.ts'
import { declaredOrDerivedVersion } from '../common/ip-version.ts'
import { goList } from '../common/go-list.ts'
import type { Settings } from '../settings.ts'
import {
  ippoolAnnotation,
  ippoolsAnnotation,
  parseIPPool,
  parseIPPools,
  parseNamespaceDefaultPools,
  parseSubnetAnnotations,
  type PoolNames,
} from './annotations.ts'
import { findAutoPool } from './auto-pool.ts'
import type { PodNIC } from './networks.ts'
import { annotationsOf, type Pod } from './pod.ts'
import { refuse, type Refusal } from './refusal.ts'
import type { TopController } from './top-controller.ts'

export type PoolSource = 'subnet' | 'ippools' | 'ippool' | 'namespace' | 'netconf' | 'cluster default'

export interface NICSelection {
  nic: PodNIC
  source: PoolSource
  /** where the names come from, for messages */
  from: string
  cleanGateway: boolean
  /** the pool names per family as the source writes them (wildcards not expanded) */
  names: Record<Family, string[]>
}

export interface SourceContext {
  pod: Pod
  namespace: string
  /** the pod's Spiderpool NICs */
  nics: PodNIC[]
  settings: Settings
  cluster: ClusterSnapshot
  app: TopController
}

const fromNames = (n: PoolNames): Record<Family, string[]> => ({ 4: n.ipv4, 6: n.ipv6 })
const fromAnnotation = (key: string) => `annotation '${key}'`

export function selectPoolSources(ctx: SourceContext): NICSelection[] | Refusal {
  const annotations = annotationsOf(ctx.pod)
  const { nics, settings } = ctx

  if (settings.enableSpiderSubnet) {
    const subnet = fromSubnet(ctx, annotations)
    if (subnet !== undefined) return subnet
  }

  if (Object.hasOwn(annotations, ippoolsAnnotation)) return fromIPPools(nics, annotations[ippoolsAnnotation])

  if (Object.hasOwn(annotations, ippoolAnnotation)) {
    const parsed = parseIPPool(annotations[ippoolAnnotation])
    if (parsed.error !== undefined) return refuse(parsed.error)
    return nics.map((nic) => ({ nic, source: 'ippool', from: fromAnnotation(ippoolAnnotation), cleanGateway: nic.ipam!.cleanGateway, names: fromNames(parsed.value) }))
  }

  const ns = ctx.cluster.namespace(ctx.namespace)
  if (!ns) return refuse(`failed to get Namespace ${ctx.namespace}: not found (yet): its default IPPools cannot be read`)
  const nsDefaults = parseNamespaceDefaultPools(ns)
  if (nsDefaults.error !== undefined) return refuse(nsDefaults.error)
  if (nsDefaults.value.ipv4.length > 0 || nsDefaults.value.ipv6.length > 0) {
    return nics.map((nic) => ({
      nic,
      source: 'namespace',
      from: `the default IPPools of Namespace ${ctx.namespace}`,
      cleanGateway: nic.ipam!.cleanGateway,
      names: fromNames(nsDefaults.value),
    }))
  }

  const selections: NICSelection[] = []
  for (const nic of nics) {
    const ipam = nic.ipam!
    if (ipam.defaultIPv4IPPool.length > 0 || ipam.defaultIPv6IPPool.length > 0) {
      const nad = `${nic.network!.namespace}/${nic.network!.name}`
      selections.push({
        nic,
        source: 'netconf',
        from: `the default IPPools of NetworkAttachmentDefinition ${nad}`,
        cleanGateway: ipam.cleanGateway,
        names: { 4: ipam.defaultIPv4IPPool, 6: ipam.defaultIPv6IPPool },
      })
      continue
    }
    const defaults = clusterDefaultPools(ctx.cluster)
    if (defaults[4].length === 0 && defaults[6].length === 0) return refuse('no IPPool available, no pool selection rules of any type are specified')
    selections.push({ nic, source: 'cluster default', from: 'the cluster default IPPools', cleanGateway: ipam.cleanGateway, names: defaults })
  }
  return selections
}

/** Pools with `spec.default: true`, by IP version, in name order. */
function clusterDefaultPools(cluster: ClusterSnapshot): Record<Family, string[]> {
  const names: Record<Family, string[]> = { 4: [], 6: [] }
  for (const pool of cluster.ippools()) {
    if (pool.spec.default !== true) continue
    const family = declaredOrDerivedVersion(pool.spec.ipVersion, pool.spec.subnet)
    if (family) names[family].push(pool.metadata.name ?? '')
  }
  return names
}

/**
 * `ipam.spidernet.io/ippools`: named items go to the NIC they name; unnamed items go, in order,
 * to the pod's Spiderpool NICs. Every Spiderpool NIC needs an item, and every item a NIC
 * (Spiderpool would reserve an address for an item no NIC claims).
 */
function fromIPPools(nics: PodNIC[], text: string): NICSelection[] | Refusal {
  const parsed = parseIPPools(text)
  if (parsed.error !== undefined) return refuse(parsed.error)
  const items = parsed.value
  const wrong = `wrong input, invalid format of Pod annotation '${ippoolsAnnotation}'`
  const ours = goList(nics.map((n) => n.interface))
  const named = items[0].interface !== ''
  if (!named && items.length !== nics.length) {
    return refuse(`${wrong}: ${items.length} unnamed items for the ${nics.length} NICs ${ours} of the Pod that use the spiderpool IPAM`)
  }
  for (const item of named ? items : []) {
    if (!nics.some((n) => n.interface === item.interface)) return refuse(`${wrong}: interface ${item.interface} is not a NIC of the Pod that uses the spiderpool IPAM ${ours}`)
  }
  const selections: NICSelection[] = []
  for (const [i, nic] of nics.entries()) {
    const item = named ? items.find((it) => it.interface === nic.interface) : items[i]
    if (!item) return refuse(`${wrong}: interface ${nic.interface} must be specified`)
    selections.push({ nic, source: 'ippools', from: fromAnnotation(ippoolsAnnotation), cleanGateway: item.cleanGateway, names: fromNames(item) })
  }
  return selections
}

/** Level 1; undefined when the pod has no subnet annotation. */
function fromSubnet(ctx: SourceContext, annotations: Record<string, string>): NICSelection[] | Refusal | undefined {
  const parsed = parseSubnetAnnotations(annotations)
  if (!ctx.settings.enableAutoPoolForApplication) {
    return parsed.value === undefined && parsed.error === undefined
      ? undefined
      : refuse("it's invalid to use 'ipam.spidernet.io/subnets' or 'ipam.spidernet.io/subnet' annotation when Auto-Pool feature is disabled")
  }
  const failed = (why: string) => refuse(`failed to get IPPool candidates from Subnet: ${why}`)
  if (parsed.error !== undefined) return failed(parsed.error)
  const config = parsed.value
  if (!config) return undefined
  const { app } = ctx
  if (app.apiVersion === 'v1' && app.kind === 'Pod') return failed("SpiderSubnet feature doesn't support no-controller pod")
  const selections: NICSelection[] = []
  for (const nic of ctx.nics) {
    const item = config.items.find((i) => i.interface === nic.interface)
    if (!item) return failed(`no subnet is specified for interface ${nic.interface} in annotation '${config.annotation}'`)
    const names: Record<Family, string[]> = { 4: [], 6: [] }
    for (const family of [4, 6] as const) {
      const subnet = family === 4 ? item.ipv4 : item.ipv6
      if (subnet === undefined || !(family === 4 ? ctx.settings.enableIPv4 : ctx.settings.enableIPv6)) continue
      const found = findAutoPool(ctx.cluster, subnet, nic.interface, family, app)
      if (found.error !== undefined) return failed(found.error)
      names[family] = [found.pool.metadata.name ?? '']
    }
    selections.push({ nic, source: 'subnet', from: fromAnnotation(config.annotation), cleanGateway: nic.ipam!.cleanGateway, names })
  }
  return selections
}
