// SpiderCoordinator defaulting, COORD-M-01..M-06 in Spiderpool's order.
import { normaliseCoordinatorSpec } from '../coordinatorspec/normalise.ts'
import type { SpiderCoordinator } from '../../schemas/types.ts'

export const spiderpoolFinalizer = 'spiderpool.spidernet.io'

export function defaultSpiderCoordinator(coord: SpiderCoordinator): void {
  const spec = (coord.spec ??= {})
  // COORD-M-01 (also when terminating)
  spec.mode ??= 'auto'
  spec.tunePodRoutes ??= true
  spec.hostRuleTable ??= 500
  spec.podRPFilter ??= 0
  spec.txQueueLen ??= 0
  spec.vethLinkAddress ??= ''
  spec.vethMTU ??= 1500

  // COORD-M-02
  if (coord.metadata?.deletionTimestamp) return
  // COORD-M-03: validation refuses it (COORD-V-01)
  if (spec.podCIDRType === undefined || spec.podCIDRType === null) return
  // COORD-M-04, COORD-M-05: on failure stop here; validation names the entry (COORD-V-03/V-04)
  if (!normaliseCoordinatorSpec(spec)) return

  // COORD-M-06
  const meta = (coord.metadata ??= {})
  const finalizers = (meta.finalizers ??= [])
  if (!finalizers.includes(spiderpoolFinalizer)) finalizers.push(spiderpoolFinalizer)
}
