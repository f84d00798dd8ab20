// Where the SpiderCoordinator's status comes from (cni-coordinator.md §D.2): the cluster's pod and
// service CIDRs, read from kubeadm's ConfigMap or kube-controller-manager's flags, the overlay pod
// CIDR from the CNI the cluster runs on, the service CIDR from the ServiceCIDRs where they are served. Pure: the controller reads the sources and hands
// them over; what is missing becomes a NotReady reason that says what to fix.
import { parse as parseYAML } from 'yaml'
import { parseCIDR } from '../../ipam/ip.ts'
import { podCIDRTypes } from '../coordinatorspec/validate.ts'

export type PodCIDRType = (typeof podCIDRTypes)[number]

export interface CoordinatorStatus {
  phase: 'Synced' | 'NotReady'
  reason?: string
  overlayPodCIDR: string[]
  serviceCIDR: string[]
}

interface Meta {
  name?: string
  creationTimestamp?: string
  deletionTimestamp?: string
}

export interface ConfigMapData {
  data?: Record<string, string>
}

/** A kube-controller-manager pod: the flags of its first container are read. */
export interface KubeControllerManagerPod {
  spec?: { containers?: { command?: string[]; args?: string[] }[] }
}

/** crd.projectcalico.org/v1 IPPool */
export interface CalicoIPPool {
  metadata?: Meta
  spec?: { cidr?: string; disabled?: boolean }
}

/** networking.k8s.io ServiceCIDR (v1, or v1beta1 where only that is served): the same fields in both */
export interface ServiceCIDR {
  metadata?: Meta
  spec?: { cidrs?: string[] }
}

/** Calico's IPPools as the controller could read them. */
export type CalicoIPPools = CalicoIPPool[] | { notServed: true } | { error: string }

/** cilium.io/v2alpha1 CiliumPodIPPool */
export interface CiliumPodIPPool {
  metadata?: Meta
  spec?: { ipv4?: { cidrs?: string[] }; ipv6?: { cidrs?: string[] } }
}

/** The CNI config directory as the controller found it; only the default network's file is read. */
export type CNIConfigDirectory = { missing: true } | { error: string } | { file?: { name: string; text: string } }

export interface CIDRSources {
  podCIDRType: string | undefined
  /** read only for `auto` */
  cniConfigDirectory?: CNIConfigDirectory
  /** kube-system/kubeadm-config */
  kubeadmConfig?: ConfigMapData
  /** pods labelled component=kube-controller-manager, in list order */
  kubeControllerManagers: KubeControllerManagerPod[] | { error: string }
  /** read only for `calico` */
  calicoIPPools: CalicoIPPools
  /** kube-system/cilium-config */
  ciliumConfig?: ConfigMapData
  ciliumPodIPPools: CiliumPodIPPool[]
  /** undefined where the ServiceCIDR API cannot be listed (not served, or refused) */
  serviceCIDRs?: ServiceCIDR[]
  /** the status' serviceCIDR now: a failed read of Calico's pools leaves it as it is */
  statusServiceCIDR?: string[]
}

/** The one SpiderCoordinator the controller keeps and the agent reads (Spiderpool's SPIDERPOOL_COORDINATOR_DEFAULT_NAME). */
export const defaultCoordinatorName = 'default'
export const kubeadmConfigName = 'kubeadm-config'
export const ciliumConfigName = 'cilium-config'
export const sourcesNamespace = 'kube-system'

const kubeadmRemedy =
  `create the ConfigMap ${sourcesNamespace}/${kubeadmConfigName} with the cluster's subnets in data.ClusterConfiguration ` +
  `("networking:\\n  podSubnet: <pod CIDR>\\n  serviceSubnet: <service CIDR>"), e.g. kubectl apply -f kubeadm-config.yaml`

const notReady = (reason: string): CoordinatorStatus => ({ phase: 'NotReady', reason, overlayPodCIDR: [], serviceCIDR: [] })

/** The multus config is Multus' own, never the cluster's default network. */
export function defaultCNIConfigFile(names: readonly string[]): string | undefined {
  return names.filter((n) => (n.endsWith('.conf') || n.endsWith('.conflist')) && !n.includes('00-multus')).sort()[0]
}

/** `auto`: the default network's CNI config names the CNI, and so where the pod CIDR is found. */
export function podCIDRTypeOfCNIConfigs(dir: CNIConfigDirectory): { type: Exclude<PodCIDRType, 'auto'>; error?: undefined } | { type?: undefined; error: string } {
  // Deliberate difference: with no directory at all this server sees no node's CNI (the local
  // default, or no host mount), so the cluster's own pod CIDR stands in; Spiderpool says none.
  if ('missing' in dir) return { type: 'cluster' }
  if ('error' in dir) return { error: dir.error }
  if (!dir.file) return { type: 'none' }
  let name: unknown
  try {
    name = (JSON.parse(dir.file.text) as { name?: unknown } | null)?.name
  } catch (e) {
    return { error: `error loading CNI config file ${dir.file.name}: ${(e as Error).message}` }
  }
  switch (name) {
    case 'calico':
    case 'k8s-pod-network':
      return { type: 'calico' }
    case 'cilium':
      return { type: 'cilium' }
    case 'flannel':
      return { type: 'cluster' }
    default:
      return { type: 'none' }
  }
}

