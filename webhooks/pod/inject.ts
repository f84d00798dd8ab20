// Spiderpool's own pod mutation (webhook-rules.md §6): Multus networks and device resources from
// SpiderMultusConfigs picked by an inject annotation (POD-M-01..05), and master-NIC resources
// (POD-M-06). It runs only with `podResourceInject.enabled`, as Spiderpool registers its pod
// webhook only then. POD-M-07 (cloud sub-ENI resources) needs the IaaS provider mode, which this
// project does not have, so it is left out.
import type { ClusterSnapshot } from '../cluster.ts'
import type { Settings } from '../settings.ts'
import type { SpiderMultusConfig } from '../../schemas/types.ts'
import { networkResourceInjectAnnotation, rdmaResourceInjectAnnotation } from '../spidermultusconfig/annotations.ts'
import { defaultNetworkAnnotation, networksAnnotation, parseNetworkSelection } from './networks.ts'
import { annotationsOf, type Container, type Pod } from './pod.ts'
import { refuse, type Refusal } from './refusal.ts'

type Obj = Record<string, unknown>

/** Mutates the pod; a refusal leaves it half-mutated, which does not matter as it is refused. */
export function injectPodResources(pod: Pod, namespace: string, settings: Settings, cluster: ClusterSnapshot): Refusal | undefined {
  const inject = settings.podResourceInject
  if (!inject.enabled) return undefined
  if (inject.namespacesExclude.includes(namespace)) return undefined
  if (inject.namespacesInclude.length > 0 && !inject.namespacesInclude.includes(namespace)) return undefined
  return injectNetworks(pod, namespace, cluster) ?? (settings.masterNICEnabled ? injectMasterNICs(pod, namespace, cluster) : undefined)
}

/** POD-M-01: the pod's annotation, even empty, else its namespace's. */
function injectValue(pod: Pod, namespace: string, cluster: ClusterSnapshot, key: string): { value?: string } | Refusal {
  const own = annotationsOf(pod)
  if (Object.hasOwn(own, key)) return { value: own[key] }
  const ns = cluster.namespace(namespace)
  if (!ns) return refuse(`namespaces "${namespace}" not found`)
  const theirs = ns.metadata.annotations ?? {}
  return Object.hasOwn(theirs, key) ? { value: theirs[key] } : {}
}

/** POD-M-02..05: only the first inject annotation that has a value is processed. */
function injectNetworks(pod: Pod, namespace: string, cluster: ClusterSnapshot): Refusal | undefined {
  for (const key of [rdmaResourceInjectAnnotation, networkResourceInjectAnnotation]) {
    const found = injectValue(pod, namespace, cluster, key)
    if ('reason' in found) return found
    if (found.value === undefined) continue
    const value = found.value
    // POD-M-02: SMC-M-13 copied the annotation to a label
    const smcs = cluster.multusConfigs().filter((smc) => smc.metadata.labels?.[key] === value)
    if (smcs.length === 0) return refuse(`no spidermultusconfigs with annotation: ${key}:${value} found`)
    const requireRDMA = key === rdmaResourceInjectAnnotation
    // POD-M-03
    for (const smc of smcs) {
      const problem = injectionProblem(smc, requireRDMA)
      if (problem) return refuse(problem)
    }
    // POD-M-04
    const ordered = sortMultusConfigs(smcs)
    pod.metadata.annotations = { ...annotationsOf(pod), [networksAnnotation]: ordered.map(qualified).join(',') }
    // POD-M-05
    const names = [...new Set(ordered.map(resourceName).filter((n) => n !== ''))]
    const containers = pod.spec?.containers ?? []
    for (const name of names) {
      if (containers.length === 0 || containers.some((c) => c.resources?.limits && Object.hasOwn(c.resources.limits, name))) continue
      setResource(containers[0], 'limits', name)
    }
    return undefined
  }
  return undefined
}

const qualified = (smc: SpiderMultusConfig) => `${smc.metadata.namespace ?? 'default'}/${smc.metadata.name ?? ''}`

/** The spec key of each cniType that POD-M-03 accepts, and the field naming its device resource. */
const injectable: Record<string, { config: string; label: string; resource: string }> = {
  macvlan: { config: 'macvlan', label: 'macvlan', resource: 'rdmaResourceName' },
  ipvlan: { config: 'ipvlan', label: 'ipvlan', resource: 'rdmaResourceName' },
  vlan: { config: 'vlan', label: 'vlan', resource: 'rdmaResourceName' },
  sriov: { config: 'sriov', label: 'sriov', resource: 'resourceName' },
  'ib-sriov': { config: 'ibsriov', label: 'ib-sriov', resource: 'resourceName' },
  ipoib: { config: 'ipoib', label: 'ipoib', resource: 'master' },
}

