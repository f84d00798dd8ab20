// metav1.Status errors as kube-apiserver words them: a handler throws an ApiError, the server writes its Status.

export interface StatusCause {
  reason?: string
  message?: string
  field?: string
}

export interface StatusDetails {
  name?: string
  group?: string
  kind?: string
  uid?: string
  causes?: StatusCause[]
  retryAfterSeconds?: number
}

export interface Status {
  kind: 'Status'
  apiVersion: 'v1'
  metadata: {}
  status: 'Failure' | 'Success'
  message?: string
  reason?: string
  details?: StatusDetails
  code: number
}

export class ApiError extends Error {
  readonly status: Status

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message)
    this.name = 'ApiError'
    this.status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code }
  }

  static fromStatus(status: Status): ApiError {
    const error = new ApiError(status.code, status.reason ?? '', status.message ?? '', status.details)
    Object.assign(error.status, status)
    return error
  }
}

/** What names a resource in messages: `spiderippools.spiderpool.spidernet.io`, or `pods` in the core group. */
export interface GroupResource {
  group: string
  plural: string
}

const groupResourceName = (r: GroupResource): string => (r.group ? `${r.plural}.${r.group}` : r.plural)

export function notFound(r: GroupResource, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${groupResourceName(r)} ${JSON.stringify(name)} not found`, { name, group: r.group, kind: r.plural })
}

export function alreadyExists(r: GroupResource, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${groupResourceName(r)} ${JSON.stringify(name)} already exists`, { name, group: r.group, kind: r.plural })
}

const staleObjectMessage = 'the object has been modified; please apply your changes to the latest version and try again'

export function conflict(r: GroupResource, name: string, detail: string = staleObjectMessage): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${groupResourceName(r)} ${JSON.stringify(name)}: ${detail}`, {
    name,
    group: r.group,
    kind: r.plural,
  })
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequest', message)

export const forbidden = (message: string, details?: StatusDetails): ApiError => new ApiError(403, 'Forbidden', message, details)

export const methodNotAllowed = (): ApiError => new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')

export const unsupportedMediaType = (message: string): ApiError => new ApiError(415, 'UnsupportedMediaType', message)

export const gone = (message: string): ApiError => new ApiError(410, 'Expired', message)

export const unauthorized = (): ApiError => new ApiError(401, 'Unauthorized', 'Unauthorized')

export const serviceUnavailable = (): ApiError => new ApiError(503, 'ServiceUnavailable', 'the control plane is unavailable (injected outage)')

export const requestTooLarge = (): ApiError => new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728')

export const internalError = (message: string): ApiError => new ApiError(500, 'InternalError', `Internal error occurred: ${message}`)

/** A field error in the shape of k8s.io/apimachinery/pkg/util/validation/field.Error. */
export interface FieldError {
  field: string
  type: string
  value?: unknown
  detail: string
}

const typeWords: Record<string, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
  FieldValueTypeInvalid: 'Invalid value',
}

const valueless = new Set(['FieldValueRequired', 'FieldValueForbidden', 'FieldValueTooLong', 'InternalError'])

function printedValue(value: unknown): string {
  if (value === undefined || value === null) return 'null'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

/** The error text after `<field>: `, e.g. `Unsupported value: 5: supported values: "4", "6"`. */
function fieldErrorBody(e: FieldError): string {
  const words = typeWords[e.type] ?? e.type
  const head = valueless.has(e.type) ? words : `${words}: ${printedValue(e.value)}`
  return e.detail ? `${head}: ${e.detail}` : head
}

/** 422 Invalid naming every field, worded like `SpiderIPPool.spiderpool.spidernet.io "x" is invalid: spec.ipVersion: ...`. */
export function invalid(kind: { group: string; kind: string }, name: string, errors: readonly FieldError[]): ApiError {
  const qualifiedKind = kind.group ? `${kind.kind}.${kind.group}` : kind.kind
  const texts = errors.map((e) => `${e.field}: ${fieldErrorBody(e)}`)
  const summary = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`
  return new ApiError(422, 'Invalid', `${qualifiedKind} ${JSON.stringify(name)} is invalid: ${summary}`, {
    name,
    group: kind.group,
    kind: kind.kind,
    causes: errors.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field })),
  })
}