/** Go's net.ParseCIDR accepts these; anything else in a list is skipped. */
const validCIDRs = (items: readonly string[]): string[] => items.map((s) => s.trim()).filter((s) => s !== '' && parseCIDR(s) !== undefined)
const commaList = (text: unknown): string[] => (typeof text === 'string' ? validCIDRs(text.split(',')) : [])

/** networking.podSubnet and serviceSubnet of kubeadm's ClusterConfiguration (comma lists for dual stack). */
export function cidrsOfKubeadmConfig(cm: ConfigMapData | undefined): { pod: string[]; service: string[] } {
  const text = cm?.data?.ClusterConfiguration
  if (typeof text !== 'string') return { pod: [], service: [] }
  let doc: unknown
  try {
    doc = parseYAML(text)
  } catch {
    return { pod: [], service: [] }
  }
  const networking = (doc as { networking?: { podSubnet?: unknown; serviceSubnet?: unknown } } | null)?.networking
  return { pod: commaList(networking?.podSubnet), service: commaList(networking?.serviceSubnet) }
}

/** `--cluster-cidr` and `--service-cluster-ip-range` of the first container, command before args. */
export function cidrsOfKubeControllerManager(pod: KubeControllerManagerPod): { pod: string[]; service: string[] } {
  const container = pod.spec?.containers?.[0]
  const words = [...(container?.command ?? []), ...(container?.args ?? [])]
  const flag = (name: string) => {
    const word = words.find((w) => w.includes(`${name}=`))
    return word === undefined ? [] : commaList(word.slice(word.indexOf(`${name}=`) + name.length + 1))
  }
  return { pod: flag('--cluster-cidr'), service: flag('--service-cluster-ip-range') }
}

const byCreation = <T extends { metadata?: Meta }>(items: readonly T[]): T[] =>
  items
    .filter((o) => !o.metadata?.deletionTimestamp)
    .sort((a, b) => {
      const x = a.metadata?.creationTimestamp ?? ''
      const y = b.metadata?.creationTimestamp ?? ''
      if (x !== y) return x < y ? -1 : 1
      return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1
    })

const calicoIPPoolAPI = 'crd.projectcalico.org/v1 ippools'
const calicoRemedy = 'install Calico (its CRD ippools.crd.projectcalico.org), or set spec.podCIDRType to what the cluster runs'

/** Why Calico's pools give no pod CIDR, in words an operator can act on. */
export function calicoIPPoolsProblem(pools: Exclude<CalicoIPPools, CalicoIPPool[]>): string {
  if ('notServed' in pools) return `the Calico IPPool API (${calicoIPPoolAPI}) is not served: ${calicoRemedy}`
  return `the Calico IPPools (${calicoIPPoolAPI}) cannot be listed: ${pools.error}`
}

/** spec.cidrs of the ServiceCIDRs, oldest first; those being deleted no longer count. */
export const cidrsOfServiceCIDRs = (items: readonly ServiceCIDR[]): string[] =>
  byCreation(items).flatMap((c) => (Array.isArray(c.spec?.cidrs) ? c.spec.cidrs.filter((x) => typeof x === 'string') : []))

/** Enabled Calico IPPools, oldest first. */
export const cidrsOfCalicoIPPools = (pools: readonly CalicoIPPool[]): string[] =>
  byCreation(pools)
    .filter((p) => p.spec?.disabled !== true && typeof p.spec?.cidr === 'string')
    .map((p) => p.spec!.cidr!)

