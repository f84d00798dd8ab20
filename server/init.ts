// `spiderpool-ts init`: creates the objects the chart installs once (the `default` SpiderCoordinator,
// the clusterNetwork SpiderMultusConfig), as Spiderpool's spiderpool-init does. It runs while the
// webhook may not serve yet, so it waits out "not ready" answers and stops at once on a refusal.
import { isAlreadyExists, isNotFound, type ApiError } from '../kube/errors.ts'
import { resources, type Resource } from '../kube/resources.ts'
import type { Store } from '../kube/store.ts'
import type { KubeObject } from '../schemas/meta.ts'
import type { SpiderCoordinator, SpiderMultusConfig } from '../schemas/types.ts'
import { untilAnswered } from './until-answered.ts'

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
 * Resolves when all exist; throws StepFailed on a refusal or when timeoutMs has passed.
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
    const outcome = await untilAnswered(label, ensure, { deadline, timeoutMs: o.timeoutMs, unfinished: 'could not be created', log })
    outcomes.push({ object: label, outcome })
    log(`${label}: ${outcome === 'created' ? 'created' : 'exists, left as it is'}`)
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
