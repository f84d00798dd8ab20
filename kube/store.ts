// Typed CRUD, list and watch over the transport, in the vocabulary of the Kubernetes REST API:
// every write is conditional on what the caller read (resourceVersion), every write can be a dry run.
import type { KubeObject } from '../schemas/meta.ts'
import { ApiError, isGone, isStatus } from './errors.ts'
import type { Status } from './errors.ts'
import { apiVersionOf, resourcePath } from './resources.ts'
import type { Resource } from './resources.ts'
import type { Query, Transport } from './transport.ts'

export interface CallOptions {
  signal?: AbortSignal
  timeoutMs?: number
}

export interface GetOptions extends CallOptions {
  namespace?: string
}

export interface ListOptions extends CallOptions {
  /** Omit to list a namespaced resource across all namespaces. */
  namespace?: string
  labelSelector?: string
  fieldSelector?: string
  /** Page size; the answer then carries `continue` when more remain. */
  limit?: number
  continue?: string
  resourceVersion?: string
  resourceVersionMatch?: 'Exact' | 'NotOlderThan'
  /** Items as PartialObjectMetadata: apiVersion, kind and metadata only. */
  metadataOnly?: boolean
}

export interface ListAllOptions extends Omit<ListOptions, 'limit' | 'continue'> {
  pageSize?: number
}

export interface ListResult<T> {
  items: T[]
  /** The resourceVersion of the list: where a watch continues from. */
  resourceVersion: string
  continue?: string
  remainingItemCount?: number
}

export interface WatchOptions {
  namespace?: string
  labelSelector?: string
  fieldSelector?: string
  /** Start after this version; omit for "now" (the server's choice). */
  resourceVersion?: string
  allowWatchBookmarks?: boolean
  /** The server ends the watch after this long (a normal end: resume from the last version seen). */
  timeoutSeconds?: number
  signal?: AbortSignal
  /** Fail the watch when the connection stays silent this long. */
  idleTimeoutMs?: number
  /** Objects as PartialObjectMetadata: apiVersion, kind and metadata only. */
  metadataOnly?: boolean
}

/** Only metadata.resourceVersion is meaningful in a bookmark. */
export type Bookmark = KubeObject & { metadata: { resourceVersion: string } }

export type WatchEvent<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T } | { type: 'BOOKMARK'; object: Bookmark }

export interface WriteOptions extends CallOptions {
  namespace?: string
  /** Validate and admit, but persist nothing (`dryRun=All`). */
  dryRun?: boolean
  fieldManager?: string
}

export type PatchType = 'merge' | 'json' | 'strategic'

export interface PatchOptions extends WriteOptions {
  type: PatchType
  /** Patch the status subresource instead of the object. */
  status?: boolean
}

export interface DeleteOptions extends WriteOptions {
  preconditions?: { uid?: string; resourceVersion?: string }
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'
  gracePeriodSeconds?: number
}

const patchContentType: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
}

export interface Store {
  readonly transport: Transport
  get<T extends KubeObject>(r: Resource<T>, name: string, o?: GetOptions): Promise<T>
  /** One page when `limit` is given, else everything in one answer. */
  list<T extends KubeObject>(r: Resource<T>, o?: ListOptions): Promise<ListResult<T>>
  /** Every item, fetched page by page from one consistent snapshot. */
  listAll<T extends KubeObject>(r: Resource<T>, o?: ListAllOptions): Promise<ListResult<T>>
  /** Events until the server ends the watch; an ERROR event is thrown as ApiError (410 Gone: relist). */
  watch<T extends KubeObject>(r: Resource<T>, o?: WatchOptions): AsyncGenerator<WatchEvent<T>, void, undefined>
  create<T extends KubeObject>(r: Resource<T>, obj: T, o?: WriteOptions): Promise<T>
  /** PUT, conditional on the object's metadata.resourceVersion (required). */
  update<T extends KubeObject>(r: Resource<T>, obj: T, o?: WriteOptions): Promise<T>
  /** PUT to the status subresource, conditional on metadata.resourceVersion (required). */
  updateStatus<T extends KubeObject>(r: Resource<T>, obj: T, o?: WriteOptions): Promise<T>
  patch<T extends KubeObject>(r: Resource<T>, name: string, patch: unknown, o: PatchOptions): Promise<T>
  /** The object as the server last had it (with a deletionTimestamp while finalizers hold it), or undefined when it answers with a Status. */
  delete<T extends KubeObject>(r: Resource<T>, name: string, o?: DeleteOptions): Promise<T | undefined>
}

interface ListBody<T> {
  metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number }
  items?: T[]
}

// JSON is the fallback: a server that cannot answer with metadata alone sends whole objects.
const metadataListAccept = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json'
const metadataAccept = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json'

const writeQuery = (o: WriteOptions): Query => ({ dryRun: o.dryRun ? 'All' : undefined, fieldManager: o.fieldManager })

