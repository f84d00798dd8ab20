// The SpiderCoordinator's status (Spiderpool's coordinator controller, cni-coordinator.md §D): the
// cluster's pod and service CIDRs discovered from kubeadm's ConfigMap, kube-controller-manager's
// flags, Calico's or Cilium's pools, the ServiceCIDRs, written as `Synced` — or `NotReady` with what to fix, which
// the pod webhook then quotes to pods that chain the coordinator. Any change of a source re-runs it.
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import type { SpiderCoordinator } from '../../schemas/types.ts'
import type { KubeObject } from '../../schemas/meta.ts'
import { createInformer, type Informer } from '../../kube/informer.ts'
import { isNotFound } from '../../kube/errors.ts'
import { resources, type Resource } from '../../kube/resources.ts'
import type { Store } from '../../kube/store.ts'
import {
  ciliumConfigName,
  defaultCNIConfigFile,
  defaultCoordinatorName,
  discoverCoordinatorStatus,
  kubeadmConfigName,
  sameStatus,
  sourcesNamespace,
  type CalicoIPPool,
  type CalicoIPPools,
  type CiliumPodIPPool,
  type CNIConfigDirectory,
  type ServiceCIDR,
} from '../../webhooks/spidercoordinator/discovery.ts'
import { spiderpoolFinalizer } from '../../webhooks/common/keys.ts'
import { createWorkQueue, type WorkQueue } from './workqueue.ts'

export interface CoordinatorControllerOptions {
  store: Store
  coordinators: Informer<SpiderCoordinator>
  log: FastifyBaseLogger
  onError?(key: string, err: unknown): void
  /** the nodes' CNI config directory as this process sees it, read for podCIDRType `auto` */
  cniConfigDir?: string
  /** re-reads everything this often: the CNI config directory is not watched */
  resyncMs?: number
}

// Served only where Calico or Cilium is installed; elsewhere their informers stay empty.
const calicoIPPools: Resource<CalicoIPPool & KubeObject> = { group: 'crd.projectcalico.org', version: 'v1', plural: 'ippools', kind: 'IPPool', namespaced: false, hasStatus: false }
const ciliumPodIPPools: Resource<CiliumPodIPPool & KubeObject> = { group: 'cilium.io', version: 'v2alpha1', plural: 'ciliumpodippools', kind: 'CiliumPodIPPool', namespaced: false, hasStatus: false }
// Spiderpool lists networking.k8s.io/v1alpha1, an alpha no release serves by default. We take v1
// (served by default from 1.33) and fall back to v1beta1 (1.31–1.32, behind the
// MultiCIDRServiceAllocator gate) where v1 is not served; neither listable: §D.2 step 2's CIDR.
const serviceCIDRsV1: Resource<ServiceCIDR & KubeObject> = { group: 'networking.k8s.io', version: 'v1', plural: 'servicecidrs', kind: 'ServiceCIDR', namespaced: false, hasStatus: true }
const serviceCIDRsV1beta1: Resource<ServiceCIDR & KubeObject> = { group: 'networking.k8s.io', version: 'v1beta1', plural: 'servicecidrs', kind: 'ServiceCIDR', namespaced: false, hasStatus: true }
// how long a reconcile waits for a source that may never list (not served, not allowed)
const optionalSyncMs = 10_000

/** Spiderpool's SPIDERPOOL_CNI_CONFIG_DIR, else the kubelet's default. */
const defaultCNIConfigDir = () => process.env.SPIDERPOOL_CNI_CONFIG_DIR || '/etc/cni/net.d'

export async function readCNIConfigDirectory(dir: string): Promise<CNIConfigDirectory> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true }
    return { error: `failed to load cni files in ${dir}: ${(err as Error).message}` }
  }
  const name = defaultCNIConfigFile(names)
  if (!name) return {}
  try {
    return { file: { name, text: await readFile(path.join(dir, name), 'utf8') } }
  } catch (err) {
    return { error: `error loading CNI config file ${path.join(dir, name)}: ${(err as Error).message}` }
  }
}

