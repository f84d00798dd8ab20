// Structural validation of objects against the kinds' OpenAPI schemas, as kube-apiserver does it
// for a CRD, reporting field errors with Kubernetes field paths (`spec.ips[0]`).
import { Ajv, type AnySchemaObject, type ErrorObject } from 'ajv'
import { kinds, type KindName } from './index.ts'

export type SchemaErrorType = 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueNotSupported'

/** Same shape as webhooks/field.ts FieldError, so the server reports both alike. */
export interface SchemaError {
  field: string
  type: SchemaErrorType
  value?: unknown
  detail: string
}

export type SchemaValidator = (obj: unknown) => SchemaError[]

/** Range only: a fraction is already refused by `type: integer`, once. */
function fitsSignedBits(bits: number): (n: number) => boolean {
  const limit = 2 ** (bits - 1)
  return (n) => n >= -limit && n < limit
}

function openAPIAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true })
  // Keywords for kube-apiserver's merging, pruning and CEL rules: ignoring them can make this
  // accept more than kube-apiserver would, never less.
  ajv.addVocabulary([
    'example',
    'externalDocs',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-embedded-resource',
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
    'x-kubernetes-map-type',
    'x-kubernetes-validations',
  ])
  ajv.addKeyword({
    keyword: 'x-kubernetes-int-or-string',
    schemaType: 'boolean',
    validate: (on: boolean, data: unknown) => !on || typeof data === 'string' || Number.isInteger(data),
  })
  ajv.addFormat('int32', { type: 'number', validate: fitsSignedBits(32) })
  ajv.addFormat('int64', { type: 'number', validate: fitsSignedBits(64) })
  return ajv
}

const ajv = openAPIAjv()

/** JSON type names as kube-openapi reports them in "must be of type" errors. */
function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

/** A JSON pointer into `root` as a Kubernetes field path: object keys dotted, array indexes bracketed. */
function fieldPath(root: unknown, pointer: string): string {
  let field = ''
  let at: unknown = root
  for (const segment of pointer.split('/').slice(1)) {
    const key = segment.replaceAll('~1', '/').replaceAll('~0', '~')
    field += Array.isArray(at) ? `[${key}]` : field === '' ? key : `.${key}`
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined
  }
  return field
}

function quoted(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(typeof v === 'string' ? v : JSON.stringify(v))).join(', ')
}

/** How kube-openapi names the value in a message: `spec.ips[0] in body`, or `body` at the root. */
function inBody(at: string): string {
  return at === '' ? 'body' : `${at} in body`
}

function toSchemaError(root: unknown, e: ErrorObject): SchemaError {
  const at = fieldPath(root, e.instancePath)
  const params = e.params as Record<string, unknown>
  switch (e.keyword) {
    case 'required': {
      const missing = String(params.missingProperty)
      return { field: at === '' ? missing : `${at}.${missing}`, type: 'FieldValueRequired', detail: '' }
    }
    case 'type': {
      const actual = jsonTypeOf(e.data)
      return { field: at, type: 'FieldValueInvalid', value: actual, detail: `${inBody(at)} must be of type ${params.type}: ${JSON.stringify(actual)}` }
    }
    case 'x-kubernetes-int-or-string': {
      const actual = jsonTypeOf(e.data)
      return { field: at, type: 'FieldValueInvalid', value: actual, detail: `${inBody(at)} must be of type integer or string: ${JSON.stringify(actual)}` }
    }
    case 'enum':
      return { field: at, type: 'FieldValueNotSupported', value: e.data, detail: `supported values: ${quoted(params.allowedValues as unknown[])}` }
    case 'format':
      return { field: at, type: 'FieldValueInvalid', value: e.data, detail: `${inBody(at)} must be of type ${params.format}: ${JSON.stringify(String(e.data))}` }
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum': {
      const bound = e.keyword.endsWith('inimum') ? 'greater than' : 'less than'
      const orEqual = String(params.comparison).includes('=') ? ' or equal to' : ''
      return { field: at, type: 'FieldValueInvalid', value: e.data, detail: `${inBody(at)} should be ${bound}${orEqual} ${params.limit}` }
    }
    default:
      return { field: at, type: 'FieldValueInvalid', value: e.data, detail: `${inBody(at)} ${e.message ?? 'is invalid'}` }
  }
}

/** Compiles an openAPIV3Schema (ours or a CRD's) into a function listing every field error. */
export function openAPIValidator(schema: object): SchemaValidator {
  const validate = ajv.compile(schema as AnySchemaObject)
  return (obj) => (validate(obj) ? [] : (validate.errors ?? []).map((e) => toSchemaError(obj, e)))
}

const validators = new Map<string, SchemaValidator>(kinds.map((k) => [k.kind, openAPIValidator(k.schema)]))

/** Every schema violation of `obj` as a `kind`, in Kubernetes field-path terms; empty when it conforms. */
export function schemaErrors(kind: KindName, obj: unknown): SchemaError[] {
  const validate = validators.get(kind)
  if (validate === undefined) throw new Error(`no schema for kind ${kind}`)
  return validate(obj)
}
