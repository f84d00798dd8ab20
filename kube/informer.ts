// An informer in the client-go sense: list once, then watch from the list's resourceVersion,
// keeping a local cache and telling handlers what changed. A watch that ends is resumed from the
// last version seen; a 410 Gone (or any ERROR event) forces a fresh list, diffed against the cache
// so handlers still see every add, update and delete exactly once.
import type { KubeObject } from '../schemas/meta.ts'
import { ApiError, isGone, isNotFound } from './errors.ts'
import type { Resource } from './resources.ts'
import type { Store } from './store.ts'

export interface InformerHandlers<T> {
  add?(obj: T): void
  update?(old: T, obj: T): void
  delete?(obj: T): void
  /** A list came out differently from the last one: it failed, failed otherwise, or succeeded again (see listError). */
  listed?(): void
}

/** Maps an object to the values it is found under in one index. */
export type IndexFunc<T> = (obj: T) => readonly string[]

export interface InformerOptions<T> {
  namespace?: string
  labelSelector?: string
  fieldSelector?: string
  pageSize?: number
  /** How long one watch runs before the server ends it; by default 5 to 10 minutes, spread like client-go. */
  watchTimeoutSeconds?: number
  /** Backoff after a failed list or watch: first wait, and the longest. */
  backoffMs?: { base: number; cap: number }
  indexes?: Record<string, IndexFunc<T>>
  /** Cache PartialObjectMetadata only (for kinds read for their metadata: nodes, owners). */
  metadataOnly?: boolean
  /** The server may not serve this resource at all (404 on list): count as synced and empty, and look again now and then. */
  optional?: boolean
  /** Told of every failure the informer recovers from (list, watch, handler); for logs and metrics. */
  onError?: (err: unknown) => void
}

export interface InformerStats {
  lists: number
  watches: number
}

export interface Informer<T extends KubeObject> {
  readonly resource: Resource<T>
  /** Starts listing and watching; calling it again does nothing. */
  start(): void
  /** Stops the watch and waits until the loop has ended. */
  stop(): Promise<void>
  hasSynced(): boolean
  /** `orListError`: resolve as well once a list has failed, for readers that act on listError(). */
  waitForSync(options?: { signal?: AbortSignal; timeoutMs?: number; orListError?: boolean }): Promise<void>
  /**
   * Why the last list failed, until one succeeds. Of an optional informer, a 404 here means the
   * resource is not served (the cache is then empty and counts as synced).
   */
  listError(): unknown
  /** Adds handlers; when already synced, `add` is called at once for every cached object. Returns the remover. */
  on(handlers: InformerHandlers<T>): () => void
  get(name: string, namespace?: string): T | undefined
  list(): T[]
  /** Objects of one namespace (the built-in index). */
  byNamespace(namespace: string): T[]
  byIndex(index: string, value: string): T[]
  /** The resourceVersion the cache reflects (the last event or bookmark seen). */
  resourceVersion(): string
  /** Grows on every change to the cache: lets readers memoise what they derive from it. */
  generation(): number
  readonly stats: InformerStats
}

const namespaceIndex = '__namespace'

export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata?.namespace
  return ns ? `${ns}/${obj.metadata?.name}` : (obj.metadata?.name ?? '')
}

