// The switches of Spiderpool's `spiderpool-conf` ConfigMap (key `conf.yml`) that change
// admission behaviour, with Spiderpool's names and defaults. Parsing only: reading the
// file is the server's job.

export interface PodResourceInject {
  enabled: boolean
  namespacesExclude: string[]
  namespacesInclude: string[]
}

export interface Settings {
  enableIPv4: boolean
  enableIPv6: boolean
  enableStatefulSet: boolean
  enableKubevirtStaticIP: boolean
  enableSpiderSubnet: boolean
  enableAutoPoolForApplication: boolean
  enableIPConflictDetection: boolean
  enableGatewayDetection: boolean
  enableValidatingResourcesDeletedWebhook: boolean
  clusterSubnetDefaultFlexibleIPNumber: number
  podResourceInject: PodResourceInject
  /**
   * Multus' cluster network (its `clusterNetwork`): the NetworkAttachmentDefinition `ns/name`, or
   * `name` in multusNamespace, that gives a pod its eth0 when the pod names no default network.
   * Empty: the cluster's default network is not one that asks Spiderpool for addresses.
   */
  clusterNetwork: string
  /** Where Multus looks for the default network's NetworkAttachmentDefinition, and where an IPPool's `multusName` without namespace points. */
  multusNamespace: string
  /** Pods of these namespaces get no reservation and no injection (Spiderpool's pod webhook namespaceSelector). */
  excludedNamespaces: string[]
  /** Spiderpool's `agent.networkResourcePlugin.resourceAdvertisement.masterNIC.rules` is non-empty: POD-M-06 injects master-NIC resources. */
  masterNICEnabled: boolean
  /** How long an address reserved at admission waits for its claim before the collector may release it (its pod never appeared). */
  reservationTTLSeconds: number
  /** How often the leader's collector checks every pool record against the pods, nodes and StatefulSets that exist. */
  gcScanIntervalSeconds: number
}

export function defaultSettings(): Settings {
  return {
    enableIPv4: true,
    enableIPv6: true,
    enableStatefulSet: true,
    enableKubevirtStaticIP: true,
    enableSpiderSubnet: true,
    enableAutoPoolForApplication: true,
    enableIPConflictDetection: false,
    enableGatewayDetection: false,
    enableValidatingResourcesDeletedWebhook: false,
    clusterSubnetDefaultFlexibleIPNumber: 1,
    podResourceInject: {
      enabled: false,
      namespacesExclude: ['kube-system', 'spiderpool', 'metallb-system', 'istio-system'],
      namespacesInclude: [],
    },
    clusterNetwork: '',
    multusNamespace: 'kube-system',
    excludedNamespaces: ['kube-system', 'kube-public', 'spiderpool', 'metallb-system', 'istio-system'],
    masterNICEnabled: false,
    reservationTTLSeconds: 120,
    gcScanIntervalSeconds: 30,
  }
}

const booleanKeys = [
  'enableIPv4',
  'enableIPv6',
  'enableStatefulSet',
  'enableKubevirtStaticIP',
  'enableSpiderSubnet',
  'enableAutoPoolForApplication',
  'enableIPConflictDetection',
  'enableGatewayDetection',
  'enableValidatingResourcesDeletedWebhook',
] as const

/**
 * Settings from the parsed `conf.yml` document. Unknown keys (ipamUnixSocketPath,
 * iaasNetworkProvider, …) are ignored; a known key of the wrong type is an error naming it.
 */
export function parseSettings(doc: unknown): Settings {
  const s = defaultSettings()
  if (doc === null || doc === undefined) return s
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error('settings: the document must be a mapping')
  const d = doc as Record<string, unknown>
  for (const key of booleanKeys) {
    if (d[key] === undefined || d[key] === null) continue
    if (typeof d[key] !== 'boolean') throw new Error(`settings: ${key} must be true or false, got ${JSON.stringify(d[key])}`)
    s[key] = d[key]
  }
  const flex = d.clusterSubnetDefaultFlexibleIPNumber
  if (flex !== undefined && flex !== null) {
    if (!Number.isInteger(flex) || (flex as number) < 0) {
      throw new Error(`settings: clusterSubnetDefaultFlexibleIPNumber must be a whole number ≥ 0, got ${JSON.stringify(flex)}`)
    }
    s.clusterSubnetDefaultFlexibleIPNumber = flex as number
  }
  const inject = d.podResourceInject
  if (inject !== undefined && inject !== null) {
    if (typeof inject !== 'object' || Array.isArray(inject)) throw new Error('settings: podResourceInject must be a mapping')
    const p = inject as Record<string, unknown>
    if (p.enabled !== undefined && p.enabled !== null) {
      if (typeof p.enabled !== 'boolean') throw new Error('settings: podResourceInject.enabled must be true or false')
      s.podResourceInject.enabled = p.enabled
    }
    for (const key of ['namespacesExclude', 'namespacesInclude'] as const) {
      const v = p[key]
      if (v === undefined || v === null) continue
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
        throw new Error(`settings: podResourceInject.${key} must be a list of namespace names`)
      }
      s.podResourceInject[key] = v as string[]
    }
  }
  for (const key of ['clusterNetwork', 'multusNamespace'] as const) {
    const v = d[key]
    if (v === undefined || v === null) continue
    if (typeof v !== 'string') throw new Error(`settings: ${key} must be a string, got ${JSON.stringify(v)}`)
    s[key] = v
  }
  if (s.multusNamespace === '') throw new Error('settings: multusNamespace must not be empty')
  const excluded = d.excludedNamespaces
  if (excluded !== undefined && excluded !== null) {
    if (!Array.isArray(excluded) || excluded.some((x) => typeof x !== 'string')) {
      throw new Error('settings: excludedNamespaces must be a list of namespace names')
    }
    s.excludedNamespaces = excluded as string[]
  }
  s.masterNICEnabled = masterNICRules(d.agent).length > 0
  for (const key of ['reservationTTLSeconds', 'gcScanIntervalSeconds'] as const) {
    const v = d[key]
    if (v === undefined || v === null) continue
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`settings: ${key} must be a number of seconds above 0, got ${JSON.stringify(v)}`)
    s[key] = v
  }
  return s
}

/** `agent.networkResourcePlugin.resourceAdvertisement.masterNIC.rules`, as Spiderpool's conf.yml nests it. */
function masterNICRules(agent: unknown): unknown[] {
  let node: unknown = agent
  let path = 'agent'
  for (const key of ['networkResourcePlugin', 'resourceAdvertisement', 'masterNIC', 'rules']) {
    if (node === undefined || node === null) return []
    if (typeof node !== 'object' || Array.isArray(node)) throw new Error(`settings: ${path} must be a mapping`)
    node = (node as Record<string, unknown>)[key]
    path += `.${key}`
  }
  if (node === undefined || node === null) return []
  if (!Array.isArray(node)) throw new Error(`settings: ${path} must be a list`)
  return node
}
