// Every resource the local control plane serves, in one table: discovery, routing, storage, tables and
// openapi all read it. The Spiderpool kinds and the NetworkAttachmentDefinition come from schemas/.
import { kinds, type KindEntry, type OpenAPISchema, type PrinterColumn } from '../../schemas/index.ts'

export interface Resource {
  readonly group: string
  readonly version: string
  readonly kind: string
  readonly plural: string
  readonly singular: string
  readonly namespaced: boolean
  readonly shortNames: readonly string[]
  readonly categories: readonly string[]
  /** Has a `/status` subresource: the main resource ignores status writes and vice versa. */
  readonly hasStatus: boolean
  /** A custom resource: schema pruning, defaults and validation apply; strategic merge patch does not. */
  readonly custom: boolean
  /** `metadata.generation` counts spec changes. */
  readonly hasGeneration: boolean
  readonly schema?: OpenAPISchema
  /** additionalPrinterColumns of a CRD (custom resources only). */
  readonly printerColumns: readonly PrinterColumn[]
  /** Field selectors besides metadata.name and metadata.namespace. */
  readonly fieldSelectors: readonly string[]
}

export const apiVersionOf = (r: { group: string; version: string }): string => (r.group ? `${r.group}/${r.version}` : r.version)

/** The key objects of a resource are stored under: one per group and plural, whatever the version. */
export const resourceKey = (r: { group: string; plural: string }): string => `${r.group}/${r.plural}`

export interface BuiltinRow {
  group: string
  version: string
  kind: string
  plural: string
  namespaced: boolean
  shortNames?: string[]
  categories?: string[]
  hasStatus?: boolean
  hasGeneration?: boolean
  fieldSelectors?: string[]
}

/** The row of a built-in (not custom) resource, with the defaults of the fixed table. */
export function builtin(row: BuiltinRow): Resource {
  return {
    group: row.group,
    version: row.version,
    kind: row.kind,
    plural: row.plural,
    singular: row.kind.toLowerCase(),
    namespaced: row.namespaced,
    shortNames: row.shortNames ?? [],
    categories: row.categories ?? [],
    hasStatus: row.hasStatus ?? false,
    custom: false,
    hasGeneration: row.hasGeneration ?? false,
    printerColumns: [],
    fieldSelectors: row.fieldSelectors ?? [],
  }
}

const core = { group: '', version: 'v1' }
const apps = { group: 'apps', version: 'v1', namespaced: true, categories: ['all'], hasStatus: true, hasGeneration: true }
const rbac = { group: 'rbac.authorization.k8s.io', version: 'v1' }
const admission = { group: 'admissionregistration.k8s.io', version: 'v1', namespaced: false, categories: ['api-extensions'], hasGeneration: true }

const eventFields = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
]
const podFields = [
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.schedulerName',
  'spec.serviceAccountName',
  'spec.hostNetwork',
  'status.phase',
  'status.podIP',
  'status.nominatedNodeName',
]

const builtins: Resource[] = [
  builtin({ ...core, kind: 'Namespace', plural: 'namespaces', namespaced: false, shortNames: ['ns'], hasStatus: true, fieldSelectors: ['status.phase'] }),
  builtin({ ...core, kind: 'Pod', plural: 'pods', namespaced: true, shortNames: ['po'], categories: ['all'], hasStatus: true, fieldSelectors: podFields }),
  builtin({ ...core, kind: 'Node', plural: 'nodes', namespaced: false, shortNames: ['no'], hasStatus: true, fieldSelectors: ['spec.unschedulable'] }),
  builtin({ ...core, kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'] }),
  builtin({ ...core, kind: 'Secret', plural: 'secrets', namespaced: true, fieldSelectors: ['type'] }),
  builtin({ ...core, kind: 'Service', plural: 'services', namespaced: true, shortNames: ['svc'], categories: ['all'], hasStatus: true }),
  builtin({ ...core, kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'], fieldSelectors: eventFields }),
  builtin({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true }),
  builtin({ ...apps, kind: 'Deployment', plural: 'deployments', shortNames: ['deploy'] }),
  builtin({ ...apps, kind: 'ReplicaSet', plural: 'replicasets', shortNames: ['rs'] }),
  builtin({ ...apps, kind: 'DaemonSet', plural: 'daemonsets', shortNames: ['ds'] }),
  builtin({ ...apps, kind: 'StatefulSet', plural: 'statefulsets', shortNames: ['sts'] }),
  builtin({ group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true, categories: ['all'], hasStatus: true, hasGeneration: true }),
  builtin({ ...core, kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true, shortNames: ['sa'] }),
  builtin({ ...rbac, kind: 'ClusterRole', plural: 'clusterroles', namespaced: false }),
  builtin({ ...rbac, kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false }),
  builtin({ ...rbac, kind: 'Role', plural: 'roles', namespaced: true }),
  builtin({ ...rbac, kind: 'RoleBinding', plural: 'rolebindings', namespaced: true }),
  builtin({ group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true, shortNames: ['pdb'], hasStatus: true, hasGeneration: true }),
  builtin({ ...admission, kind: 'MutatingWebhookConfiguration', plural: 'mutatingwebhookconfigurations' }),
  builtin({ ...admission, kind: 'ValidatingWebhookConfiguration', plural: 'validatingwebhookconfigurations' }),
  builtin({
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    hasStatus: true,
    hasGeneration: true,
    // those of our kinds are refused writes (server.ts); others can be created, and their kinds are served (served.ts)
  }),
]

const customs: Resource[] = (kinds as readonly KindEntry[]).map((k) => ({
  group: k.crd.group,
  version: k.crd.version,
  kind: k.kind,
  plural: k.plural,
  singular: k.crd.names.singular ?? k.kind.toLowerCase(),
  namespaced: k.crd.scope === 'Namespaced',
  shortNames: k.crd.names.shortNames ?? [],
  categories: k.crd.names.categories ?? [],
  hasStatus: 'status' in k.crd.subresources,
  custom: true,
  hasGeneration: true,
  schema: k.schema,
  printerColumns: k.crd.additionalPrinterColumns,
  fieldSelectors: [],
}))

export const resources: readonly Resource[] = [...builtins, ...customs]

export function findResource(group: string, version: string, plural: string): Resource | undefined {
  return resources.find((r) => r.group === group && r.version === version && r.plural === plural)
}

export const namespaceResource = findResource('', 'v1', 'namespaces')!
export const crdResource = findResource('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!
export const mutatingWebhookResource = findResource('admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations')!
export const validatingWebhookResource = findResource('admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations')!

/** Groups in the order discovery lists them, each with its one version. */
export function groupVersions(served: readonly Resource[] = resources): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>()
  for (const r of served) seen.set(apiVersionOf(r), { group: r.group, version: r.version })
  return [...seen.values()]
}
