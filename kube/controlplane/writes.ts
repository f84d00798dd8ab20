// Create, update (PUT) and patch, in kube-apiserver's order: decode → defaults → mutating admission →
// ObjectMeta and schema validation → validating admission → store. Everything after the last await
// runs in one turn of the event loop, so the resourceVersion precondition checked there is exact.
import { isDeepStrictEqual } from 'node:util'
import { openAPIValidator, type SchemaValidator } from '../../schemas/validate.ts'
import { admitted, attributesFor, type AdmissionChain, type UserInfo } from './admission-chain.ts'
import { initialStatus } from './builtins.ts'
import { decodeObject, redecode, type FieldValidation } from './decode.ts'
import { alreadyExists, badRequest, conflict, forbidden, invalid, notFound, type FieldError } from './errors.ts'
import { finalizeIfReleased } from './lifecycle.ts'
import { generatedName, immutableMetaErrors, prepareForCreate, prepareForUpdate, validateObjectMeta } from './objectmeta.ts'
import { applyPatch, type PatchType } from './patch.ts'
import { crdResource, namespaceResource, type Resource } from './resources.ts'
import { crdErrors } from './served.ts'
import type { Store, StoredObject } from './store.ts'

export interface WriteContext {
  store: Store
  admission: AdmissionChain | undefined
  userInfo: UserInfo
}

export interface WriteRequest {
  resource: Resource
  namespace?: string
  name?: string
  subresource?: string
  dryRun: boolean
  fieldValidation: FieldValidation
  /** Collected for `Warning` headers. */
  warnings: string[]
}

// by resource row: a CRD created through the API and then changed serves a new row, with its new schema
const schemaValidators = new WeakMap<Resource, SchemaValidator>()

function schemaValidator(resource: Resource): SchemaValidator | undefined {
  if (!resource.schema) return undefined
  let validate = schemaValidators.get(resource)
  if (!validate) schemaValidators.set(resource, (validate = openAPIValidator(resource.schema)))
  return validate
}

function validateObject(resource: Resource, object: StoredObject, current?: StoredObject): void {
  const errors: FieldError[] = [...validateObjectMeta(resource, object), ...(schemaValidator(resource)?.(object) ?? [])]
  if (resource === crdResource) errors.push(...crdErrors(object, current))
  if (errors.length > 0) throw invalid(resource, object.metadata.name ?? '', errors)
}

/** Namespaced objects need an existing namespace that is not being deleted (the NamespaceLifecycle admission plugin). */
function checkNamespace(store: Store, resource: Resource, namespace: string | undefined, name: string): void {
  if (!resource.namespaced) return
  const ns = store.get(namespaceResource, undefined, namespace ?? '')
  if (!ns) throw notFound(namespaceResource, namespace ?? '')
  if (ns.metadata.deletionTimestamp) {
    const message = `${resource.plural}${resource.group ? '.' + resource.group : ''} ${JSON.stringify(name)} is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`
    throw forbidden(message, {
      name,
      group: resource.group,
      kind: resource.plural,
      causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
    })
  }
}

/** The namespace the request addresses, reconciled with the one in the body (400 when they differ). */
function placeInNamespace(resource: Resource, object: StoredObject, namespace: string | undefined): void {
  if (!resource.namespaced) {
    delete object.metadata.namespace
    return
  }
  const inBody = object.metadata.namespace
  if (inBody && namespace && inBody !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request')
  }
  object.metadata.namespace = namespace || inBody || 'default'
}

async function mutate(ctx: WriteContext, req: WriteRequest, operation: 'CREATE' | 'UPDATE', object: StoredObject, oldObject?: StoredObject): Promise<StoredObject> {
  if (!ctx.admission) return object
  const attrs = attributesFor(req.resource, operation, { namespace: object.metadata.namespace, name: object.metadata.name ?? '', subresource: req.subresource }, { object, oldObject }, req.dryRun, ctx.userInfo)
  const mutated = admitted(await ctx.admission.mutate(attrs), req.warnings)
  return mutated ? redecode(req.resource, mutated) : object
}

async function validateAdmission(ctx: WriteContext, req: WriteRequest, operation: 'CREATE' | 'UPDATE', object: StoredObject, oldObject?: StoredObject): Promise<void> {
  if (!ctx.admission) return
  const attrs = attributesFor(req.resource, operation, { namespace: object.metadata.namespace, name: object.metadata.name ?? '', subresource: req.subresource }, { object, oldObject }, req.dryRun, ctx.userInfo)
  admitted(await ctx.admission.validate(attrs), req.warnings)
}