export function createStore(transport: Transport): Store {
  const typed = <T extends KubeObject>(r: Resource<T>, obj: T): T =>
    obj.apiVersion && obj.kind ? obj : { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(r), kind: obj.kind ?? r.kind }

  const namespaceOf = (r: Resource<any>, obj: KubeObject, o: { namespace?: string }) => {
    if (!r.namespaced) return undefined
    const namespace = o.namespace ?? obj.metadata?.namespace
    if (!namespace) throw new TypeError(`${r.kind} is namespaced: give metadata.namespace or the namespace option`)
    return namespace
  }

  const nameOf = (r: Resource<any>, obj: KubeObject, verb: string) => {
    const name = obj.metadata?.name
    if (!name) throw new TypeError(`${verb} ${r.kind}: metadata.name is missing`)
    return name
  }

  async function put<T extends KubeObject>(r: Resource<T>, obj: T, o: WriteOptions, subresource?: string): Promise<T> {
    const name = nameOf(r, obj, subresource ? `update ${subresource} of` : 'update')
    if (!obj.metadata?.resourceVersion) throw new TypeError(`update ${r.kind} "${name}": metadata.resourceVersion is missing (read the object first; updates are conditional)`)
    const path = resourcePath(r, { namespace: namespaceOf(r, obj, o), name, subresource })
    return transport.request<T>({ method: 'PUT', path, query: writeQuery(o), body: typed(r, obj), signal: o.signal, timeoutMs: o.timeoutMs })
  }

  async function list<T extends KubeObject>(r: Resource<T>, o: ListOptions = {}): Promise<ListResult<T>> {
    const body = await transport.request<ListBody<T>>({
      path: resourcePath(r, { namespace: o.namespace }),
      query: {
        labelSelector: o.labelSelector,
        fieldSelector: o.fieldSelector,
        limit: o.limit,
        continue: o.continue,
        resourceVersion: o.resourceVersion,
        resourceVersionMatch: o.resourceVersionMatch,
      },
      accept: o.metadataOnly ? metadataListAccept : undefined,
      signal: o.signal,
      timeoutMs: o.timeoutMs,
    })
    return {
      // Items of a list come without apiVersion and kind; put them back so an item can be written as is.
      items: (body.items ?? []).map((item) => typed(r, item)),
      resourceVersion: body.metadata?.resourceVersion ?? '',
      continue: body.metadata?.continue || undefined,
      remainingItemCount: body.metadata?.remainingItemCount,
    }
  }

  async function listAll<T extends KubeObject>(r: Resource<T>, o: ListAllOptions = {}): Promise<ListResult<T>> {
    const { pageSize = 500, ...rest } = o
    const items: T[] = []
    let page = await list(r, { ...rest, limit: pageSize })
    const resourceVersion = page.resourceVersion
    items.push(...page.items)
    while (page.continue) {
      try {
        page = await list(r, { ...rest, limit: pageSize, continue: page.continue, resourceVersion: undefined, resourceVersionMatch: undefined })
      } catch (err) {
        // The snapshot behind the continue token was compacted away: take one unpaged list instead.
        if (isGone(err)) return list(r, rest)
        throw err
      }
      items.push(...page.items)
    }
    return { items, resourceVersion }
  }

  async function* watch<T extends KubeObject>(r: Resource<T>, o: WatchOptions = {}): AsyncGenerator<WatchEvent<T>, void, undefined> {
    const path = resourcePath(r, { namespace: o.namespace })
    const events = transport.stream({
      path,
      query: {
        watch: 1,
        resourceVersion: o.resourceVersion,
        allowWatchBookmarks: o.allowWatchBookmarks,
        timeoutSeconds: o.timeoutSeconds,
        labelSelector: o.labelSelector,
        fieldSelector: o.fieldSelector,
      },
      accept: o.metadataOnly ? metadataAccept : undefined,
      signal: o.signal,
      idleTimeoutMs: o.idleTimeoutMs,
    })
    for await (const raw of events) {
      const event = raw as { type?: string; object?: unknown }
      if (event.type === 'ERROR') {
        const status: Status = isStatus(event.object)
          ? event.object
          : { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 500, reason: 'InternalError', message: JSON.stringify(event.object) }
        throw new ApiError(status, `WATCH ${path}`, true)
      }
      if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') {
        yield { type: event.type, object: typed(r, event.object as T) }
      } else if (event.type === 'BOOKMARK') {
        yield { type: 'BOOKMARK', object: event.object as Bookmark }
      } else {
        throw new Error(`WATCH ${path}: unknown event type ${JSON.stringify(event.type)}`)
      }
    }
  }

  return {
    transport,
    get: async (r, name, o = {}) =>
      transport.request({ path: resourcePath(r, { namespace: o.namespace, name }), signal: o.signal, timeoutMs: o.timeoutMs }),
    list,
    listAll,
    watch,
    create: async (r, obj, o = {}) =>
      transport.request({
        method: 'POST',
        path: resourcePath(r, { namespace: namespaceOf(r, obj, o) }),
        query: writeQuery(o),
        body: typed(r, obj),
        signal: o.signal,
        timeoutMs: o.timeoutMs,
      }),
    update: (r, obj, o = {}) => put(r, obj, o),
    updateStatus: async (r, obj, o = {}) => {
      if (!r.hasStatus) throw new TypeError(`${r.kind} has no status subresource; update the object instead`)
      return put(r, obj, o, 'status')
    },
    patch: async (r, name, patch, o) => {
      if (o.status && !r.hasStatus) throw new TypeError(`${r.kind} has no status subresource; patch the object instead`)
      return transport.request({
        method: 'PATCH',
        path: resourcePath(r, { namespace: o.namespace, name, subresource: o.status ? 'status' : undefined }),
        query: writeQuery(o),
        body: patch,
        contentType: patchContentType[o.type],
        signal: o.signal,
        timeoutMs: o.timeoutMs,
      })
    },
    delete: async (r, name, o = {}) => {
      const answer = await transport.request<unknown>({
        method: 'DELETE',
        path: resourcePath(r, { namespace: o.namespace, name }),
        query: writeQuery(o),
        body: {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          preconditions: o.preconditions,
          propagationPolicy: o.propagationPolicy,
          gracePeriodSeconds: o.gracePeriodSeconds,
          dryRun: o.dryRun ? ['All'] : undefined,
        },
        signal: o.signal,
        timeoutMs: o.timeoutMs,
      })
      return isStatus(answer) ? undefined : (answer as any)
    },
  }
}
