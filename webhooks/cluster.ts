// The read-only view of cluster state that admission rules need. The server feeds it from
// the informer cache (kube/); tests feed it from memory. Reads are synchronous on purpose:
// rules decide from a snapshot and never wait on I/O.
import type {
  NetworkAttachmentDefinition,
  SpiderEndpoint,
  SpiderIPPool,
  SpiderMultusConfig,
  SpiderReservedIP,
  SpiderSubnet,
  SpiderCoordinator,
} from '../schemas/types.ts'
import type { KubeObject } from '../schemas/meta.ts'
import type { Pod } from './pod/pod.ts'

export interface Namespace extends KubeObject {
  metadata: NonNullable<KubeObject['metadata']>
}

/** A Node as admission reads it: its name and labels. */
export interface Node extends KubeObject {
  metadata: NonNullable<KubeObject['metadata']>
}

/** A Pod as stored: what admission reads, and the status that tells whether it finished. */
export interface StoredPod extends Pod {
  status?: { phase?: string; reason?: string; [key: string]: unknown }
}

export interface ClusterSnapshot {
  ippools(): readonly SpiderIPPool[]
  ippool(name: string): SpiderIPPool | undefined
  subnets(): readonly SpiderSubnet[]
  subnet(name: string): SpiderSubnet | undefined
  reservedIPs(): readonly SpiderReservedIP[]
  multusConfigs(): readonly SpiderMultusConfig[]
  multusConfig(namespace: string, name: string): SpiderMultusConfig | undefined
  networkAttachmentDefinition(namespace: string, name: string): NetworkAttachmentDefinition | undefined
  namespace(name: string): Namespace | undefined
  /** Every node, in name order: node constraints of pods and pools become sets of node names. */
  nodes(): readonly Node[]
  node(name: string): Node | undefined
  /** A pod's SpiderEndpoint (same namespace and name): a StatefulSet pod's recorded IPs. */
  spiderEndpoint(namespace: string, name: string): SpiderEndpoint | undefined
  /** A pod's owning ReplicaSet or Job (metadata is what is read): to find the pod's top controller. */
  replicaSet(namespace: string, name: string): KubeObject | undefined
  job(namespace: string, name: string): KubeObject | undefined
  /** A SpiderCoordinator: pods that chain the coordinator plugin need `default` Synced. */
  coordinator(name: string): SpiderCoordinator | undefined
  /** Every pod, by namespace then name: which reservations a pod carries, and whether it still runs. */
  pods(): readonly StoredPod[]
  pod(namespace: string, name: string): StoredPod | undefined
}

export interface ClusterContents {
  ippools?: SpiderIPPool[]
  subnets?: SpiderSubnet[]
  reservedIPs?: SpiderReservedIP[]
  multusConfigs?: SpiderMultusConfig[]
  networkAttachmentDefinitions?: NetworkAttachmentDefinition[]
  namespaces?: Namespace[]
  nodes?: Node[]
  spiderEndpoints?: SpiderEndpoint[]
  replicaSets?: KubeObject[]
  jobs?: KubeObject[]
  coordinators?: SpiderCoordinator[]
  pods?: StoredPod[]
}

const byName = <T extends KubeObject>(items: readonly T[], name: string) => items.find((o) => o.metadata?.name === name)
const byKey = <T extends KubeObject>(items: readonly T[], ns: string, name: string) =>
  items.find((o) => o.metadata?.name === name && (o.metadata?.namespace ?? 'default') === ns)
const sortedByName = <T extends KubeObject>(items: readonly T[] = []) =>
  [...items].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))

const keyOf = (o: KubeObject) => `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`
const byNamespaceAndName = (a: KubeObject, b: KubeObject) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0)

/** A snapshot over plain lists (lists come back in name order, as the API server lists them). */
export function clusterFromObjects(c: ClusterContents = {}): ClusterSnapshot {
  const ippools = sortedByName(c.ippools)
  const subnets = sortedByName(c.subnets)
  const reservedIPs = sortedByName(c.reservedIPs)
  const multusConfigs = sortedByName(c.multusConfigs)
  const nads = c.networkAttachmentDefinitions ?? []
  const namespaces = c.namespaces ?? []
  const nodes = sortedByName(c.nodes)
  const endpoints = c.spiderEndpoints ?? []
  const replicaSets = c.replicaSets ?? []
  const jobs = c.jobs ?? []
  const coordinators = c.coordinators ?? []
  const pods = [...(c.pods ?? [])].sort(byNamespaceAndName)
  return {
    ippools: () => ippools,
    ippool: (name) => byName(ippools, name),
    subnets: () => subnets,
    subnet: (name) => byName(subnets, name),
    reservedIPs: () => reservedIPs,
    multusConfigs: () => multusConfigs,
    multusConfig: (ns, name) => byKey(multusConfigs, ns, name),
    networkAttachmentDefinition: (ns, name) => byKey(nads, ns, name),
    namespace: (name) => byName(namespaces, name),
    nodes: () => nodes,
    node: (name) => byName(nodes, name),
    spiderEndpoint: (ns, name) => byKey(endpoints, ns, name),
    replicaSet: (ns, name) => byKey(replicaSets, ns, name),
    job: (ns, name) => byKey(jobs, ns, name),
    coordinator: (name) => byName(coordinators, name),
    pods: () => pods,
    pod: (ns, name) => byKey(pods, ns, name),
  }
}
