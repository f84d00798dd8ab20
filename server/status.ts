// Denials as Kubernetes statuses, worded exactly as k8s.io/apimachinery words them
// (field.Error.ErrorBody, ErrorList.ToAggregate, apierrors.NewInvalid / NewForbidden / NewAlreadyExists).
import type { FieldError, FieldErrorType, Refusal } from '../webhooks/field.ts'

export const group = 'spiderpool.spidernet.io'

export interface StatusCause {
  type: FieldErrorType
  message: string
  field: string
}

export interface Status {
  status: 'Success' | 'Failure'
  code: number
  reason?: string
  message?: string
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[] }
}

const typeTexts: Record<FieldErrorType, string> = {
  FieldValueInvalid: 'Invalid value',
  FieldValueRequired: 'Required value',
  FieldValueForbidden: 'Forbidden',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  InternalError: 'Internal error',
}

const typesWithoutValue: ReadonlySet<FieldErrorType> = new Set(['FieldValueRequired', 'FieldValueForbidden', 'InternalError'])

/** A bad value as Go prints it in field errors: strings quoted (%q), numbers and booleans bare, nil (and undefined) as null. */
export function valueText(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  return JSON.stringify(value) ?? String(value)
}

/** `Invalid value: "x": detail` — the error without its field, as in a status cause. */
export function errorBody(e: FieldError): string {
  let body = typeTexts[e.type] ?? e.type
  // no `value` key at all is Kubernetes' omitValue; a key holding undefined is Go's nil pointer, shown as null
  if (!typesWithoutValue.has(e.type) && 'value' in e) body += `: ${valueText(e.value)}`
  if (e.detail) body += `: ${e.detail}`
  return body
}

/** `spec.ips[1]: Invalid value: "x": detail` */
export function errorText(e: FieldError): string {
  return `${e.field}: ${errorBody(e)}`
}

/** The texts of a list joined as an aggregate error: duplicates dropped, brackets only for several. */
export function aggregateText(errors: readonly FieldError[]): string {
  const texts = [...new Set(errors.map(errorText))]
  return texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`
}

/** 422 Invalid listing every field error. */
export function invalidStatus(kind: string, name: string, errors: readonly FieldError[]): Status {
  const qualified = `${kind}.${group} ${JSON.stringify(name)} is invalid`
  return {
    status: 'Failure',
    code: 422,
    reason: 'Invalid',
    message: errors.length === 0 ? qualified : `${qualified}: ${aggregateText(errors)}`,
    details: {
      name,
      group,
      kind,
      causes: errors.map((e) => ({ type: e.type, message: errorBody(e), field: e.field })),
    },
  }
}

/**
 * 403 Forbidden or 409 AlreadyExists. A Forbidden message gets the `forbidden: ` prefix that
 * Spiderpool's `apierrors.NewForbidden(schema.GroupResource{}, "", err)` gives it.
 */
export function refusalStatus(kind: string, name: string, refusal: Refusal): Status {
  if (refusal.reason === 'AlreadyExists') {
    return { status: 'Failure', code: 409, reason: 'AlreadyExists', message: refusal.message, details: { name, group, kind } }
  }
  return { status: 'Failure', code: 403, reason: 'Forbidden', message: `forbidden: ${refusal.message}`, details: {} }
}

/** 400: the request cannot be judged (wrong kind for the path, missing object). */
export function badRequestStatus(message: string): Status {
  return { status: 'Failure', code: 400, reason: 'BadRequest', message }
}

/** 500: the server failed, not the object. */
export function internalErrorStatus(message: string): Status {
  return { status: 'Failure', code: 500, reason: 'InternalError', message }
}
