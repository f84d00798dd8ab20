// AdmissionReview v1 in and out: what the server reads from a request and how an answer is
// written back (uid echoed, patch base64-encoded, status on denials).
import type { FromSchema } from 'json-schema-to-ts'
import type { admissionReviewSchema } from '../schemas/admissionreview.ts'
import type { KindWebhook } from '../webhooks/kind.ts'
import type { KubeObject } from '../schemas/meta.ts'
import type { PatchOperation } from './patch.ts'
import { badRequestStatus, group, type Status } from './status.ts'

export type AdmissionReview = FromSchema<typeof admissionReviewSchema>
export type AdmissionRequest = AdmissionReview['request']

export interface AdmissionResponse {
  uid: string
  allowed: boolean
  status?: Status | { code: number }
  patchType?: 'JSONPatch'
  patch?: string
  warnings?: string[]
}

/** What a handler decides about one request; the server turns it into the response. */
export type Decision = { allowed: true; patch?: PatchOperation[]; warnings?: string[] } | { allowed: false; status: Status }

export const version = 'v2beta1'

export function reviewResponse(uid: string, decision: Decision): { apiVersion: 'admission.k8s.io/v1'; kind: 'AdmissionReview'; response: AdmissionResponse } {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: responseOf(uid, decision) }
}

function responseOf(uid: string, decision: Decision): AdmissionResponse {
  if (!decision.allowed) return { uid, allowed: false, status: decision.status }
  // controller-runtime completes every allowed answer with status code 200
  const response: AdmissionResponse = { uid, allowed: true, status: { code: 200 } }
  if (decision.patch && decision.patch.length > 0) {
    response.patchType = 'JSONPatch'
    response.patch = Buffer.from(JSON.stringify(decision.patch)).toString('base64')
  }
  if (decision.warnings && decision.warnings.length > 0) response.warnings = decision.warnings
  return response
}

/** A denial when the request is about another kind than the path serves, else undefined. */
export function kindMismatch(kind: KindWebhook, request: AdmissionRequest): Decision | undefined {
  const k = request.kind
  const r = request.resource
  const kindDiffers = k.group !== group || k.version !== version || k.kind !== kind.kind
  const resourceDiffers = r.group !== group || r.version !== version || r.resource !== kind.resource
  if (!kindDiffers && !resourceDiffers) return undefined
  const problems: string[] = []
  if (kindDiffers) problems.push(`kind ${k.group}/${k.version}, Kind=${k.kind}`)
  if (resourceDiffers) problems.push(`resource ${r.group}/${r.version}, Resource=${r.resource}`)
  const expected = `${group}/${version}, Kind=${kind.kind} (resource ${kind.resource})`
  return { allowed: false, status: badRequestStatus(`this webhook serves ${expected}, the request is for ${problems.join(' and ')}`) }
}

/** The name a status names: the object's, else the request's (empty for generateName objects). */
export function objectName(request: AdmissionRequest, obj: KubeObject | null | undefined): string {
  return obj?.metadata?.name ?? request.name ?? ''
}

/** A 400 denial when the operation needs `which` and the request lacks it, else undefined. */
export function missingObject(request: AdmissionRequest, which: 'object' | 'oldObject'): Decision | undefined {
  const obj = request[which]
  if (obj !== null && obj !== undefined) return undefined
  return { allowed: false, status: badRequestStatus(`request.${which} is required for ${request.operation}`) }
}

/** Deeper objects are refused before any rule runs: copying and diffing them would exhaust the stack. */
export const maxObjectDepth = 1000

/** A 400 denial when `request.object` or `request.oldObject` nests deeper than maxObjectDepth, else undefined. */
export function tooDeeplyNested(request: AdmissionRequest): Decision | undefined {
  for (const which of ['object', 'oldObject'] as const) {
    if (depthExceeds(request[which], maxObjectDepth)) {
      return { allowed: false, status: badRequestStatus(`request.${which} is nested deeper than ${maxObjectDepth} levels`) }
    }
  }
  return undefined
}

/** Whether `root` has containers nested more than `limit` deep; the recursion stops at `limit` levels. */
function depthExceeds(root: unknown, limit: number): boolean {
  return root !== null && typeof root === 'object' && nestsDeeper(root, limit)
}

function nestsDeeper(container: object, levelsLeft: number): boolean {
  if (levelsLeft === 0) return true
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++) {
      const child: unknown = container[i]
      if (child !== null && typeof child === 'object' && nestsDeeper(child, levelsLeft - 1)) return true
    }
    return false
  }
  for (const key in container) {
    const child: unknown = (container as Record<string, unknown>)[key]
    if (child !== null && typeof child === 'object' && nestsDeeper(child, levelsLeft - 1)) return true
  }
  return false
}
