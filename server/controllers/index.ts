// The controllers, run by the leader only: one Lease decides which replica reconciles, so two
// replicas never do the same work twice.
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { FastifyBaseLogger } from 'fastify'
import type { Store } from '../../kube/store.ts'
import type { InformedCluster } from '../../kube/snapshot.ts'
import { createLeaderElector, type LeaderElector } from '../../kube/leader.ts'
import type { KubeObject } from '../../schemas/meta.ts'
import type { Informer } from '../../kube/informer.ts'
import { createWorkQueue, type WorkQueue } from './workqueue.ts'
import { reconcilePool } from './pool-status.ts'
import { startMultusConfigController } from './multusconfig.ts'
import { startCoordinatorController } from './coordinator.ts'
import { startReservationCollector } from './reservations.ts'
import type { PoolWriter } from '../../kube/pool-writer.ts'
import type { Settings } from '../../webhooks/settings.ts'

export interface ControllerOptions {
  store: Store
  cluster: InformedCluster
  log: FastifyBaseLogger
  namespace: string
  leaseName?: string
  leaseDurationSeconds?: number
  /** with both, the leader also releases pool records nothing else will (reservations.ts) */
  writer?: PoolWriter
  settings?: Settings
}

export interface Controllers {
  elector: LeaderElector
  /** Resolves when every queue is empty (tests). */
  idle(): Promise<void>
  stop(): Promise<void>
}

/** Feeds an informer's keys into a queue (cluster-scoped kinds: the key is the name). */
function watchInto<T extends KubeObject>(informer: Informer<T>, queue: WorkQueue): () => void {
  const enqueue = (o: T) => queue.add(o.metadata!.name!)
  return informer.on({ add: enqueue, update: (_old, o) => enqueue(o) })
}

export function startControllers(o: ControllerOptions): Controllers {
  let queues: Pick<WorkQueue, 'stop' | 'idle'>[] = []
  let unwatch: (() => void)[] = []
  const halt = async () => {
    unwatch.forEach((u) => u())
    await Promise.all(queues.map((q) => q.stop()))
    queues = []
    unwatch = []
  }
  const elector = createLeaderElector(o.store, {
    namespace: o.namespace,
    name: o.leaseName ?? 'spiderpool-controller',
    identity: `${hostname()}_${randomBytes(4).toString('hex')}`,
    leaseDurationSeconds: o.leaseDurationSeconds ?? 15,
    releaseOnStop: true,
    onStartedLeading: () => {
      o.log.info('leading: controllers started')
      const onError = (key: string, err: unknown) => o.log.warn({ err, key }, 'reconcile failed; retrying')
      const pools = createWorkQueue({ reconcile: reconcilePool(o.store, o.cluster.informers.ippools), onError })
      const subnets = createWorkQueue({ reconcile: reconcilePool(o.store, o.cluster.informers.subnets), onError })
      queues = [pools, subnets]
      queues.push(startMultusConfigController({ store: o.store, informers: o.cluster.informers, log: o.log, onError }))
      queues.push(startCoordinatorController({ store: o.store, coordinators: o.cluster.informers.coordinators, log: o.log, onError }))
      if (o.writer && o.settings) queues.push(startReservationCollector({ store: o.store, cluster: o.cluster, writer: o.writer, settings: o.settings, log: o.log }))
      unwatch = [watchInto(o.cluster.informers.ippools, pools), watchInto(o.cluster.informers.subnets, subnets)]
    },
    onStoppedLeading: () => {
      o.log.info('no longer leading: controllers stopped')
      void halt()
    },
    onError: (err) => o.log.warn({ err }, 'leader election'),
  })
  elector.start()
  return {
    elector,
    idle: async () => {
      await Promise.all(queues.map((q) => q.idle()))
    },
    stop: async () => {
      await elector.stop()
      await halt()
    },
  }
}
