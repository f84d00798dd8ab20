// Turning a request body into an object of the addressed resource: type checks, pruning with the
// requested field validation, defaults — the steps before admission, as kube-apiserver decodes.
import { applySchemaDefaults } from './defaults.ts'
import { badRequest } from './errors.ts'
import { defaultBuiltin } from './builtins.ts'
import { pruneObjectMeta, pruneUnknownFields } from './prune.ts'
import { apiVersionOf, type Resource } from './resources.ts'
import type { StoredObject } from './store.ts'

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore'

export function parseFieldValidation(value: string | null): FieldValidation {
  if (value === null || value === '' || value === 'Warn') return 'Warn'
  if (value === 'Strict' || value === 'Ignore') return value
  throw badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got ${JSON.stringify(value)}`)
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Where the unknown fields are reported: kube-apiserver's wording for create and for update/patch. */
export type DecodeStage = 'create' | 'update'

/**
 * A fresh object of `resource` from `body` with unknown fields pruned and defaults applied.
 * Strict validation refuses unknown fields with 400; Warn adds one warning per field.
 */
export function decodeObject(resource: Resource, body: unknown, validation: FieldValidation, warnings: string[], stage: DecodeStage): StoredObject {
  if (!isMap(body)) throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`)
  const object = structuredClone(body) as StoredObject
  const apiVersion = apiVersionOf(resource)
  if (object.kind === undefined || object.kind === '') object.kind = resource.kind
  if (object.apiVersion === undefined || object.apiVersion === '') object.apiVersion = apiVersion
  if (object.apiVersion !== apiVersion || object.kind !== resource.kind) {
    throw badRequest(
      object.kind !== resource.kind
        ? `the object provided is unrecognized (must be of type ${resource.kind}): ${object.kind}`
        : `the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${apiVersion})`,
    )
  }
  if (object.metadata === undefined || object.metadata === null) object.metadata = {}
  if (!isMap(object.metadata)) throw badRequest('metadata must be an object')
  const unknown = pruneObjectMeta(object)
  if (resource.schema) unknown.push(...pruneUnknownFields(object, resource.schema))
  if (unknown.length > 0 && validation !== 'Ignore') {
    const fields = unknown.sort().map((f) => `unknown field ${JSON.stringify(f)}`)
    if (validation === 'Strict') {
      const prefix = stage === 'create' ? `${resource.kind} in version ${JSON.stringify(resource.version)} cannot be handled as a ${resource.kind}: ` : ''
      throw badRequest(`${prefix}strict decoding error: ${fields.join(', ')}`)
    }
    warnings.push(...fields)
  }
  applyDefaults(resource, object)
  return object
}

export function applyDefaults(resource: Resource, object: StoredObject): void {
  if (resource.schema) applySchemaDefaults(object, resource.schema)
  else defaultBuiltin(resource, object)
}

/** What a mutating webhook returned, pruned and defaulted again (unknown fields dropped silently). */
export function redecode(resource: Resource, mutated: object): StoredObject {
  const object = structuredClone(mutated) as StoredObject
  if (!isMap(object.metadata)) object.metadata = {}
  pruneObjectMeta(object)
  if (resource.schema) pruneUnknownFields(object, resource.schema)
  applyDefaults(resource, object)
  return object
}
