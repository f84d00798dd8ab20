// The NetworkAttachmentDefinition a SpiderMultusConfig stands for (cni-coordinator.md §C.2–C.5):
// the CNI config string exactly as Spiderpool's Go code writes it — plugin order, keys in Go's
// field order, a field left out where Go's `omitempty` leaves it out — so that Multus, and anyone
// diffing against Spiderpool, sees the same bytes.
import type { CoordinatorSpec, MultusConfigSpec, NetworkAttachmentDefinition, SpiderMultusConfig } from '../../schemas/types.ts'
import { spiderpoolAPIVersion } from '../common/keys.ts'
import { cniVersionAnnotation, nadNameAnnotation } from './annotations.ts'

/** Overrides the CNI `name` inside the config; the NAD keeps its own name. */
export const cniConfigNameAnnotation = 'cni.spidernet.io/cniconfig-name'
/** The device plugin resource Multus asks the kubelet for (SR-IOV VFs, OVS offload). */
export const resourceNameAnnotation = 'k8s.v1.cni.cncf.io/resourceName'
export const defaultCNIVersion = '0.3.1'
const ovsResourcePrefix = 'ovs-cni.network.kubevirt.io'

type Plugin = Record<string, unknown>
type Spec = NonNullable<MultusConfigSpec>
type Pools = { ipv4?: string[]; ipv6?: string[]; matchMasterSubnet?: boolean }
type Bond = { name: string; mode: number; options?: string }

export type Rendered = { nad: NetworkAttachmentDefinition; error?: undefined } | { nad?: undefined; error: string }

/** The NAD's name: the `multus.spidernet.io/cr-name` annotation, else the SMC's own name. */
export function nadNameOf(smc: SpiderMultusConfig): string {
  return smc.metadata?.annotations?.[nadNameAnnotation] || (smc.metadata?.name ?? '')
}

