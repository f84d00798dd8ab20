// What makes an answer well-formed: a review for a review (HTTP 200, same uid, allowed with a
// status, never an internal error inside), a 4xx JSON error for anything else; never a 5xx.
import { Ajv } from 'ajv'
import { admissionReviewSchema } from '../schemas/admissionreview.ts'
import { admissionPaths, bodyLimit, type FuzzCase } from './generate.ts'

export interface Answer {
  status: number
  contentType: string
  body: string
}

const isReview = new Ajv({ allErrors: false, allowUnionTypes: true }).compile(admissionReviewSchema)
const served = new Set(admissionPaths)
const jsonTypes = new Set(['application/json', 'application/json; charset=utf-8'])

/** Whether the server must take this body as a review (200); undefined when it may go either way. */
function mustReview(c: FuzzCase): { review: boolean; uid?: string } | undefined {
  if (c.method !== 'POST' || !served.has(c.path) || c.body.length > bodyLimit) return { review: false }
  if (c.contentType === undefined || !jsonTypes.has(c.contentType.toLowerCase())) return c.contentType?.toLowerCase().startsWith('application/json') ? undefined : { review: false }
  const text = c.body.toString('utf8')
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return text.charCodeAt(0) === 0xfeff ? undefined : { review: false }
  }
  if (!isReview(parsed)) return { review: false }
  // the JSON parser refuses prototype poisoning even in an otherwise valid review
  if (/__proto__|constructor/.test(text)) return undefined
  return { review: true, uid: (parsed as { request: { uid: string } }).request.uid }
}

/** The problem with `answer` to `c`, or undefined when it is well-formed. */
export function checkAnswer(c: FuzzCase, answer: Answer): string | undefined {
  const expected = mustReview(c)
  if (answer.status >= 500) return `HTTP ${answer.status}: ${answer.body.slice(0, 300)}`
  if (!answer.contentType.startsWith('application/json')) return `HTTP ${answer.status} with content type ${JSON.stringify(answer.contentType)}`
  let body: any
  try {
    body = JSON.parse(answer.body)
  } catch {
    return `HTTP ${answer.status} body is not JSON: ${answer.body.slice(0, 200)}`
  }
  if (answer.status === 200) {
    if (expected && !expected.review) return `a non-review was answered as a review: ${answer.body.slice(0, 200)}`
    return checkReview(body, expected?.uid)
  }
  if (answer.status < 400) return `HTTP ${answer.status}`
  if (expected?.review) return `a valid review got HTTP ${answer.status}: ${answer.body.slice(0, 300)}`
  if (typeof body?.error !== 'string' || typeof body?.message !== 'string') return `HTTP ${answer.status} without {error, message}: ${answer.body.slice(0, 200)}`
  return undefined
}

function checkReview(body: any, uid: string | undefined): string | undefined {
  if (body?.apiVersion !== 'admission.k8s.io/v1' || body?.kind !== 'AdmissionReview') return `not an AdmissionReview v1: ${JSON.stringify(body).slice(0, 200)}`
  const response = body.response
  if (typeof response?.uid !== 'string') return 'response.uid missing'
  if (uid !== undefined && response.uid !== uid) return `uid ${JSON.stringify(response.uid)} instead of ${JSON.stringify(uid)}`
  if (typeof response.allowed !== 'boolean') return 'response.allowed missing'
  const code = response.status?.code
  if (typeof code !== 'number') return 'response.status.code missing'
  if (response.allowed) {
    if (code !== 200) return `allowed with status ${code}`
    if (response.patch !== undefined) {
      if (response.patchType !== 'JSONPatch') return `patch without patchType JSONPatch`
      let ops: any
      try {
        ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'))
      } catch {
        return 'patch is not base64 JSON'
      }
      if (!Array.isArray(ops) || ops.some((o: any) => !['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(o?.op) || typeof o.path !== 'string')) return `patch is not a JSON Patch: ${JSON.stringify(ops).slice(0, 200)}`
    }
    return undefined
  }
  if (code >= 500) return `denied with an internal error ${code}: ${response.status.message}`
  if (code < 400) return `denied with status ${code}`
  if (typeof response.status.message !== 'string' || typeof response.status.reason !== 'string') return `denial without message and reason: ${JSON.stringify(response.status).slice(0, 200)}`
  return undefined
}
