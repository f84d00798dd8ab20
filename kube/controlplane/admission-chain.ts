// Where the control plane meets the admission webhooks (admission.ts): the chain reads webhook
// configurations and namespaces from the store; a denial becomes the client's Status.
import {
  createAdmissionChain,
  type AdmissionAttributes,
  type AdmissionChain,
  type AdmissionResult,
  type MutatingWebhookConfiguration,
  type ValidatingWebhookConfiguration,
} from './admission.ts'
import { ApiError, type Status } from './errors.ts'
import { mutatingWebhookResource, namespaceResource, validatingWebhookResource, type Resource } from './resources.ts'
import type { Store, StoredObject } from './store.ts'

export type { AdmissionChain }

export interface UserInfo {
  username: string
  groups: string[]
}

export const adminUser: UserInfo = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] }

export function storeAdmissionChain(store: Store): AdmissionChain {
  return createAdmissionChain({
    webhookConfigurations: () => ({
      mutating: store.list(mutatingWebhookResource) as unknown as MutatingWebhookConfiguration[],
      validating: store.list(validatingWebhookResource) as unknown as ValidatingWebhookConfiguration[],
    }),
    namespace: (name) => store.get(namespaceResource, undefined, name) as { metadata: { name: string } } | undefined,
  })
}

const optionsKind = { CREATE: 'CreateOptions', UPDATE: 'UpdateOptions', DELETE: 'DeleteOptions' } as const

export function attributesFor(
  resource: Resource,
  operation: 'CREATE' | 'UPDATE' | 'DELETE',
  target: { namespace?: string; name: string; subresource?: string },
  objects: { object?: StoredObject; oldObject?: StoredObject },
  dryRun: boolean,
  userInfo: UserInfo,
): AdmissionAttributes {
  return {
    operation,
    kind: { group: resource.group, version: resource.version, kind: resource.kind },
    resource: { group: resource.group, version: resource.version, resource: resource.plural },
    ...(target.subresource ? { subResource: target.subresource } : {}),
    ...(resource.namespaced && target.namespace ? { namespace: target.namespace } : {}),
    name: target.name,
    ...(objects.object ? { object: structuredClone(objects.object) } : {}),
    ...(objects.oldObject ? { oldObject: structuredClone(objects.oldObject) } : {}),
    dryRun,
    userInfo,
    options: { kind: optionsKind[operation], apiVersion: 'meta.k8s.io/v1', ...(dryRun ? { dryRun: ['All'] } : {}) },
  }
}

/** The object a mutating chain returns (undefined: unchanged), its warnings collected; a denial is thrown. */
export function admitted(result: AdmissionResult, warnings: string[]): object | undefined {
  warnings.push(...(result.warnings ?? []))
  if (!result.allowed) throw ApiError.fromStatus(result.status as Status)
  return result.object
}