export async function createObject(ctx: WriteContext, req: WriteRequest, body: unknown): Promise<StoredObject> {
  const { store } = ctx
  const resource = req.resource
  let object = decodeObject(resource, body, req.fieldValidation, req.warnings, 'create')
  placeInNamespace(resource, object, req.namespace)
  const requestedName = object.metadata.name ?? ''
  if (!requestedName && !object.metadata.generateName) {
    throw invalid(resource, '', [{ field: 'metadata.name', type: 'FieldValueRequired', detail: 'name or generateName is required' }])
  }
  checkNamespace(store, resource, object.metadata.namespace, requestedName)
  object = await mutate(ctx, req, 'CREATE', object)
  placeInNamespace(resource, object, req.namespace)

  prepareForCreate(resource, object, new Date())
  const status = initialStatus(resource)
  if (status !== undefined) object.status = status
  if (!object.metadata.name && object.metadata.generateName) object.metadata.name = generatedName(object.metadata.generateName)
  validateObject(resource, object)
  await validateAdmission(ctx, req, 'CREATE', object)

  checkNamespace(store, resource, object.metadata.namespace, object.metadata.name!)
  if (store.get(resource, object.metadata.namespace, object.metadata.name!)) {
    if (requestedName || !object.metadata.generateName) throw alreadyExists(resource, object.metadata.name!)
    do object.metadata.name = generatedName(object.metadata.generateName)
    while (store.get(resource, object.metadata.namespace, object.metadata.name))
  }
  return req.dryRun ? object : store.create(resource, object)
}

/** How a write turns the current object into the wanted one; `explicitVersion` marks a resourceVersion precondition. */
type Change = (current: StoredObject) => { object: StoredObject; explicitVersion: boolean }

// A write whose object changed during its (asynchronous) admission is redone from the new state this often.
const maxAttempts = 5

export async function updateObject(ctx: WriteContext, req: WriteRequest, body: unknown): Promise<StoredObject> {
  const decoded = decodeObject(req.resource, body, req.fieldValidation, req.warnings, 'update')
  if (decoded.metadata.name && decoded.metadata.name !== req.name) {
    throw badRequest(`the name of the object (${decoded.metadata.name}) does not match the name on the URL (${req.name})`)
  }
  if (req.resource.namespaced && decoded.metadata.namespace && decoded.metadata.namespace !== req.namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request')
  }
  return writeExisting(ctx, req, () => ({ object: structuredClone(decoded), explicitVersion: !!decoded.metadata.resourceVersion }))
}

export async function patchObject(ctx: WriteContext, req: WriteRequest, patchType: PatchType, patch: unknown): Promise<StoredObject> {
  return writeExisting(ctx, req, (current) => {
    const patched = applyPatch(patchType, structuredClone(current) as Record<string, unknown>, patch, req.resource)
    const object = decodeObject(req.resource, patched, req.fieldValidation, req.warnings, 'update')
    if (object.metadata.name !== current.metadata.name) {
      throw invalid(req.resource, current.metadata.name!, [{ field: 'metadata.name', type: 'FieldValueInvalid', value: object.metadata.name ?? '', detail: 'field is immutable' }])
    }
    return { object, explicitVersion: object.metadata.resourceVersion !== current.metadata.resourceVersion }
  })
}

async function writeExisting(ctx: WriteContext, req: WriteRequest, change: Change): Promise<StoredObject> {
  const { store } = ctx
  const resource = req.resource
  for (let attempt = 1; ; attempt++) {
    const current = store.get(resource, req.namespace, req.name!)
    if (!current) throw notFound(resource, req.name!)
    const warningsBefore = req.warnings.length
    const { object: wanted, explicitVersion } = change(current)
    if (explicitVersion && wanted.metadata.resourceVersion !== current.metadata.resourceVersion) throw conflict(resource, req.name!)
    const metaErrors = immutableMetaErrors(wanted, current)
    if (metaErrors.length > 0) throw invalid(resource, req.name!, metaErrors)
    placeInNamespace(resource, wanted, current.metadata.namespace)

    let object = await mutate(ctx, req, 'UPDATE', wanted, current)
    object = prepareForUpdate(resource, object, current, req.subresource)
    refuseNewFinalizersWhileDeleting(resource, object, current)
    validateObject(resource, object, current)
    await validateAdmission(ctx, req, 'UPDATE', object, current)

    const latest = store.get(resource, req.namespace, req.name!)
    if (!latest) throw notFound(resource, req.name!)
    if (latest.metadata.resourceVersion !== current.metadata.resourceVersion) {
      if (explicitVersion || attempt >= maxAttempts) throw conflict(resource, req.name!)
      req.warnings.length = warningsBefore
      continue
    }
    return commitUpdate(ctx.store, resource, object, current, req.dryRun)
  }
}

function refuseNewFinalizersWhileDeleting(resource: Resource, object: StoredObject, current: StoredObject): void {
  if (!current.metadata.deletionTimestamp) return
  const before = new Set(current.metadata.finalizers ?? [])
  const added = (object.metadata.finalizers ?? []).filter((f) => !before.has(f))
  if (added.length > 0) {
    throw invalid(resource, current.metadata.name!, [
      { field: 'metadata.finalizers', type: 'FieldValueForbidden', detail: `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` },
    ])
  }
}

function withoutVersion(object: StoredObject): StoredObject {
  const { resourceVersion: _rv, ...metadata } = object.metadata
  return { ...object, metadata }
}

function commitUpdate(store: Store, resource: Resource, object: StoredObject, current: StoredObject, dryRun: boolean): StoredObject {
  // an update that changes nothing is not written, as etcd's compare-and-swap skips identical bytes
  if (isDeepStrictEqual(withoutVersion(object), withoutVersion(current))) return current
  object.metadata.resourceVersion = current.metadata.resourceVersion
  if (dryRun) return object
  const stored = store.update(resource, object)
  return finalizeIfReleased(store, resource, stored) ?? stored
}
