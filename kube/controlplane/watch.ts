// Watches: a chunked stream of `{type, object}` lines. Starting state as ADDED events (no or "0"
// resourceVersion, or sendInitialEvents), resuming after a resourceVersion from the store's history
// (410 Gone in an ERROR event once that history is compacted), bookmarks, timeoutSeconds.
import type { ServerResponse } from 'node:http'
import { badRequest, gone } from './errors.ts'
import { apiVersionOf, resourceKey, type Resource } from './resources.ts'
import { kindRemovedBy } from './served.ts'
import { parseFieldSelector, parseLabelSelector, type Predicate } from './selectors.ts'
import type { Change, Store, StoredObject } from './store.ts'
import { rowObject, toTable, type IncludeObject } from './table.ts'

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'

/** How each event's object is rendered: the object, a one-row Table, or its PartialObjectMetadata. */
export type WatchFormat = { as: 'object' } | { as: 'table'; include: IncludeObject } | { as: 'metadata' }

export interface WatchRequest {
  resource: Resource
  namespace?: string
  query: URLSearchParams
  format: WatchFormat
}

// Bookmarks this often tell idle watchers how far the resourceVersion has moved.
const defaultBookmarkIntervalMs = 5_000
// A watcher that reads slower than this much buffered output is cut off, as kube-apiserver does.
const maxBufferedBytes = 32 * 1024 * 1024

export class Watches {
  readonly #store: Store
  readonly #bookmarkIntervalMs: number
  readonly #open = new Set<() => void>()

  constructor(store: Store, options: { bookmarkIntervalMs?: number } = {}) {
    this.#store = store
    this.#bookmarkIntervalMs = options.bookmarkIntervalMs ?? defaultBookmarkIntervalMs
  }

  get count(): number {
    return this.#open.size
  }

  /** Ends every open watch (server shutdown): clients see the stream finish cleanly. */
  closeAll(): void {
    for (const close of [...this.#open]) close()
  }

  /** Validates the request (throwing ApiError before any byte is written), then streams until closed. */
  serve(request: WatchRequest, res: ServerResponse): void {
    const store = this.#store
    const { resource, namespace, query, format } = request
    const labels = parseLabelSelector(query.get('labelSelector'))
    const fields = parseFieldSelector(query.get('fieldSelector'), resource)
    const inScope: Predicate = (o) => !resource.namespaced || namespace === undefined || o.metadata.namespace === namespace
    const matches: Predicate = (o) => inScope(o) && labels(o) && fields(o)
    const timeoutSeconds = query.get('timeoutSeconds')
    const bookmarks = query.get('allowWatchBookmarks') === 'true' || query.get('allowWatchBookmarks') === '1'
    const rvText = query.get('resourceVersion') ?? ''
    const sendInitialEvents = query.get('sendInitialEvents') === 'true' || rvText === '' || rvText === '0'
    if (!/^\d*$/.test(rvText)) throw badRequest(`resourceVersion: Invalid value: ${JSON.stringify(rvText)}: must be a non-negative integer`)

    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' })
    res.flushHeaders()

    let unsubscribe = (): void => {}
    const timers: NodeJS.Timeout[] = []
    const close = (): void => {
      this.#open.delete(close)
      unsubscribe()
      for (const timer of timers) clearTimeout(timer)
      if (!res.writableEnded) res.end()
    }
    this.#open.add(close)
    res.on('close', close)

    const send = (type: WatchEventType, object: object): void => {
      if (res.writableEnded) return
      res.write(JSON.stringify({ type, object }) + '\n')
      if (res.writableLength > maxBufferedBytes) close()
    }
    const render = (object: StoredObject): object => {
      if (format.as === 'table') return toTable(resource, [object], { resourceVersion: object.metadata.resourceVersion }, format.include)
      if (format.as === 'metadata') return rowObject(object, 'Metadata')!
      return object
    }
    const bookmark = (annotations?: Record<string, string>) =>
      send('BOOKMARK', {
        kind: resource.kind,
        apiVersion: apiVersionOf(resource),
        metadata: { resourceVersion: String(store.resourceVersion), ...(annotations ? { annotations } : {}) },
      })

    const key = resourceKey(resource)
    const deliver = (change: Change): void => {
      // the kind's CRD went (its objects were deleted first): kube-apiserver ends the watch
      const removed = kindRemovedBy(change)
      if (removed && resourceKey(removed) === key) return close()
      if (resourceKey(change.resource) !== key) return
      const now = matches(change.object)
      if (change.type === 'MODIFIED') {
        const before = change.previous !== undefined && matches(change.previous)
        if (now && before) send('MODIFIED', render(change.object))
        else if (now) send('ADDED', render(change.object))
        else if (before) send('DELETED', render(change.object))
      } else if (now) send(change.type, render(change.object))
    }

    let replay: Change[] = []
    if (sendInitialEvents) {
      for (const object of store.list(resource, namespace)) if (matches(object)) send('ADDED', render(object))
      if (bookmarks && query.get('sendInitialEvents') === 'true') bookmark({ 'k8s.io/initial-events-end': 'true' })
    } else {
      const since = store.changesSince(Number(rvText))
      if (since === undefined) {
        send('ERROR', gone(`too old resource version: ${rvText} (${store.compactedThrough + 1})`).status)
        close()
        return
      }
      replay = since
    }
    for (const change of replay) deliver(change)
    if (res.writableEnded) return
    unsubscribe = store.subscribe(deliver)
    if (bookmarks) timers.push(setInterval(() => bookmark(), this.#bookmarkIntervalMs))
    if (timeoutSeconds !== null && Number(timeoutSeconds) > 0) timers.push(setTimeout(() => close(), Number(timeoutSeconds) * 1000))

  }
}
