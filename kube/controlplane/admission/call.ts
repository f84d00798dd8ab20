// One call of one webhook, up to a well-formed answer (the part the mutating and validating dispatchers
// share): the dry-run check, the review, the HTTPS round trip and the checks of what came back.

import { randomUUID } from 'node:crypto'
import type { AdmissionAttributes } from '../admission.ts'
import { postToWebhook, webhookEndpoint, type ServiceResolver, type WebhookReply } from './client.ts'
import type { NamespaceLookup } from './match.ts'
import { admissionReviewFor, readAdmissionReview, type WebhookAnswer } from './review.ts'
import { dryRunUnsupported, type Status } from './status.ts'
import { webhookTimeoutSeconds, type MutatingWebhook, type ValidatingWebhook } from './types.ts'

export interface DispatchContext {
  namespace: NamespaceLookup
  resolveService: ServiceResolver
}

/**
 * `answered`: the webhook allowed or denied. `failed`: the call did not work (kube-apiserver's
 * ErrCallingWebhook) and the failurePolicy decides. `refused`: the request is refused whatever the policy.
 */
export type WebhookOutcome = { kind: 'answered'; answer: WebhookAnswer } | { kind: 'failed'; why: string } | { kind: 'refused'; status: Status }

export async function callWebhook(
  webhook: MutatingWebhook | ValidatingWebhook,
  attrs: AdmissionAttributes,
  mutating: boolean,
  resolveService: ServiceResolver,
): Promise<WebhookOutcome> {
  const failed = (why: string): WebhookOutcome => ({ kind: 'failed', why })
  if (attrs.dryRun) {
    if (webhook.sideEffects === undefined) return failed('Webhook SideEffects is nil')
    if (webhook.sideEffects !== 'None' && webhook.sideEffects !== 'NoneOnDryRun') return { kind: 'refused', status: dryRunUnsupported(webhook.name) }
  }
  const versions = webhook.admissionReviewVersions ?? []
  if (versions.length > 0 && !versions.includes('v1')) {
    return failed('could not create admission objects: webhook does not accept AdmissionReview v1, the only version this control plane sends')
  }
  const timeoutSeconds = webhookTimeoutSeconds(webhook)
  let endpoint
  try {
    endpoint = webhookEndpoint(webhook.clientConfig, timeoutSeconds, resolveService)
  } catch (error) {
    return failed(`could not get REST client: ${(error as Error).message}`)
  }
  const uid = randomUUID()
  let reply: WebhookReply
  try {
    reply = await postToWebhook(endpoint, JSON.stringify(admissionReviewFor(attrs, uid)), timeoutSeconds * 1000)
  } catch (error) {
    return failed(`failed to call webhook: ${(error as Error).message}`)
  }
  if (reply.statusCode < 200 || reply.statusCode > 206) return failed(`failed to call webhook: ${unexpectedReplyText(reply)}`)
  let body: unknown
  try {
    body = JSON.parse(reply.body)
  } catch (error) {
    return failed(`failed to call webhook: couldn't get version/kind; json parse error: ${(error as Error).message}`)
  }
  const read = readAdmissionReview(body, uid, mutating)
  return 'failure' in read ? failed(read.failure) : { kind: 'answered', answer: read.answer }
}

/** What client-go says of a non-2xx reply: a Status body's own message, else a sentence per code. */
function unexpectedReplyText({ statusCode, body }: WebhookReply): string {
  try {
    const status = JSON.parse(body) as { kind?: unknown; message?: unknown }
    if (status.kind === 'Status' && typeof status.message === 'string' && status.message !== '') return status.message
  } catch {
    // not JSON: worded from the code alone
  }
  if (statusCode >= 500) return `an error on the server (${JSON.stringify(body.trim().slice(0, 1024) || 'unknown')}) has prevented the request from succeeding`
  const sentences: Record<number, string> = {
    400: 'the server rejected our request for an unknown reason',
    401: 'the server has asked for the client to provide credentials',
    403: 'the server does not allow access to the requested resource',
    404: 'the server could not find the requested resource',
    405: 'the server does not allow this method on the requested resource',
    409: 'the server reported a conflict',
    429: 'the server has received too many requests and has asked us to try again later',
  }
  return sentences[statusCode] ?? `the server responded with the status code ${statusCode} but did not return more information`
}
