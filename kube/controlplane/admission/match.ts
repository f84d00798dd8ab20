// Whether a request goes to a webhook (generic.Webhook.ShouldCallHook): namespaceSelector, objectSelector,
// then rules. A selector that cannot be read or a namespace that does not exist refuses the request,
// but only when the rules would have sent it to the webhook.

import type { AdmissionAttributes } from '../admission.ts'
import { labelRequirements, requirementsMatch, type LabelRequirement, type Labels } from './selector.ts'
import { internalError, notFound, type Status } from './status.ts'
import type { LabelSelector, MutatingWebhook, RuleWithOperations, ValidatingWebhook } from './types.ts'

export interface RegisteredWebhook<W> {
  configuration: string
  webhook: W
}

export type NamespaceLookup = (name: string) => { metadata: { name: string; labels?: Record<string, string> } } | undefined

/** `call`, `skip`, or the status that refuses the request. */
export type MatchDecision = 'call' | 'skip' | Status

/** `attrs` as sent: `namespace` already holds a Namespace object's own name. */
export function matchWebhook(webhook: MutatingWebhook | ValidatingWebhook, attrs: AdmissionAttributes, namespaceOf: NamespaceLookup): MatchDecision {
  const inNamespace = namespaceSelected(webhook.namespaceSelector, attrs, namespaceOf)
  if (inNamespace === false) return 'skip'
  const objectSelected = objectSelectorMatches(webhook.objectSelector, attrs)
  if (objectSelected === false) return 'skip'
  if (!(webhook.rules ?? []).some((rule) => ruleMatches(rule, attrs))) return 'skip'
  if (inNamespace !== true) return inNamespace
  if (objectSelected !== true) return objectSelected
  return 'call'
}

function namespaceSelected(selector: LabelSelector | undefined, attrs: AdmissionAttributes, namespaceOf: NamespaceLookup): boolean | Status {
  const namespace = attrs.namespace ?? ''
  // a cluster-scoped object other than a Namespace is never exempted by a namespaceSelector
  if (namespace === '' && attrs.resource.resource !== 'namespaces') return true
  const requirements = readSelector(selector)
  if (!Array.isArray(requirements)) return requirements
  if (requirements.length === 0) return true
  let labels: Labels
  if (attrs.resource.resource === 'namespaces' && !attrs.subResource && (attrs.operation === 'CREATE' || attrs.operation === 'UPDATE')) {
    // the Namespace being written is matched by the labels it is about to have
    const own = labelsOf(attrs.object)
    if (own === undefined) return internalError('object does not implement the Object interfaces')
    labels = own
  } else {
    const found = namespaceOf(namespace)
    if (!found) return notFound('namespaces', namespace)
    labels = found.metadata.labels ?? {}
  }
  return requirementsMatch(requirements, labels)
}

function objectSelectorMatches(selector: LabelSelector | undefined, attrs: AdmissionAttributes): boolean | Status {
  const requirements = readSelector(selector)
  if (!Array.isArray(requirements)) return requirements
  if (requirements.length === 0) return true
  return [attrs.object, attrs.oldObject].some((object) => {
    const labels = labelsOf(object)
    return labels !== undefined && requirementsMatch(requirements, labels)
  })
}

function readSelector(selector: LabelSelector | undefined): LabelRequirement[] | Status {
  try {
    return labelRequirements(selector)
  } catch (error) {
    return internalError((error as Error).message)
  }
}

function labelsOf(object: object | undefined): Labels | undefined {
  if (typeof object !== 'object' || object === null) return undefined
  const metadata = (object as { metadata?: { labels?: Labels } }).metadata
  return metadata?.labels ?? {}
}

function isNamespaceResource(resource: AdmissionAttributes['resource']): boolean {
  return resource.group === '' && resource.version === 'v1' && resource.resource === 'namespaces'
}

/** rules.Matcher: scope, operation, group, version and resource/subresource all match. */
export function ruleMatches(rule: RuleWithOperations, attrs: AdmissionAttributes): boolean {
  return (
    scopeMatches(rule.scope, attrs) &&
    (rule.operations ?? []).some((op) => op === '*' || op === attrs.operation) &&
    exactOrWildcard(rule.apiGroups, attrs.resource.group) &&
    exactOrWildcard(rule.apiVersions, attrs.resource.version) &&
    resourceMatches(rule.resources, attrs.resource.resource, attrs.subResource ?? '')
  )
}

function scopeMatches(scope: RuleWithOperations['scope'], attrs: AdmissionAttributes): boolean {
  const namespaced = (attrs.namespace ?? '') !== ''
  switch (scope) {
    case undefined:
    case '*':
      return true
    case 'Namespaced':
      return !isNamespaceResource(attrs.resource) && namespaced
    case 'Cluster':
      return isNamespaceResource(attrs.resource) || !namespaced
    default:
      return false
  }
}

function exactOrWildcard(items: readonly string[] | undefined, requested: string): boolean {
  return (items ?? []).some((item) => item === '*' || item === requested)
}

function resourceMatches(resources: readonly string[] | undefined, resource: string, subResource: string): boolean {
  return (resources ?? []).some((entry) => {
    const slash = entry.indexOf('/')
    const [res, sub] = slash < 0 ? [entry, ''] : [entry.slice(0, slash), entry.slice(slash + 1)]
    return (res === '*' || res === resource) && (sub === '*' || sub === subResource)
  })
}
