// The Mutating- and ValidatingWebhookConfigurations that point kube-apiserver (or the local
// control plane) at this server: one webhook per kind and operation set, as Spiderpool's chart
// registers them. Pure: `up` applies them, the chart renders the same list.
import type { KindWebhook } from '../webhooks/kind.ts'

export const webhookConfigurationName = 'spiderpool-controller'

/** Past this the API server stores the endpoint unmarked and the plugin claims itself. */
export const endpointWebhookTimeoutSeconds = 8

/** Where the API server reaches us: a URL (one machine) or a Service (a cluster). */
export type WebhookTarget = { url: string } | { service: { namespace: string; name: string; port: number } }

interface WebhookEntry {
  name: string
  namespaceSelector?: { matchExpressions: { key: string; operator: string; values: string[] }[] }
  admissionReviewVersions: string[]
  clientConfig: { url?: string; service?: { namespace: string; name: string; port: number; path: string }; caBundle: string }
  rules: { operations: string[]; apiGroups: string[]; apiVersions: string[]; resources: string[]; scope: string }[]
  failurePolicy: 'Fail' | 'Ignore'
  sideEffects: 'None' | 'NoneOnDryRun'
  timeoutSeconds: number
  matchPolicy: 'Equivalent'
}

export interface WebhookConfigurations {
  mutating: { apiVersion: string; kind: string; metadata: { name: string }; webhooks: (WebhookEntry & { reinvocationPolicy: 'Never' })[] }
  validating: { apiVersion: string; kind: string; metadata: { name: string }; webhooks: WebhookEntry[] }
}

// Spiderpool validates DELETE only where a rule needs it (pools and subnets with allocated IPs).
const operationsOf = (kind: KindWebhook, side: 'mutate' | 'validate') =>
  side === 'validate' && kind.validateDelete ? ['CREATE', 'UPDATE', 'DELETE'] : ['CREATE', 'UPDATE']

/**
 * Every webhook of the system. The pod webhook reserves addresses, so a dry run must not
 * (NoneOnDryRun), and it leaves the system's own namespaces alone so that they never wait on it.
 * The endpoint webhook claims them when the CNI ADD writes the pod's SpiderEndpoint; pod start
 * must never depend on it (Ignore, a short timeout: the plugin then claims itself).
 */
export function webhookConfigurations(kinds: readonly KindWebhook[], target: WebhookTarget, caPem: string, excludedNamespaces: readonly string[]): WebhookConfigurations {
  const caBundle = Buffer.from(caPem).toString('base64')
  const outsideExcluded = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...excludedNamespaces] }] }
  const clientConfig = (path: string) => ('url' in target ? { url: target.url + path, caBundle } : { service: { ...target.service, path }, caBundle })
  const entry = (kind: KindWebhook, side: 'mutate' | 'validate'): WebhookEntry => {
    const path = `/${side}-spiderpool-spidernet-io-v2beta1-${kind.pathName}`
    return {
      name: `${kind.pathName}.spiderpool.spidernet.io`,
      admissionReviewVersions: ['v1'],
      clientConfig: clientConfig(path),
      rules: [
        {
          operations: operationsOf(kind, side),
          apiGroups: ['spiderpool.spidernet.io'],
          apiVersions: ['v2beta1'],
          resources: [kind.resource],
          scope: kind.namespaced ? 'Namespaced' : 'Cluster',
        },
      ],
      failurePolicy: 'Fail',
      sideEffects: 'None',
      timeoutSeconds: 10,
      matchPolicy: 'Equivalent',
    }
  }
  return {
    mutating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: webhookConfigurationName },
      webhooks: [
        ...kinds.map((k) => ({ ...entry(k, 'mutate'), reinvocationPolicy: 'Never' as const })),
        {
          name: 'pod.spiderpool.spidernet.io',
          admissionReviewVersions: ['v1'],
          clientConfig: clientConfig('/mutate--v1-pod'),
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
          namespaceSelector: outsideExcluded,
          failurePolicy: 'Fail',
          sideEffects: 'NoneOnDryRun',
          timeoutSeconds: 10,
          matchPolicy: 'Equivalent',
          reinvocationPolicy: 'Never',
        },
        {
          name: 'spiderendpoint.spiderpool.spidernet.io',
          admissionReviewVersions: ['v1'],
          clientConfig: clientConfig('/mutate-spiderpool-spidernet-io-v2beta1-spiderendpoint'),
          rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: ['spiderpool.spidernet.io'], apiVersions: ['v2beta1'], resources: ['spiderendpoints'], scope: 'Namespaced' }],
          namespaceSelector: outsideExcluded,
          failurePolicy: 'Ignore',
          sideEffects: 'NoneOnDryRun',
          timeoutSeconds: endpointWebhookTimeoutSeconds,
          matchPolicy: 'Equivalent',
          reinvocationPolicy: 'Never',
        },
      ],
    },
    validating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: webhookConfigurationName },
      webhooks: kinds.map((k) => entry(k, 'validate')),
    },
  }
}
