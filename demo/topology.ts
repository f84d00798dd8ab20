// The machines of a walkthrough, built in network namespaces: a switch (a bridge), a router on
// the nodes' segment in front of an "outside" host on another subnet, and the nodes, each with
// its NIC (`ens192`, or `eth0` in the macvlan-only walkthrough) plugged into the switch. Namespaces
// cannot nest, so a pod is a namespace `<prefix>-<node>-<pod>` whose host-side links live in its
// node's namespace, as on a real node. Every namespace name starts with `<prefix>-`, which is
// how a later run finds what an interrupted one left. Once `signal` is aborted no namespace is made
// any more, so that what the run tears down afterwards is all there is.
import { randomBytes } from 'node:crypto'
import { inNetns, ip, settled } from './shell.ts'

export interface NodeSpec {
  /** the Kubernetes node name, also the namespace's suffix */
  name: string
  /** the node's address on the segment */
  address: string
  /** the default CNI's (Calico's, Cilium's) pod subnet on this node, routed to it by the router as BGP would */
  podSubnet?: string
}

export interface TopologySpec {
  prefix: string
  /** the node NIC the walkthrough's macvlan master names */
  nic: string
  /** the segment, `10.6.0.0/16` */
  subnet: string
  /** the router's address on the segment: the pools' gateway */
  gateway: string
  nodes: NodeSpec[]
  /** an address behind the router, on another subnet (the walkthrough's north-south target) */
  outside: { address: string; router: string; prefixLength: number }
}

export interface NodeHost extends NodeSpec {
  netns: string
}

export interface PodSandbox {
  name: string
  namespace: string
  node: NodeHost
  netnsName: string
  /** CNI_NETNS */
  netns: string
  containerId: string
}

export interface Topology {
  spec: TopologySpec
  router: string
  outside: string
  nodes: NodeHost[]
  addPod(node: NodeHost, namespace: string, name: string): Promise<PodSandbox>
  removePod(pod: PodSandbox): Promise<void>
  /** Deletes every namespace it made, pods first. */
  teardown(): Promise<void>
}

const prefixLength = (cidr: string) => cidr.split('/')[1]

export async function buildTopology(spec: TopologySpec, signal?: AbortSignal): Promise<Topology> {
  const created: string[] = []
  const addNetns = async (name: string) => {
    signal?.throwIfAborted()
    await ip('netns', 'add', name)
    created.push(name)
    await ip('-n', name, 'link', 'set', 'lo', 'up')
  }
  const forward = (netns: string) => inNetns(netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1')
  const switchNs = `${spec.prefix}-switch`
  const topology: Topology = {
    spec,
    router: `${spec.prefix}-router`,
    outside: `${spec.prefix}-outside`,
    nodes: spec.nodes.map((n) => ({ ...n, netns: `${spec.prefix}-${n.name}` })),
    async addPod(node, namespace, name) {
      const netnsName = `${node.netns}-${name}`
      await addNetns(netnsName)
      return { name, namespace, node, netnsName, netns: `/var/run/netns/${netnsName}`, containerId: randomBytes(32).toString('hex') }
    },
    async removePod(pod) {
      await ip('netns', 'del', pod.netnsName).catch(() => {})
      if (created.includes(pod.netnsName)) created.splice(created.indexOf(pod.netnsName), 1)
    },
    async teardown() {
      for (const name of created.reverse()) await ip('netns', 'del', name).catch(() => {})
      created.length = 0
    },
  }
  try {
    await addNetns(switchNs)
    await ip('-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge')
    await ip('-n', switchNs, 'link', 'set', 'br0', 'up')
    const plug = async (netns: string, port: string, nic: string, address: string) => {
      await ip('-n', switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', nic, 'netns', netns)
      await ip('-n', switchNs, 'link', 'set', port, 'master', 'br0', 'up')
      await ip('-n', netns, 'link', 'set', nic, 'up')
      await ip('-n', netns, 'addr', 'add', `${address}/${prefixLength(spec.subnet)}`, 'dev', nic)
    }
    await addNetns(topology.router)
    await plug(topology.router, 'p-router', 'eth0', spec.gateway)
    await forward(topology.router)
    await addNetns(topology.outside)
    await ip('-n', topology.router, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', topology.outside)
    await ip('-n', topology.router, 'addr', 'add', `${spec.outside.router}/${spec.outside.prefixLength}`, 'dev', 'eth1')
    await ip('-n', topology.router, 'link', 'set', 'eth1', 'up')
    await ip('-n', topology.outside, 'addr', 'add', `${spec.outside.address}/${spec.outside.prefixLength}`, 'dev', 'eth0')
    await ip('-n', topology.outside, 'link', 'set', 'eth0', 'up')
    await ip('-n', topology.outside, 'route', 'add', 'default', 'via', spec.outside.router)
    for (const node of topology.nodes) {
      await addNetns(node.netns)
      await plug(node.netns, `p-${node.name}`.slice(0, 15), spec.nic, node.address)
      await ip('-n', node.netns, 'route', 'add', 'default', 'via', spec.gateway)
      await forward(node.netns)
      if (node.podSubnet) await ip('-n', topology.router, 'route', 'add', node.podSubnet, 'via', node.address)
    }
    for (const netns of [topology.router, ...topology.nodes.map((n) => n.netns)]) await settled(netns)
  } catch (err) {
    await topology.teardown()
    throw err
  }
  return topology
}