const configOf = (smc: SpiderMultusConfig): Obj | undefined => {
  const type = (smc.spec as Obj | undefined)?.cniType as string | undefined
  const rules = type !== undefined && Object.hasOwn(injectable, type) ? injectable[type] : undefined
  const config = rules ? (smc.spec as Obj)[rules.config] : undefined
  return config !== null && typeof config === 'object' ? (config as Obj) : undefined
}

const stringField = (config: Obj | undefined, key: string): string => (typeof config?.[key] === 'string' ? (config[key] as string) : '')

/** POD-M-03, with Spiderpool's messages. */
function injectionProblem(smc: SpiderMultusConfig, requireRDMA: boolean): string | undefined {
  const type = (smc.spec as Obj | undefined)?.cniType
  if (type === undefined || type === null) return 'cniType is nil'
  const rules = Object.hasOwn(injectable, type as string) ? injectable[type as string] : undefined
  if (!rules) return `RDMA resource injection does not support cniType: ${type}`
  const config = configOf(smc)
  if (!config) return `${rules.label} config is nil`
  const who = `spidermultusconfig ${qualified(smc)}`
  const resource = stringField(config, rules.resource)
  const pools = (config.ippools ?? undefined) as { ipv4?: unknown[]; ipv6?: unknown[] } | undefined
  const poolCount = (pools?.ipv4?.length ?? 0) + (pools?.ipv6?.length ?? 0)
  if (requireRDMA && resource === '') return `rdmaResourceName can not empty for ${who}`
  if ((requireRDMA || resource !== '') && poolCount === 0) return `no any ippools configured for ${who}`
  return undefined
}

/** POD-M-05's resource of an SMC; ipoib's master names a device, not a resource. */
function resourceName(smc: SpiderMultusConfig): string {
  const type = (smc.spec as Obj | undefined)?.cniType
  if (type === 'ipoib') return ''
  const rules = Object.hasOwn(injectable, type as string) ? injectable[type as string] : undefined
  return rules ? stringField(configOf(smc), rules.resource) : ''
}

/** POD-M-04: by bond name (≥ 2 masters and a bond) or first master, sriov by resourceName, then by `namespace/name`. */
function sortKey(smc: SpiderMultusConfig): string {
  const type = (smc.spec as Obj | undefined)?.cniType
  const config = configOf(smc)
  if (!config) return ''
  if (type === 'macvlan' || type === 'ipvlan' || type === 'vlan') {
    const masters = Array.isArray(config.master) ? (config.master as string[]) : []
    const bond = config.bond as { name?: string } | undefined | null
    if (masters.length >= 2 && bond) return bond.name ?? ''
    return masters[0] ?? ''
  }
  if (type === 'sriov') return stringField(config, 'resourceName')
  return ''
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

function sortMultusConfigs(smcs: readonly SpiderMultusConfig[]): SpiderMultusConfig[] {
  return [...smcs].sort((a, b) => byText(sortKey(a), sortKey(b)) || byText(qualified(a), qualified(b)))
}

function setResource(container: Container, list: 'limits' | 'requests', name: string): void {
  container.resources ??= {}
  container.resources[list] = { ...(container.resources[list] ?? {}), [name]: '1' }
}

const hasResource = (containers: readonly Container[], name: string) =>
  containers.some((c) => [c.resources?.limits, c.resources?.requests].some((list) => list && Object.hasOwn(list, name)))

/** POD-M-06: `spidernet.io/<master>-nic` for every master NIC of the SMCs the pod's networks name. */
function injectMasterNICs(pod: Pod, namespace: string, cluster: ClusterSnapshot): Refusal | undefined {
  const annotations = annotationsOf(pod)
  const seen = new Set<string>()
  const masters = new Set<string>()
  for (const key of [defaultNetworkAnnotation, networksAnnotation]) {
    const text = annotations[key] ?? ''
    if (text === '') continue
    const parsed = parseNetworkSelection(text, namespace)
    if (parsed.error !== undefined) return refuse(parsed.error)
    for (const network of parsed.networks) {
      const id = `${network.namespace}/${network.name}`
      if (seen.has(id)) continue
      const smc = cluster.multusConfig(network.namespace, network.name)
      if (!smc) continue
      seen.add(id)
      for (const master of mastersOf(smc)) if (master !== '') masters.add(master)
    }
  }
  const containers = pod.spec?.containers ?? []
  if (containers.length === 0) return undefined
  for (const master of [...masters].sort(byText)) {
    const name = `spidernet.io/${master}-nic`
    if (hasResource(containers, name)) continue
    setResource(containers[0], 'limits', name)
    setResource(containers[0], 'requests', name)
  }
  return undefined
}

function mastersOf(smc: SpiderMultusConfig): string[] {
  const type = (smc.spec as Obj | undefined)?.cniType
  const config = configOf(smc)
  if (!config) return []
  if (type === 'macvlan' || type === 'ipvlan' || type === 'vlan') return Array.isArray(config.master) ? (config.master as string[]).filter((m) => typeof m === 'string') : []
  if (type === 'ipoib') return typeof config.master === 'string' ? [config.master] : []
  return []
}
