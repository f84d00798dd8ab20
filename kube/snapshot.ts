// The webhooks' read-only view of the cluster (ClusterSnapshot), answered from informer caches.
// Reads are synchronous and events are applied between turns of the event loop, so one
// synchronous admission decision always sees one consistent state.
import type { KubeObject } from '../schemas/meta.ts'
import type {
  NetworkAttachmentDefinition,
  SpiderCoordinator,
  SpiderEndpoint,
  SpiderIPPool,
  SpiderMultusConfig,
  SpiderReservedIP,
  SpiderSubnet,
} from '../schemas/types.ts'
import type { ClusterSnapshot, Node, StoredPod } from '../webhooks/cluster.ts'
import { createInformer } from './informer.ts'
import type { Informer, InformerOptions } from './informer.ts'
import { resources } from './resources.ts'
import type { AnyObject, Namespace, Resource } from './resources.ts'
import type { Store } from './store.ts'

export interface InformedCluster {
  readonly snapshot: ClusterSnapshot
  readonly informers: {
    ippools: Informer<SpiderIPPool>
    subnets: Informer<SpiderSubnet>
    reservedIPs: Informer<SpiderReservedIP>
    multusConfigs: Informer<SpiderMultusConfig>
    networkAttachmentDefinitions: Informer<NetworkAttachmentDefinition>
    namespaces: Informer<Namespace>
    nodes: Informer<Node>
    spiderEndpoints: Informer<SpiderEndpoint>
    replicaSets: Informer<KubeObject>
    jobs: Informer<KubeObject>
    coordinators: Informer<SpiderCoordinator>
    pods: Informer<StoredPod>
    /** for the collector: whether a StatefulSet pod's ordinal is still within its replicas */
    statefulSets: Informer<AnyObject>
  }
  start(): void
  hasSynced(): boolean
  waitForSync(options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void>
  stop(): Promise<void>
}

// The API server lists in key order, which is byte order of the name.
const byName = (a: KubeObject, b: KubeObject) => {
  const x = a.metadata?.name ?? ''
  const y = b.metadata?.name ?? ''
  return x < y ? -1 : x > y ? 1 : 0
}

const byNamespaceAndName = (a: KubeObject, b: KubeObject) => {
  const x = `${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`
  const y = `${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`
  return x < y ? -1 : x > y ? 1 : 0
}

/** The cache's objects in name order (or the given one), sorted again only after the cache changed. */
function inNameOrder<T extends KubeObject>(informer: Informer<T>, order: (a: T, b: T) => number = byName): () => readonly T[] {
  let seen = -1
  let items: readonly T[] = []
  return () => {
    if (informer.generation() !== seen) {
      seen = informer.generation()
      items = Object.freeze(informer.list().sort(order))
    }
    return items
  }
}

export function createClusterSnapshot(store: Store, options: Pick<InformerOptions<KubeObject>, 'onError' | 'watchTimeoutSeconds' | 'backoffMs'> = {}): InformedCluster {
  const informers = {
    ippools: createInformer(store, resources.ippools, options),
    subnets: createInformer(store, resources.subnets, options),
    reservedIPs: createInformer(store, resources.reservedIPs, options),
    multusConfigs: createInformer(store, resources.multusConfigs, options),
    networkAttachmentDefinitions: createInformer(store, resources.networkAttachmentDefinitions, options),
    namespaces: createInformer(store, resources.namespaces, options),
    // Nodes and pod owners are read for their metadata only; full objects would cost memory for nothing.
    nodes: createInformer(store, resources.nodes as Resource<Node>, { ...options, metadataOnly: true }),
    spiderEndpoints: createInformer(store, resources.endpoints, options),
    replicaSets: createInformer(store, resources.replicasets as Resource<KubeObject>, { ...options, metadataOnly: true }),
    // The local control plane serves no Jobs; where none are served, no pod can be owned by one.
    jobs: createInformer(store, resources.jobs as Resource<KubeObject>, { ...options, metadataOnly: true, optional: true }),
    coordinators: createInformer(store, resources.coordinators, options),
    // Whole pods: the collector reads their phase, and their reservation from the annotations.
    pods: createInformer(store, resources.pods as Resource<StoredPod>, options),
    statefulSets: createInformer(store, resources.statefulsets, options),
  }
  const all = Object.values(informers) as Informer<KubeObject>[]
  const ippools = inNameOrder(informers.ippools)
  const subnets = inNameOrder(informers.subnets)
  const reservedIPs = inNameOrder(informers.reservedIPs)
  const multusConfigs = inNameOrder(informers.multusConfigs)
  const nodes = inNameOrder(informers.nodes)
  const pods = inNameOrder(informers.pods, byNamespaceAndName)

  const snapshot: ClusterSnapshot = {
    ippools,
    ippool: (name) => informers.ippools.get(name),
    subnets,
    subnet: (name) => informers.subnets.get(name),
    reservedIPs,
    multusConfigs,
    multusConfig: (namespace, name) => informers.multusConfigs.get(name, namespace),
    networkAttachmentDefinition: (namespace, name) => informers.networkAttachmentDefinitions.get(name, namespace),
    namespace: (name) => informers.namespaces.get(name),
    nodes,
    node: (name) => informers.nodes.get(name),
    spiderEndpoint: (namespace, name) => informers.spiderEndpoints.get(name, namespace),
    replicaSet: (namespace, name) => informers.replicaSets.get(name, namespace),
    job: (namespace, name) => informers.jobs.get(name, namespace),
    coordinator: (name) => informers.coordinators.get(name),
    pods,
    pod: (namespace, name) => informers.pods.get(name, namespace),
  }

  return {
    snapshot,
    informers,
    start: () => all.forEach((i) => i.start()),
    hasSynced: () => all.every((i) => i.hasSynced()),
    waitForSync: async (o) => {
      await Promise.all(all.map((i) => i.waitForSync(o)))
    },
    stop: async () => {
      await Promise.all(all.map((i) => i.stop()))
    },
  }
}
