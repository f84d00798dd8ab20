// The mutating side for one kind (controller-runtime's defaulter): type-check the object as
// received, let the kind default a copy (seeing the stored object on UPDATE), answer the
// difference as a JSON Patch.
import type { AdmissionContext, KindWebhook } from '../webhooks/kind.ts'
import type { KubeObject } from '../schemas/meta.ts'
import { diff, type JsonValue } from './patch.ts'
import { invalidStatus } from './status.ts'
import { missingObject, objectName, type AdmissionRequest, type Decision } from './review.ts'
import type { SchemaValidator } from '../schemas/validate.ts'

export function defaultingDecision(kind: KindWebhook, typeCheck: SchemaValidator, request: AdmissionRequest, ctx: AdmissionContext): Decision {
  // the one place where DELETE and CONNECT skip defaulting
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return { allowed: true }
  const missing = missingObject(request, 'object')
  if (missing) return missing
  const original = request.object as JsonValue
  const typeErrors = typeCheck(original)
  if (typeErrors.length > 0) {
    return { allowed: false, status: invalidStatus(kind.kind, objectName(request, request.object as KubeObject), typeErrors) }
  }
  // the stored object, for rules that depend on what the update changes; one that fails its type
  // check is not handed on (the validating side refuses the update, naming it)
  const stored = request.operation === 'UPDATE' && request.oldObject != null && typeCheck(request.oldObject).length === 0 ? (request.oldObject as KubeObject) : undefined
  const copy = structuredClone(original)
  kind.default(copy as KubeObject, ctx, stored)
  // what the defaulted object serializes to: fields set to undefined vanish, as they would on the wire
  const defaulted = JSON.parse(JSON.stringify(copy)) as JsonValue
  return { allowed: true, patch: diff(original, defaulted) }
}
