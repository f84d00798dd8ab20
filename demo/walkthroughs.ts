// The four quick starts: which manifests each applies, the machines it assumes (the NIC the
// macvlan master names, the segment and its gateway as in the pools), the default CNI the nodes
// run (Calico or Cilium, played by Debian's ptp + host-local as eth0), and what it installs
// Spiderpool with (helm values that end up in the SpiderCoordinator).
import type { TopologySpec } from './topology.ts'

export interface Walkthrough {
  id: string
  title: string
  /** the quick-start document in ../shared/reference/seeds */
  seed: string
  /** files of ../shared/reference/examples, applied in this order */
  manifests: string[]
  /** `helm install … --set coordinator.<key>=…` as a SpiderCoordinator spec patch */
  coordinator?: Record<string, unknown>
  /** the nodes' default CNI; none when the pods name their default network */
  defaultCNI?: { name: 'k8s-pod-network' | 'cilium'; plays: string }
  nic: string
  /** first two octets of the segment (x.y.0.0/16, gateway x.y.0.1) */
  segment: string
}

export const nodeNames = ['controller', 'worker01']
/** The walkthroughs' north-south target, behind the router on another subnet. */
export const outsideAddress = '10.7.212.101'

export const walkthroughs: Walkthrough[] = [
  {
    id: 'calico-overlay',
    title: 'Calico as the default CNI, macvlan on ens192 as the second NIC net1 (coordinator overlay)',
    seed: '003_b76aa85910fc0655.txt',
    manifests: ['kubeadm-config.yaml', 'calico-overlay.yaml'],
    defaultCNI: { name: 'k8s-pod-network', plays: 'Calico' },
    nic: 'ens192',
    segment: '10.6',
  },
  {
    id: 'cilium-overlay',
    title: 'Cilium as the default CNI, macvlan net1 keeps the default route (ipam.spidernet.io/default-route-nic: net1)',
    seed: '001_552f7ccb6e6282e3.txt',
    manifests: ['kubeadm-config.yaml', 'cilium-overlay.yaml'],
    coordinator: { mode: 'overlay' },
    defaultCNI: { name: 'cilium', plays: 'Cilium' },
    nic: 'ens192',
    segment: '10.6',
  },
  {
    id: 'macvlan-underlay',
    title: 'macvlan as the only CNI: fixed IPs from ippool-test, the node NIC is eth0',
    seed: '002_ab452d7f140efdff.txt',
    manifests: ['kubeadm-config.yaml', 'macvlan-underlay.yaml'],
    nic: 'eth0',
    segment: '172.18',
  },
  {
    id: 'cilium-kpr-underlay',
    title: 'macvlan underlay where Cilium replaces kube-proxy (coordinator podCIDRType none)',
    seed: '004_8dd2b8205498ba13.txt',
    manifests: ['kubeadm-config.yaml', 'cilium-kpr-underlay.yaml'],
    coordinator: { podCIDRType: 'none' },
    nic: 'ens192',
    segment: '172.81',
  },
]

/** The default CNI's pod subnet on the i-th node (inside the cluster's 10.233.64.0/18). */
export const podSubnetOf = (i: number) => `10.233.${65 + i}.0/24`

export function topologyOf(w: Walkthrough, prefix: string): TopologySpec {
  return {
    prefix,
    nic: w.nic,
    subnet: `${w.segment}.0.0/16`,
    gateway: `${w.segment}.0.1`,
    nodes: nodeNames.map((name, i) => ({ name, address: `${w.segment}.0.${11 + i}`, ...(w.defaultCNI ? { podSubnet: podSubnetOf(i) } : {}) })),
    outside: { address: outsideAddress, router: '10.7.0.1', prefixLength: 16 },
  }
}
