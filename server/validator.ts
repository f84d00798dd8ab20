// The validating side for one kind (controller-runtime's validator): type-check the object(s),
// then ValidateCreate / ValidateUpdate(old, new) / ValidateDelete; field errors become `Invalid`.
import type { AdmissionContext, KindWebhook } from '../webhooks/kind.ts'
import type { FieldError, ValidationResult } from '../webhooks/field.ts'
import type { KubeObject } from '../schemas/meta.ts'
import { invalidStatus, refusalStatus } from './status.ts'
import { missingObject, objectName, type AdmissionRequest, type Decision } from './review.ts'
import type { SchemaValidator } from '../schemas/validate.ts'

export function validationDecision(kind: KindWebhook, typeCheck: SchemaValidator, request: AdmissionRequest, ctx: AdmissionContext): Decision {
  switch (request.operation) {
    case 'CREATE': {
      const obj = request.object as KubeObject
      const name = objectName(request, obj)
      return (
        missingObject(request, 'object') ??
        typeDenial(kind, name, typeCheck(obj)) ??
        decisionOf(kind, name, kind.validateCreate(obj, ctx))
      )
    }
    case 'UPDATE': {
      const obj = request.object as KubeObject
      const oldObj = request.oldObject as KubeObject
      const name = objectName(request, obj)
      return (
        missingObject(request, 'object') ??
        missingObject(request, 'oldObject') ??
        typeDenial(kind, name, typeCheck(obj)) ??
        typeDenial(kind, name, typeCheck(oldObj).map((e) => ({ ...e, detail: `${e.detail} (in the stored object)` }))) ??
        decisionOf(kind, name, kind.validateUpdate(oldObj, obj, ctx))
      )
    }
    case 'DELETE': {
      if (!kind.validateDelete) return { allowed: true }
      const oldObj = request.oldObject as KubeObject
      const name = objectName(request, oldObj)
      return (
        missingObject(request, 'oldObject') ??
        typeDenial(kind, name, typeCheck(oldObj)) ??
        decisionOf(kind, name, kind.validateDelete(oldObj, ctx))
      )
    }
    default:
      return { allowed: true }
  }
}

function typeDenial(kind: KindWebhook, name: string, errors: FieldError[]): Decision | undefined {
  return errors.length > 0 ? { allowed: false, status: invalidStatus(kind.kind, name, errors) } : undefined
}

function decisionOf(kind: KindWebhook, name: string, result: ValidationResult): Decision {
  if (Array.isArray(result)) {
    return result.length === 0 ? { allowed: true } : { allowed: false, status: invalidStatus(kind.kind, name, result) }
  }
  if (result && (result.reason === 'Forbidden' || result.reason === 'AlreadyExists')) {
    return { allowed: false, status: refusalStatus(kind.kind, name, result) }
  }
  throw new Error(`${kind.kind} validation returned ${JSON.stringify(result)}: neither field errors nor a refusal`)
}
