// get and list: selectors, `limit`/`continue` paging, the list's resourceVersion.
import { badRequest, gone, notFound } from './errors.ts'
import { apiVersionOf, type Resource } from './resources.ts'
import { parseFieldSelector, parseLabelSelector } from './selectors.ts'
import type { Store, StoredObject } from './store.ts'

export interface ObjectList {
  kind: string
  apiVersion: string
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number }
  items: StoredObject[]
}

export function getObject(store: Store, resource: Resource, namespace: string | undefined, name: string): StoredObject {
  const object = store.get(resource, namespace, name)
  if (!object) throw notFound(resource, name)
  return object
}

/** Where the next page starts: after this namespace and name, in the store's order. */
interface ContinueToken {
  rv: number
  namespace: string
  name: string
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url')
}

function decodeContinue(text: string): ContinueToken {
  try {
    const token = JSON.parse(Buffer.from(text, 'base64url').toString()) as ContinueToken
    if (typeof token.rv === 'number' && typeof token.namespace === 'string' && typeof token.name === 'string') return token
  } catch {}
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)')
}

function isAfter(object: StoredObject, token: ContinueToken): boolean {
  const namespace = object.metadata.namespace ?? ''
  return namespace > token.namespace || (namespace === token.namespace && object.metadata.name! > token.name)
}

export function listObjects(store: Store, resource: Resource, namespace: string | undefined, query: URLSearchParams): ObjectList {
  const labels = parseLabelSelector(query.get('labelSelector'))
  const fields = parseFieldSelector(query.get('fieldSelector'), resource)
  const limit = Number(query.get('limit') ?? 0)
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`limit must be a non-negative integer`)
  const continueText = query.get('continue')
  const token = continueText ? decodeContinue(continueText) : undefined
  const requested = query.get('resourceVersion')
  if (query.get('resourceVersionMatch') === 'Exact' && requested && Number(requested) !== store.resourceVersion) {
    throw gone(`too old resource version: ${requested} (${store.resourceVersion})`)
  }
  const listVersion = token?.rv ?? store.resourceVersion
  let items = store.list(resource, namespace).filter((o) => labels(o) && fields(o))
  if (token) items = items.filter((o) => isAfter(o, token))
  const metadata: ObjectList['metadata'] = { resourceVersion: String(listVersion) }
  if (limit > 0 && items.length > limit) {
    const last = items[limit - 1]
    metadata.continue = encodeContinue({ rv: listVersion, namespace: last.metadata.namespace ?? '', name: last.metadata.name! })
    metadata.remainingItemCount = items.length - limit
    items = items.slice(0, limit)
  }
  return { kind: `${resource.kind}List`, apiVersion: apiVersionOf(resource), metadata, items }
}
