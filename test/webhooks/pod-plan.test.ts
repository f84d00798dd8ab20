import t from 'tap'
import { readFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import { clusterFromObjects, type ClusterContents, type Node } from '../../webhooks/cluster.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import { defaultIPPool } from '../../webhooks/spiderippool/default.ts'
import { choosePodIPs, isSkip, planPod, type PodPlan } from '../../webhooks/pod/plan.ts'
import { reservationOf, type Assignment } from '../../webhooks/pod/assign.ts'
import { nodeAffinityPatch } from '../../webhooks/pod/affinity.ts'
import type { Pod } from '../../webhooks/pod/pod.ts'
import { isRefusal, type Refusal } from '../../webhooks/pod/refusal.ts'
import { parseRecords, serialiseRecords, type PoolRecord } from '../../ipam/records.ts'
import { decodeReservation, encodeReservation } from '../../ipam/reservation.ts'
import type { IPPoolSpec, NetworkAttachmentDefinition, SpiderEndpoint, SpiderIPPool, SpiderReservedIP } from '../../schemas/types.ts'

const examples = '/work/shared/reference/examples'
const settings = defaultSettings()
const admission = { operation: 'CREATE' as const, settings, cluster: clusterFromObjects(), dryRun: false }

const load = (file: string) => parseAllDocuments(readFileSync(`${examples}/${file}`, 'utf8')).map((d) => d.toJS() as Record<string, any>)
const stored = (p: SpiderIPPool) => {
  defaultIPPool(p, admission)
  return p
}

/** The NAD a SpiderMultusConfig renders for macvlan (see expected/nad-macvlan-ens192.json), pools in its spiderpool IPAM. */
function macvlanNAD(namespace: string, name: string, master: string, pools: string[] = []): NetworkAttachmentDefinition {
  const ipam: Record<string, unknown> = { type: 'spiderpool' }
  if (pools.length > 0) ipam.default_ipv4_ippool = pools
  const config = { cniVersion: '0.3.1', name, plugins: [{ type: 'macvlan', ipam, master, mode: 'bridge' }, { type: 'coordinator', ipam: {}, dns: {}, mode: 'auto' }] }
  return { metadata: { namespace, name }, spec: { config: JSON.stringify(config) } }
}

/** A pod as the ReplicaSet controller creates it from a Deployment's template. */
const fromTemplate = (deployment: Record<string, any>): Pod => ({
  metadata: {
    ...structuredClone(deployment.spec.template.metadata),
    generateName: `${deployment.metadata.name}-7c9f-`,
    namespace: deployment.metadata.namespace,
    labels: { ...deployment.spec.template.metadata.labels, 'pod-template-hash': '7c9f' },
  },
  spec: structuredClone(deployment.spec.template.spec),
})

const planned = (r: ReturnType<typeof planPod>): PodPlan => {
  if (isSkip(r) || isRefusal(r)) throw new Error(`no plan: ${JSON.stringify(r)}`)
  return r
}
const assigned = (r: Assignment | Refusal): Assignment => {
  if (isRefusal(r)) throw new Error(`no assignment: ${r.message}`)
  return r
}

/** What the committing engineer does with an assignment: reserved records in each pool's status. */
function commit(pools: SpiderIPPool[], a: Assignment, token: string, namespace = 'default') {
  for (const { pool, addresses } of a.pools) {
    const p = pools.find((x) => x.metadata.name === pool)!
    const records: PoolRecord[] = parseRecords(p.status?.allocatedIPs).records!
    for (const { address, interface: nic } of addresses) records.push({ ip: address, pod: `${namespace}/`, podUid: '', state: 'reserved', token, nic })
    p.status = { ...p.status, allocatedIPs: serialiseRecords(records), allocatedIPCount: records.length }
  }
}

t.test('walkthrough macvlan underlay: the Deployment template gets ippool-test addresses, one replica after the other', async (t) => {
  const [pool, smc, deployment] = load('macvlan-underlay.yaml')
  const pools = [stored(pool as SpiderIPPool)]
  const nad = macvlanNAD(smc.metadata.namespace, smc.metadata.name, smc.spec.macvlan.master[0])
  const cluster = clusterFromObjects({ ippools: pools, networkAttachmentDefinitions: [nad], namespaces: [{ metadata: { name: 'default' } }] })

  const first = planned(planPod(fromTemplate(deployment), 'default', { settings, cluster }))
  t.same(first.nics.map((n) => [n.interface, n.network, n.source, n.families.map((f) => f.candidates.map((c) => c.pool))]), [['eth0', 'kube-system/macvlan-conf', 'ippool', [['ippool-test']]]])
  const a1 = assigned(choosePodIPs(first, (name) => cluster.ippool(name), []))
  t.same(a1.interfaces, [{ interface: 'eth0', vlan: 0, cleanGateway: false, routes: [], ipv4: '172.18.30.131/16', ipv4Pool: 'ippool-test', ipv4Gateway: '172.18.0.1' }])
  t.same(a1.pools, [{ pool: 'ippool-test', addresses: [{ address: '172.18.30.131', interface: 'eth0' }] }])
  commit(pools, a1, 'r-00000001')

  const second = planned(planPod(fromTemplate(deployment), 'default', { settings, cluster }))
  const a2 = assigned(choosePodIPs(second, (name) => cluster.ippool(name), []))
  t.equal(a2.addresses[0].ip, '172.18.30.132/16', 'the next replica gets the next address')

  const annotation = encodeReservation(reservationOf(a2, 'r-00000002'))
  t.same(decodeReservation(annotation).reservation?.ips[0].ipv4, '172.18.30.132/16', 'the reservation annotation the CNI will read')
})

t.test('walkthrough calico overlay: net1 from macvlan-ens192 gets 10.6.212.100/16 with gateway 10.6.0.1', async (t) => {
  const [pool, , deployment] = load('calico-overlay.yaml')
  const expected = JSON.parse(readFileSync(`${examples}/expected/nad-macvlan-ens192.json`, 'utf8'))
  const nad: NetworkAttachmentDefinition = { metadata: expected.metadata, spec: { config: JSON.stringify(expected.config) } }
  const cluster = clusterFromObjects({ ippools: [stored(pool as SpiderIPPool)], networkAttachmentDefinitions: [nad], namespaces: [{ metadata: { name: 'default' } }] })
  const plan = planned(planPod(fromTemplate(deployment), 'default', { settings, cluster }))
  const a = assigned(choosePodIPs(plan, (name) => cluster.ippool(name), []))
  t.same(a.interfaces, [{ interface: 'net1', vlan: 0, cleanGateway: false, routes: [], ipv4: '10.6.212.100/16', ipv4Pool: '10-6-v4', ipv4Gateway: '10.6.0.1' }])
  t.same(a.nodeConstraints, [])
})

t.test('walkthrough cilium overlay: the default-route NIC travels with the reservation', async (t) => {
  const [pool, , deployment] = load('cilium-overlay.yaml')
  const cluster = clusterFromObjects({ ippools: [stored(pool as SpiderIPPool)], networkAttachmentDefinitions: [macvlanNAD('default', 'macvlan-ens192', 'ens192', ['10-6-v4'])], namespaces: [{ metadata: { name: 'default' } }] })
  const plan = planned(planPod(fromTemplate(deployment), 'default', { settings, cluster }))
  t.equal(plan.defaultRouteNIC, 'net1')
  const a = assigned(choosePodIPs(plan, (name) => cluster.ippool(name), []))
  t.equal(a.addresses[0].ip, '10.6.212.200/16')
  t.equal(decodeReservation(encodeReservation(reservationOf(a, 'r-0000000a'))).reservation?.defaultRouteNIC, 'net1')
  const wrong = fromTemplate(deployment)
  wrong.metadata.annotations!['ipam.spidernet.io/default-route-nic'] = 'net2'
  t.same(planPod(wrong, 'default', { settings, cluster }), { reason: 'Forbidden', message: "invalid annotation 'ipam.spidernet.io/default-route-nic': net2 is not an interface of the Pod [eth0 net1]" })
})

t.test('walkthrough cilium kpr underlay: DaemonSet pods in default use the kube-system SpiderMultusConfig', async (t) => {
  const [pool, smc, daemonSet] = load('cilium-kpr-underlay.yaml')
  const nad = macvlanNAD(smc.metadata.namespace, smc.metadata.name, 'ens192', smc.spec.macvlan.ippools.ipv4)
  const nodes: Node[] = [{ metadata: { name: 'node-1' } }, { metadata: { name: 'node-2' } }]
  const cluster = clusterFromObjects({ ippools: [stored(pool as SpiderIPPool)], networkAttachmentDefinitions: [nad], nodes, namespaces: [{ metadata: { name: 'default' } }] })
  const pod: Pod = {
    metadata: { ...daemonSet.spec.template.metadata, generateName: 'ipvlan-', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ipvlan', uid: 'ds', controller: true }] },
    spec: { ...daemonSet.spec.template.spec, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-2'] }] }] } } } },
  }
  const plan = planned(planPod(pod, 'default', { settings, cluster }))
  t.equal(plan.pinnedNode, 'node-2')
  t.same(plan.nics.map((n) => `${n.interface} ${n.source} ${n.network}`), ['eth0 netconf kube-system/macvlan-ens192'])
  t.equal(assigned(choosePodIPs(plan, (name) => cluster.ippool(name), [])).addresses[0].ip, '172.81.0.100/16')
})

// ---- choosing addresses ----

let octet = 100
function pool(name: string, spec: Partial<IPPoolSpec> = {}, size = 10): SpiderIPPool {
  const v6 = spec.ipVersion === 6
  const n = ++octet
  const base = v6 ? { subnet: `fd00:${n}::/64`, ips: [`fd00:${n}::10-fd00:${n}::${(15 + size).toString(16)}`], gateway: `fd00:${n}::1` } : { subnet: `10.${n}.0.0/24`, ips: [`10.${n}.0.10-10.${n}.0.${9 + size}`], gateway: `10.${n}.0.1` }
  return { metadata: { name }, spec: { ipVersion: 4, ...base, ...spec } as IPPoolSpec }
}

function scene(c: ClusterContents & { ippools: SpiderIPPool[] }, annotations: Record<string, string>, extra: Partial<Pod['metadata']> = {}, spec: Pod['spec'] = {}) {
  const cluster = clusterFromObjects({
    ...c,
    networkAttachmentDefinitions: [macvlanNAD('kube-system', 'macvlan-conf', 'ens192'), macvlanNAD('default', 'second', 'ens224'), ...(c.networkAttachmentDefinitions ?? [])],
    namespaces: [{ metadata: { name: 'default' } }],
  })
  const pod: Pod = { metadata: { generateName: 'web-', annotations: { 'v1.multus-cni.io/default-network': 'kube-system/macvlan-conf', ...annotations }, ...extra }, spec: { containers: [{ name: 'c' }], ...spec } }
  const result = planPod(pod, 'default', { settings, cluster })
  return { cluster, pod, result, choose: (reserved: SpiderReservedIP[] = []) => choosePodIPs(planned(result), (name) => cluster.ippool(name), reserved) }
}
/** An address of the pool's /24: `at(p, 10)` is 10.n.0.10. */
const at = (p: SpiderIPPool, last: number) => p.spec.subnet.replace(/0\/24$/, String(last))
const ippools = (items: unknown[]) => ({ 'ipam.spidernet.io/ippools': JSON.stringify(items) })
const ipsOf = (a: Assignment | Refusal) => (isRefusal(a) ? a.message : a.addresses.map((x) => `${x.interface} ${x.pool} ${x.ip}${x.reused ? ' reused' : ''}`))
const withRecords = (p: SpiderIPPool, ...ips: string[]) => {
  p.status = { allocatedIPs: serialiseRecords(ips.map((ip) => ({ ip, pod: 'other/pod', podUid: 'u', state: 'claimed' as const }))) }
  return p
}

t.test('§3.3 exhaustion is not a filter: an exhausted pool is skipped for the next; when all are, pool and used/total are named', async (t) => {
  const full = pool('full', {}, 2)
  withRecords(full, at(full, 10), at(full, 11))
  const next = pool('next')
  const s = scene({ ippools: [full, next] }, { 'ipam.spidernet.io/ippool': '{"ipv4":["full","next"]}' })
  t.same(ipsOf(s.choose()), [`eth0 next ${at(next, 10)}/24`])
  const alone = scene({ ippools: [full] }, { 'ipam.spidernet.io/ippool': '{"ipv4":["full"]}' })
  t.same(ipsOf(alone.choose()), 'failed to allocate any IPv4 IP address to NIC eth0 from IPPools [full]: IPPool full is exhausted: 2/2 addresses in use')
})

t.test('SpiderReservedIPs given to the choice are skipped', async (t) => {
  const p = pool('p')
  const s = scene({ ippools: [p] }, { 'ipam.spidernet.io/ippool': '{"ipv4":["p"]}' })
  const reserved: SpiderReservedIP = { metadata: { name: 'keep' }, spec: { ipVersion: 4, ips: [`${at(p, 10)}-${at(p, 11)}`] } } as SpiderReservedIP
  t.same(ipsOf(s.choose([reserved])), [`eth0 p ${at(p, 12)}/24`])
})

t.test('dual stack, multi-NIC: each NIC and family gets its address; IPv4 and IPv6 of a NIC merge into one entry', async (t) => {
  const a = pool('a')
  const a6 = pool('a6', { ipVersion: 6 })
  const b = pool('b')
  const s = scene({ ippools: [a, a6, b] }, { 'k8s.v1.cni.cncf.io/networks': 'second', ...ippools([{ interface: 'eth0', ipv4: ['a'], ipv6: ['a6'] }, { interface: 'net1', ipv4: ['b'], cleangateway: true }]) })
  const chosen = assigned(s.choose())
  t.same(chosen.interfaces, [
    { interface: 'eth0', vlan: 0, cleanGateway: false, routes: [], ipv4: `${at(a, 10)}/24`, ipv4Pool: 'a', ipv4Gateway: at(a, 1), ipv6: a6.spec.subnet.replace('::/64', '::10/64'), ipv6Pool: 'a6', ipv6Gateway: a6.spec.gateway },
    { interface: 'net1', vlan: 0, cleanGateway: true, routes: [], ipv4: `${at(b, 10)}/24`, ipv4Pool: 'b', ipv4Gateway: at(b, 1) },
  ])
})

t.test('one pool may serve two NICs of one pod: they get two addresses (Spiderpool gives them one)', async (t) => {
  const a = pool('a')
  const s = scene({ ippools: [a] }, { 'k8s.v1.cni.cncf.io/networks': 'second', ...ippools([{ ipv4: ['a'] }, { ipv4: ['a'] }]) })
  const chosen = assigned(s.choose())
  t.same(ipsOf(chosen), [`eth0 a ${at(a, 10)}/24`, `net1 a ${at(a, 11)}/24`])
  t.same(chosen.pools, [{ pool: 'a', addresses: [{ address: at(a, 10), interface: 'eth0' }, { address: at(a, 11), interface: 'net1' }] }])
  const tiny = pool('tiny', {}, 1)
  const t2 = scene({ ippools: [tiny] }, { 'k8s.v1.cni.cncf.io/networks': 'second', ...ippools([{ ipv4: ['tiny'] }, { ipv4: ['tiny'] }]) })
  t.same(ipsOf(t2.choose()), 'failed to allocate any IPv4 IP address to NIC net1 from IPPools [tiny]: IPPool tiny has 1 free addresses, 2 wanted: 0/1 addresses in use')
})

t.test('routes: pool routes go with the NIC using the pool; custom routes to the NIC whose subnet holds the gateway', async (t) => {
  const a = pool('a')
  const b = pool('b')
  b.spec.routes = [{ dst: '10.250.0.0/16', gw: at(b, 1) }]
  const routes = JSON.stringify([
    { dst: '172.16.0.0/12', gw: at(b, 254) },
    { dst: '192.168.0.0/16', gw: at(a, 254) },
    { dst: '100.64.0.0/10', gw: '192.0.2.1' },
  ])
  const s = scene({ ippools: [a, b] }, { 'k8s.v1.cni.cncf.io/networks': 'second', 'ipam.spidernet.io/routes': routes, ...ippools([{ ipv4: ['a'] }, { ipv4: ['b'] }]) })
  const chosen = assigned(s.choose())
  t.same(chosen.interfaces.map((i) => [i.interface, i.routes]), [
    ['eth0', [{ dst: '192.168.0.0/16', gw: at(a, 254) }]],
    ['net1', [{ dst: '10.250.0.0/16', gw: at(b, 1) }, { dst: '172.16.0.0/12', gw: at(b, 254) }]],
  ])
  t.same(chosen.warnings, ["the route to 100.64.0.0/10 via 192.0.2.1 in annotation 'ipam.spidernet.io/routes' is not installed: no subnet of the Pod's Spiderpool NICs holds its gateway"])
  const bad = scene({ ippools: [a] }, { 'ipam.spidernet.io/routes': '[{"dst":"10.0.0.0/8"}]', 'ipam.spidernet.io/ippool': '{"ipv4":["a"]}' })
  t.same(bad.result, { reason: 'Forbidden', message: "wrong input, invalid format of Pod annotation 'ipam.spidernet.io/routes': invalid route format 'dst: 10.0.0.0/8, gw: '" })
})

// ---- node sets across NICs ----

const nodes: Node[] = [{ metadata: { name: 'worker-1', labels: { zone: 'a' } } }, { metadata: { name: 'worker-2', labels: { zone: 'b' } } }]

t.test('the pool chosen for eth0 narrows the nodes for net1; a dead end is backtracked', async (t) => {
  const a = pool('a', { nodeName: ['worker-1'] })
  const b = pool('b', { nodeName: ['worker-2'] })
  const c = pool('c', { nodeAffinity: { matchLabels: { zone: 'b' } } })
  const s = scene({ nodes, ippools: [a, b, c] }, { 'k8s.v1.cni.cncf.io/networks': 'second', ...ippools([{ ipv4: ['a', 'b'] }, { ipv4: ['c'] }]) })
  const chosen = assigned(s.choose())
  t.same(ipsOf(chosen), [`eth0 b ${at(b, 10)}/24`, `net1 c ${at(c, 10)}/24`], 'a (worker-1) leaves net1 no pool; b (worker-2) does')
  t.same([...(chosen.nodes as Set<string>)], ['worker-2'])
  t.same(chosen.nodeConstraints, [
    { pool: 'b', nodeName: ['worker-2'] },
    { pool: 'c', nodeAffinity: { matchLabels: { zone: 'b' } } },
  ])
  t.ok(nodeAffinityPatch(s.pod, chosen.nodeConstraints))
  t.same(s.pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, {
    nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }], matchFields: [{ key: 'metadata.name', operator: 'In', values: ['worker-2'] }] }],
  })
})

