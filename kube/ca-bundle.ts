// Puts the CA that signs the serving certificate into every webhook of our webhook configurations,
// so the API server trusts the pair we serve. Written only when it differs, conditional on the version read.
import { isNotFound } from './errors.ts'
import { resources, type Resource, type WebhookConfiguration } from './resources.ts'
import { retryOnConflict } from './retry.ts'
import type { Store } from './store.ts'

export interface WebhookConfigurationNames {
  mutating?: string
  validating?: string
}

export type CaBundleOutcome = 'updated' | 'unchanged' | 'missing'

export interface CaBundleResult {
  kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration'
  name: string
  outcome: CaBundleOutcome
}

export async function injectCaBundle(store: Store, names: WebhookConfigurationNames, caPem: string): Promise<CaBundleResult[]> {
  const caBundle = Buffer.from(caPem).toString('base64')
  const results: CaBundleResult[] = []
  if (names.mutating) {
    const outcome = await injectInto(store, resources.mutatingWebhookConfigurations, names.mutating, caBundle)
    results.push({ kind: 'MutatingWebhookConfiguration', name: names.mutating, outcome })
  }
  if (names.validating) {
    const outcome = await injectInto(store, resources.validatingWebhookConfigurations, names.validating, caBundle)
    results.push({ kind: 'ValidatingWebhookConfiguration', name: names.validating, outcome })
  }
  return results
}

async function injectInto(store: Store, resource: Resource<WebhookConfiguration>, name: string, caBundle: string): Promise<CaBundleOutcome> {
  const { value } = await retryOnConflict(async () => {
    let current: WebhookConfiguration
    try {
      current = await store.get(resource, name)
    } catch (err) {
      if (isNotFound(err)) return 'missing' as const
      throw err
    }
    const webhooks = current.webhooks ?? []
    if (webhooks.every((w) => w.clientConfig?.caBundle === caBundle)) return 'unchanged' as const
    await store.update(resource, { ...current, webhooks: webhooks.map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle } })) })
    return 'updated' as const
  })
  return value
}