/** Cilium's pod CIDR by its IPAM mode; the `kubernetes` mode uses the cluster's own. */
export function cidrsOfCilium(config: ConfigMapData | undefined, pools: readonly CiliumPodIPPool[], kubernetesPodCIDR: string[]): { cidrs: string[]; error?: undefined } | { cidrs?: undefined; error: string } {
  if (!config) return { error: `the ConfigMap ${sourcesNamespace}/${ciliumConfigName} was not found: install Cilium first, or set spec.podCIDRType to what the cluster runs` }
  const data = config.data ?? {}
  const ipam = data.ipam ?? ''
  switch (ipam) {
    case 'cluster-pool':
    case 'cluster-pool-v2beta': {
      const cidrs: string[] = []
      for (const key of ['cluster-pool-ipv4-cidr', 'cluster-pool-ipv6-cidr']) {
        if (data[key] === undefined) continue
        // Cilium takes several CIDRs separated by spaces; Spiderpool takes one (and the IPv6 one untrimmed)
        for (const cidr of data[key].split(/[\s,]+/).filter((s) => s !== '')) {
          if (!parseCIDR(cidr)) return { error: `invalid CIDR address ${JSON.stringify(cidr)} in ${key} of the ConfigMap ${sourcesNamespace}/${ciliumConfigName}` }
          cidrs.push(cidr)
        }
      }
      return { cidrs }
    }
    case 'multi-pool': {
      const cidrs = byCreation(pools).flatMap((p) => [...(p.spec?.ipv4?.cidrs ?? []), ...(p.spec?.ipv6?.cidrs ?? [])])
      if (cidrs.length === 0) return { error: 'Cilium runs in multi-pool IPAM mode but no CiliumPodIPPool was found: create its pools, or set spec.podCIDRType to what the cluster runs' }
      return { cidrs }
    }
    case 'kubernetes':
      return { cidrs: kubernetesPodCIDR }
    default:
      return { error: `unsupported Cilium IPAM mode: ${ipam} (supported: cluster-pool, cluster-pool-v2beta, multi-pool, kubernetes)` }
  }
}

/** The status the SpiderCoordinator should have, given what the cluster shows now. */
export function discoverCoordinatorStatus(s: CIDRSources): CoordinatorStatus {
  let type = s.podCIDRType
  if (type === 'auto') {
    const resolved = podCIDRTypeOfCNIConfigs(s.cniConfigDirectory ?? { missing: true })
    if (resolved.error !== undefined) return notReady(`the CNI config directory tells no default CNI (${resolved.error}): fix the file, or set spec.podCIDRType to cluster, calico, cilium or none`)
    type = resolved.type
  }
  if (!(podCIDRTypes as readonly unknown[]).includes(type)) return notReady(`unsupported spec.podCIDRType ${JSON.stringify(type ?? '')}: set one of ${podCIDRTypes.join(', ')}`)

  let kubernetes = cidrsOfKubeadmConfig(s.kubeadmConfig)
  if (kubernetes.pod.length === 0 || kubernetes.service.length === 0) {
    const kcm = s.kubeControllerManagers
    if (!Array.isArray(kcm)) return notReady(`listing the kube-controller-manager pods failed (${kcm.error}); ${kubeadmRemedy}`)
    const from = s.kubeadmConfig ? `the ConfigMap ${sourcesNamespace}/${kubeadmConfigName} gives no podSubnet and serviceSubnet` : `there is no ConfigMap ${sourcesNamespace}/${kubeadmConfigName}`
    if (kcm.length === 0) return notReady(`No kube-controller-manager pod found, unable to get clusterCIDR, and ${from}: ${kubeadmRemedy}`)
    kubernetes = cidrsOfKubeControllerManager(kcm[0])
  }

  let overlayPodCIDR: string[]
  switch (type) {
    case 'cluster':
      overlayPodCIDR = kubernetes.pod
      break
    case 'calico':
      // NotReady as Spiderpool on a failed list, its serviceCIDR as it was
      if (!Array.isArray(s.calicoIPPools)) return { ...notReady(calicoIPPoolsProblem(s.calicoIPPools)), serviceCIDR: s.statusServiceCIDR ?? [] }
      overlayPodCIDR = cidrsOfCalicoIPPools(s.calicoIPPools)
      break
    case 'cilium': {
      const cilium = cidrsOfCilium(s.ciliumConfig, s.ciliumPodIPPools, kubernetes.pod)
      if (cilium.error !== undefined) return notReady(cilium.error)
      overlayPodCIDR = cilium.cidrs
      break
    }
    default:
      overlayPodCIDR = []
  }
  // A listable ServiceCIDR API is the source even when it lists none, as in Spiderpool: a real
  // cluster always has the `kubernetes` one, made by kube-apiserver from --service-cluster-ip-range.
  const serviceCIDR = s.serviceCIDRs ? cidrsOfServiceCIDRs(s.serviceCIDRs) : kubernetes.service
  return { phase: 'Synced', overlayPodCIDR, serviceCIDR }
}

/** Equal as stored: a status write that changes nothing is not made. */
export function sameStatus(a: { phase?: string; reason?: string; overlayPodCIDR?: unknown; serviceCIDR?: unknown } | undefined, b: CoordinatorStatus): boolean {
  const list = (x: unknown) => JSON.stringify(Array.isArray(x) ? x : [])
  return a?.phase === b.phase && (a.reason ?? '') === (b.reason ?? '') && list(a.overlayPodCIDR) === list(b.overlayPodCIDR) && list(a.serviceCIDR) === list(b.serviceCIDR)
}
