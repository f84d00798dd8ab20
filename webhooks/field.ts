// Field errors in Kubernetes' shape (k8s.io/apimachinery/pkg/util/validation/field):
// a validator returns them, the server turns them into an `Invalid` status.

export type FieldErrorType =
  | 'FieldValueInvalid'
  | 'FieldValueRequired'
  | 'FieldValueForbidden'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'InternalError'

export interface FieldError {
  /** JSON path as a user wrote it: `spec.ips[1]`, `spec.routes[0].gw`, `metadata.annotations` */
  field: string
  type: FieldErrorType
  /** the offending value; shown for Invalid/NotSupported/Duplicate as Kubernetes does */
  value?: unknown
  detail: string
}

/** A refusal that is not a list of field errors: Spiderpool answers these with 403 or 409. */
export interface Refusal {
  reason: 'Forbidden' | 'AlreadyExists'
  message: string
}

/** What a validator returns: field errors (empty = allowed) or a whole-object refusal. */
export type ValidationResult = FieldError[] | Refusal

export const isRefusal = (r: ValidationResult): r is Refusal => !Array.isArray(r)

export function invalid(field: string, value: unknown, detail: string): FieldError {
  return { field, type: 'FieldValueInvalid', value, detail }
}
export function required(field: string, detail: string): FieldError {
  return { field, type: 'FieldValueRequired', detail }
}
export function forbidden(field: string, detail: string): FieldError {
  return { field, type: 'FieldValueForbidden', detail }
}
export function notSupported(field: string, value: unknown, supported: readonly string[]): FieldError {
  return {
    field,
    type: 'FieldValueNotSupported',
    value,
    detail: `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  }
}
export function duplicate(field: string, value: unknown): FieldError {
  return { field, type: 'FieldValueDuplicate', value, detail: '' }
}
export function internal(field: string, detail: string): FieldError {
  return { field, type: 'InternalError', detail }
}

export function refuseForbidden(message: string): Refusal {
  return { reason: 'Forbidden', message }
}
export function refuseAlreadyExists(kind: string, name: string): Refusal {
  return { reason: 'AlreadyExists', message: `${kind}.spiderpool.spidernet.io ${JSON.stringify(name)} already exists` }
}
