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
  return s
}