function sleep(ms: number, signal: AbortSignal) {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

export function createInformer<T extends KubeObject>(store: Store, resource: Resource<T>, options: InformerOptions<T> = {}): Informer<T> {
  const cache = new Map<string, T>()
  const indexFuncs: Record<string, IndexFunc<T>> = {
    [namespaceIndex]: (o) => [o.metadata?.namespace ?? ''],
    ...options.indexes,
  }
  const indexes = new Map<string, Map<string, Set<string>>>(Object.keys(indexFuncs).map((name) => [name, new Map()]))
  const handlers = new Set<InformerHandlers<T>>()
  const stats: InformerStats = { lists: 0, watches: 0 }
  const backoff = options.backoffMs ?? { base: 200, cap: 30_000 }
  const report = options.onError ?? (() => {})
  const stopper = new AbortController()
  let synced = false
  let syncWaiters: Array<() => void> = []
  let failedListWaiters: Array<() => void> = []
  let listError: unknown
  let lastOutcome: string | undefined
  let lastVersion = ''
  let changes = 0
  let loop: Promise<void> | undefined

  const reindex = (key: string, old: T | undefined, obj: T | undefined) => {
    for (const [name, fn] of Object.entries(indexFuncs)) {
      const index = indexes.get(name)!
      for (const v of old ? fn(old) : []) {
        const keys = index.get(v)
        keys?.delete(key)
        if (keys?.size === 0) index.delete(v)
      }
      for (const v of obj ? fn(obj) : []) {
        let keys = index.get(v)
        if (!keys) index.set(v, (keys = new Set()))
        keys.add(key)
      }
    }
  }

  const notifyOne = (h: InformerHandlers<T>, call: (h: InformerHandlers<T>) => void) => {
    try {
      call(h)
    } catch (err) {
      report(err)
    }
  }
  const notify = (call: (h: InformerHandlers<T>) => void) => {
    for (const h of handlers) notifyOne(h, call)
  }

  const put = (obj: T) => {
    const key = keyOf(obj)
    const old = cache.get(key)
    cache.set(key, obj)
    reindex(key, old, obj)
    changes++
    if (old) notify((h) => h.update?.(old, obj))
    else notify((h) => h.add?.(obj))
  }

  const remove = (key: string) => {
    const old = cache.get(key)
    if (!old) return
    cache.delete(key)
    reindex(key, old, undefined)
    changes++
    notify((h) => h.delete?.(old))
  }

  // A relist: what vanished is deleted, what changed is updated, what is new is added.
  const replace = (items: T[]) => {
    const seen = new Set<string>()
    for (const obj of items) {
      const key = keyOf(obj)
      seen.add(key)
      const old = cache.get(key)
      if (!old || old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) put(obj)
    }
    for (const key of [...cache.keys()]) if (!seen.has(key)) remove(key)
  }

  const markSynced = () => {
    if (synced) return
    synced = true
    for (const resolve of syncWaiters) resolve()
    syncWaiters = []
  }

  // handlers hear of a change of outcome, not of every retry of the same failure
  const listOutcome = (err?: unknown) => {
    const outcome = err === undefined ? 'ok' : err instanceof ApiError ? `${err.code} ${err.message}` : String(err)
    listError = err
    if (err !== undefined) {
      for (const resolve of failedListWaiters) resolve()
      failedListWaiters = []
    }
    if (outcome === lastOutcome) return
    lastOutcome = outcome
    notify((h) => h.listed?.())
  }

  const watchTimeout = () => options.watchTimeoutSeconds ?? Math.floor(300 * (1 + Math.random()))

  async function run() {
    const signal = stopper.signal
    let needList = true
    let failures = 0
    const pause = () => sleep(Math.min(backoff.cap, backoff.base * 2 ** Math.min(failures++, 20)) * (0.5 + Math.random() / 2), signal)
    while (!signal.aborted) {
      try {
        if (needList) {
          stats.lists++
          const listed = await store.listAll(resource, {
            namespace: options.namespace,
            labelSelector: options.labelSelector,
            fieldSelector: options.fieldSelector,
            pageSize: options.pageSize,
            metadataOnly: options.metadataOnly,
            signal,
          })
          replace(listed.items)
          lastVersion = listed.resourceVersion
          needList = false
          failures = 0
          markSynced()
          listOutcome()
        }
        stats.watches++
        const timeoutSeconds = watchTimeout()
        const startedAt = Date.now()
        let events = 0
        for await (const event of store.watch(resource, {
          namespace: options.namespace,
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          resourceVersion: lastVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          idleTimeoutMs: (timeoutSeconds + 30) * 1000,
          metadataOnly: options.metadataOnly,
          signal,
        })) {
          events++
          failures = 0
          if (event.type === 'DELETED') remove(keyOf(event.object))
          else if (event.type !== 'BOOKMARK') put(event.object)
          lastVersion = event.object.metadata?.resourceVersion || lastVersion
        }
        // A watch the server closes at once, again and again, must not become a busy loop.
        if (events === 0 && Date.now() - startedAt < 1000) await pause()
      } catch (err) {
        if (signal.aborted) break
        report(err)
        if (needList && options.optional && isNotFound(err)) {
          replace([])
          markSynced()
          listOutcome(err)
          await sleep(backoff.cap, signal)
        } else if (needList) {
          listOutcome(err)
          await pause()
        } else if (isGone(err)) needList = true
        else {
          // Any other ERROR event leaves the watch's position in doubt: list again after a pause;
          // so does a watch that 404s, its resource no longer served: the list tells listError why.
          if ((err instanceof ApiError && err.watchEvent) || isNotFound(err)) needList = true
          await pause()
        }
      }
    }
  }

  const informer: Informer<T> = {
    resource,
    stats,
    start() {
      loop ??= run()
    },
    async stop() {
      stopper.abort()
      await loop
    },
    hasSynced: () => synced,
    listError: () => listError,
    waitForSync({ signal, timeoutMs, orListError } = {}) {
      if (synced || (orListError && listError !== undefined)) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined
        const finish = (err?: unknown) => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          syncWaiters = syncWaiters.filter((w) => w !== onSync)
          failedListWaiters = failedListWaiters.filter((w) => w !== onSync)
          if (err) reject(err)
          else resolve()
        }
        const onSync = () => finish()
        const onAbort = () => finish(signal?.reason)
        syncWaiters.push(onSync)
        if (orListError) failedListWaiters.push(onSync)
        signal?.addEventListener('abort', onAbort, { once: true })
        if (timeoutMs !== undefined) timer = setTimeout(() => finish(new Error(`${resource.plural}: not synced within ${timeoutMs} ms`)), timeoutMs)
      })
    },
    on(h) {
      handlers.add(h)
      if (synced) for (const obj of cache.values()) notifyOne(h, (x) => x.add?.(obj))
      return () => handlers.delete(h)
    },
    get: (name, namespace) => cache.get(namespace ? `${namespace}/${name}` : name),
    list: () => [...cache.values()],
    byNamespace: (namespace) => informer.byIndex(namespaceIndex, namespace),
    byIndex(index, value) {
      const keys = indexes.get(index)
      if (!keys) throw new Error(`${resource.plural}: no index named "${index}"`)
      return [...(keys.get(value) ?? [])].map((k) => cache.get(k)!)
    },
    resourceVersion: () => lastVersion,
    generation: () => changes,
  }
  return informer
}
