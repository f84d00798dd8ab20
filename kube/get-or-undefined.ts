// A GET whose "not found" is an answer, not a failure: the plugins and the webhook server read
// objects that may rightly be gone. Outside kube/store.ts, so that the RBAC scan
// (scripts/chart/api-calls.ts) sees its Store call and traces it to each caller's resource.
import type { KubeObject } from '../schemas/meta.ts'
import { isNotFound } from './errors.ts'
import type { Resource } from './resources.ts'
import type { Store } from './store.ts'

/** The object, or undefined when the API says it does not exist; any other failure is thrown. */
export async function getOrUndefined<T extends KubeObject>(store: Store, r: Resource<T>, name: string, namespace?: string): Promise<T | undefined> {
  try {
    return await store.get(r, name, namespace ? { namespace } : {})
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw err
  }
}