/** The whole NAD: same namespace, the SMC's annotations, controlled by the SMC, the rendered config. */
export function renderNetworkAttachmentDefinition(smc: SpiderMultusConfig): Rendered {
  const spec: Spec = smc.spec ?? {}
  const name = nadNameOf(smc)
  const config = renderCNIConfig(smc, name)
  if (config.error !== undefined) return { error: config.error }
  const annotations: Record<string, string> = { ...smc.metadata?.annotations }
  const resourceName = resourceNameOf(spec)
  if (resourceName !== undefined) annotations[resourceNameAnnotation] = resourceName
  const metadata: NetworkAttachmentDefinition['metadata'] = {
    name,
    namespace: smc.metadata?.namespace ?? 'default',
    ownerReferences: [
      {
        apiVersion: spiderpoolAPIVersion,
        kind: 'SpiderMultusConfig',
        name: smc.metadata?.name ?? '',
        uid: smc.metadata?.uid ?? '',
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  }
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations
  return { nad: { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata, spec: { config: config.text } } }
}

function resourceNameOf(spec: Spec): string | undefined {
  switch (spec.cniType) {
    case 'sriov':
      return spec.sriov?.resourceName ?? ''
    case 'ib-sriov':
      return spec.ibsriov?.resourceName ?? ''
    case 'ovs':
      return spec.ovs?.deviceID ? `${ovsResourcePrefix}/${spec.ovs.bridge}` : undefined
    default:
      return undefined
  }
}

/** `spec.config`: a conflist, or `customCNI` untouched for the custom type ('' when there is none). */
export function renderCNIConfig(smc: SpiderMultusConfig, nadName: string = nadNameOf(smc)): { text: string; error?: undefined } | { text?: undefined; error: string } {
  const spec: Spec = smc.spec ?? {}
  const annotations = smc.metadata?.annotations ?? {}
  if (spec.cniType === 'custom' || spec.cniType === undefined) return { text: spec.customCNI ?? '' }

  const chain: unknown[] = []
  for (const text of spec.chainCNIJsonData ?? []) {
    try {
      chain.push(withSortedKeys(JSON.parse(text)))
    } catch (e) {
      return { error: `failed to unmarshal chain cni config ${text}: ${(e as Error).message}` }
    }
  }
  const coordinator = spec.enableCoordinator === false ? [] : [coordinatorPlugin(spec.coordinator)]
  const ipam = spec.disableIPAM !== true

  let plugins: unknown[]
  switch (spec.cniType) {
    case 'macvlan':
    case 'ipvlan': {
      const c = (spec.cniType === 'macvlan' ? spec.macvlan : spec.ipvlan) ?? { master: [] }
      const masters = c.master ?? []
      const vlanID = c.vlanID ?? 0
      const master = masterOf(masters, c.bond) + (vlanID !== 0 ? `.${vlanID}` : '')
      const main: Plugin = { type: spec.cniType, master }
      if (spec.cniType === 'macvlan') main.mode = 'bridge'
      if (c.mtu !== undefined) main.mtu = c.mtu
      if (ipam) main.ipam = ipamOf(c.ippools)
      const ifacer = vlanID !== 0 || masters.length >= 2 ? [ifacerPlugin(masters, vlanID, c.bond)] : []
      plugins = [...ifacer, main, ...chain, ...coordinator]
      break
    }
    case 'vlan': {
      const c = spec.vlan ?? { master: [] }
      const masters = c.master ?? []
      const main: Plugin = { type: 'vlan', master: masterOf(masters, c.bond) }
      if (c.vlanMode !== undefined) main.vlanMode = c.vlanMode
      if (c.vlanMode === 'manual' && c.vlanID !== undefined) main.vlanId = c.vlanID
      if (c.mtu !== undefined) main.mtu = c.mtu
      if (ipam) main.ipam = ipamOf(c.ippools)
      // the vlan plugin makes the VLAN interface itself: ifacer only bonds
      const ifacer = masters.length >= 2 ? [ifacerPlugin(masters, 0, c.bond)] : []
      plugins = [...ifacer, main, ...chain, ...coordinator]
      break
    }
    case 'sriov': {
      const c = spec.sriov ?? {}
      const main: Plugin = {}
      if (c.vlanID !== undefined) main.vlan = c.vlanID
      if (c.minTxRateMbps !== undefined) main.min_tx_rate = c.minTxRateMbps
      if (c.maxTxRateMbps !== undefined) main.max_tx_rate = c.maxTxRateMbps
      main.type = 'sriov'
      if (ipam) main.ipam = ipamOf(c.ippools, true)
      const rdma = c.rdmaIsolation === true ? [{ type: 'rdma' }] : []
      // the VF's MTU is set once it is in the pod: after every other plugin
      const tuning = (c.mtu ?? 0) > 0 ? [{ type: 'tuning', mtu: c.mtu }] : []
      plugins = [main, ...rdma, ...chain, ...coordinator, ...tuning]
      break
    }
    case 'ib-sriov': {
      const c = spec.ibsriov ?? {}
      const main: Plugin = { type: 'ib-sriov' }
      if (c.pkey !== undefined) main.pkey = c.pkey
      if (c.linkState !== undefined) main.link_state = c.linkState
      if (c.rdmaIsolation !== undefined) main.rdmaIsolation = c.rdmaIsolation
      if (c.enableIbKubernetes !== undefined) main.ibKubernetesEnabled = c.enableIbKubernetes
      if (ipam) main.ipam = ipamOf(c.ippools)
      plugins = [main, ...chain, ...coordinator]
      break
    }
    case 'ipoib': {
      const c = spec.ipoib ?? {}
      const main: Plugin = { type: 'ipoib' }
      if (c.master) main.master = c.master
      if (ipam) main.ipam = ipamOf(c.ippools)
      plugins = [main, ...chain, ...coordinator]
      break
    }
    case 'ovs': {
      const c = spec.ovs ?? { bridge: '' }
      const main: Plugin = {}
      if (c.vlan !== undefined) main.vlan = c.vlan
      main.type = 'ovs'
      main.bridge = c.bridge ?? ''
      if (c.deviceID) main.deviceID = c.deviceID
      if (ipam) main.ipam = ipamOf(c.ippools)
      if (c.trunk && c.trunk.length > 0) main.trunk = c.trunk.map(trunkOf)
      plugins = [main, ...chain, ...coordinator]
      break
    }
    default:
      return { error: `unrecognized CNI type ${String(spec.cniType)}` }
  }
  const name = annotations[cniConfigNameAnnotation] || nadName
  const cniVersion = annotations[cniVersionAnnotation] ?? defaultCNIVersion
  return { text: goJSON({ cniVersion, name, plugins }) }
}

/** One host interface as is, several through the bond named in the config. */
const masterOf = (masters: string[], bond: Bond | undefined): string => (masters.length === 1 ? masters[0] : (bond?.name ?? ''))

function ipamOf(pools: Pools | undefined, matchMasterSubnet = false): Plugin {
  const ipam: Plugin = { type: 'spiderpool' }
  if (pools?.ipv4?.length) ipam.default_ipv4_ippool = pools.ipv4
  if (pools?.ipv6?.length) ipam.default_ipv6_ippool = pools.ipv6
  if (matchMasterSubnet && pools?.matchMasterSubnet === true) ipam.match_master_subnet = true
  return ipam
}

function ifacerPlugin(masters: string[], vlanID: number, bond: Bond | undefined): Plugin {
  const plugin: Plugin = {}
  if (vlanID !== 0) plugin.vlanID = vlanID
  plugin.type = 'ifacer'
  if (masters.length > 0) plugin.interfaces = masters
  if (bond) plugin.bond = { name: bond.name, mode: bond.mode, ...(bond.options !== undefined && { options: bond.options }) }
  return plugin
}

function trunkOf(t: { minID?: number; maxID?: number; id?: number }): Plugin {
  const trunk: Plugin = {}
  if (t.minID !== undefined) trunk.minID = t.minID
  if (t.maxID !== undefined) trunk.maxID = t.maxID
  if (t.id !== undefined) trunk.id = t.id
  return trunk
}

/** What the SMC sets of the coordinator; anything left out comes from the SpiderCoordinator at CNI ADD. */
function coordinatorPlugin(c: CoordinatorSpec | undefined): Plugin {
  const plugin: Plugin = {}
  if (c?.txQueueLen !== undefined) plugin.txQueueLen = c.txQueueLen
  if (c?.vethLinkAddress) plugin.vethLinkAddress = c.vethLinkAddress
  if (c?.vethMTU !== undefined) plugin.vethMTU = c.vethMTU
  if (c?.tunePodRoutes !== undefined) plugin.tunePodRoutes = c.tunePodRoutes
  if (c?.podMACPrefix) plugin.podMACPrefix = c.podMACPrefix
  if (c?.mode) plugin.mode = c.mode
  plugin.type = 'coordinator'
  if (c?.podDefaultRouteNIC) plugin.podDefaultRouteNic = c.podDefaultRouteNIC
  // Spiderpool's quirk: podRPFilter goes into the NAD only alongside a podCIDRType
  if (c?.podCIDRType !== undefined && c.podRPFilter !== undefined) plugin.podRPFilter = c.podRPFilter
  if (c?.hijackCIDR && c.hijackCIDR.length > 0) plugin.hijackCIDR = c.hijackCIDR
  if (c?.policyRoutes && c.policyRoutes.length > 0) plugin.policyRoutes = c.policyRoutes.map((r) => ({ dst: r.dst, gw: r.gw }))
  return plugin
}

/** A chain plugin goes through Go as a map: its keys come out sorted, at every depth. */
function withSortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withSortedKeys)
  if (value === null || typeof value !== 'object') return value
  const sorted: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) sorted[key] = withSortedKeys((value as Record<string, unknown>)[key])
  return sorted
}

/** JSON as Go's encoding/json writes it: HTML-significant characters and line separators escaped. */
function goJSON(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
