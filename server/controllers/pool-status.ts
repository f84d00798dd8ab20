// Keeps every SpiderIPPool's counters exact and lets a deleted pool go once nothing is allocated
// from it (Spiderpool's IPPool controller): without it `kubectl delete sp` would wait forever.
import type { SpiderIPPool, SpiderSubnet } from '../../schemas/types.ts'
import type { Store } from '../../kube/store.ts'
import { resources } from '../../kube/resources.ts'
import { isNotFound } from '../../kube/errors.ts'
import type { Informer } from '../../kube/informer.ts'
import { poolCounts, countRecords } from '../../ipam/counts.ts'
import { spiderpoolFinalizer } from '../../webhooks/common/keys.ts'

type Pool = SpiderIPPool | SpiderSubnet

const recordsOf = (pool: Pool) => (pool.status as { allocatedIPs?: string } | undefined)?.allocatedIPs
const controlledPoolsOf = (pool: Pool) => (pool.status as { controlledIPPools?: string } | undefined)?.controlledIPPools

/** The reconcile of one pool or subnet; a conflict or outage throws and the queue retries it. */
export function reconcilePool(store: Store, informer: Informer<SpiderIPPool> | Informer<SpiderSubnet>) {
  const resource = informer.resource.kind === 'SpiderIPPool' ? resources.ippools : resources.subnets
  return async (name: string): Promise<void> => {
    const pool = informer.get(name) as Pool | undefined
    if (!pool) return
    // a subnet's "allocated" are the addresses its controlled pools took
    const holding = resource === resources.ippools ? recordsOf(pool) : controlledPoolsOf(pool)
    if (pool.metadata.deletionTimestamp) {
      if (countRecords(holding) === 0 && pool.metadata.finalizers?.includes(spiderpoolFinalizer)) {
        const finalizers = pool.metadata.finalizers.filter((f) => f !== spiderpoolFinalizer)
        try {
          await store.update(resource, { ...pool, metadata: { ...pool.metadata, finalizers } } as Pool)
        } catch (err) {
          if (!isNotFound(err)) throw err
        }
      }
      return
    }
    const counts = poolCounts(pool.spec, holding)
    if (!counts) return
    const status = (pool.status ?? {}) as Record<string, unknown>
    if (status.totalIPCount === counts.totalIPCount && status.allocatedIPCount === counts.allocatedIPCount) return
    await store.updateStatus(resource, { ...pool, status: { ...status, ...counts } } as Pool)
  }
}
