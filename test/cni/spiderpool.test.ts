// The `spiderpool` IPAM plugin end to end: pods created through the real webhook (which reserves),
// then macvlan + spiderpool + coordinator run by a runtime in the nodes' namespaces, claiming from
// the real API. Uses the single executables when `npm run build:cni` is current, else the sources.
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { resources } from '../../kube/resources.ts'
import { routerIPv4, routerIPv6, missingRequirements, pings } from './harness/cluster.ts'
import type { Node, Pod } from './harness/cluster.ts'
import { hostLocal, macvlanNetwork, ptpNetwork } from './harness/networks.ts'
import { addNetworkList, checkNetworkList, delNetworkList, PluginError } from './harness/runtime.ts'
import type { NetworkList } from './harness/runtime.ts'
import {
  createNad,
  createPod,
  createPool,
  deletePod,
  editRecords,
  finishPod,
  getEndpoint,
  getPod,
  poolRecords,
  reservationOfPod,
  runIpam,
  spiderpoolIpam,
  startSpiderpoolEnv,
  type ApiPod,
  type SpiderpoolEnv,
} from './spiderpool-env.ts'

const missing = missingRequirements(['ip', 'nsenter', 'ping', 'iptables', 'ip6tables'])
if (missing) t.plan(0, missing)
else await main()

