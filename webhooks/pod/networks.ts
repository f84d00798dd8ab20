// The pod's NICs as Multus will create them, and which of them ask Spiderpool for addresses.
// eth0 comes from `v1.multus-cni.io/default-network` (else Multus' cluster network), netN from
// `k8s.v1.cni.cncf.io/networks`. A NIC is Spiderpool's when its NetworkAttachmentDefinition's
// config has a plugin with `ipam.type: spiderpool`.
import { parseCIDR, parseIP } from '../../ipam/ip.ts'
import type { ClusterSnapshot } from '../cluster.ts'
import type { Settings } from '../settings.ts'
import { spiderpoolIPAMOf, type SpiderpoolIPAM } from './netconf.ts'
import { annotationsOf, type Pod } from './pod.ts'
import { isRefusal, refuse, type Refusal } from './refusal.ts'
import { isObject } from '../../ipam/json.ts'

export const defaultNetworkAnnotation = 'v1.multus-cni.io/default-network'
export const networksAnnotation = 'k8s.v1.cni.cncf.io/networks'
export const clusterDefaultInterface = 'eth0'

/** One element of a Multus network selection annotation. */
export interface NetworkSelection {
  namespace: string
  name: string
  /** the requested interface name, '' when none */
  interface: string
}

export type SelectionParse = { networks: NetworkSelection[]; error?: undefined } | { networks?: undefined; error: string }

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const macAddress = /^([0-9a-fA-F]{2}([:-]))(?:[0-9a-fA-F]{2}\2){4}[0-9a-fA-F]{2}$|^([0-9a-fA-F]{2}([:-]))(?:[0-9a-fA-F]{2}\4){6}[0-9a-fA-F]{2}$|^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$/

/** Linux interface names: shorter than 16 bytes, no `/`, no white space. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length > 15 || /[\s/]/.test(name)) {
    return `Failed to parse interface name: must be less than 15 chars and not contain '/' or spaces. interface name '${name}'`
  }
  return undefined
}

/**
 * Multus' parse of a network selection annotation (as Spiderpool's ParsePodNetworkAnnotation
 * does it): JSON when the trimmed text holds `[`, `{` or `"`, else a comma list of
 * `[namespace/]name[@interface]`; a missing namespace is `defaultNamespace`.
 */