t.test('when no pool of a NIC serves a node the earlier NICs allow, the refusal names the pools and the nodes', async (t) => {
  const a = pool('a', { nodeName: ['worker-1'] })
  const c = pool('c', { nodeAffinity: { matchLabels: { zone: 'b' } } })
  const s = scene({ nodes, ippools: [a, c] }, { 'k8s.v1.cni.cncf.io/networks': 'second', ...ippools([{ ipv4: ['a'] }, { ipv4: ['c'] }]) })
  t.same(ipsOf(s.choose()), 'failed to allocate any IPv4 IP address to NIC net1 from IPPools [c]: IPPool c serves [worker-2], but with the IPPools chosen for the NICs before it the Pod can only run on [worker-1]')
})

t.test('a pool that changed since the plan: gone, disabled or terminating now is skipped with its reason', async (t) => {
  const a = pool('a')
  const s = scene({ ippools: [a] }, { 'ipam.spidernet.io/ippool': '{"ipv4":["a"]}' })
  const plan = planned(s.result)
  t.same(ipsOf(choosePodIPs(plan, () => undefined, [])), 'failed to allocate any IPv4 IP address to NIC eth0 from IPPools [a]: failed to get IPPool a: not found')
  t.same(ipsOf(choosePodIPs(plan, () => ({ ...a, spec: { ...a.spec, disable: true } }), [])), 'failed to allocate any IPv4 IP address to NIC eth0 from IPPools [a]: disabled IPPool a')
  const broken = { ...a, status: { allocatedIPs: '{oops' } }
  t.match(ipsOf(choosePodIPs(plan, () => broken, [])), /^failed to allocate any IPv4 IP address to NIC eth0 from IPPools \[a\]: IPPool a: status.allocatedIPs is not JSON/)
})

