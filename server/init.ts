// `spiderpool-ts init`: creates the objects the chart installs once (the `default` SpiderCoordinator,
// the clusterNetwork SpiderMultusConfig), as Spiderpool's spiderpool-init does. It runs while the
// webhook may not serve yet, so it waits out "not ready" answers and stops at once on a refusal.
import { ApiError, isAlreadyExists, isNotFound } from '../kube/errors.ts'
import { resources, type Resource } from '../kube/resources.ts'
import type { Store } from '../kube/store.ts'
import type { KubeObject } from '../schemas/meta.ts'
import type { SpiderCoordinator, SpiderMultusConfig } from '../schemas/types.ts'

/** The spec of the `default` SpiderCoordinator; the values.yaml defaults of the chart. */
export interface CoordinatorValues {
  mode: string
  podCIDRType: string
  tunePodRoutes: boolean
  hijackCIDR: string[]
}

export const defaultCoordinatorValues: CoordinatorValues = { mode: 'auto', podCIDRType: 'auto', tunePodRoutes: true, hijackCIDR: ['169.254.0.0/16'] }

export interface InitOptions {
  /** undefined: no coordinator */
  coordinator?: CoordinatorValues
  /** a `custom` SpiderMultusConfig: Multus' clusterNetwork */
  multusConfig?: { name: string; namespace: string }
  timeoutMs: number
  log?: (line: string) => void
}

export interface InitOutcome {
  object: string
  outcome: 'created' | 'kept'
}

/** A refusal, or the deadline passed: the message says which object and why. */
class InitError extends Error {}

const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED'])

/** Why an answer means "try again later" (the API or its webhook is still starting), or undefined for a real refusal. */
export function notReadyReason(err: unknown): string | undefined {
  if (err instanceof ApiError) {
    // 404: a CRD not established yet, or the release namespace not there yet
    const later = err.code >= 500 || err.code === 429 || isNotFound(err) || (err.code === 409 && !isAlreadyExists(err))
    return later ? `${err.code} ${err.reason}: ${err.status.message ?? ''}` : undefined
  }
  const e = err as { code?: string; name?: string; message?: string }
  if ((e.code && networkCodes.has(e.code)) || e.name === 'TimeoutError') return e.message ?? String(err)
  return undefined
}

// waits after "not ready" answers: doubled each time, up to the cap
const firstWaitMs = 500
const maxWaitMs = 10_000
const lastTryMs = 1_000

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

function coordinatorOf(values: CoordinatorValues): SpiderCoordinator {
  return {
    metadata: { name: 'default' },
    // the API judges the values (CRD schema and webhook), so an unknown mode is refused with its own message
    spec: { mode: values.mode, podCIDRType: values.podCIDRType, tunePodRoutes: values.tunePodRoutes, hijackCIDR: values.hijackCIDR } as SpiderCoordinator['spec'],
  }
}

function multusConfigOf(name: string, namespace: string): SpiderMultusConfig {
  return { metadata: { name, namespace }, spec: { cniType: 'custom' } }
}

/**
 * Creates each object that is absent; one that exists is the user's and is left as it is.
 * Resolves when all exist; throws InitError on a refusal or when timeoutMs has passed.
 */
export async function createDefaultObjects(store: Store, o: InitOptions): Promise<InitOutcome[]> {
  const log = o.log ?? (() => {})
  const deadline = Date.now() + o.timeoutMs
  const wanted: { label: string; ensure: (timeoutMs: number) => Promise<InitOutcome['outcome']> }[] = []
  if (o.coordinator) {
    const coordinator = coordinatorOf(o.coordinator)
    wanted.push({ label: 'SpiderCoordinator "default"', ensure: (ms) => createUnlessPresent(store, resources.coordinators, coordinator, ms) })
  }
  if (o.multusConfig) {
    const { name, namespace } = o.multusConfig
    const multusConfig = multusConfigOf(name, namespace)
    wanted.push({ label: `SpiderMultusConfig "${namespace}/${name}"`, ensure: (ms) => createUnlessPresent(store, resources.multusConfigs, multusConfig, ms) })
  }

  const outcomes: InitOutcome[] = []
  for (const { label, ensure } of wanted) {
    let wait = firstWaitMs
    for (let attempt = 1; ; attempt++) {
      const callTimeoutMs = Math.max(lastTryMs, Math.min(30_000, deadline - Date.now()))
      try {
        outcomes.push({ object: label, outcome: await ensure(callTimeoutMs) })
        log(`${label}: ${outcomes.at(-1)!.outcome === 'created' ? 'created' : 'exists, left as it is'}`)
        break
      } catch (err) {
        const reason = notReadyReason(err)
        if (reason === undefined) throw new InitError(`${label} was refused: ${refusalText(err)}`, { cause: err })
        const left = deadline - Date.now()
        // give up only at the deadline; the last try still gets lastTryMs to answer (callTimeoutMs), so it
        // is not cut short and reports the API's answer rather than its own timeout
        if (left <= 0) throw new InitError(`${label} could not be created within ${Math.round(o.timeoutMs / 1000)} s (${attempt} attempts); last answer: ${reason}`, { cause: err })
        const retryAfterMs = err instanceof ApiError && err.details?.retryAfterSeconds ? err.details.retryAfterSeconds * 1000 : 0
        const pause = Math.min(left, Math.max(wait, retryAfterMs))
        log(`${label}: not ready (${reason}); trying again in ${(pause / 1000).toFixed(1)} s`)
        await sleep(pause)
        wait = Math.min(wait * 2, maxWaitMs)
      }
    }
  }
  return outcomes
}

// A get first: an object that exists needs no webhook, and its create would wait on one.
async function createUnlessPresent<T extends KubeObject>(store: Store, resource: Resource<T>, object: T, timeoutMs: number): Promise<'created' | 'kept'> {
  const { name, namespace } = object.metadata!
  try {
    await store.get(resource, name!, { namespace, timeoutMs })
    return 'kept'
  } catch (err) {
    if (!isNotFound(err) || !(err as ApiError).details?.name) throw err
  }
  try {
    await store.create(resource, object, { timeoutMs })
    return 'created'
  } catch (err) {
    if (isAlreadyExists(err)) return 'kept'
    throw err
  }
}

function refusalText(err: unknown): string {
  return err instanceof ApiError ? `${err.code} ${err.reason}: ${err.status.message ?? ''}` : ((err as Error).message ?? String(err))
}
