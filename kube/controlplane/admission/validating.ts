// Validating webhooks (validating.validatingDispatcher): every matching webhook is called at once; when
// several refuse, the refusal that arrived first is the one returned.

import type { AdmissionAttributes, AdmissionResult } from '../admission.ts'
import { callWebhook, type DispatchContext } from './call.ts'
import { matchWebhook, type RegisteredWebhook } from './match.ts'
import { deniedByWebhook, webhookCallFailed, type Status } from './status.ts'
import type { ValidatingWebhook } from './types.ts'
import { Warnings } from './warnings.ts'

export async function runValidatingWebhooks(
  webhooks: readonly RegisteredWebhook<ValidatingWebhook>[],
  attrs: AdmissionAttributes,
  context: DispatchContext,
): Promise<AdmissionResult> {
  const called: ValidatingWebhook[] = []
  for (const { webhook } of webhooks) {
    const decision = matchWebhook(webhook, attrs, context.namespace)
    if (decision === 'skip') continue
    if (decision !== 'call') return { allowed: false, status: decision }
    called.push(webhook)
  }

  const warnings = new Warnings()
  const refusals: Status[] = []
  await Promise.all(
    called.map(async (webhook) => {
      const outcome = await callWebhook(webhook, attrs, false, context.resolveService)
      switch (outcome.kind) {
        case 'answered':
          warnings.add(outcome.answer.warnings)
          if (!outcome.answer.allowed) refusals.push(deniedByWebhook(webhook.name, outcome.answer.status))
          break
        case 'failed':
          if (webhook.failurePolicy !== 'Ignore') refusals.push(webhookCallFailed(webhook.name, outcome.why))
          break
        case 'refused':
          refusals.push(outcome.status)
      }
    }),
  )
  return refusals.length > 0 ? { allowed: false, status: refusals[0], ...warnings.result() } : { allowed: true, ...warnings.result() }
}