// ---- StatefulSet fixed IPs ----

function statefulSet(poolNames: string[], record: { pod: string } | undefined, enable = true) {
  const a = pool('sts-a')
  const b = pool('sts-b')
  const kept = at(a, 15)
  if (record) a.status = { allocatedIPs: serialiseRecords([{ ip: kept, pod: record.pod, podUid: 'old-uid', state: 'claimed' }]) }
  const endpoint: SpiderEndpoint = {
    metadata: { namespace: 'default', name: 'db-0' },
    status: { current: { uid: 'old-uid', node: 'worker-1', ips: [{ interface: 'eth0', ipv4: `${kept}/24`, ipv4Pool: 'sts-a', vlan: 0 }] }, ownerControllerType: 'StatefulSet', ownerControllerName: 'db' },
  } as SpiderEndpoint
  const cluster = clusterFromObjects({ ippools: [a, b], spiderEndpoints: [endpoint], networkAttachmentDefinitions: [macvlanNAD('kube-system', 'macvlan-conf', 'ens192')], namespaces: [{ metadata: { name: 'default' } }] })
  const pod: Pod = {
    metadata: { name: 'db-0', annotations: { 'v1.multus-cni.io/default-network': 'kube-system/macvlan-conf', 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: poolNames }) }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'sts', controller: true }] },
    spec: { containers: [{ name: 'db' }] },
  }
  const plan = planned(planPod(pod, 'default', { settings: { ...settings, enableStatefulSet: enable }, cluster }))
  return { plan, kept, a, b, chosen: assigned(choosePodIPs(plan, (n) => cluster.ippool(n), [])) }
}

