// Multus as kubelet calls it for one pod: eth0 from the cluster's default network (or the NAD
// named by `v1.multus-cni.io/default-network`), then net1, net2, … from the NADs listed in
// `k8s.v1.cni.cncf.io/networks`, each NAD's `spec.config` run as a network list; DEL in reverse.
import { addNetworkList, delNetworkList, type NetworkList, type RunOptions } from './cni-runtime.ts'
import type { PodSandbox } from './topology.ts'

export const defaultNetworkAnnotation = 'v1.multus-cni.io/default-network'
export const networksAnnotation = 'k8s.v1.cni.cncf.io/networks'
export const networkStatusAnnotation = 'k8s.v1.cni.cncf.io/network-status'

export interface NetworkRef {
  namespace: string
  name: string
  interface?: string
}

/** `name`, `ns/name`, `name@if` in a comma list, or Multus's JSON list of {name, namespace, interface}. */
export function parseNetworks(text: string, podNamespace: string): NetworkRef[] {
  const trimmed = text.trim()
  if (trimmed.startsWith('[')) {
    return (JSON.parse(trimmed) as Array<{ name: string; namespace?: string; interface?: string }>).map((n) => ({ namespace: n.namespace || podNamespace, name: n.name, interface: n.interface }))
  }
  return trimmed
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [ref, iface] = s.split('@')
      const [namespace, name] = ref.includes('/') ? ref.split('/') : [podNamespace, ref]
      return { namespace, name, interface: iface }
    })
}

export interface Attachment {
  ifName: string
  /** `ns/name` of the NAD, or the default network's name */
  network: string
  list: NetworkList
  result?: Record<string, unknown>
}

export interface MultusOptions {
  /** the node's default network (its CNI config directory's first file) */
  clusterNetwork?: NetworkList
  /** reads a NetworkAttachmentDefinition from the API */
  readNAD(namespace: string, name: string): Promise<{ spec?: { config?: string } }>
  /** the CNI kubeconfig our plugins use on this node (install-cni writes it on a real one) */
  kubeconfig: string
  cni: RunOptions
}

/** A NAD's config as a network list; a single-plugin config becomes a list of one. */
export function networkListOf(config: string): NetworkList {
  const c = JSON.parse(config) as Record<string, unknown>
  if (Array.isArray(c.plugins)) return c as unknown as NetworkList
  const { cniVersion, name, ...plugin } = c
  return { cniVersion: cniVersion as string, name: name as string, plugins: [plugin as NetworkList['plugins'][number]] }
}

/** Our plugins read the API with the node's CNI kubeconfig: named in their config, as the installer's default path would be. */
function withKubeconfig(list: NetworkList, kubeconfig: string): NetworkList {
  return {
    ...list,
    plugins: list.plugins.map((p) => {
      const ipam = p.ipam as Record<string, unknown> | undefined
      if (p.type === 'coordinator') return { ...p, kubeconfig }
      if (ipam?.type === 'spiderpool') return { ...p, ipam: { ...ipam, kubeconfig } }
      return p
    }),
  }
}

/** What Multus would attach to this pod, in order. */
export async function attachmentsOf(annotations: Record<string, string>, podNamespace: string, o: MultusOptions): Promise<Attachment[]> {
  const nad = async (ref: NetworkRef) => {
    const obj = await o.readNAD(ref.namespace, ref.name)
    if (!obj.spec?.config) throw new Error(`NetworkAttachmentDefinition ${ref.namespace}/${ref.name} has no spec.config`)
    return withKubeconfig(networkListOf(obj.spec.config), o.kubeconfig)
  }
  const out: Attachment[] = []
  const defaultRef = annotations[defaultNetworkAnnotation]
  if (defaultRef) {
    const ref = parseNetworks(defaultRef, podNamespace)[0]
    out.push({ ifName: 'eth0', network: `${ref.namespace}/${ref.name}`, list: await nad(ref) })
  } else {
    if (!o.clusterNetwork) throw new Error('the pod names no default network and the node has none')
    out.push({ ifName: 'eth0', network: o.clusterNetwork.name, list: o.clusterNetwork })
  }
  const extra = annotations[networksAnnotation] ? parseNetworks(annotations[networksAnnotation], podNamespace) : []
  for (const [i, ref] of extra.entries()) out.push({ ifName: ref.interface ?? `net${i + 1}`, network: `${ref.namespace}/${ref.name}`, list: await nad(ref) })
  return out
}

/** The runtime runs the plugins in the node's namespace. */
const sandboxOf = (pod: PodSandbox) => ({ name: pod.name, netns: pod.netns, containerId: pod.containerId, node: { name: pod.node.netns } })

/** ADD of every attachment in order; each gets its result. */
export async function addAll(pod: PodSandbox, podUid: string, attachments: Attachment[], cni: RunOptions): Promise<void> {
  for (const a of attachments) a.result = await addNetworkList(a.list, { pod: sandboxOf(pod), ifName: a.ifName, podNamespace: pod.namespace, podUid }, cni)
}

/** DEL of every attachment in reverse order, each with its cached result; all run, the first failure is thrown. */
export async function delAll(pod: PodSandbox, podUid: string, attachments: Attachment[], cni: RunOptions): Promise<void> {
  let first: unknown
  for (const a of [...attachments].reverse()) {
    await delNetworkList(a.list, { pod: sandboxOf(pod), ifName: a.ifName, podNamespace: pod.namespace, podUid }, cni, a.result).catch((err) => (first ??= err))
  }
  if (first) throw first
}

/** Multus's network-status annotation: one entry per attachment, the default one first. */
export function networkStatus(attachments: Attachment[]): string {
  return JSON.stringify(
    attachments.map((a, i) => {
      const result = a.result as { ips?: Array<{ address: string }>; interfaces?: Array<{ name: string; mac?: string; sandbox?: string }> } | undefined
      const iface = result?.interfaces?.find((x) => x.name === a.ifName && x.sandbox)
      return { name: a.network, interface: a.ifName, ips: (result?.ips ?? []).map((x) => x.address.split('/')[0]), mac: iface?.mac, default: i === 0, dns: {} }
    }),
  )
}
