// `spiderpool-ts clean`: what the chart's pre-delete Job runs, as Spiderpool's `spiderpool-controller
// clean` does. Pools, subnets, the coordinator and endpoints carry our finalizer, which only our
// running controller takes off; once `helm uninstall` has removed it, deleting them (or their CRDs)
// would wait for ever. So the webhook configurations go first (the mutating webhook puts the
// finalizer back on every update, and a webhook without its server refuses the deletions), then
// the finalizer leaves every object; other finalizers stay. It runs again without harm.
import { isNotFound } from '../kube/errors.ts'
import { resources, type Resource } from '../kube/resources.ts'
import { retryOnConflict } from '../kube/retry.ts'
import type { Store } from '../kube/store.ts'
import type { KubeObject } from '../schemas/meta.ts'
import { spiderpoolFinalizer } from '../webhooks/common/keys.ts'
import { StepFailed, untilAnswered } from './until-answered.ts'

export interface CleanOptions {
  mutatingWebhookConfiguration: string
  validatingWebhookConfiguration: string
  timeoutMs: number
  log?: (line: string) => void
}

export interface CleanOutcome {
  object: string
  outcome: 'deleted' | 'finalizer removed'
}

/** The finalizer is still there after our write: a webhook configuration the API server has not dropped yet put it back. */
class FinalizerPutBack extends Error {}

/**
 * Deletes the webhook configurations, then removes our finalizer from every object of the kinds we
 * finalize. Resolves with what it changed (empty: nothing to do); throws StepFailed on a refusal or
 * when timeoutMs has passed, after trying every kind.
 */
export async function cleanUp(store: Store, o: CleanOptions): Promise<CleanOutcome[]> {
  const log = o.log ?? (() => {})
  const deadline = Date.now() + o.timeoutMs
  const outcomes: CleanOutcome[] = []

  // said as it happens: a step that fails half-way has still changed what it changed
  const note = (done: CleanOutcome) => {
    log(`${done.object}: ${done.outcome}`)
    outcomes.push(done)
  }

  // a step done again skips what is done; a finalizer put back is waited out like "not ready"
  const retry = { deadline, timeoutMs: o.timeoutMs, unfinished: 'did not finish', log, waitReason: (err: unknown) => (err instanceof FinalizerPutBack ? err.message : undefined) }

  // a failure here stops everything: with the mutating webhook still called, the finalizer would come back
  await untilAnswered(`MutatingWebhookConfiguration "${o.mutatingWebhookConfiguration}"`, (ms) => deleteIfPresent(store, resources.mutatingWebhookConfigurations, o.mutatingWebhookConfiguration, ms, note), retry)
  await untilAnswered(`ValidatingWebhookConfiguration "${o.validatingWebhookConfiguration}"`, (ms) => deleteIfPresent(store, resources.validatingWebhookConfigurations, o.validatingWebhookConfiguration, ms, note), retry)

  // every kind that gets the finalizer: the webhooks' defaulting (pools, subnets, coordinators), the CNI (endpoints)
  const kinds = [
    { label: 'SpiderCoordinators', release: (ms: number) => releaseAll(store, resources.coordinators, ms, note) },
    { label: 'SpiderIPPools', release: (ms: number) => releaseAll(store, resources.ippools, ms, note) },
    { label: 'SpiderSubnets', release: (ms: number) => releaseAll(store, resources.subnets, ms, note) },
    { label: 'SpiderEndpoints', release: (ms: number) => releaseAll(store, resources.endpoints, ms, note) },
  ]
  // one kind refused (RBAC, say) does not keep the others' objects finalized
  const failures: string[] = []
  for (const { label, release } of kinds) {
    try {
      await untilAnswered(label, release, retry)
    } catch (err) {
      if (!(err instanceof StepFailed)) throw err
      failures.push(err.message)
    }
  }
  if (failures.length > 0) throw new StepFailed(failures.join('; '))
  return outcomes
}

async function deleteIfPresent<T extends KubeObject>(store: Store, resource: Resource<T>, name: string, timeoutMs: number, note: (done: CleanOutcome) => void): Promise<void> {
  try {
    await store.delete(resource, name, { timeoutMs })
  } catch (err) {
    if (isNotFound(err)) return
    throw err
  }
  note({ object: `${resource.kind} "${name}"`, outcome: 'deleted' })
}

/** Our finalizer off every object of one resource; a resource the API does not serve (its CRD gone) has none. */
async function releaseAll<T extends KubeObject>(store: Store, resource: Resource<T>, timeoutMs: number, note: (done: CleanOutcome) => void): Promise<void> {
  let items: T[]
  try {
    items = (await store.listAll(resource, { timeoutMs })).items
  } catch (err) {
    if (isNotFound(err)) return
    throw err
  }
  for (const listed of items) {
    if (!listed.metadata?.finalizers?.includes(spiderpoolFinalizer)) continue
    if (await release(store, resource, listed, timeoutMs)) {
      const { namespace, name } = listed.metadata
      note({ object: `${resource.kind} "${namespace ? `${namespace}/` : ''}${name}"`, outcome: 'finalizer removed' })
    }
  }
}

/** Conditional on the version read, re-read after a conflict; false when the object or the finalizer is gone already. */
async function release<T extends KubeObject>(store: Store, resource: Resource<T>, listed: T, timeoutMs: number): Promise<boolean> {
  const { name, namespace } = listed.metadata!
  const { value } = await retryOnConflict(async (attempt) => {
    let current = listed
    if (attempt > 1) {
      try {
        current = await store.get(resource, name!, { namespace, timeoutMs })
      } catch (err) {
        if (isNotFound(err)) return false
        throw err
      }
    }
    const finalizers = current.metadata?.finalizers ?? []
    if (!finalizers.includes(spiderpoolFinalizer)) return false
    let written: T
    try {
      written = await store.update(resource, { ...current, metadata: { ...current.metadata, finalizers: finalizers.filter((f) => f !== spiderpoolFinalizer) } }, { timeoutMs })
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
    // the API server may still call a mutating webhook just deleted for a moment: wait for it to drop it
    if (written.metadata?.finalizers?.includes(spiderpoolFinalizer)) {
      throw new FinalizerPutBack(`${resource.kind} "${name}": the finalizer came back (a webhook configuration still in effect)`)
    }
    return true
  })
  return value
}
