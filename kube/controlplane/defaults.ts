// CRD schema defaulting as kube-apiserver applies it (on create, update, after mutating admission and
// on read): absent fields with a `default` get it, nulls in non-nullable fields are dropped or defaulted.
import type { OpenAPISchema } from '../../schemas/index.ts'

type JsonMap = Record<string, unknown>

const isMap = (v: unknown): v is JsonMap => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Applies the schema's defaults to `value` in place. */
export function applySchemaDefaults(value: unknown, schema: OpenAPISchema | undefined): void {
  if (schema === undefined) return
  if (Array.isArray(value)) {
    for (const item of value) applySchemaDefaults(item, schema.items)
    return
  }
  if (!isMap(value)) return
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    if (value[key] === null && property.nullable !== true) delete value[key]
    if (value[key] === undefined && property.default !== undefined) value[key] = structuredClone(property.default)
  }
  for (const [key, child] of Object.entries(value)) {
    const property = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined)
    applySchemaDefaults(child, property)
  }
}
