// AdmissionReview v1 (admission.k8s.io/v1) both ways: the request kube-apiserver sends
// (request.CreateV1AdmissionReview) and the checks it makes of the answer (request.VerifyAdmissionResponse).

import type { AdmissionAttributes } from '../admission.ts'
import type { WebhookStatus } from './status.ts'

export interface AdmissionRequest {
  uid: string
  kind: { group: string; version: string; kind: string }
  resource: { group: string; version: string; resource: string }
  subResource?: string
  requestKind: { group: string; version: string; kind: string }
  requestResource: { group: string; version: string; resource: string }
  requestSubResource?: string
  name?: string
  namespace?: string
  operation: AdmissionAttributes['operation']
  userInfo: { username?: string; groups?: string[] }
  object: object | null
  oldObject: object | null
  dryRun: boolean
  options: object | null
}

export interface AdmissionReviewRequest {
  apiVersion: 'admission.k8s.io/v1'
  kind: 'AdmissionReview'
  request: AdmissionRequest
}

/** Go's omitempty drops empty strings and lists; the embedded objects are sent as null when absent. */
export function admissionReviewFor(attrs: AdmissionAttributes, uid: string): AdmissionReviewRequest {
  const kind = { group: attrs.kind.group, version: attrs.kind.version, kind: attrs.kind.kind }
  const resource = { group: attrs.resource.group, version: attrs.resource.version, resource: attrs.resource.resource }
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind,
      resource,
      ...(attrs.subResource ? { subResource: attrs.subResource } : {}),
      requestKind: kind,
      requestResource: resource,
      ...(attrs.subResource ? { requestSubResource: attrs.subResource } : {}),
      ...(attrs.name ? { name: attrs.name } : {}),
      ...(attrs.namespace ? { namespace: attrs.namespace } : {}),
      operation: attrs.operation,
      userInfo: {
        ...(attrs.userInfo.username ? { username: attrs.userInfo.username } : {}),
        ...(attrs.userInfo.groups.length > 0 ? { groups: attrs.userInfo.groups } : {}),
      },
      object: attrs.object ?? null,
      oldObject: attrs.oldObject ?? null,
      dryRun: attrs.dryRun,
      options: attrs.options ?? null,
    },
  }
}

/** What a webhook answered, once the answer is known to be well formed. */
export interface WebhookAnswer {
  allowed: boolean
  /** the decoded bytes of `response.patch` */
  patch?: Buffer
  patchType?: string
  status?: WebhookStatus
  warnings: string[]
}

/** A well-formed answer, or why the call failed worded as kube-apiserver words it. */
export type ReadAnswer = { answer: WebhookAnswer } | { failure: string }

const v1Review = 'admission.k8s.io/v1, Kind=AdmissionReview'

export function readAdmissionReview(body: unknown, uid: string, mutating: boolean): ReadAnswer {
  const decoded = decodeReview(body)
  if (typeof decoded === 'string') return { failure: `failed to call webhook: ${decoded}` }
  const invalid = (why: string): ReadAnswer => ({ failure: `received invalid webhook response: ${why}` })
  const { review, response } = decoded
  if (!response) return invalid('webhook response was absent')
  if (response.uid !== uid) return invalid(`expected response.uid=${JSON.stringify(uid)}, got ${JSON.stringify(response.uid ?? '')}`)
  const got = `${review.apiVersion ?? ''}, Kind=${review.kind ?? ''}`
  if (got !== v1Review) return invalid(`expected webhook response of ${v1Review}, got ${got}`)

  const hasPatch = response.patch !== undefined && response.patch.length > 0
  const hasPatchType = response.patchType !== undefined
  if (mutating) {
    if (hasPatch && !hasPatchType) return invalid('webhook returned response.patch but not response.patchType')
    if (!hasPatch && hasPatchType) return invalid('webhook returned response.patchType but not response.patch')
    if (hasPatchType && response.patchType === '') return invalid('webhook returned invalid response.patchType of ""')
  } else {
    if (hasPatch) return invalid('validating webhook may not return response.patch')
    if (hasPatchType) return invalid('validating webhook may not return response.patchType')
  }
  return {
    answer: {
      allowed: response.allowed === true,
      ...(hasPatch ? { patch: response.patch, patchType: response.patchType } : {}),
      ...(response.status ? { status: response.status } : {}),
      warnings: response.warnings ?? [],
    },
  }
}

interface DecodedResponse {
  uid?: string
  allowed?: boolean
  patch?: Buffer
  patchType?: string
  status?: WebhookStatus
  warnings?: string[]
}

/**
 * The review with its fields type-checked, as Go's JSON decoding into admissionv1.AdmissionReview would
 * check them; a string says what did not decode.
 */
function decodeReview(body: unknown): { review: { apiVersion?: unknown; kind?: unknown }; response?: DecodedResponse } | string {
  if (!isRecord(body)) return 'the webhook did not answer with a JSON object'
  const { response } = body
  if (response === undefined || response === null) return { review: body }
  if (!isRecord(response)) return 'response is not an object'
  const wrongType = (field: string, type: string) => `response.${field} is not ${type}`
  if (response.uid !== undefined && typeof response.uid !== 'string') return wrongType('uid', 'a string')
  if (response.allowed !== undefined && typeof response.allowed !== 'boolean') return wrongType('allowed', 'a boolean')
  if (response.patchType !== undefined && response.patchType !== null && typeof response.patchType !== 'string') return wrongType('patchType', 'a string')
  if (response.warnings != null && !(Array.isArray(response.warnings) && response.warnings.every((w) => typeof w === 'string'))) {
    return wrongType('warnings', 'a list of strings')
  }
  const status = decodeStatus(response.status)
  if (typeof status === 'string') return status
  let patch: Buffer | undefined
  if (response.patch !== undefined && response.patch !== null) {
    if (typeof response.patch !== 'string' || !isStrictBase64(response.patch)) return 'illegal base64 data in response.patch'
    patch = Buffer.from(response.patch, 'base64')
  }
  return {
    review: body,
    response: {
      uid: response.uid as string | undefined,
      allowed: response.allowed as boolean | undefined,
      ...(patch ? { patch } : {}),
      ...(typeof response.patchType === 'string' ? { patchType: response.patchType } : {}),
      ...(status ? { status } : {}),
      warnings: (response.warnings as string[] | null | undefined) ?? [],
    },
  }
}

function decodeStatus(status: unknown): WebhookStatus | undefined | string {
  if (status === undefined || status === null) return undefined
  if (!isRecord(status)) return 'response.status is not an object'
  for (const field of ['status', 'message', 'reason'] as const) {
    if (status[field] !== undefined && status[field] !== null && typeof status[field] !== 'string') return `response.status.${field} is not a string`
  }
  if (status.code !== undefined && status.code !== null && !Number.isInteger(status.code)) return 'response.status.code is not an integer'
  if (status.details !== undefined && status.details !== null && !isRecord(status.details)) return 'response.status.details is not an object'
  if (status.metadata !== undefined && status.metadata !== null && !isRecord(status.metadata)) return 'response.status.metadata is not an object'
  const picked: WebhookStatus = {}
  if (isRecord(status.metadata)) picked.metadata = status.metadata
  if (typeof status.status === 'string') picked.status = status.status
  if (typeof status.message === 'string') picked.message = status.message
  if (typeof status.reason === 'string') picked.reason = status.reason
  if (isRecord(status.details)) picked.details = status.details as WebhookStatus['details']
  if (typeof status.code === 'number') picked.code = status.code
  return picked
}

// Go's []byte decoding takes standard, padded base64 only
function isStrictBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
