// Deletion as kube-apiserver and its garbage collector do it, inline: finalizers keep a terminating
// object until the last one is removed; propagation Background/Foreground/Orphan over ownerReferences;
// a terminating namespace empties itself and then goes.
import { admitted, attributesFor } from './admission-chain.ts'
import { conflict, notFound } from './errors.ts'
import { timestamp } from './objectmeta.ts'
import { namespaceResource, type Resource } from './resources.ts'
import { servedResources } from './served.ts'
import type { Store, StoredObject } from './store.ts'
import type { WriteContext } from './writes.ts'

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan'

export interface DeleteRequest {
  resource: Resource
  namespace?: string
  name: string
  dryRun: boolean
  propagationPolicy: PropagationPolicy
  preconditions?: { uid?: string; resourceVersion?: string }
  warnings: string[]
}

const foregroundFinalizer = 'foregroundDeletion'

function checkPreconditions(req: DeleteRequest, current: StoredObject): void {
  const { uid, resourceVersion } = req.preconditions ?? {}
  if (uid && uid !== current.metadata.uid) {
    throw conflict(req.resource, req.name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid}`)
  }
  if (resourceVersion && resourceVersion !== current.metadata.resourceVersion) {
    throw conflict(req.resource, req.name, `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`)
  }
}

export async function deleteObject(ctx: WriteContext, req: DeleteRequest): Promise<StoredObject> {
  const { store } = ctx
  const resource = req.resource
  const current = store.get(resource, req.namespace, req.name)
  if (!current) throw notFound(resource, req.name)
  checkPreconditions(req, current)
  if (ctx.admission) {
    const attrs = attributesFor(resource, 'DELETE', { namespace: req.namespace, name: req.name }, { oldObject: current }, req.dryRun, ctx.userInfo)
    admitted(await ctx.admission.validate(attrs), req.warnings)
  }
  const latest = store.get(resource, req.namespace, req.name)
  if (!latest) throw notFound(resource, req.name)
  checkPreconditions(req, latest)
  if (req.dryRun) return keepsObject(store, latest, req.propagationPolicy) ? markedForDeletion(latest, finalizersAfter(store, latest, req.propagationPolicy)) : latest
  return commitDelete(store, resource, latest, req.propagationPolicy)
}

function dependentsOf(store: Store, uid: string | undefined): { resource: Resource; object: StoredObject }[] {
  if (!uid) return []
  return [...store.entries()].filter((e) => e.object.metadata.ownerReferences?.some((ref) => ref.uid === uid))
}

function finalizersAfter(store: Store, object: StoredObject, policy: PropagationPolicy): string[] {
  const finalizers = [...(object.metadata.finalizers ?? [])]
  if (policy === 'Foreground' && !finalizers.includes(foregroundFinalizer) && dependentsOf(store, object.metadata.uid).length > 0) {
    finalizers.push(foregroundFinalizer)
  }
  return finalizers
}

function keepsObject(store: Store, object: StoredObject, policy: PropagationPolicy): boolean {
  return finalizersAfter(store, object, policy).length > 0 || isNamespace(object)
}

const isNamespace = (object: StoredObject) => object.apiVersion === 'v1' && object.kind === 'Namespace'

function markedForDeletion(object: StoredObject, finalizers: string[]): StoredObject {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      deletionTimestamp: object.metadata.deletionTimestamp ?? timestamp(),
      deletionGracePeriodSeconds: object.metadata.deletionGracePeriodSeconds ?? 0,
      ...(finalizers.length > 0 ? { finalizers } : {}),
    },
  }
}

/** Deletes now or marks terminating; returns the object as the DELETE response shows it. */
function commitDelete(store: Store, resource: Resource, current: StoredObject, policy: PropagationPolicy): StoredObject {
  if (resource === namespaceResource) return terminateNamespace(store, current)
  if (policy === 'Orphan') orphanDependents(store, current.metadata.uid)
  const finalizers = finalizersAfter(store, current, policy)
  if (finalizers.length === 0) return removeNow(store, resource, current)
  const marked = markedForDeletion(current, finalizers)
  const stored = isUnchanged(marked, current) ? current : store.update(resource, marked)
  if (finalizers.includes(foregroundFinalizer)) {
    for (const dependent of dependentsOf(store, current.metadata.uid)) {
      if (!dependent.object.metadata.deletionTimestamp) commitDelete(store, dependent.resource, dependent.object, 'Foreground')
    }
    releaseForegroundOwner(store, resource, store.get(resource, current.metadata.namespace, current.metadata.name!) ?? stored)
  }
  return store.get(resource, current.metadata.namespace, current.metadata.name!) ?? stored
}

function isUnchanged(marked: StoredObject, current: StoredObject): boolean {
  return (
    marked.metadata.deletionTimestamp === current.metadata.deletionTimestamp &&
    (marked.metadata.finalizers ?? []).join('\n') === (current.metadata.finalizers ?? []).join('\n')
  )
}

function orphanDependents(store: Store, uid: string | undefined): void {
  for (const { resource, object } of dependentsOf(store, uid)) {
    const { ownerReferences: refs, ...rest } = object.metadata
    const ownerReferences = refs!.filter((ref) => ref.uid !== uid)
    const metadata = ownerReferences.length > 0 ? { ...rest, ownerReferences } : rest
    store.update(resource, { ...object, metadata })
  }
}

/** Removes a terminating object whose last finalizer is gone; returns it, or undefined when it stays. */
export function finalizeIfReleased(store: Store, resource: Resource, object: StoredObject): StoredObject | undefined {
  if (!object.metadata.deletionTimestamp || (object.metadata.finalizers ?? []).length > 0) return undefined
  if (resource === namespaceResource) return finishNamespace(store, object)
  return removeNow(store, resource, object)
}

function removeNow(store: Store, resource: Resource, object: StoredObject): StoredObject {
  const removed = store.remove(resource, object.metadata.namespace, object.metadata.name!)
  if (!removed) return object
  collectAfterRemoval(store, resource, removed)
  return removed
}

/** The garbage collector's part: dependents left without any owner go, waiting owners and namespaces move on. */
function collectAfterRemoval(store: Store, resource: Resource, removed: StoredObject): void {
  for (const dependent of dependentsOf(store, removed.metadata.uid)) {
    const refs = dependent.object.metadata.ownerReferences ?? []
    const living = refs.filter((ref) => store.byUid(ref.uid) !== undefined)
    if (living.length === 0) {
      if (!dependent.object.metadata.deletionTimestamp) commitDelete(store, dependent.resource, dependent.object, 'Background')
    } else {
      store.update(dependent.resource, { ...dependent.object, metadata: { ...dependent.object.metadata, ownerReferences: living } })
    }
  }
  for (const ref of removed.metadata.ownerReferences ?? []) {
    const owner = store.byUid(ref.uid)
    if (owner && owner.object.metadata.deletionTimestamp) releaseForegroundOwner(store, owner.resource, owner.object)
  }
  if (resource.namespaced) {
    const namespace = store.get(namespaceResource, undefined, removed.metadata.namespace ?? '')
    if (namespace?.metadata.deletionTimestamp) finishNamespace(store, namespace)
  }
}

function releaseForegroundOwner(store: Store, resource: Resource, owner: StoredObject): void {
  const finalizers = owner.metadata.finalizers ?? []
  if (!finalizers.includes(foregroundFinalizer) || dependentsOf(store, owner.metadata.uid).length > 0) return
  const remaining = finalizers.filter((f) => f !== foregroundFinalizer)
  const { finalizers: _all, ...rest } = owner.metadata
  const metadata = remaining.length > 0 ? { ...rest, finalizers: remaining } : rest
  const updated = store.update(resource, { ...owner, metadata })
  finalizeIfReleased(store, resource, updated)
}

function terminateNamespace(store: Store, namespace: StoredObject): StoredObject {
  const name = namespace.metadata.name!
  if (!namespace.metadata.deletionTimestamp) {
    store.update(namespaceResource, { ...markedForDeletion(namespace, namespace.metadata.finalizers ?? []), status: { ...(namespace.status as object), phase: 'Terminating' } })
  }
  for (const resource of servedResources(store)) {
    if (!resource.namespaced) continue
    for (const object of store.list(resource, name)) {
      if (!object.metadata.deletionTimestamp) commitDelete(store, resource, object, 'Background')
    }
  }
  const latest = store.get(namespaceResource, undefined, name)
  return latest ? finishNamespace(store, latest) : namespace
}

/** A terminating namespace goes once nothing is left in it and no finalizer holds it. */
function finishNamespace(store: Store, namespace: StoredObject): StoredObject {
  const name = namespace.metadata.name!
  if ((namespace.metadata.finalizers ?? []).length > 0) return namespace
  const empty = servedResources(store).every((r) => !r.namespaced || store.list(r, name).length === 0)
  if (!empty) return namespace
  return store.remove(namespaceResource, undefined, name) ?? namespace
}