t.test('§5.4 a StatefulSet pod whose endpoint and pools are unchanged keeps its recorded IP', async (t) => {
  const s = statefulSet(['sts-a', 'sts-b'], { pod: 'default/db-0' })
  t.same(s.plan.nics[0].families[0].reuse, { pool: 'sts-a', ip: `${s.kept}/24`, nodes: 'any' }, 'the plan says: reuse this IP of this pool')
  t.same(ipsOf(s.chosen), [`eth0 sts-a ${s.kept}/24 reused`])
  t.same(s.chosen.pools, [], 'its pool record exists: nothing new to record')
  t.same(s.chosen.outdated, [])
})

t.test('§5.4 the recorded pool no longer named: the address is outdated and a fresh one is taken', async (t) => {
  const s = statefulSet(['sts-b'], { pod: 'default/db-0' })
  t.equal(s.plan.nics[0].families[0].reuse, undefined)
  t.same(ipsOf(s.chosen), [`eth0 sts-b ${at(s.b, 10)}/24`])
  t.same(s.chosen.outdated, [{ interface: 'eth0', family: 4, pool: 'sts-a', ip: `${s.kept}/24` }])
})

t.test('§5.4 a recorded address another pod holds now is not taken back, nor released', async (t) => {
  const s = statefulSet(['sts-a'], { pod: 'default/someone-else' })
  t.same(ipsOf(s.chosen), [`eth0 sts-a ${at(s.a, 10)}/24`])
  t.same(s.chosen.outdated, [])
})

