// Admission webhooks called as kube-apiserver calls them (k8s.io/apiserver/pkg/admission/plugin/webhook):
// mutating webhooks one after the other, each seeing the object as the previous ones left it, with one
// reinvocation round for `IfNeeded` webhooks; then validating webhooks all at once.

import { runMutatingWebhooks } from './admission/mutating.ts'
import { runValidatingWebhooks } from './admission/validating.ts'
import type { MutatingWebhook, MutatingWebhookConfiguration, ValidatingWebhook, ValidatingWebhookConfiguration } from './admission/types.ts'
import type { Status } from './admission/status.ts'
import type { ServiceResolver } from './admission/client.ts'
import type { RegisteredWebhook } from './admission/match.ts'

export type * from './admission/types.ts'
export type { Status, StatusCause, StatusDetails } from './admission/status.ts'
export type { ServiceResolver } from './admission/client.ts'

export interface AdmissionAttributes {
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT'
  kind: { group: string; version: string; kind: string }
  resource: { group: string; version: string; resource: string }
  subResource?: string
  /** empty or absent for cluster-scoped objects; for a Namespace object its own name is used */
  namespace?: string
  /** empty for a CREATE with only `generateName` */
  name: string
  /** the incoming object; not sent on DELETE, where webhooks see `oldObject` only (as kube-apiserver does) */
  object?: object
  /** the stored object on UPDATE and DELETE */
  oldObject?: object
  dryRun: boolean
  userInfo: { username: string; groups: string[] }
  /** CreateOptions, UpdateOptions or DeleteOptions (`meta.k8s.io/v1`) */
  options?: object
}

export type AdmissionResult =
  | { allowed: true; object?: object /* after all mutations */; warnings?: string[] }
  | { allowed: false; status: Status /* metav1.Status to return to the client, with code */; warnings?: string[] }

export interface AdmissionChainDeps {
  /** admissionregistration.k8s.io/v1 objects as stored; read on every request */
  webhookConfigurations: () => { mutating: MutatingWebhookConfiguration[]; validating: ValidatingWebhookConfiguration[] }
  namespace: (name: string) => { metadata: { name: string; labels?: Record<string, string> } } | undefined
  /** where a `clientConfig.service` is reached; default 127.0.0.1 on the service's port */
  resolveService?: ServiceResolver
}

export interface AdmissionChain {
  mutate(attrs: AdmissionAttributes): Promise<AdmissionResult>
  validate(attrs: AdmissionAttributes): Promise<AdmissionResult>
}

export function createAdmissionChain(deps: AdmissionChainDeps): AdmissionChain {
  const context = { namespace: deps.namespace, resolveService: deps.resolveService ?? localService }
  return {
    async mutate(attrs) {
      if (isAdmissionConfiguration(attrs)) return { allowed: true, ...(attrs.object ? { object: attrs.object } : {}) }
      return runMutatingWebhooks(registered<MutatingWebhook>(deps.webhookConfigurations().mutating), asSent(attrs), context)
    },
    async validate(attrs) {
      if (isAdmissionConfiguration(attrs)) return { allowed: true }
      return runValidatingWebhooks(registered<ValidatingWebhook>(deps.webhookConfigurations().validating), asSent(attrs), context)
    },
  }
}

const localService: ServiceResolver = (_namespace, _name, port) => ({ host: '127.0.0.1', port })

/** Webhooks in kube-apiserver's order: configurations by name, webhooks in the order listed. */
function registered<W>(configurations: readonly { metadata: { name: string }; webhooks?: W[] }[]): RegisteredWebhook<W>[] {
  const byName = [...configurations].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0))
  return byName.flatMap((configuration) => (configuration.webhooks ?? []).map((webhook) => ({ configuration: configuration.metadata.name, webhook })))
}

// kube-apiserver sets a Namespace's own name as the request's namespace and sends no object on DELETE
function asSent(attrs: AdmissionAttributes): AdmissionAttributes {
  const isNamespace = attrs.resource.group === '' && attrs.resource.resource === 'namespaces'
  const namespace = attrs.namespace || (isNamespace ? attrs.name : '')
  const { object, ...rest } = attrs
  return { ...rest, namespace, ...(attrs.operation === 'DELETE' || object === undefined ? {} : { object }) }
}

// kube-apiserver never calls webhooks for the objects that configure admission, so a bad webhook cannot lock itself in
const admissionConfigurationKinds = new Set([
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
])

function isAdmissionConfiguration(attrs: AdmissionAttributes): boolean {
  return attrs.kind.group === 'admissionregistration.k8s.io' && admissionConfigurationKinds.has(attrs.kind.kind)
}