export function parseNetworkSelection(text: string, defaultNamespace: string): SelectionParse {
  const prefix = 'parsePodNetworkAnnotation: '
  const networks: NetworkSelection[] = []
  if (/[[{"]/.test(text.trim())) {
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch (e) {
      return { error: `${prefix}failed to parse pod Network Attachment Selection Annotation JSON format: ${(e as Error).message}` }
    }
    if (!Array.isArray(doc)) return { error: `${prefix}failed to parse pod Network Attachment Selection Annotation JSON format: not a list of network selection elements` }
    for (const [i, element] of doc.entries()) {
      if (!isObject(element)) return { error: `${prefix}element ${i} is not a JSON object` }
      for (const key of ['name', 'namespace', 'interface', 'mac']) {
        if (element[key] !== undefined && element[key] !== null && typeof element[key] !== 'string') return { error: `${prefix}element ${i}: ${key} is not a string` }
      }
      const name = (element.name as string | undefined) ?? ''
      if (name === '') return { error: `${prefix}element ${i} has no name` }
      const iface = (element.interface as string | undefined) ?? ''
      const ifProblem = iface ? interfaceNameProblem(iface) : undefined
      if (ifProblem) return { error: `${prefix}${ifProblem}` }
      const mac = element.mac as string | undefined
      if (mac && !macAddress.test(mac)) return { error: `${prefix}failed to mac: address ${mac}: invalid MAC address` }
      const ips = element.ips ?? []
      if (!Array.isArray(ips) || ips.some((ip) => typeof ip !== 'string')) return { error: `${prefix}element ${i}: ips is not a list of strings` }
      for (const ip of ips as string[]) {
        if (ip.includes('/') ? !parseCIDR(ip) : !parseIP(ip)) return { error: ip.includes('/') ? `failed to parse CIDR "${ip}"` : `failed to parse IP address "${ip}"` }
      }
      networks.push({ namespace: (element.namespace as string | undefined) || defaultNamespace, name, interface: iface })
    }
    return { networks }
  }
  for (const raw of text.split(',')) {
    const item = raw.trim()
    const slash = item.split('/')
    if (slash.length > 2) return { error: `${prefix}parsePodNetworkObjectName: Invalid network object (failed at '/')` }
    const namespace = slash.length === 2 ? slash[0].trim() : ''
    const at = slash[slash.length - 1].split('@')
    if (at.length > 2) return { error: `${prefix}parsePodNetworkObjectName: Invalid network object (failed at '@')` }
    const name = at[0].trim()
    const iface = at.length === 2 ? at[1].trim() : ''
    for (const part of [namespace, name]) {
      if (part.length > 0 && !dns1123Label.test(part)) {
        return {
          error: `${prefix}parsePodNetworkObjectName: Failed to parse: one or more items did not match comma-delimited format (must consist of lower case alphanumeric characters). Must start and end with an alphanumeric character), mismatch @ '${part}'`,
        }
      }
    }
    if (name === '') return { error: `${prefix}parsePodNetworkObjectName: an item has no network name: '${item}'` }
    const ifProblem = iface ? interfaceNameProblem(iface) : undefined
    if (ifProblem) return { error: `${prefix}parsePodNetworkObjectName: ${ifProblem}` }
    networks.push({ namespace: namespace || defaultNamespace, name, interface: iface })
  }
  return { networks }
}

export interface PodNIC {
  /** `eth0`, `net1`, … */
  interface: string
  /** 0 for eth0, i+1 for the i-th element of `k8s.v1.cni.cncf.io/networks` */
  index: number
  /** the annotation (or setting) the NIC comes from, for messages */
  from: string
  /** its NetworkAttachmentDefinition; undefined for a cluster network that is not ours */
  network?: { namespace: string; name: string }
  /** set iff Spiderpool gives this NIC its addresses */
  ipam?: SpiderpoolIPAM
}

export const networkKey = (n: { namespace: string; name: string }): string => `${n.namespace}/${n.name}`

/** Every NIC of the pod in Multus' order, the Spiderpool ones carrying their IPAM section. */
export function podNICs(pod: Pod, namespace: string, settings: Settings, cluster: ClusterSnapshot): PodNIC[] | Refusal {
  const annotations = annotationsOf(pod)
  const nics: PodNIC[] = []

  const defaultNetwork = annotations[defaultNetworkAnnotation] ?? ''
  if (defaultNetwork.trim() !== '') {
    const parsed = parseNetworkSelection(defaultNetwork, settings.multusNamespace)
    if (parsed.error !== undefined) return refuse(`invalid annotation '${defaultNetworkAnnotation}': ${parsed.error}`)
    if (parsed.networks.length > 1) return refuse(`invalid annotation '${defaultNetworkAnnotation}': more than one default network is specified`)
    // `[]` names none; Multus indexes the first one and would crash
    if (parsed.networks.length === 0) return refuse(`invalid annotation '${defaultNetworkAnnotation}': no default network is specified`)
    const nic = withIPAM({ interface: clusterDefaultInterface, index: 0, from: `annotation '${defaultNetworkAnnotation}'`, network: parsed.networks[0] }, cluster)
    if (isRefusal(nic)) return nic
    nics.push(nic)
  } else if (settings.clusterNetwork !== '') {
    const parsed = parseNetworkSelection(settings.clusterNetwork, settings.multusNamespace)
    if (parsed.error !== undefined || parsed.networks.length !== 1) {
      return refuse(`the setting clusterNetwork ${JSON.stringify(settings.clusterNetwork)} does not name one NetworkAttachmentDefinition: ${parsed.error ?? 'more than one'}`)
    }
    const nic = withIPAM({ interface: clusterDefaultInterface, index: 0, from: 'the setting clusterNetwork', network: parsed.networks[0] }, cluster)
    if (isRefusal(nic)) return nic
    nics.push(nic)
  } else {
    nics.push({ interface: clusterDefaultInterface, index: 0, from: 'the cluster network' })
  }

  const additional = annotations[networksAnnotation] ?? ''
  if (additional.trim() !== '') {
    const parsed = parseNetworkSelection(additional, namespace)
    if (parsed.error !== undefined) return refuse(`invalid annotation '${networksAnnotation}': ${parsed.error}`)
    for (const [i, network] of parsed.networks.entries()) {
      const name = network.interface || `net${i + 1}`
      if (nics.some((n) => n.interface === name)) return refuse(`invalid annotation '${networksAnnotation}': interface ${name} is requested twice`)
      const nic = withIPAM({ interface: name, index: i + 1, from: `annotation '${networksAnnotation}'`, network: { namespace: network.namespace, name: network.name } }, cluster)
      if (isRefusal(nic)) return nic
      nics.push(nic)
    }
  }
  return nics
}

/** Looks the NIC's NetworkAttachmentDefinition up: missing or unreadable is refused now, as Multus would fail later. */
function withIPAM(nic: PodNIC, cluster: ClusterSnapshot): PodNIC | Refusal {
  const { namespace, name } = nic.network!
  const nad = cluster.networkAttachmentDefinition(namespace, name)
  if (!nad) return refuse(`NetworkAttachmentDefinition ${namespace}/${name} named by ${nic.from} does not exist`)
  const read = spiderpoolIPAMOf(nad.spec?.config)
  if (read.error !== undefined) return refuse(`NetworkAttachmentDefinition ${namespace}/${name} named by ${nic.from} has an invalid CNI config: ${read.error}`)
  return read.ipam ? { ...nic, network: { namespace, name }, ipam: read.ipam } : { ...nic, network: { namespace, name } }
}
