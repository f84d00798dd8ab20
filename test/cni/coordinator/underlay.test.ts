// Underlay end to end: two nodes on one L2 switch, pods with a macvlan eth0 (Debian's macvlan and
// host-local standing in for our IPAM) chained with the coordinator, run as a runtime runs them.
import path from 'node:path'
import t from 'tap'
import { coordinatorPath, startApi } from '../harness/api.ts'
import { createCluster, missingRequirements, pings, routerIPv4, routerIPv6 } from '../harness/cluster.ts'
import type { Node, Pod } from '../harness/cluster.ts'
import { hostLocal, macvlanNetwork } from '../harness/networks.ts'
import { addNetworkList, checkNetworkList, delNetworkList, PluginError, pluginDirectory } from '../harness/runtime.ts'
import type { NetworkList } from '../harness/runtime.ts'
import { nodeState, routeLines, ruleLines } from '../harness/state.ts'
import type { NodeState } from '../harness/state.ts'

const missing = missingRequirements(['ip', 'nsenter', 'ping', 'iptables', 'ip6tables'])
if (missing) t.plan(0, missing)
else await main()

async function main() {
  const cluster = await createCluster({ nodes: 2 })
  t.teardown(() => cluster.teardown())
  const spiderCoordinator = {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderCoordinator',
    metadata: { name: 'default' },
    spec: { mode: 'auto', podCIDRType: 'cluster', tunePodRoutes: true, hostRuleTable: 500, podRPFilter: 0, hijackCIDR: ['169.254.0.0/16'], vethMTU: 1500 },
    status: { phase: 'Synced', serviceCIDR: ['10.233.0.0/18', 'fd00:233::/112'], overlayPodCIDR: ['10.233.64.0/18'] },
  }
  const api = await startApi(cluster, { [coordinatorPath]: spiderCoordinator })
  t.teardown(() => api.stop())
  const cniPath = pluginDirectory(path.join(cluster.dir, 'bin'))
  const [node1, node2] = cluster.nodes

  const v4Range = (n: Node) => ({ subnet: '10.6.0.0/16', rangeStart: `10.6.${n.index}.10`, rangeEnd: `10.6.${n.index}.50`, gateway: routerIPv4 })
  const v6Range = (n: Node) => ({ subnet: 'fd00:6::/64', rangeStart: `fd00:6::${n.index}:10`, rangeEnd: `fd00:6::${n.index}:50`, gateway: routerIPv6 })
  const network = (n: Node, o: { dual?: boolean; cniVersion?: string; coordinator?: Record<string, unknown>; v4?: Record<string, string> } = {}): NetworkList =>
    macvlanNetwork({
      cniVersion: o.cniVersion,
      ipam: hostLocal(
        path.join(cluster.dir, `leases-${n.name}`),
        o.dual ? [[o.v4 ?? v4Range(n)], [v6Range(n)]] : [[o.v4 ?? v4Range(n)]],
        o.dual ? [{ dst: '0.0.0.0/0' }, { dst: '::/0' }] : [{ dst: '0.0.0.0/0' }],
      ),
      coordinator: { kubeconfig: api.kubeconfig, ...o.coordinator },
    })

  interface Running {
    pod: Pod
    list: NetworkList
    result: Record<string, unknown>
    ipv4: string
    ipv6?: string
  }
  const start = async (node: Node, name: string, list: NetworkList): Promise<Running> => {
    const pod = await cluster.addPod(node, name)
    const result = await addNetworkList(list, { pod, ifName: 'eth0' }, { cniPath })
    const ips = (result.ips as Array<{ address: string }>).map((i) => i.address.split('/')[0])
    return { pod, list, result, ipv4: ips.find((i) => i.includes('.'))!, ipv6: ips.find((i) => i.includes(':')) }
  }
  const stop = (r: Running) => delNetworkList(r.list, { pod: r.pod, ifName: 'eth0' }, { cniPath }, r.result)

  /** The node's state, but the `pref 1000 lookup 500` rules: every pod of the node shares them and they stay. */
  const withoutSharedRule = (s: NodeState) => ({ ...s, rules: s.rules.filter((r) => !((r as { priority: number }).priority === 1000 && (r as { table: string }).table === '500')) })

  t.test('underlay: the pod tables are §B.11 (and contain the walkthrough listing), pods reach each other and the nodes, DEL leaves nothing', async (t) => {
    const before = await nodeState(node1.name)
    const a = await start(node1, 'pod1', network(node1))
    const b = await start(node1, 'pod2', network(node1))
    const c = await start(node2, 'pod1', network(node2))

    const n = node1.ipv4
    const p = a.ipv4
    t.strictSame(await ruleLines(a.pod.netnsName, 4), ['0: from all lookup local', '1000: from all fwmark 0x1 lookup 100', '32766: from all lookup main', '32767: from all lookup default'])
    const main = await routeLines(a.pod.netnsName, 4)
    t.strictSame(
      main,
      [
        `default via ${routerIPv4} dev eth0`,
        `10.6.0.0/16 dev eth0 proto kernel scope link src ${p}`,
        `${n} dev veth0 scope link src ${p}`,
        `10.233.64.0/18 via ${n} dev veth0 src ${p}`,
        `10.233.0.0/18 via ${n} dev veth0 src ${p}`,
        `169.254.0.0/16 via ${n} dev veth0 src ${p}`,
      ].sort(),
    )
    t.strictSame(await routeLines(a.pod.netnsName, 4, 100), [`default via ${n} dev veth0 src ${p}`])
    t.strictSame(await routeLines(a.pod.netnsName, 4, 101), [`${n} dev veth0 scope link src ${p}`])
    // expected/pod-routes.md prints a shortened table (no src): each of its lines is one of ours.
    const printed = [`default via ${routerIPv4} dev eth0`, `10.6.0.0/16 dev eth0 proto kernel scope link src ${p}`, `${n} dev veth0 scope link`, `10.233.64.0/18 via ${n} dev veth0`]
    for (const line of printed) t.ok(main.some((m) => m === line || m.replace(/ src \S+$/, '') === line), `walkthrough line "${line}"`)

    t.ok((await ruleLines(node1.name, 4)).includes('1000: from all lookup 500'))
    const hostVethOf = (r: Running) => `veth${r.pod.containerId.slice(0, 11)}`
    t.strictSame(await routeLines(node1.name, 4, 500), [`${a.ipv4} dev ${hostVethOf(a)} scope link`, `${b.ipv4} dev ${hostVethOf(b)} scope link`].sort())

    t.ok(await pings(a.pod.netnsName, c.ipv4), 'pod on node1 → pod on node2')
    t.ok(await pings(c.pod.netnsName, a.ipv4), 'pod on node2 → pod on node1')
    t.ok(await pings(a.pod.netnsName, b.ipv4), 'pods on the same node')
    t.ok(await pings(a.pod.netnsName, node1.ipv4), 'pod → its node, through veth0')
    t.ok(await pings(c.pod.netnsName, node2.ipv4), 'pod on node2 → its node')
    t.ok(await pings(node1.name, a.ipv4), 'node → its pod, through table 500')
    t.ok(await pings(a.pod.netnsName, node2.ipv4), 'pod → the other node, over the underlay')

    const again = await addNetworkList(a.list, { pod: a.pod, ifName: 'eth0' }, { cniPath }).catch((e: PluginError) => e)
    t.type(again, PluginError, 'a second macvlan ADD fails (the interface exists)')

    await stop(a)
    await stop(b)
    await t.resolves(stop(a), 'a second DEL succeeds')
    const after = await nodeState(node1.name)
    t.strictSame(withoutSharedRule(after), withoutSharedRule(before), 'node1 links, routes, rules and permanent neighbours are as before')
    t.ok(after.rules.some((r) => (r as { table: string }).table === '500'), 'the shared rule stays')
    await stop(c)
  })

  t.test('DEL succeeds when the pod namespace is already gone, and removes the host veth', async (t) => {
    const a = await start(node2, 'pod2', network(node2))
    const hostVeth = `veth${a.pod.containerId.slice(0, 11)}`
    await cluster.removePod(a.pod)
    await t.resolves(stop(a))
    t.notOk((await nodeState(node2.name)).links.some((l) => (l as { ifname: string }).ifname === hostVeth))
  })

  t.test('dual stack underlay (1.0.0): IPv6 rules and tables too, CHECK passes, pods and nodes reach each other over IPv6', async (t) => {
    const before = await nodeState(node1.name)
    const a = await start(node1, 'pod3', network(node1, { dual: true, cniVersion: '1.0.0' }))
    const c = await start(node2, 'pod3', network(node2, { dual: true, cniVersion: '1.0.0' }))
    const n = node1.ipv6
    const p = a.ipv6!
    t.strictSame(await ruleLines(a.pod.netnsName, 6), ['0: from all lookup local', '1000: from all fwmark 0x1 lookup 100', '32766: from all lookup main'])
    t.strictSame(
      await routeLines(a.pod.netnsName, 6),
      [
        `default via ${routerIPv6} dev eth0`,
        'fd00:6::/64 dev eth0 proto kernel metric 256',
        `${n} dev veth0 src ${p}`,
        `fd00:233::/112 via ${n} dev veth0 src ${p}`,
        'fe80::/64 dev eth0 proto kernel metric 256',
        'fe80::/64 dev veth0 proto kernel metric 256',
      ].sort(),
    )
    t.strictSame(await routeLines(a.pod.netnsName, 6, 100), [`default via ${n} dev veth0 src ${p}`])
    t.strictSame(await routeLines(a.pod.netnsName, 6, 101), [`${n} dev veth0 src ${p}`])
    t.ok((await routeLines(a.pod.netnsName, 4)).includes(`${node1.ipv4} dev veth0 scope link src ${a.ipv4}`), 'IPv4 is wired as well')
    t.ok((await ruleLines(node1.name, 6)).includes('1000: from all lookup 500'))
    t.strictSame(await routeLines(node1.name, 6, 500), [`${p} dev veth${a.pod.containerId.slice(0, 11)}`])

    await t.resolves(checkNetworkList(a.list, { pod: a.pod, ifName: 'eth0' }, { cniPath }, a.result), 'CHECK finds everything in place')
    t.ok(await pings(a.pod.netnsName, c.ipv6!), 'IPv6 pod → pod on the other node')
    t.ok(await pings(a.pod.netnsName, node1.ipv6), 'IPv6 pod → its node')
    t.ok(await pings(node1.name, p), 'IPv6 node → its pod')
    t.ok(await pings(c.pod.netnsName, node2.ipv6), 'IPv6 pod on node2 → its node')

    await stop(a)
    await stop(c)
    t.strictSame(withoutSharedRule(await nodeState(node1.name)), withoutSharedRule(before), 'DEL leaves node1 as it was')
  })

  t.test('CHECK reports what is missing when something the coordinator set up is gone', async (t) => {
    const a = await start(node1, 'pod4', network(node1, { cniVersion: '1.0.0' }))
    await cluster.run(a.pod.netnsName, 'ip', 'route', 'del', '10.233.0.0/18')
    const err = await checkNetworkList(a.list, { pod: a.pod, ifName: 'eth0' }, { cniPath }, a.result).catch((e: PluginError) => e)
    t.type(err, PluginError)
    t.match((err as PluginError).cniError, { code: 100, msg: 'the network of eth0 is not as the coordinator set it up', details: /pod: route add 10\.233\.0\.0\/18 via/ })
    await stop(a)
  })

  t.test('podMACPrefix, txQueueLen and vethLinkAddress: set in the pod, the new MAC in the result, and macvlan CHECK accepts it', async (t) => {
    const list = network(node1, { cniVersion: '1.0.0', coordinator: { podMACPrefix: '0a:1b', txQueueLen: 2000, vethLinkAddress: '169.254.100.1' } })
    const a = await start(node1, 'pod5', list)
    const [o1, o2, o3, o4] = a.ipv4.split('.').map((x) => Number(x).toString(16).padStart(2, '0'))
    const mac = `0a:1b:${o1}:${o2}:${o3}:${o4}`
    const eth0 = JSON.parse(await cluster.run(a.pod.netnsName, 'ip', '-json', 'link', 'show', 'eth0'))[0]
    t.equal(eth0.address, mac)
    t.equal(eth0.txqlen, 2000, 'txqueuelen is set on the pod interface, in the pod')
    t.equal((a.result.interfaces as Array<{ name: string; mac: string }>).find((i) => i.name === 'eth0')?.mac, mac, 'the result carries the new MAC')
    t.match(await cluster.run(a.pod.netnsName, 'ip', '-o', 'addr', 'show', 'dev', 'veth0'), /169\.254\.100\.1\/32/)
    await t.resolves(checkNetworkList(list, { pod: a.pod, ifName: 'eth0' }, { cniPath }, a.result), 'macvlan and coordinator CHECK pass')
    t.ok(await pings(a.pod.netnsName, routerIPv4), 'the gateway reaches the new MAC')
    await stop(a)
  })

  t.test('DEL goes on when the API cannot be read', async (t) => {
    const a = await start(node2, 'pod6', network(node2))
    const offline = { ...a, list: network(node2, { coordinator: { kubeconfig: path.join(cluster.dir, 'missing.kubeconfig') } }) }
    await t.resolves(stop(offline))
    t.notOk((await nodeState(node2.name)).links.some((l) => (l as { ifname: string }).ifname === `veth${a.pod.containerId.slice(0, 11)}`))
  })

  const noDetectors = missingRequirements(['arping', 'ndisc6'])
  t.test('gateway and IP-conflict detection (arping, ndisc6, kernel DAD)', { skip: noDetectors }, async (t) => {
    const detect = { detectGateway: true, detectIPConflict: true }
    const ok = await start(node1, 'pod7', network(node1, { dual: true, cniVersion: '1.0.0', coordinator: detect }))
    t.ok(ok.ipv4 && ok.ipv6, 'a pod whose gateways answer and whose addresses are free starts')
    await stop(ok)

    const noGateway = await cluster.addPod(node1, 'pod8')
    const list = network(node1, { coordinator: detect, v4: { subnet: '10.6.0.0/16', rangeStart: '10.6.1.60', rangeEnd: '10.6.1.60', gateway: '10.6.0.99' } })
    const err = await addNetworkList(list, { pod: noGateway, ifName: 'eth0' }, { cniPath }).catch((e: PluginError) => e)
    t.match((err as PluginError).cniError, { code: 102, msg: 'gateway 10.6.0.99 is unreachable from eth0' })
    await delNetworkList(list, { pod: noGateway, ifName: 'eth0' }, { cniPath })

    await cluster.run(cluster.router, 'ip', 'addr', 'add', '10.6.1.61/16', 'dev', 'eth0')
    t.teardown(() => cluster.run(cluster.router, 'ip', 'addr', 'del', '10.6.1.61/16', 'dev', 'eth0').catch(() => {}))
    const routerMac = JSON.parse(await cluster.run(cluster.router, 'ip', '-json', 'link', 'show', 'eth0'))[0].address
    const taken = await cluster.addPod(node1, 'pod9')
    const conflicting = network(node1, { coordinator: detect, v4: { subnet: '10.6.0.0/16', rangeStart: '10.6.1.61', rangeEnd: '10.6.1.61', gateway: routerIPv4 } })
    const conflict = await addNetworkList(conflicting, { pod: taken, ifName: 'eth0' }, { cniPath }).catch((e: PluginError) => e)
    t.match((conflict as PluginError).cniError, { code: 101, msg: `ip conflict: pod's interface eth0 has the conflicting address 10.6.1.61, which is at ${routerMac}` })
    await delNetworkList(conflicting, { pod: taken, ifName: 'eth0' }, { cniPath })
  })
}
