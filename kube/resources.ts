// The API resources the system touches and where they live on the wire. Kept as literals (not
// derived from schemas/) so the CNI binary can import it without loading the JSON Schemas;
// test/kube/resources.test.ts holds the Spiderpool rows to the CRD facts.
import type { KubeObject, ObjectMeta } from '../schemas/meta.ts'
import type {
  NetworkAttachmentDefinition,
  SpiderCoordinator,
  SpiderEndpoint,
  SpiderIPPool,
  SpiderMultusConfig,
  SpiderReservedIP,
  SpiderSubnet,
} from '../schemas/types.ts'

/** A resource whose objects have type T (the type parameter only steers the store's typing). */
export interface Resource<T extends KubeObject = KubeObject> {
  readonly group: string
  readonly version: string
  readonly plural: string
  readonly kind: string
  readonly namespaced: boolean
  /** Has a status subresource: status is written through `/status` only. */
  readonly hasStatus: boolean
  readonly __object?: T
}

/** An object of a kind we only move around (pods, nodes, ...): typed metadata, loose spec and status. */
export interface AnyObject extends KubeObject {
  metadata: ObjectMeta
  spec?: Record<string, any>
  status?: Record<string, any>
  [field: string]: unknown
}

export interface Namespace extends AnyObject {}

export interface ConfigMap extends AnyObject {
  data?: Record<string, string>
  binaryData?: Record<string, string>
}

/** v1 Secret; `data` values are base64. */
export interface Secret extends AnyObject {
  type?: string
  data?: Record<string, string>
  stringData?: Record<string, string>
}

/** admissionregistration.k8s.io/v1 Mutating- or ValidatingWebhookConfiguration, as far as the caBundle is concerned. */
export interface WebhookConfiguration extends AnyObject {
  webhooks?: { name: string; clientConfig?: { caBundle?: string; url?: string; service?: Record<string, unknown> } }[]
}

/** coordination.k8s.io/v1 Lease; the times are MicroTime strings (RFC 3339 with microseconds). */
export interface Lease extends KubeObject {
  metadata: ObjectMeta
  spec?: {
    holderIdentity?: string
    leaseDurationSeconds?: number
    acquireTime?: string
    renewTime?: string
    leaseTransitions?: number
  }
}

const resource = <T extends KubeObject>(group: string, version: string, plural: string, kind: string, namespaced: boolean, hasStatus: boolean): Resource<T> =>
  ({ group, version, plural, kind, namespaced, hasStatus })

const spiderpool = 'spiderpool.spidernet.io'

export const resources = {
  namespaces: resource<Namespace>('', 'v1', 'namespaces', 'Namespace', false, true),
  pods: resource<AnyObject>('', 'v1', 'pods', 'Pod', true, true),
  nodes: resource<AnyObject>('', 'v1', 'nodes', 'Node', false, true),
  configmaps: resource<ConfigMap>('', 'v1', 'configmaps', 'ConfigMap', true, false),
  secrets: resource<Secret>('', 'v1', 'secrets', 'Secret', true, false),
  services: resource<AnyObject>('', 'v1', 'services', 'Service', true, true),
  events: resource<AnyObject>('', 'v1', 'events', 'Event', true, false),
  leases: resource<Lease>('coordination.k8s.io', 'v1', 'leases', 'Lease', true, false),
  statefulsets: resource<AnyObject>('apps', 'v1', 'statefulsets', 'StatefulSet', true, true),
  replicasets: resource<AnyObject>('apps', 'v1', 'replicasets', 'ReplicaSet', true, true),
  deployments: resource<AnyObject>('apps', 'v1', 'deployments', 'Deployment', true, true),
  daemonsets: resource<AnyObject>('apps', 'v1', 'daemonsets', 'DaemonSet', true, true),
  jobs: resource<AnyObject>('batch', 'v1', 'jobs', 'Job', true, true),
  mutatingWebhookConfigurations: resource<WebhookConfiguration>('admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', false, false),
  validatingWebhookConfigurations: resource<WebhookConfiguration>('admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', false, false),
  networkAttachmentDefinitions: resource<NetworkAttachmentDefinition>('k8s.cni.cncf.io', 'v1', 'network-attachment-definitions', 'NetworkAttachmentDefinition', true, false),
  ippools: resource<SpiderIPPool>(spiderpool, 'v2beta1', 'spiderippools', 'SpiderIPPool', false, true),
  subnets: resource<SpiderSubnet>(spiderpool, 'v2beta1', 'spidersubnets', 'SpiderSubnet', false, true),
  reservedIPs: resource<SpiderReservedIP>(spiderpool, 'v2beta1', 'spiderreservedips', 'SpiderReservedIP', false, false),
  coordinators: resource<SpiderCoordinator>(spiderpool, 'v2beta1', 'spidercoordinators', 'SpiderCoordinator', false, true),
  multusConfigs: resource<SpiderMultusConfig>(spiderpool, 'v2beta1', 'spidermultusconfigs', 'SpiderMultusConfig', true, false),
  endpoints: resource<SpiderEndpoint>(spiderpool, 'v2beta1', 'spiderendpoints', 'SpiderEndpoint', true, false),
} as const

export const apiVersionOf = (r: Resource<any>) => (r.group ? `${r.group}/${r.version}` : r.version)

export interface PathOptions {
  namespace?: string
  name?: string
  subresource?: string
}

/** `/api/v1/namespaces/ns/pods/name/status` and the like; a namespaced resource without a namespace lists across all. */
export function resourcePath(r: Resource<any>, o: PathOptions = {}): string {
  const root = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`
  if (!r.namespaced && o.namespace) throw new Error(`${r.plural} is cluster-scoped: no namespace may be given (got "${o.namespace}")`)
  if (r.namespaced && o.name !== undefined && !o.namespace) throw new Error(`${r.plural} is namespaced: a namespace is needed to address "${o.name}"`)
  let p = root
  if (o.namespace) p += `/namespaces/${encodeURIComponent(o.namespace)}`
  p += `/${r.plural}`
  if (o.name !== undefined) {
    if (!o.name) throw new Error(`${r.plural}: an empty name cannot be addressed`)
    p += `/${encodeURIComponent(o.name)}`
  }
  if (o.subresource) p += `/${o.subresource}`
  return p
}

/** The resource of an apiVersion and kind, if it is one of ours. */
export function resourceOfKind(apiVersion: string, kind: string): Resource<any> | undefined {
  return Object.values(resources).find((r) => apiVersionOf(r) === apiVersion && r.kind === kind)
}
