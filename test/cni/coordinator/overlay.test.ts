// Overlay end to end: Debian's ptp + host-local plays Calico as eth0 (a veth to the node), macvlan
// is net1, chained with the coordinator in auto mode; as Multus runs them: eth0's network first,
// then net1's, DEL in the reverse order with the cached results.
import path from 'node:path'
import t from 'tap'
import { coordinatorPath, podPath, startApi } from '../harness/api.ts'
import { createCluster, missingRequirements, pings, routerIPv4 } from '../harness/cluster.ts'
import type { Node, Pod } from '../harness/cluster.ts'
import { hostLocal, macvlanNetwork, ptpNetwork } from '../harness/networks.ts'
import { addNetworkList, checkNetworkList, delNetworkList, pluginDirectory } from '../harness/runtime.ts'
import type { NetworkList } from '../harness/runtime.ts'
import { nodeState, routeLines, ruleLines } from '../harness/state.ts'
import type { NodeState } from '../harness/state.ts'

const missing = missingRequirements(['ip', 'nsenter', 'ping'])
if (missing) t.plan(0, missing)
else await main()

async function main() {
  const cluster = await createCluster({ nodes: 2 })
  t.teardown(() => cluster.teardown())
  const spiderCoordinator = {
    metadata: { name: 'default' },
    spec: { mode: 'auto', podCIDRType: 'calico', tunePodRoutes: true, hostRuleTable: 500, podRPFilter: 0, hijackCIDR: [] },
    status: { phase: 'Synced', serviceCIDR: ['10.233.0.0/18'], overlayPodCIDR: ['10.233.64.0/18'] },
  }
  const objects: Record<string, unknown> = { [coordinatorPath]: spiderCoordinator }
  const api = await startApi(cluster, objects)
  t.teardown(() => api.stop())
  const cniPath = pluginDirectory(path.join(cluster.dir, 'bin'))
  const [node1, node2] = cluster.nodes

  // Calico-like: a /24 of the pod CIDR per node, the pod's routes via the node end of its veth.
  const calico = (n: Node) => ptpNetwork({ ipam: hostLocal(path.join(cluster.dir, `calico-${n.name}`), [[{ subnet: `10.233.${64 + n.index}.0/24` }]], [{ dst: '0.0.0.0/0' }]) })
  const underlay = (n: Node) =>
    macvlanNetwork({
      cniVersion: '1.0.0',
      ipam: hostLocal(path.join(cluster.dir, `macvlan-${n.name}`), [[{ subnet: '10.6.0.0/16', rangeStart: `10.6.${n.index}.10`, rangeEnd: `10.6.${n.index}.50`, gateway: routerIPv4 }]], [{ dst: '0.0.0.0/0' }]),
      coordinator: { kubeconfig: api.kubeconfig },
    })

  interface Running {
    pod: Pod
    nets: Array<{ list: NetworkList; ifName: string; result: Record<string, unknown> }>
    eth0: string
    gateway: string
    net1: string
  }
  const start = async (node: Node, name: string, annotations: Record<string, string> = {}): Promise<Running> => {
    objects[podPath('default', name)] = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', annotations } }
    api.serve(objects)
    const pod = await cluster.addPod(node, name)
    const nets: Running['nets'] = []
    for (const [list, ifName] of [[calico(node), 'eth0'], [underlay(node), 'net1']] as const) nets.push({ list, ifName, result: await addNetworkList(list, { pod, ifName }, { cniPath }) })
    const ip = (i: number) => (nets[i].result.ips as Array<{ address: string; gateway?: string }>)[0]
    return { pod, nets, eth0: ip(0).address.split('/')[0], gateway: ip(0).gateway!, net1: ip(1).address.split('/')[0] }
  }
  const stop = async (r: Running) => {
    for (const n of [...r.nets].reverse()) await delNetworkList(n.list, { pod: r.pod, ifName: n.ifName }, { cniPath }, n.result)
  }
  const withoutSharedRule = (s: NodeState) => ({ ...s, rules: s.rules.filter((r) => !((r as { priority: number }).priority === 1000 && (r as { table: string }).table === '500')) })

  t.test('overlay, default route on eth0: table 100 for eth0, 101 for net1 (§B.12), pods and nodes reach each other, DEL leaves nothing', async (t) => {
    const before = await nodeState(node1.name)
    const a = await start(node1, 'calico-a')
    const c = await start(node2, 'calico-c')
    // ptp's node end carries the gateway address, so the node answers `ip route get <eth0 IP>` with it:
    // it plays Calico's 169.254.1.1 and is the first node address, the one the CIDRs are routed through.
    const { eth0: e, gateway: g, net1: m } = a
    const n = node1.ipv4
    t.strictSame(await ruleLines(a.pod.netnsName, 4), ['0: from all lookup local', `32764: from ${e} lookup 100`, `32765: from ${m} lookup 101`, '32766: from all lookup main', '32767: from all lookup default'])
    t.strictSame(
      await routeLines(a.pod.netnsName, 4),
      [
        `default via ${g} dev eth0`,
        `${g} dev eth0 scope link src ${e}`,
        `10.233.65.0/24 via ${g} dev eth0 src ${e}`,
        `10.6.0.0/16 dev net1 proto kernel scope link src ${m}`,
        `${n} dev eth0 scope link src ${e}`,
        `10.233.64.0/18 via ${g} dev eth0 src ${e}`,
        `10.233.0.0/18 via ${g} dev eth0 src ${e}`,
      ].sort(),
    )
    t.strictSame(await routeLines(a.pod.netnsName, 4, 100), [`default via ${g} dev eth0`])
    t.strictSame(
      await routeLines(a.pod.netnsName, 4, 101),
      [`${g} dev eth0 scope link src ${e}`, `${n} dev eth0 scope link src ${e}`, `default via ${routerIPv4} dev net1`, `10.6.0.0/16 dev net1 scope link src ${m}`].sort(),
    )
    const calicoEnd = (await cluster.run(node1.name, 'ip', '-o', 'route', 'get', e)).match(/dev (\S+)/)![1]
    t.strictSame(await routeLines(node1.name, 4, 500), [`${m} dev ${calicoEnd} scope link`])
    t.match(await cluster.run(node1.name, 'ip', 'neigh', 'show', m), new RegExp(`${m.replaceAll('.', '\\.')} dev ${calicoEnd} lladdr \\S+ PERMANENT`))

    t.ok(await pings(a.pod.netnsName, c.net1), 'net1 → net1 on the other node')
    t.ok(await pings(c.pod.netnsName, a.net1), 'and back')
    t.ok(await pings(a.pod.netnsName, n), 'pod → its node, through eth0')
    t.ok(await pings(node1.name, m), "node → the pod's net1 address, through table 500 and eth0")
    t.ok(await pings(a.pod.netnsName, node2.ipv4), 'pod → the other node')
    await t.resolves(checkNetworkList(a.nets[1].list, { pod: a.pod, ifName: 'net1' }, { cniPath }, a.nets[1].result), 'CHECK finds everything in place')

    await stop(a)
    await stop(c)
    t.strictSame(withoutSharedRule(await nodeState(node1.name)), withoutSharedRule(before), 'node1 is as before')
  })

  t.test('overlay with the default-route-nic annotation on net1: eth0 routes move to table 101, net1 keeps the default route', async (t) => {
    const a = await start(node1, 'calico-b', { 'ipam.spidernet.io/default-route-nic': 'net1' })
    const { eth0: e, gateway: g, net1: m } = a
    const n = node1.ipv4
    t.strictSame(await ruleLines(a.pod.netnsName, 4), ['0: from all lookup local', `32765: from ${e} lookup 101`, '32766: from all lookup main', '32767: from all lookup default'])
    t.strictSame(
      await routeLines(a.pod.netnsName, 4),
      [
        `default via ${routerIPv4} dev net1`,
        `10.6.0.0/16 dev net1 proto kernel scope link src ${m}`,
        `${g} dev eth0 scope link src ${e}`,
        `10.233.65.0/24 via ${g} dev eth0 src ${e}`,
        `${n} dev eth0 scope link src ${e}`,
        `10.233.64.0/18 via ${g} dev eth0 src ${e}`,
        `10.233.0.0/18 via ${g} dev eth0 src ${e}`,
      ].sort(),
    )
    t.strictSame(
      await routeLines(a.pod.netnsName, 4, 101),
      [
        `${g} dev eth0 scope link src ${e}`,
        `${n} dev eth0 scope link src ${e}`,
        `default via ${g} dev eth0`,
        `10.233.65.0/24 via ${g} dev eth0 src ${e}`,
        `10.233.64.0/18 via ${g} dev eth0 src ${e}`,
        `10.233.0.0/18 via ${g} dev eth0 src ${e}`,
      ].sort(),
    )
    t.strictSame(await routeLines(a.pod.netnsName, 4, 100), [], 'no table 100 in this case')
    t.ok(await pings(a.pod.netnsName, routerIPv4), 'the default route leaves through net1')
    t.ok(await pings(a.pod.netnsName, n), 'pod → its node, through eth0')
    await stop(a)
  })
}
