// Mutating webhooks in order, each seeing the object as the previous ones patched it
// (mutating.mutatingDispatcher), then one reinvocation round for `IfNeeded` webhooks.

import type { AdmissionAttributes, AdmissionResult } from '../admission.ts'
import { callWebhook, type DispatchContext } from './call.ts'
import { applyJsonPatch, jsonEqual, parseJsonPatch, type JsonValue } from './jsonpatch.ts'
import { matchWebhook, type RegisteredWebhook } from './match.ts'
import { deniedByWebhook, internalError, webhookCallFailed, type Status } from './status.ts'
import type { MutatingWebhook } from './types.ts'
import { Warnings } from './warnings.ts'

/**
 * Reinvocation as kube-apiserver does it: when a webhook changes the object, every `IfNeeded` webhook
 * called before that change is called once more in a second round; a webhook skipped in the first round
 * is not called in the second.
 */
export async function runMutatingWebhooks(
  webhooks: readonly RegisteredWebhook<MutatingWebhook>[],
  attrs: AdmissionAttributes,
  context: DispatchContext,
): Promise<AdmissionResult> {
  let object = attrs.object
  const warnings = new Warnings()
  const calledBeforeLastChange = new Set<number>()
  const calledSinceLastChange = new Set<number>()
  let changedInFirstRound = false

  for (const round of [1, 2]) {
    if (round === 2 && !changedInFirstRound) break
    for (const [index, { webhook }] of webhooks.entries()) {
      const current: AdmissionAttributes = object === undefined ? attrs : { ...attrs, object }
      const decision = matchWebhook(webhook, current, context.namespace)
      if (decision === 'skip') continue
      if (decision !== 'call') return { allowed: false, status: decision, ...warnings.result() }
      if (round === 2 && !calledBeforeLastChange.has(index)) continue

      const outcome = await mutateWith(webhook, current, context)
      warnings.add(outcome.warnings)
      if (outcome.kind === 'patched' && outcome.changed) {
        for (const earlier of calledSinceLastChange) calledBeforeLastChange.add(earlier)
        calledSinceLastChange.clear()
        if (round === 1) changedInFirstRound = true
      }
      if (webhook.reinvocationPolicy === 'IfNeeded') calledSinceLastChange.add(index)

      switch (outcome.kind) {
        case 'patched':
          object = outcome.object
          break
        case 'failed':
          if (webhook.failurePolicy === 'Ignore') break
          return { allowed: false, status: webhookCallFailed(webhook.name, outcome.why), ...warnings.result() }
        case 'refused':
          return { allowed: false, status: outcome.status, ...warnings.result() }
      }
    }
  }
  return { allowed: true, ...(object === undefined ? {} : { object }), ...warnings.result() }
}

type MutationOutcome = { warnings: string[] } & (
  | { kind: 'patched'; object: object | undefined; changed: boolean }
  | { kind: 'failed'; why: string }
  | { kind: 'refused'; status: Status }
)

async function mutateWith(webhook: MutatingWebhook, attrs: AdmissionAttributes, context: DispatchContext): Promise<MutationOutcome> {
  const outcome = await callWebhook(webhook, attrs, true, context.resolveService)
  if (outcome.kind !== 'answered') return { ...outcome, warnings: [] }
  const { answer } = outcome
  const { warnings } = answer
  const unchanged: MutationOutcome = { kind: 'patched', object: attrs.object, changed: false, warnings }
  const refused = (status: Status): MutationOutcome => ({ kind: 'refused', status, warnings })

  if (!answer.allowed) return refused(deniedByWebhook(webhook.name, answer.status))
  if (!answer.patch) return unchanged
  let operations: unknown[]
  try {
    operations = decodePatch(answer.patch)
  } catch (error) {
    return { kind: 'failed', why: `received undecodable patch in webhook response: ${(error as Error).message}`, warnings }
  }
  if (operations.length === 0) return unchanged
  if (attrs.object === undefined) {
    return refused(internalError(`admission webhook ${JSON.stringify(webhook.name)} attempted to modify the object, which is not supported for this operation`))
  }
  if (answer.patchType !== 'JSONPatch') return { kind: 'failed', why: `unsupported patch type ${JSON.stringify(answer.patchType)}`, warnings }

  let patched: JsonValue
  try {
    patched = applyJsonPatch(attrs.object as JsonValue, parseJsonPatch(operations))
  } catch (error) {
    return refused(internalError((error as Error).message))
  }
  if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) {
    return refused(internalError(`the patch of admission webhook ${JSON.stringify(webhook.name)} left no object`))
  }
  return { kind: 'patched', object: patched, changed: !jsonEqual(attrs.object, patched), warnings }
}

/** As json-patch's DecodePatch: a JSON array of objects; the operations themselves are checked when applied. */
function decodePatch(bytes: Buffer): unknown[] {
  const document: unknown = JSON.parse(bytes.toString('utf8'))
  if (!Array.isArray(document) || !document.every((op) => typeof op === 'object' && op !== null && !Array.isArray(op))) {
    throw new Error('a JSON patch must be an array of operation objects')
  }
  return document
}
