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
  /** Lease timings; each not given comes from the environment (leaderTimingFromEnv), else client-go's 15 s / 10 s / 2 s. */
  leaseDurationSeconds?: number
  renewDeadlineMs?: number
  retryPeriodMs?: number
  /** The lease holder's name before its random suffix; default SPIDERPOOL_POD_NAME, else the host name. */
  identityPrefix?: string
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

export interface LeaderTiming {
  leaseDurationSeconds?: number
  renewDeadlineMs?: number
  retryPeriodMs?: number
}

const timingVariables = [
  ['SPIDERPOOL_LEADER_DURATION', 'leaseDurationSeconds', 1],
  ['SPIDERPOOL_LEADER_RENEW_DEADLINE', 'renewDeadlineMs', 1000],
  ['SPIDERPOOL_LEADER_RETRY_PERIOD', 'retryPeriodMs', 1000],
] as const

/**
 * Spiderpool's leader election variables, in seconds: SPIDERPOOL_LEADER_DURATION (a whole number, as the
 * Lease stores it), SPIDERPOOL_LEADER_RENEW_DEADLINE and SPIDERPOOL_LEADER_RETRY_PERIOD (fractions allowed).
 * Unset or empty variables are left out; anything else that is not a positive number throws.
 */
export function leaderTimingFromEnv(env: NodeJS.ProcessEnv = process.env): LeaderTiming {
  const timing: LeaderTiming = {}
  for (const [variable, key, scale] of timingVariables) {
    const text = env[variable]?.trim()
    if (!text) continue
    const seconds = Number(text)
    if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError(`${variable}=${text}: expected a positive number of seconds`)
    if (key === 'leaseDurationSeconds' && !Number.isInteger(seconds)) throw new RangeError(`${variable}=${text}: expected a whole number of seconds`)
    timing[key] = Math.round(seconds * scale)
  }
  return timing
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
  const fromEnv = leaderTimingFromEnv()
  const elector = createLeaderElector(o.store, {
    namespace: o.namespace,
    name: o.leaseName ?? 'spiderpool-controller',
    identity: `${o.identityPrefix ?? (process.env.SPIDERPOOL_POD_NAME || hostname())}_${randomBytes(4).toString('hex')}`,
    leaseDurationSeconds: o.leaseDurationSeconds ?? fromEnv.leaseDurationSeconds ?? 15,
    renewDeadlineMs: o.renewDeadlineMs ?? fromEnv.renewDeadlineMs,
    retryPeriodMs: o.retryPeriodMs ?? fromEnv.retryPeriodMs,
    releaseOnStop: true,
    onStartedLeading: (signal) => {
      o.log.info({ identity: elector.identity }, 'leading: controllers started')
      const onError = (key: string, err: unknown) => o.log.warn({ err, key }, 'reconcile failed; retrying')
      const pools = createWorkQueue({ reconcile: reconcilePool(o.store, o.cluster.informers.ippools), onError })
      const subnets = createWorkQueue({ reconcile: reconcilePool(o.store, o.cluster.informers.subnets), onError })
      queues = [pools, subnets]
      queues.push(startMultusConfigController({ store: o.store, informers: o.cluster.informers, log: o.log, onError }))
      queues.push(startCoordinatorController({ store: o.store, coordinators: o.cluster.informers.coordinators, log: o.log, onError }))
      if (o.writer && o.settings) queues.push(startReservationCollector({ store: o.store, cluster: o.cluster, writer: o.writer, settings: o.settings, log: o.log }))
      unwatch = [watchInto(o.cluster.informers.ippools, pools), watchInto(o.cluster.informers.subnets, subnets)]
      // the elector releases the lease only after this settles: no write of ours may land after a successor starts
      return new Promise<void>((resolve) => {
        signal.addEventListener(
          'abort',
          () =>
            void halt()
              .catch((err: unknown) => o.log.warn({ err }, 'stopping the controllers failed'))
              .then(() => {
                o.log.info({ identity: elector.identity }, 'no longer leading: controllers stopped')
                resolve()
              }),
          { once: true },
        )
      })
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
