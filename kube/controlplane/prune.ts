// Structural-schema pruning, as kube-apiserver does for custom resources: fields the schema does
// not declare are dropped (and reported, for fieldValidation=Strict|Warn), unless the schema
// preserves unknown fields there. ObjectMeta is checked against its own field list for every kind.
import type { OpenAPISchema } from '../../schemas/index.ts'

type JsonMap = Record<string, unknown>

const isMap = (v: unknown): v is JsonMap => v !== null && typeof v === 'object' && !Array.isArray(v)

const objectMetaFields = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
])

/** Removes unknown metadata fields in place; returns their paths (`metadata.foo`). */
export function pruneObjectMeta(object: JsonMap): string[] {
  const unknown: string[] = []
  if (!isMap(object.metadata)) return unknown
  for (const key of Object.keys(object.metadata)) {
    if (!objectMetaFields.has(key)) {
      delete object.metadata[key]
      unknown.push(`metadata.${key}`)
    }
  }
  return unknown
}

/** Removes what `schema` does not declare from a custom resource in place; returns the removed paths. */
export function pruneUnknownFields(object: JsonMap, schema: OpenAPISchema): string[] {
  const unknown: string[] = []
  pruneMap(object, schema, '', unknown, true)
  return unknown
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}

function pruneValue(value: unknown, schema: OpenAPISchema | undefined, path: string, unknown: string[]): void {
  if (schema === undefined) return
  if (Array.isArray(value)) {
    value.forEach((item, i) => pruneValue(item, schema.items, `${path}[${i}]`, unknown))
  } else if (isMap(value)) {
    pruneMap(value, schema, path, unknown, schema['x-kubernetes-embedded-resource'] === true)
  }
}

function pruneMap(map: JsonMap, schema: OpenAPISchema, path: string, unknown: string[], isResource: boolean): void {
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true
  const additional = schema.additionalProperties
  for (const key of Object.keys(map)) {
    // apiVersion, kind and metadata of a resource are ObjectMeta's business, not the schema's
    if (isResource && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue
    const declared = schema.properties?.[key]
    if (declared !== undefined) pruneValue(map[key], declared, join(path, key), unknown)
    else if (typeof additional === 'object') pruneValue(map[key], additional, join(path, key), unknown)
    else if (!preserve && additional !== true) {
      delete map[key]
      unknown.push(join(path, key))
    }
  }
}
