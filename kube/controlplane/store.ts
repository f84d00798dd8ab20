// Objects by resource, the global resourceVersion, and a bounded history of changes for watches.
// Every method is synchronous: the event loop is the lock, so a read-check-write in one turn is exact.
import type { ObjectMeta } from '../../schemas/meta.ts'
import { resourceKey, type Resource } from './resources.ts'

export interface StoredObject {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  [field: string]: unknown
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED'

export interface Change {
  type: ChangeType
  resource: Resource
  /** After the change; for DELETED the last state, carrying the deletion's resourceVersion. */
  object: StoredObject
  /** Before the change (MODIFIED only): watches with selectors need it to see objects leave. */
  previous?: StoredObject
  resourceVersion: number
}

export interface Snapshot {
  resourceVersion: number
  objects: { resource: Resource; object: StoredObject }[]
}

export const objectKey = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

function withResourceVersion(object: StoredObject, rv: number): StoredObject {
  return { ...object, metadata: { ...object.metadata, resourceVersion: String(rv) } }
}

export class Store {
  readonly historyLimit: number
  #resourceVersion = 0
  #objects = new Map<string, Map<string, StoredObject>>()
  #byUid = new Map<string, { resource: Resource; object: StoredObject }>()
  #history: Change[] = []
  #compactedThrough = 0
  #listeners = new Set<(change: Change) => void>()

  constructor(historyLimit = 10_000) {
    this.historyLimit = historyLimit
  }

  get resourceVersion(): number {
    return this.#resourceVersion
  }

  /** Watches from a resourceVersion below this one cannot be served: their events are gone. */
  get compactedThrough(): number {
    return this.#compactedThrough
  }

  get(resource: Resource, namespace: string | undefined, name: string): StoredObject | undefined {
    return this.#objects.get(resourceKey(resource))?.get(objectKey(resource.namespaced ? namespace : undefined, name))
  }

  /** Objects sorted by namespace and name; all namespaces when `namespace` is undefined. */
  list(resource: Resource, namespace?: string): StoredObject[] {
    const all = [...(this.#objects.get(resourceKey(resource))?.values() ?? [])]
    const inNamespace = namespace === undefined || !resource.namespaced ? all : all.filter((o) => o.metadata.namespace === namespace)
    return inNamespace.sort(byNamespaceAndName)
  }

  byUid(uid: string): { resource: Resource; object: StoredObject } | undefined {
    return this.#byUid.get(uid)
  }

  /** Every object of every resource (for garbage collection and persistence). */
  *entries(): Generator<{ resource: Resource; object: StoredObject }> {
    yield* this.#byUid.values()
  }

  create(resource: Resource, object: StoredObject): StoredObject {
    const stored = deepFreeze(withResourceVersion(object, ++this.#resourceVersion))
    this.#put(resource, stored)
    this.#emit({ type: 'ADDED', resource, object: stored, resourceVersion: this.#resourceVersion })
    return stored
  }

  update(resource: Resource, object: StoredObject): StoredObject {
    const previous = this.get(resource, object.metadata.namespace, object.metadata.name!)
    const stored = deepFreeze(withResourceVersion(object, ++this.#resourceVersion))
    this.#put(resource, stored)
    this.#emit({ type: 'MODIFIED', resource, object: stored, previous, resourceVersion: this.#resourceVersion })
    return stored
  }

  remove(resource: Resource, namespace: string | undefined, name: string): StoredObject | undefined {
    const bucket = this.#objects.get(resourceKey(resource))
    const key = objectKey(resource.namespaced ? namespace : undefined, name)
    const existing = bucket?.get(key)
    if (!bucket || !existing) return undefined
    bucket.delete(key)
    if (existing.metadata.uid) this.#byUid.delete(existing.metadata.uid)
    const last = deepFreeze(withResourceVersion(existing, ++this.#resourceVersion))
    this.#emit({ type: 'DELETED', resource, object: last, resourceVersion: this.#resourceVersion })
    return last
  }

  /** Changes after `resourceVersion`, oldest first, or undefined when some of them are no longer kept. */
  changesSince(resourceVersion: number): Change[] | undefined {
    if (resourceVersion < this.#compactedThrough) return undefined
    let first = this.#history.length
    while (first > 0 && this.#history[first - 1].resourceVersion > resourceVersion) first--
    return this.#history.slice(first)
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  snapshot(): Snapshot {
    return { resourceVersion: this.#resourceVersion, objects: [...this.#byUid.values()] }
  }

  /** Replaces everything with a persisted state; the history starts empty at its resourceVersion. */
  restore(snapshot: Snapshot): void {
    this.#objects.clear()
    this.#byUid.clear()
    this.#history = []
    for (const { resource, object } of snapshot.objects) this.#put(resource, deepFreeze(object))
    this.#resourceVersion = snapshot.resourceVersion
    this.#compactedThrough = snapshot.resourceVersion
  }

  #put(resource: Resource, object: StoredObject): void {
    const key = resourceKey(resource)
    let bucket = this.#objects.get(key)
    if (!bucket) this.#objects.set(key, (bucket = new Map()))
    const id = objectKey(resource.namespaced ? object.metadata.namespace : undefined, object.metadata.name!)
    const previous = bucket.get(id)
    if (previous?.metadata.uid) this.#byUid.delete(previous.metadata.uid)
    bucket.set(id, object)
    if (object.metadata.uid) this.#byUid.set(object.metadata.uid, { resource, object })
  }

  #emit(change: Change): void {
    this.#history.push(change)
    // dropping in batches keeps the cost of trimming the history constant per change
    if (this.#history.length > this.historyLimit + Math.ceil(this.historyLimit / 10)) {
      const dropped = this.#history.splice(0, this.#history.length - this.historyLimit)
      this.#compactedThrough = dropped[dropped.length - 1].resourceVersion
    }
    for (const listener of this.#listeners) listener(change)
  }
}

function byNamespaceAndName(a: StoredObject, b: StoredObject): number {
  const na = a.metadata.namespace ?? ''
  const nb = b.metadata.namespace ?? ''
  if (na !== nb) return na < nb ? -1 : 1
  const ma = a.metadata.name ?? ''
  const mb = b.metadata.name ?? ''
  return ma < mb ? -1 : ma > mb ? 1 : 0
}