t.test('§5.4 a recorded address whose record is gone is taken again, with a new record (Spiderpool would hand it out without one)', async (t) => {
  const s = statefulSet(['sts-a'], undefined)
  t.same(ipsOf(s.chosen), [`eth0 sts-a ${s.kept}/24`])
  t.same(s.chosen.pools, [{ pool: 'sts-a', addresses: [{ address: s.kept, interface: 'eth0' }] }])
})

t.test('§5.4 with enableStatefulSet off the endpoint is not consulted', async (t) => {
  const s = statefulSet(['sts-a'], { pod: 'default/db-0' }, false)
  t.same(ipsOf(s.chosen), [`eth0 sts-a ${at(s.a, 10)}/24`])
})

t.test('a NIC whose pools are all exhausted is refused at once, whatever the NICs before it chose', async (t) => {
  const many = Array.from({ length: 12 }, (_, i) => pool(`spare-${i}`))
  const full = pool('full', {}, 1)
  withRecords(full, at(full, 10))
  const names = many.map((p) => p.metadata.name)
  const s = scene({ ippools: [...many, full] }, {
    'k8s.v1.cni.cncf.io/networks': 'second,second@net2,second@net3',
    ...ippools([
      { interface: 'eth0', ipv4: names },
      { interface: 'net1', ipv4: names },
      { interface: 'net2', ipv4: names },
      { interface: 'net3', ipv4: ['full'] },
    ]),
  })
  const start = performance.now()
  t.same(ipsOf(s.choose()), 'failed to allocate any IPv4 IP address to NIC net3 from IPPools [full]: IPPool full is exhausted: 1/1 addresses in use')
  t.comment(`refused in ${(performance.now() - start).toFixed(1)} ms`)
})
