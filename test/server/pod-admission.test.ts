// What the pod webhook does to a pod besides choosing its pool, through kubectl on the local
// default: dry runs, pods it leaves alone, copied reservations, node affinity from the pools, and
// StatefulSet pods keeping their address.
import t from 'tap'
import { addressesOf, ippool, nad, node, podCluster, podObject, reservationKey, reservationOf, until } from './fixtures/pod-cluster.ts'

const ippoolKey = 'ipam.spidernet.io/ippool'

const k = await podCluster(t)
await k.create(nad('default', 'mv', { default_ipv4_ippool: ['main'] }))
await k.create(ippool('main', '10.60.0.0/24', ['10.60.0.10-10.60.0.29']))

const mainRecords = async () => (await k.records('main')).map((r) => `${r.ip} ${r.state} ${r.pod} ${r.podUid} ${r.token}`)

t.test('kubectl create --dry-run=server answers with the annotated pod and reserves nothing', async (t) => {
  const before = await mainRecords()
  const r = await k.tryCreate(podObject({ name: 'dry', networks: 'mv' }), '--dry-run=server')
  t.equal(r.code, 0, r.stderr)
  t.same(addressesOf(r.object), ['net1=10.60.0.10/24@main'], 'the answer shows what the pod would get')
  t.same(await mainRecords(), before, 'no record written')
  t.equal((await k.kubectl(['get', 'pod', 'dry'])).code, 1, 'no pod stored')
})

t.test('a pod in an excluded namespace (kube-system) is left alone', async (t) => {
  const before = await mainRecords()
  const pod = await k.create(podObject({ namespace: 'kube-system', networks: 'default/mv' }))
  t.notOk(pod.metadata.annotations[reservationKey], 'no reservation')
  t.same(await mainRecords(), before)
})

t.test('a hostNetwork pod is left alone', async (t) => {
  const before = await mainRecords()
  const pod = await k.create(podObject({ networks: 'mv', spec: { hostNetwork: true } }))
  t.notOk(pod.metadata.annotations[reservationKey], 'no reservation')
  t.same(await mainRecords(), before)
})

t.test('a reservation annotation copied onto a new pod is replaced by a fresh reservation', async (t) => {
  const first = await k.create(podObject({ networks: 'mv' }))
  const copy = await k.create(podObject({ networks: 'mv', annotations: { [reservationKey]: first.metadata.annotations[reservationKey] } }))
  const [a, b] = [reservationOf(first), reservationOf(copy)]
  t.not(b.token, a.token, 'a new token')
  t.not(addressesOf(copy)[0], addressesOf(first)[0], 'a new address')
  const records = await k.records('main')
  for (const [pod, r] of [[first, a], [copy, b]] as const) {
    t.equal(records.find((x) => x.ip === r.ips[0].ipv4!.split('/')[0])?.token, r.token, `${pod.metadata.name}'s address carries its own token`)
  }
  await k.ok(['delete', 'pod', first.metadata.name, copy.metadata.name])
})

t.test("a pool's node constraint becomes required node affinity, merged with the pod's own", async (t) => {
  await k.create(node('n1', { zone: 'a', disktype: 'ssd' }))
  await k.create(node('n2', { zone: 'b', disktype: 'ssd' }))
  await k.create(ippool('zone-a', '10.61.0.0/24', ['10.61.0.10-10.61.0.19'], { nodeAffinity: { matchLabels: { zone: 'a' } } }))
  await k.create(ippool('on-n1-n2', '10.62.0.0/24', ['10.62.0.10-10.62.0.19'], { nodeName: ['n1', 'n2'] }))
  const own = { nodeSelectorTerms: [{ matchExpressions: [{ key: 'disktype', operator: 'In', values: ['ssd'] }] }] }
  const affine = await k.create(
    podObject({ networks: 'mv', annotations: { [ippoolKey]: '{"ipv4":["zone-a"]}' }, spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: own } } } }),
  )
  t.same(affine.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution, {
    nodeSelectorTerms: [{ matchExpressions: [{ key: 'disktype', operator: 'In', values: ['ssd'] }, { key: 'zone', operator: 'In', values: ['a'] }] }],
  })
  const named = await k.create(podObject({ networks: 'mv', annotations: { [ippoolKey]: '{"ipv4":["on-n1-n2"]}' } }))
  t.same(named.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution, {
    nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }],
  })
  const plain = await k.create(podObject({ networks: 'mv' }))
  t.notOk(plain.spec.affinity, 'a pool without node constraint adds none')
})

t.test('a StatefulSet pod re-created under its name gets the address its SpiderEndpoint records', async (t) => {
  const sts = await k.create({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default' },
    spec: { replicas: 2, serviceName: 'web', selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
  })
  const owner = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: sts.metadata.uid, controller: true, blockOwnerDeletion: true }]
  // what the CNI claim of an earlier web-0 left: its endpoint and its claimed record
  await k.create({
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderEndpoint',
    metadata: { name: 'web-0', namespace: 'default', finalizers: ['spiderpool.spidernet.io'] },
    status: { current: { uid: 'uid-of-old-web-0', node: 'n1', ips: [{ interface: 'net1', ipv4: '10.60.0.25/24', ipv4Pool: 'main', vlan: 0 }] }, ownerControllerType: 'StatefulSet', ownerControllerName: 'web' },
  })
  const old = { ip: '10.60.0.25', pod: 'default/web-0', podUid: 'uid-of-old-web-0', state: 'claimed' as const, token: 'r-0000000000000000000000000000aaaa', nic: 'net1', node: 'n1' }
  await k.writeRecords('main', (records) => [...records, old])

  const web0 = await k.create(podObject({ name: 'web-0', networks: 'mv', ownerReferences: owner }))
  t.same(addressesOf(web0), ['net1=10.60.0.25/24@main'], 'the recorded address, not the lowest free one')
  t.match((await k.records('main')).find((r) => r.ip === '10.60.0.25'), old, 'its record is left for the claim to take over')

  await k.ok(['delete', 'pod', 'web-0'])
  await k.cached(web0, true)
  await k.local.webhook.controllers!.idle()
  t.match((await k.records('main')).find((r) => r.ip === '10.60.0.25'), old, 'the StatefulSet still has ordinal 0: the record stays after the pod is deleted')
  const again = await k.create(podObject({ name: 'web-0', networks: 'mv', ownerReferences: owner }))
  t.same(addressesOf(again), ['net1=10.60.0.25/24@main'], 'the same address again')

  const web1 = await k.create(podObject({ name: 'web-1', networks: 'mv', ownerReferences: owner }))
  t.not(addressesOf(web1)[0], 'net1=10.60.0.25/24@main', 'another ordinal, without an endpoint, gets a fresh address')
  await until('counters', async () => (await k.counters('main')).allocated === (await k.records('main')).length)
})