/** The SpiderCoordinator controller: its queue (keys are coordinator names), fed by every source's informer. */
export function startCoordinatorController(o: CoordinatorControllerOptions): WorkQueue {
  const reportSourceError = (err: unknown) => {
    if (!isNotFound(err)) o.log.debug({ err }, 'coordinator source informer')
  }
  const inSystem = (name: string) => ({ namespace: sourcesNamespace, fieldSelector: `metadata.name=${name}`, onError: reportSourceError })
  const sources = {
    kubeadmConfig: createInformer(o.store, resources.configmaps, inSystem(kubeadmConfigName)),
    ciliumConfig: createInformer(o.store, resources.configmaps, inSystem(ciliumConfigName)),
    kubeControllerManagers: createInformer(o.store, resources.pods, { labelSelector: 'component=kube-controller-manager', onError: reportSourceError }),
    // looked at again every 10 s while not served, so that installing Calico is seen soon
    calicoIPPools: createInformer(o.store, calicoIPPools, { optional: true, onError: reportSourceError, backoffMs: { base: 200, cap: 10_000 } }),
    ciliumPodIPPools: createInformer(o.store, ciliumPodIPPools, { optional: true, onError: reportSourceError }),
    serviceCIDRsV1: createInformer(o.store, serviceCIDRsV1, { optional: true, onError: reportSourceError }),
    serviceCIDRsV1beta1: createInformer(o.store, serviceCIDRsV1beta1, { optional: true, onError: reportSourceError }),
  }
  const own = Object.values(sources) as Informer<KubeObject>[]
  const required = [o.coordinators, sources.kubeadmConfig, sources.ciliumConfig, sources.kubeControllerManagers] as Informer<KubeObject>[]
  const optional = [sources.calicoIPPools, sources.ciliumPodIPPools, sources.serviceCIDRsV1, sources.serviceCIDRsV1beta1] as Informer<KubeObject>[]
  const cniConfigDir = o.cniConfigDir ?? defaultCNIConfigDir()

  /** Listed without error: served, and this server may read it. */
  const listable = (i: Informer<KubeObject>) => i.hasSynced() && i.listError() === undefined

  const calicoPools = (): CalicoIPPools => {
    const i = sources.calicoIPPools
    const err = i.listError()
    if (err === undefined && i.hasSynced()) return i.list()
    if (err === undefined) return { error: `not listed within ${optionalSyncMs / 1000} s` }
    if (isNotFound(err)) return { notServed: true }
    return { error: (err as Error).message ?? String(err) }
  }

  const serviceCIDRs = (): ServiceCIDR[] | undefined => {
    if (listable(sources.serviceCIDRsV1)) return sources.serviceCIDRsV1.list()
    if (listable(sources.serviceCIDRsV1beta1)) return sources.serviceCIDRsV1beta1.list()
    return undefined
  }

  const reconcile = async (name: string, signal: AbortSignal): Promise<void> => {
    await Promise.all(required.map((i) => i.waitForSync({ signal })))
    // sources this server may not be allowed to list, or that are not served, must not hold the status back for ever
    await Promise.allSettled(optional.map((i) => i.waitForSync({ signal, timeoutMs: optionalSyncMs, orListError: true })))
    const coordinator = o.coordinators.get(name)
    if (!coordinator) return
    if (coordinator.metadata.deletionTimestamp) return releaseFinalizer(coordinator, signal)
    // the agent reads only this one; others are left as they are, as in Spiderpool
    if (name !== defaultCoordinatorName) return
    const podCIDRType = coordinator.spec?.podCIDRType
    const status = discoverCoordinatorStatus({
      podCIDRType,
      cniConfigDirectory: podCIDRType === 'auto' ? await readCNIConfigDirectory(cniConfigDir) : undefined,
      kubeadmConfig: sources.kubeadmConfig.get(kubeadmConfigName, sourcesNamespace),
      kubeControllerManagers: sources.kubeControllerManagers.list().sort(byKey),
      calicoIPPools: calicoPools(),
      ciliumConfig: sources.ciliumConfig.get(ciliumConfigName, sourcesNamespace),
      ciliumPodIPPools: sources.ciliumPodIPPools.list(),
      serviceCIDRs: serviceCIDRs(),
      statusServiceCIDR: coordinator.status?.serviceCIDR ?? [],
    })
    if (sameStatus(coordinator.status, status)) return
    if (status.phase !== (coordinator.status as { phase?: string } | undefined)?.phase) {
      o.log.info({ coordinator: name, phase: status.phase, reason: status.reason }, 'SpiderCoordinator phase changed')
    }
    await o.store.updateStatus(resources.coordinators, { ...coordinator, status: { ...status } }, { signal })
  }

  const releaseFinalizer = async (coordinator: SpiderCoordinator, signal: AbortSignal) => {
    const finalizers = coordinator.metadata.finalizers ?? []
    if (!finalizers.includes(spiderpoolFinalizer)) return
    try {
      await o.store.update(resources.coordinators, { ...coordinator, metadata: { ...coordinator.metadata, finalizers: finalizers.filter((f) => f !== spiderpoolFinalizer) } }, { signal })
    } catch (err) {
      if (!isNotFound(err)) throw err
    }
  }

  const queue = createWorkQueue({ reconcile, onError: o.onError })
  const enqueueDefault = () => queue.add(defaultCoordinatorName)
  const enqueue = (c: SpiderCoordinator) => queue.add(c.metadata.name!)
  const unhook = [
    o.coordinators.on({ add: enqueue, update: (_old, c) => enqueue(c) }),
    // `listed`: a source that became served, or stopped being, or could not be read, changes the status too
    ...own.map((i) => i.on({ add: enqueueDefault, update: enqueueDefault, delete: enqueueDefault, listed: enqueueDefault })),
  ]
  own.forEach((i) => i.start())
  const resync = setInterval(enqueueDefault, o.resyncMs ?? 60_000)
  resync.unref()
  return {
    add: queue.add,
    idle: queue.idle,
    stop: async () => {
      clearInterval(resync)
      unhook.forEach((u) => u())
      await queue.stop()
      await Promise.all(own.map((i) => i.stop()))
    },
  }
}

const keyOf = (o: KubeObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`
const byKey = (a: KubeObject, b: KubeObject) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0)
