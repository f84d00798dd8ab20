// A small L2 "cluster" in network namespaces: a switch (a bridge in its own namespace), a router
// at 10.6.0.1 / fd00:6::1, and nodes with an `ens192` plugged into the switch. Namespaces cannot
// nest, so a node's pods are namespaces named `<node>-<pod>` whose host-side links live in the
// node's namespace, as on a real node. Every name carries a random prefix; teardown removes all.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { inNetns, ip, settled } from '../../../demo/shell.ts'

export { inNetns, ip, missingRequirements, pings, settled, sh } from '../../../demo/shell.ts'

export const routerIPv4 = '10.6.0.1'
export const routerIPv6 = 'fd00:6::1'
export const underlaySubnet4 = '10.6.0.0/16'
export const underlaySubnet6 = 'fd00:6::/64'

export interface Node {
  /** namespace name */
  name: string
  /** the node's address on ens192 */
  ipv4: string
  ipv6: string
  index: number
}

export interface Pod {
  name: string
  node: Node
  /** namespace name and path (CNI_NETNS) */
  netnsName: string
  netns: string
  containerId: string
}

export interface Cluster {
  id: string
  switchNs: string
  router: string
  nodes: Node[]
  /** a private directory, removed on teardown */
  dir: string
  addPod(node: Node, name: string): Promise<Pod>
  /** Deletes the pod's namespace, as the runtime does when the sandbox goes. */
  removePod(pod: Pod): Promise<void>
  /** Runs a program inside a namespace of the cluster. */
  run(netns: string, file: string, ...args: string[]): Promise<string>
  teardown(): Promise<void>
}

export async function createCluster(options: { nodes: number }): Promise<Cluster> {
  const id = `cz${randomBytes(3).toString('hex')}`
  const created: string[] = []
  const dir = mkdtempSync(path.join(tmpdir(), `${id}-`))
  const addNetns = async (name: string) => {
    await ip('netns', 'add', name)
    created.push(name)
    await ip('-n', name, 'link', 'set', 'lo', 'up')
  }
  const cluster: Cluster = {
    id,
    switchNs: `${id}-sw`,
    router: `${id}-router`,
    nodes: [],
    dir,
    async addPod(node, name) {
      const netnsName = `${node.name}-${name}`
      await addNetns(netnsName)
      return { name, node, netnsName, netns: `/var/run/netns/${netnsName}`, containerId: randomBytes(32).toString('hex') }
    },
    async removePod(pod) {
      await ip('netns', 'del', pod.netnsName)
      created.splice(created.indexOf(pod.netnsName), 1)
    },
    run: (netns, file, ...args) => inNetns(netns, file, ...args),
    async teardown() {
      for (const name of created.reverse()) await ip('netns', 'del', name).catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    await addNetns(cluster.switchNs)
    await ip('-n', cluster.switchNs, 'link', 'add', 'br0', 'type', 'bridge')
    await ip('-n', cluster.switchNs, 'link', 'set', 'br0', 'up')
    const plug = async (netns: string, port: string, nic: string, v4: string, v6: string) => {
      await ip('-n', cluster.switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', nic, 'netns', netns)
      await ip('-n', cluster.switchNs, 'link', 'set', port, 'master', 'br0', 'up')
      await ip('-n', netns, 'link', 'set', nic, 'up')
      await ip('-n', netns, 'addr', 'add', `${v4}/16`, 'dev', nic)
      await ip('-n', netns, '-6', 'addr', 'add', `${v6}/64`, 'dev', nic, 'nodad')
    }
    await addNetns(cluster.router)
    await plug(cluster.router, 'router', 'eth0', routerIPv4, routerIPv6)
    for (let i = 1; i <= options.nodes; i++) {
      const node: Node = { name: `${id}-node${i}`, ipv4: `10.6.0.${10 + i}`, ipv6: `fd00:6::${10 + i}`, index: i }
      await addNetns(node.name)
      await plug(node.name, `node${i}`, 'ens192', node.ipv4, node.ipv6)
      await ip('-n', node.name, 'route', 'add', 'default', 'via', routerIPv4)
      await ip('-n', node.name, '-6', 'route', 'add', 'default', 'via', routerIPv6)
      cluster.nodes.push(node)
    }
    for (const netns of [cluster.router, ...cluster.nodes.map((n) => n.name)]) await settled(netns)
  } catch (err) {
    await cluster.teardown()
    throw err
  }
  return cluster
}

