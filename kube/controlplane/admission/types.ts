// admissionregistration.k8s.io/v1 webhook configurations as stored, and the facts of kube-apiserver's
// defaulting that the dispatcher applies itself when a stored object lacks them.

export type OperationType = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT' | '*'
export type ScopeType = 'Cluster' | 'Namespaced' | '*'
export type FailurePolicyType = 'Fail' | 'Ignore'
export type MatchPolicyType = 'Exact' | 'Equivalent'
export type SideEffectClass = 'None' | 'NoneOnDryRun' | 'Some' | 'Unknown'
export type ReinvocationPolicyType = 'Never' | 'IfNeeded'

export interface RuleWithOperations {
  operations?: OperationType[]
  apiGroups?: string[]
  apiVersions?: string[]
  // `pods`, `pods/status`, `pods/*`, `*` (no subresource), `*/status`, `*/*`
  resources?: string[]
  /** default `*` */
  scope?: ScopeType
}

export interface ServiceReference {
  namespace: string
  name: string
  path?: string
  /** default 443 */
  port?: number
}

export interface WebhookClientConfig {
  url?: string
  service?: ServiceReference
  /** base64 of the PEM CA certificates that verify the webhook's serving certificate */
  caBundle?: string
}

export interface LabelSelectorRequirement {
  key: string
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'
  values?: string[]
}

export interface LabelSelector {
  matchLabels?: Record<string, string>
  matchExpressions?: LabelSelectorRequirement[]
}

/** CEL conditions; not evaluated here: a webhook with them is called as if they all held. */
export interface MatchCondition {
  name: string
  expression: string
}

interface Webhook {
  name: string
  clientConfig: WebhookClientConfig
  rules?: RuleWithOperations[]
  /** default `Fail` */
  failurePolicy?: FailurePolicyType
  /** default `Equivalent`; with no other versions served here both match exactly */
  matchPolicy?: MatchPolicyType
  /** default `{}`, everything */
  namespaceSelector?: LabelSelector
  /** default `{}`, everything */
  objectSelector?: LabelSelector
  sideEffects?: SideEffectClass
  /** default 10, at most 30 */
  timeoutSeconds?: number
  admissionReviewVersions?: string[]
  matchConditions?: MatchCondition[]
}

export type ValidatingWebhook = Webhook

export interface MutatingWebhook extends Webhook {
  /** default `Never` */
  reinvocationPolicy?: ReinvocationPolicyType
}

export interface ConfigurationMeta {
  name: string
  [field: string]: unknown
}

export interface MutatingWebhookConfiguration {
  apiVersion?: string
  kind?: string
  metadata: ConfigurationMeta
  webhooks?: MutatingWebhook[]
}

export interface ValidatingWebhookConfiguration {
  apiVersion?: string
  kind?: string
  metadata: ConfigurationMeta
  webhooks?: ValidatingWebhook[]
}

export const defaultTimeoutSeconds = 10
export const maxTimeoutSeconds = 30
export const defaultServicePort = 443

/** The seconds a call may take: the default when unset, clamped to what the API accepts. */
export function webhookTimeoutSeconds(webhook: Webhook): number {
  const asked = webhook.timeoutSeconds ?? defaultTimeoutSeconds
  return Math.min(maxTimeoutSeconds, Math.max(1, Math.floor(asked)))
}