async function main() {
  const env = await startSpiderpoolEnv({ nodes: 2 })
  t.teardown(() => env.stop())
  t.comment(`plugins: ${env.binaries === 'sea' ? 'the single executables in dist/cni' : 'node on the sources (dist/cni is not built or older than the sources)'}`)
  const { cniPath } = env
  const [node1, node2] = env.cluster.nodes
  const defaultNetwork = (nad: string) => ({ 'v1.multus-cni.io/default-network': `default/${nad}` })

  const underlay = async (nad: string, o: { v4?: string[]; v6?: string[]; cniVersion?: string; cleanGateway?: boolean } = {}): Promise<NetworkList> => {
    const list = macvlanNetwork({ name: nad, cniVersion: o.cniVersion, ipam: spiderpoolIpam(env, o), coordinator: { kubeconfig: env.kubeconfig } })
    await createNad(env, nad, list)
    return list
  }
  /** The IPAM plugin's own config, as macvlan hands it over. */
  const ipamConfig = (list: NetworkList) => ({ cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] })

  interface Running {
    api: ApiPod
    pod: Pod
    list: NetworkList
    ifName: string
    result: Record<string, unknown>
    ips: string[]
  }
  const addressesOf = (result: Record<string, unknown>) => (result.ips as Array<{ address: string }>).map((i) => i.address)
  const start = async (node: Node, name: string, list: NetworkList, annotations: Record<string, string>, ifName = 'eth0'): Promise<Running> => {
    const api = await createPod(env, node, name, { annotations })
    const pod = await env.cluster.addPod(node, name)
    const result = await addNetworkList(list, { pod, ifName }, { cniPath })
    return { api, pod, list, ifName, result, ips: addressesOf(result) }
  }
  const stop = (r: Running) => delNetworkList(r.list, { pod: r.pod, ifName: r.ifName }, { cniPath }, r.result)
  const reservedOf = (api: ApiPod, ifName = 'eth0') => reservationOfPod(api).ips.find((i: { interface: string }) => i.interface === ifName)

  t.test('underlay on two nodes: each pod gets what the webhook reserved, claimed with its name, uid and node; pods reach each other and their node', async (t) => {
    await createPool(env, 'u-v4', { subnet: '10.6.0.0/16', ips: ['10.6.10.1-10.6.10.50'], gateway: routerIPv4 })
    const list = await underlay('underlay', { v4: ['u-v4'] })
    const a = await start(node1, 'u-a', list, defaultNetwork('underlay'))
    const b = await start(node1, 'u-b', list, defaultNetwork('underlay'))
    const c = await start(node2, 'u-c', list, defaultNetwork('underlay'))
    for (const r of [a, b, c]) t.strictSame(r.ips, [reservedOf(r.api).ipv4], `${r.api.metadata.name} has its reserved address`)
    t.strictSame(new Set([a, b, c].map((r) => r.ips[0])).size, 3)
    t.match(a.result, { cniVersion: '0.3.1', ips: [{ address: a.ips[0], gateway: routerIPv4 }] })

    const records = await poolRecords(env, 'u-v4')
    t.match(records.find((r) => `${r.ip}/16` === a.ips[0]), { pod: 'default/u-a', podUid: a.api.metadata.uid, state: 'claimed', nic: 'eth0', node: node1.name })
    t.match(records.find((r) => `${r.ip}/16` === c.ips[0]), { pod: 'default/u-c', podUid: c.api.metadata.uid, state: 'claimed', node: node2.name })
    t.notOk(records.some((r) => r.expiresAt), 'a claimed record has no expiry')

    const endpoint = await getEndpoint(env, 'u-a')
    t.strictSame(endpoint?.status, {
      current: { uid: a.api.metadata.uid, node: node1.name, ips: [{ interface: 'eth0', ipv4: a.ips[0], ipv4Pool: 'u-v4', ipv4Gateway: routerIPv4, vlan: 0, cleanGateway: false, routes: [] }] },
      ownerControllerType: 'Pod',
      ownerControllerName: 'u-a',
    })
    t.match(endpoint?.metadata, { finalizers: ['spiderpool.spidernet.io'], ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'u-a', uid: a.api.metadata.uid }] })

    const ip = (r: Running) => r.ips[0].split('/')[0]
    t.ok(await pings(a.pod.netnsName, ip(c)), 'pod on node1 → pod on node2')
    t.ok(await pings(c.pod.netnsName, ip(a)), 'pod on node2 → pod on node1')
    t.ok(await pings(a.pod.netnsName, ip(b)), 'pods on one node')
    t.ok(await pings(a.pod.netnsName, node1.ipv4), 'pod → its node (coordinator veth)')
    t.ok(await pings(node1.name, ip(a)), 'node → its pod')
    t.ok(await pings(a.pod.netnsName, routerIPv4), 'pod → its gateway')

    await stop(a)
    t.ok((await poolRecords(env, 'u-v4')).some((r) => r.podUid === a.api.metadata.uid), 'DEL of a live pod keeps its address (Spiderpool: the next sandbox reuses it)')
    const again = await addNetworkList(list, { pod: { ...a.pod, containerId: `${a.pod.containerId.slice(0, 60)}beef` }, ifName: 'eth0' }, { cniPath })
    t.strictSame(addressesOf(again), a.ips, 'a new sandbox of the same pod gets the same address')

    await deletePod(env, 'u-a')
    await stop({ ...a, result: again })
    t.notOk((await poolRecords(env, 'u-v4')).some((r) => r.podUid === a.api.metadata.uid), 'DEL after the pod is gone releases its record')
    t.equal(await getEndpoint(env, 'u-a'), undefined, 'and its SpiderEndpoint')
    for (const r of [b, c]) {
      await deletePod(env, r.api.metadata.name)
      await stop(r)
    }
    t.strictSame(await poolRecords(env, 'u-v4'), [], 'nothing left in the pool')
  })

  t.test('overlay: ptp + host-local eth0, macvlan + spiderpool net1; net1 has its reservation and reaches the other node\'s pod', async (t) => {
    await createPool(env, 'o-v4', { subnet: '10.6.0.0/16', ips: ['10.6.11.1-10.6.11.50'], gateway: routerIPv4 })
    const net1 = await underlay('overlay-net1', { v4: ['o-v4'], cniVersion: '1.0.0' })
    const calico = (n: Node) => ptpNetwork({ ipam: hostLocal(path.join(env.cluster.dir, `calico-${n.name}`), [[{ subnet: `10.233.${64 + n.index}.0/24` }]], [{ dst: '0.0.0.0/0' }]) })
    const annotations = { 'k8s.v1.cni.cncf.io/networks': 'default/overlay-net1' }
    const run = async (node: Node, name: string) => {
      const api = await createPod(env, node, name, { annotations })
      const pod = await env.cluster.addPod(node, name)
      const eth0 = await addNetworkList(calico(node), { pod, ifName: 'eth0' }, { cniPath })
      const result = await addNetworkList(net1, { pod, ifName: 'net1' }, { cniPath })
      return { api, pod, eth0, result }
    }
    const a = await run(node1, 'o-a')
    const c = await run(node2, 'o-c')
    t.strictSame(addressesOf(a.result).filter((x) => x.startsWith('10.6.')), [reservedOf(a.api, 'net1').ipv4], 'net1 has its reserved address')
    t.notOk(reservationOfPod(a.api).ips.some((i: { interface: string }) => i.interface === 'eth0'), 'nothing is reserved for the host-local eth0')
    const net1Of = (r: { result: Record<string, unknown> }) => addressesOf(r.result).find((x) => x.startsWith('10.6.'))!.split('/')[0]
    t.ok(await pings(a.pod.netnsName, net1Of(c)), 'net1 → the other node\'s pod net1')
    t.ok(await pings(a.pod.netnsName, routerIPv4), 'net1 → the underlay gateway')
    await deletePod(env, 'o-a')
    await delNetworkList(net1, { pod: a.pod, ifName: 'net1' }, { cniPath }, a.result)
    await delNetworkList(calico(node1), { pod: a.pod, ifName: 'eth0' }, { cniPath }, a.eth0)
    t.notOk((await poolRecords(env, 'o-v4')).some((r) => r.pod === 'default/o-a'), 'net1 released')
  })

  t.test('dual stack (1.0.0): both families claimed, a default route per gateway, pods reach each other over IPv6', async (t) => {
    await createPool(env, 'd-v4', { subnet: '10.6.0.0/16', ips: ['10.6.12.1-10.6.12.50'], gateway: routerIPv4, routes: [{ dst: '10.99.0.0/16', gw: '10.6.0.1' }] })
    await createPool(env, 'd-v6', { subnet: 'fd00:6::/64', ips: ['fd00:6::12:1-fd00:6::12:50'], gateway: routerIPv6 })
    const list = await underlay('dual', { v4: ['d-v4'], v6: ['d-v6'], cniVersion: '1.0.0' })
    const a = await start(node1, 'd-a', list, defaultNetwork('dual'))
    const c = await start(node2, 'd-c', list, defaultNetwork('dual'))
    const reserved = reservedOf(a.api)
    t.strictSame(a.ips, [reserved.ipv4, reserved.ipv6])
    t.match(a.result.routes, [{ dst: '0.0.0.0/0', gw: routerIPv4 }, { dst: '::/0', gw: routerIPv6 }, { dst: '10.99.0.0/16', gw: '10.6.0.1' }])
    t.match(await poolRecords(env, 'd-v6'), [{ pod: 'default/d-a', podUid: a.api.metadata.uid, state: 'claimed' }, { pod: 'default/d-c' }])
    t.match((await getEndpoint(env, 'd-a'))?.status?.current.ips, [{ interface: 'eth0', ipv4: reserved.ipv4, ipv4Pool: 'd-v4', ipv6: reserved.ipv6, ipv6Pool: 'd-v6', ipv6Gateway: routerIPv6 }])
    t.ok(await pings(a.pod.netnsName, c.ips[1].split('/')[0]), 'IPv6 pod → pod on the other node')
    t.ok(await pings(a.pod.netnsName, routerIPv6), 'IPv6 pod → its gateway')
    await t.resolves(checkNetworkList(list, { pod: a.pod, ifName: 'eth0' }, { cniPath }, a.result), 'CHECK: the records still give the pod its addresses')
    for (const r of [a, c]) {
      await deletePod(env, r.api.metadata.name)
      await stop(r)
    }
    t.strictSame([...(await poolRecords(env, 'd-v4')), ...(await poolRecords(env, 'd-v6'))], [])
  })

  // The IPAM plugin alone, as macvlan delegates to it: no interface is made, so these run quickly.
  await createPool(env, 'i-v4', { subnet: '10.6.0.0/16', ips: ['10.6.13.1-10.6.13.30'], gateway: routerIPv4 })
  const ipamList = await underlay('ipam-only', { v4: ['i-v4'] })
  const ipam = async (command: 'ADD' | 'DEL' | 'CHECK', pod: Pod, o: { ifName?: string; list?: NetworkList; uid?: string; namespace?: string; prevResult?: unknown } = {}) => {
    const r = await runIpam(env, { command, pod, ifName: o.ifName ?? 'eth0', config: ipamConfig(o.list ?? ipamList), uid: o.uid, namespace: o.namespace, prevResult: o.prevResult })
    const out = r.stdout ? JSON.parse(r.stdout) : undefined
    return { ...r, out }
  }
  const newPod = async (name: string, annotations: Record<string, string> = defaultNetwork('ipam-only'), o: { namespace?: string; finalizers?: string[] } = {}) => {
    const api = await createPod(env, node1, name, { annotations, ...o })
    return { api, pod: await env.cluster.addPod(node1, name) }
  }

  t.test('ADD retried three times gives the same address, with one record and one SpiderEndpoint NIC', async (t) => {
    const { api, pod } = await newPod('retry')
    const first = await ipam('ADD', pod, { uid: api.metadata.uid })
    t.equal(first.exitCode, 0, first.stdout)
    for (let i = 0; i < 3; i++) {
      const again = await ipam('ADD', pod, { uid: api.metadata.uid })
      t.strictSame(again.out, first.out, `retry ${i + 1}`)
    }
    t.equal((await poolRecords(env, 'i-v4')).filter((r) => r.podUid === api.metadata.uid).length, 1)
    t.equal((await getEndpoint(env, 'retry'))?.status?.current.ips.length, 1)
  })

  t.test('the endpoint the ADD writes carries the claim: its webhook claimed the reservation for the pod and marked it claimed', async (t) => {
    const { api, pod } = await newPod('marked')
    const r = await ipam('ADD', pod, { uid: api.metadata.uid })
    t.equal(r.exitCode, 0, r.stdout)
    const reserved = reservedOf(api).ipv4
    t.equal(r.out.ips[0].address, reserved)
    const endpoint = await getEndpoint(env, 'marked')
    t.same(JSON.parse(endpoint?.metadata?.annotations?.['ipam.spidernet.io/claim'] ?? 'null'), { uid: api.metadata.uid, interfaces: { eth0: { claimed: [reserved.split('/')[0]], lost: {} } } })
    t.match((await poolRecords(env, 'i-v4')).find((x) => `${x.ip}/16` === reserved), { pod: 'default/marked', podUid: api.metadata.uid, state: 'claimed', nic: 'eth0', node: node1.name })
  })

  t.test('without the endpoint webhook (an API server that skipped it: failurePolicy Ignore) the plugin claims the reservation itself', async (t) => {
    const hooks = (await env.store.get(resources.mutatingWebhookConfigurations, 'spiderpool-controller')) as any
    const restore = async () => {
      const now = (await env.store.get(resources.mutatingWebhookConfigurations, 'spiderpool-controller')) as any
      await env.store.update(resources.mutatingWebhookConfigurations, { ...now, webhooks: hooks.webhooks })
    }
    await env.store.update(resources.mutatingWebhookConfigurations, { ...hooks, webhooks: hooks.webhooks.filter((w: any) => w.name !== 'spiderendpoint.spiderpool.spidernet.io') })
    try {
      const { api, pod } = await newPod('unmarked')
      const r = await ipam('ADD', pod, { uid: api.metadata.uid })
      t.equal(r.exitCode, 0, r.stdout)
      const reserved = reservedOf(api).ipv4
      t.equal(r.out.ips[0].address, reserved)
      t.equal((await getEndpoint(env, 'unmarked'))?.metadata?.annotations?.['ipam.spidernet.io/claim'], undefined, 'no mark')
      t.match((await poolRecords(env, 'i-v4')).find((x) => `${x.ip}/16` === reserved), { pod: 'default/unmarked', podUid: api.metadata.uid, state: 'claimed', node: node1.name })
    } finally {
      await restore()
    }
  })

  t.test('DEL without ADD succeeds: a live pod keeps its reservation, a terminating one gives it back, a gone one is left to the collector', async (t) => {
    const live = await newPod('no-add-live')
    t.equal((await ipam('DEL', live.pod)).exitCode, 0)
    t.ok((await poolRecords(env, 'i-v4')).some((r) => r.token === reservationOfPod(live.api).token), 'the live pod still has its reservation')

    const ending = await newPod('no-add-ending', defaultNetwork('ipam-only'), { finalizers: ['test.spidernet.io/hold'] })
    await deletePod(env, 'no-add-ending')
    t.ok((await getPod(env, 'no-add-ending'))?.metadata.deletionTimestamp, 'the pod is terminating')
    const del = await ipam('DEL', ending.pod)
    t.equal(del.exitCode, 0)
    t.notOk((await poolRecords(env, 'i-v4')).some((r) => r.token === reservationOfPod(ending.api).token), 'the reservation of a terminating pod is released by its token')
    await finishPod(env, 'no-add-ending')

    const gone = await env.cluster.addPod(node1, 'never-was')
    const r = await ipam('DEL', gone)
    t.equal(r.exitCode, 0, 'DEL of a pod the API never knew')
  })

  t.test('DEL twice succeeds, and the pod\'s record is gone', async (t) => {
    const { api, pod } = await newPod('twice')
    t.equal((await ipam('ADD', pod)).exitCode, 0)
    await deletePod(env, 'twice')
    t.equal((await ipam('DEL', pod, { uid: api.metadata.uid })).exitCode, 0)
    t.equal((await ipam('DEL', pod, { uid: api.metadata.uid })).exitCode, 0)
    t.notOk((await poolRecords(env, 'i-v4')).some((r) => r.podUid === api.metadata.uid))
    t.equal(await getEndpoint(env, 'twice'), undefined)
  })

  t.test('a pod without reservation (the webhook skipped it) is allocated at ADD, and a retry keeps the address', async (t) => {
    const { api, pod } = await newPod('fallback', defaultNetwork('ipam-only'), { namespace: 'kube-system' })
    t.equal(api.metadata.annotations?.['ipam.spidernet.io/reservation'], undefined, 'the webhook leaves kube-system alone')
    const first = await ipam('ADD', pod, { namespace: 'kube-system' })
    t.equal(first.exitCode, 0, first.stdout)
    const address = first.out.ips[0].address
    t.match(address, /^10\.6\.13\.\d+\/16$/)
    t.match((await poolRecords(env, 'i-v4')).find((r) => `${r.ip}/16` === address), { pod: 'kube-system/fallback', podUid: api.metadata.uid, state: 'claimed', nic: 'eth0', node: node1.name })
    t.match((await getEndpoint(env, 'fallback', 'kube-system'))?.status?.current, { uid: api.metadata.uid, ips: [{ interface: 'eth0', ipv4: address, ipv4Pool: 'i-v4' }] })
    const again = await ipam('ADD', pod, { namespace: 'kube-system' })
    t.strictSame(again.out, first.out, 'the retry answers the same')
    t.equal((await poolRecords(env, 'i-v4')).filter((r) => r.podUid === api.metadata.uid).length, 1, 'one record')
    await deletePod(env, 'fallback', 'kube-system')
    t.equal((await ipam('DEL', pod, { namespace: 'kube-system' })).exitCode, 0)
    t.notOk((await poolRecords(env, 'i-v4')).some((r) => r.podUid === api.metadata.uid))
  })

  t.test('an annotation that does not decode is not trusted: the NIC is allocated at ADD, with a log line', async (t) => {
    const { api, pod } = await newPod('garbled')
    const reserved = reservedOf(api).ipv4
    const current = (await getPod(env, 'garbled'))!
    await env.store.update(resources.pods, { ...current, metadata: { ...current.metadata, annotations: { ...current.metadata.annotations, 'ipam.spidernet.io/reservation': '{"token":"nope"}' } } } as never)
    const r = await ipam('ADD', pod)
    t.equal(r.exitCode, 0, r.stdout)
    t.match(r.stderr, /invalid annotation 'ipam\.spidernet\.io\/reservation'.*allocating here/)
    t.not(r.out.ips[0].address, reserved, 'the reserved address stays reserved (the collector releases it)')
    t.match((await poolRecords(env, 'i-v4')).find((x) => `${x.ip}/16` === r.out.ips[0].address), { podUid: api.metadata.uid, state: 'claimed' })
  })

  t.test('a reservation whose record vanished is never answered: the NIC gets a fresh address with a live record', async (t) => {
    const x = await newPod('lost-x')
    const reserved = reservedOf(x.api).ipv4
    await editRecords(env, 'i-v4', (records) => records.filter((r) => `${r.ip}/16` !== reserved))
    // the freed address is the lowest free one again: the next pod is given it
    const y = await newPod('lost-y')
    t.equal(reservedOf(y.api).ipv4, reserved, 'another pod reserved the freed address')
    const rx = await ipam('ADD', x.pod)
    t.equal(rx.exitCode, 0, rx.stdout)
    t.match(rx.stderr, /IPPool i-v4: .* is reserved for another Pod; allocating a fresh IPv4 address/)
    t.not(rx.out.ips[0].address, reserved)
    t.match((await poolRecords(env, 'i-v4')).find((r) => `${r.ip}/16` === rx.out.ips[0].address), { pod: 'default/lost-x', podUid: x.api.metadata.uid })
    const ry = await ipam('ADD', y.pod)
    t.equal(ry.out.ips[0].address, reserved, 'the other pod claims what it was given')

    await editRecords(env, 'i-v4', (records) => records.filter((r) => r.podUid !== x.api.metadata.uid))
    const check = await ipam('CHECK', x.pod, { prevResult: rx.out, list: { ...ipamList, cniVersion: '1.0.0' } })
    t.equal(check.exitCode, 1)
    t.match(check.out, { code: 100, msg: /Pod default\/lost-x NIC eth0: IPPool i-v4 has no record of 10\.6\.13\.\d+, not to the Pod/ })
  })

  t.test('the API cannot be reached: ADD answers "try again later" (11) naming the pod and NIC; DEL succeeds with a log line', async (t) => {
    const { pod } = await newPod('offline')
    const offline = { ...ipamList, plugins: [{ ...ipamList.plugins[0], ipam: { ...(ipamList.plugins[0].ipam as object), kubeconfig: path.join(env.cluster.dir, 'offline.kubeconfig') } }] }
    const config = JSON.parse(readFileSync(env.kubeconfig, 'utf8'))
    config.clusters[0].cluster.server = "https://127.0.0.1:1"
    writeFileSync(path.join(env.cluster.dir, 'offline.kubeconfig'), JSON.stringify(config))
    const add = await ipam('ADD', pod, { list: offline })
    t.equal(add.exitCode, 1)
    t.match(add.out, { code: 11, msg: 'ADD of Pod default/offline NIC eth0: the Kubernetes API is unavailable', details: /ECONNREFUSED/ })
    const del = await ipam('DEL', pod, { list: offline })
    t.equal(del.exitCode, 0)
    t.match(del.stderr, /DEL succeeds and the collector releases what is left/)
  })

  t.test('a pool with no free address: the error names the pod, the NIC and the pool', async (t) => {
    await createPool(env, 'tiny', { subnet: '10.6.0.0/16', ips: ['10.6.15.1'], gateway: routerIPv4 })
    const tiny = await underlay('tiny', { v4: ['tiny'] })
    const first = await newPod('tiny-1', defaultNetwork('tiny'), { namespace: 'kube-system' })
    t.equal((await ipam('ADD', first.pod, { list: tiny, namespace: 'kube-system' })).exitCode, 0)
    const second = await newPod('tiny-2', defaultNetwork('tiny'), { namespace: 'kube-system' })
    const r = await ipam('ADD', second.pod, { list: tiny, namespace: 'kube-system' })
    t.equal(r.exitCode, 1)
    t.match(r.out.msg, 'no address for NIC eth0 of Pod kube-system/tiny-2: failed to allocate any IPv4 IP address to NIC eth0 from IPPools [tiny]: IPPool tiny is exhausted: 1/1 addresses in use')
  })

  t.test('a StatefulSet pod keeps its address: DEL keeps it while the StatefulSet wants the pod, the next pod of the name claims it under its new uid', async (t) => {
    const sts = await env.store.create(resources.statefulsets, {
      metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 2, serviceName: 'web', selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } } },
    } as never)
    const owner = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: sts.metadata!.uid, controller: true, blockOwnerDeletion: true }
    const make = async () => {
      const api = await createPod(env, node1, 'web-1', { annotations: defaultNetwork('ipam-only'), labels: { app: 'web' }, ownerReferences: [owner] })
      return { api, pod: await env.cluster.addPod(node1, `web-1-${api.metadata.uid.slice(0, 4)}`) }
    }
    const first = await make()
    const netns = { ...first.pod, name: 'web-1' }
    const a = await ipam('ADD', netns)
    t.equal(a.exitCode, 0, a.stdout)
    const endpoint = await getEndpoint(env, 'web-1')
    t.equal(endpoint?.metadata?.ownerReferences, undefined, 'a StatefulSet pod\'s endpoint has no owner: it outlives the pod')
    t.match(endpoint?.status, { ownerControllerType: 'StatefulSet', ownerControllerName: 'web' })
    await deletePod(env, 'web-1')
    t.equal((await ipam('DEL', netns, { uid: first.api.metadata.uid })).exitCode, 0)
    t.ok((await poolRecords(env, 'i-v4')).some((r) => r.pod === 'default/web-1'), 'the address stays with the StatefulSet')

    const second = await make()
    t.equal(reservedOf(second.api).ipv4, a.out.ips[0].address, 'the webhook gives the new pod its address again')
    const b = await ipam('ADD', { ...second.pod, name: 'web-1' })
    t.strictSame(b.out.ips, a.out.ips, 'the same address')
    t.match((await poolRecords(env, 'i-v4')).filter((r) => r.pod === 'default/web-1'), [{ podUid: second.api.metadata.uid, state: 'claimed' }])
    t.equal((await getEndpoint(env, 'web-1'))?.status?.current.uid, second.api.metadata.uid, 'the endpoint moved to the new uid')

    // the StatefulSet's pods go with it
    await env.store.delete(resources.statefulsets, 'web', { namespace: 'default' })
    t.equal((await ipam('DEL', { ...second.pod, name: 'web-1' }, { uid: second.api.metadata.uid })).exitCode, 0)
    t.notOk((await poolRecords(env, 'i-v4')).some((r) => r.pod === 'default/web-1'), 'without its StatefulSet the address is released')
    t.equal(await getEndpoint(env, 'web-1'), undefined)
  })

  t.test('a runtime asking for a pod of another uid than the API has is refused', async (t) => {
    const { pod } = await newPod('other-uid')
    const r = await ipam('ADD', pod, { uid: '00000000-0000-0000-0000-000000000000' })
    t.equal(r.exitCode, 1)
    t.match(r.out, { code: 3, msg: /Pod default\/other-uid NIC eth0: the Pod is now uid .*, not 00000000-/ })
  })

  t.test('errors of the netconf and CNI_ARGS come before any API call', async (t) => {
    const { pod } = await newPod('bad-conf')
    const bad = { ...ipamList, plugins: [{ ...ipamList.plugins[0], ipam: { type: 'spiderpool', default_ipv4_ippool: 'i-v4', log_level: 'loud' } }] }
    const r = await ipam('ADD', pod, { list: bad })
    t.match(r.out, { code: 7, msg: 'invalid ipam section', details: 'ipam.default_ipv4_ippool is not a list of IPPool names; ipam.log_level "loud" is not one of debug, info, warn, error, fatal, panic' })
    const noPod = await runIpam(env, { command: 'ADD', pod: { ...pod, name: '' }, ifName: 'eth0', config: ipamConfig(ipamList) })
    t.match(JSON.parse(noPod.stdout), { code: 4, msg: /K8S_POD_NAMESPACE and K8S_POD_NAME/ })
  })

  t.test('a second macvlan ADD on the same sandbox fails in macvlan, not in the IPAM', async (t) => {
    const list = ipamList
    const api = await createPod(env, node2, 'twice-mac', { annotations: defaultNetwork('ipam-only') })
    const pod = await env.cluster.addPod(node2, 'twice-mac')
    const full = { ...list, plugins: [list.plugins[0]] }
    await addNetworkList(full, { pod, ifName: 'eth0' }, { cniPath })
    const err = await addNetworkList(full, { pod, ifName: 'eth0' }, { cniPath }).catch((e: PluginError) => e)
    t.type(err, PluginError)
    t.equal((err as PluginError).plugin, 'macvlan')
    t.ok((await poolRecords(env, 'i-v4')).some((r) => r.podUid === api.metadata.uid))
  })
}
