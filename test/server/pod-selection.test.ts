// Pool selection at admission, as a user meets it: pods created with kubectl on the local default,
// each rule of ipam-semantics §2–§3 deciding which pool the reserved address comes from.
import t, { type Test } from 'tap'
import { addressesOf, ippool, nad, namespace, podCluster, podObject, reservationOf, type PodCluster } from './fixtures/pod-cluster.ts'

const ippoolKey = 'ipam.spidernet.io/ippool'
const ippoolsKey = 'ipam.spidernet.io/ippools'

/** Every address of the pod's reservation is a `reserved` record of its pool carrying the pod's token. */
async function expectReserved(t: Test, k: PodCluster, pod: any) {
  const r = reservationOf(pod)
  for (const nic of r.ips) {
    for (const [ip, pool] of [[nic.ipv4, nic.ipv4Pool], [nic.ipv6, nic.ipv6Pool]] as const) {
      if (!ip) continue
      const record = (await k.records(pool!)).find((x) => x.ip === ip.split('/')[0])
      t.match(record, { pod: `${pod.metadata.namespace}/`, podUid: '', state: 'reserved', token: r.token, nic: nic.interface }, `${ip} is reserved in ${pool} for the pod's token`)
    }
  }
}

const k = await podCluster(t)
await k.create(nad('default', 'mv', { default_ipv4_ippool: ['nad-pool'] }))
await k.create(nad('default', 'mv-b'))
await k.create(ippool('nad-pool', '10.20.0.0/24', ['10.20.0.10-10.20.0.19']))

t.test("a pod whose Multus network uses the spiderpool IPAM gets an address from its NetworkAttachmentDefinition's default pools", async (t) => {
  const pod = await k.create(podObject({ networks: 'mv' }))
  t.same(addressesOf(pod), ['net1=10.20.0.10/24@nad-pool'])
  const [record] = await k.records('nad-pool')
  t.match(record, { ip: '10.20.0.10', pod: 'default/', podUid: '', state: 'reserved', token: reservationOf(pod).token, nic: 'net1' })
  t.equal(Date.parse(record.expiresAt!) - Date.parse(record.reservedAt!), 120_000, 'expires 120 s after it was reserved')
  t.same(await k.counters('nad-pool'), { allocated: 1, total: 10 })
  const second = await k.create(podObject({ networks: 'mv' }))
  t.same(addressesOf(second), ['net1=10.20.0.11/24@nad-pool'], 'the next pod gets the next lowest free address')
})

t.test("the pod annotation 'ipam.spidernet.io/ippool' wins over the NetworkAttachmentDefinition's pools", async (t) => {
  await k.create(ippool('anno-pool', '10.21.0.0/24', ['10.21.0.10-10.21.0.19']))
  const pod = await k.create(podObject({ networks: 'mv', annotations: { [ippoolKey]: '{"ipv4":["anno-pool"]}' } }))
  t.same(addressesOf(pod), ['net1=10.21.0.10/24@anno-pool'])
  await expectReserved(t, k, pod)
})

t.test("'ipam.spidernet.io/ippools' gives each NIC its own pools, named or in order", async (t) => {
  await k.create(ippool('multi-a', '10.22.0.0/24', ['10.22.0.10-10.22.0.19']))
  await k.create(ippool('multi-b', '10.23.0.0/24', ['10.23.0.10-10.23.0.19']))
  const named = await k.create(podObject({ networks: 'mv, mv-b', annotations: { [ippoolsKey]: '[{"interface":"net2","ipv4":["multi-b"]},{"interface":"net1","ipv4":["multi-a"]}]' } }))
  t.same(addressesOf(named), ['net1=10.22.0.10/24@multi-a', 'net2=10.23.0.10/24@multi-b'])
  await expectReserved(t, k, named)
  t.equal((await k.records('multi-a')).find((r) => r.ip === '10.22.0.10')?.token, (await k.records('multi-b')).find((r) => r.ip === '10.23.0.10')?.token, 'one token for all NICs')
  const unnamed = await k.create(podObject({ networks: 'mv, mv-b', annotations: { [ippoolsKey]: '[{"ipv4":["multi-b"]},{"ipv4":["multi-a"]}]' } }))
  t.same(addressesOf(unnamed), ['net1=10.23.0.11/24@multi-b', 'net2=10.22.0.11/24@multi-a'], 'unnamed items go to the NICs in order')
})

t.test("a namespace's default pools win over the NetworkAttachmentDefinition's", async (t) => {
  await k.create(ippool('ns-pool', '10.24.0.0/24', ['10.24.0.10-10.24.0.19']))
  await k.create(namespace('with-defaults', { 'ipam.spidernet.io/default-ipv4-ippool': '["ns-pool"]' }))
  await k.create(nad('with-defaults', 'mv', { default_ipv4_ippool: ['nad-pool'] }))
  const pod = await k.create(podObject({ namespace: 'with-defaults', networks: 'mv' }))
  t.same(addressesOf(pod), ['net1=10.24.0.10/24@ns-pool'])
  await expectReserved(t, k, pod)
})

t.test('pools with spec.default: true serve a NIC whose NetworkAttachmentDefinition names no pool', async (t) => {
  await k.create(ippool('cluster-default', '10.25.0.0/24', ['10.25.0.10-10.25.0.19'], { default: true }))
  const pod = await k.create(podObject({ networks: 'mv-b' }))
  t.same(addressesOf(pod), ['net1=10.25.0.10/24@cluster-default'])
  await expectReserved(t, k, pod)
})

t.test('a wildcard names the pools it matches in name order; a full pool passes the NIC to the next', async (t) => {
  await k.create(ippool('wild-b', '10.26.0.0/24', ['10.26.0.10']))
  await k.create(ippool('wild-a', '10.27.0.0/24', ['10.27.0.10']))
  const annotations = { [ippoolKey]: '{"ipv4":["wild-*"]}' }
  t.same(addressesOf(await k.create(podObject({ networks: 'mv', annotations }))), ['net1=10.27.0.10/24@wild-a'])
  t.same(addressesOf(await k.create(podObject({ networks: 'mv', annotations }))), ['net1=10.26.0.10/24@wild-b'], 'wild-a is full: the next match')
  const refused = await k.tryCreate(podObject({ networks: 'mv', annotations }))
  t.not(refused.code, 0)
  t.match(refused.stderr, 'from IPPools [wild-a wild-b]')
})

t.test('a disabled pool is skipped', async (t) => {
  await k.create(ippool('off-pool', '10.28.0.0/24', ['10.28.0.10-10.28.0.19'], { disable: true }))
  await k.create(ippool('on-pool', '10.29.0.0/24', ['10.29.0.10-10.29.0.19']))
  const pod = await k.create(podObject({ networks: 'mv', annotations: { [ippoolKey]: '{"ipv4":["off-pool","on-pool"]}' } }))
  t.same(addressesOf(pod), ['net1=10.29.0.10/24@on-pool'])
  t.same(await k.records('off-pool'), [])
})

t.test('namespaceName and namespaceAffinity keep a pool to its namespaces, and rank before pools without them', async (t) => {
  await k.create(namespace('team-a'))
  await k.create(namespace('team-b', {}, { team: 'b' }))
  await k.create(ippool('ns-any', '10.31.0.0/24', ['10.31.0.10-10.31.0.19']))
  await k.create(ippool('ns-only', '10.32.0.0/24', ['10.32.0.10-10.32.0.19'], { namespaceName: ['team-a'] }))
  await k.create(ippool('ns-aff', '10.33.0.0/24', ['10.33.0.10-10.33.0.19'], { namespaceAffinity: { matchLabels: { team: 'b' } } }))
  const annotations = { [ippoolKey]: '{"ipv4":["ns-any","ns-aff","ns-only"]}' }
  t.same(addressesOf(await k.create(podObject({ namespace: 'team-a', networks: 'default/mv', annotations }))), ['net1=10.32.0.10/24@ns-only'])
  t.same(addressesOf(await k.create(podObject({ namespace: 'team-b', networks: 'default/mv', annotations }))), ['net1=10.33.0.10/24@ns-aff'])
  t.same(addressesOf(await k.create(podObject({ namespace: 'default', networks: 'mv', annotations }))), ['net1=10.31.0.10/24@ns-any'])
})

t.test('podAffinity keeps a pool to matching pods and puts it first for them, wherever it is listed', async (t) => {
  await k.create(ippool('pa-any', '10.34.0.0/24', ['10.34.0.10-10.34.0.19']))
  await k.create(ippool('pa-db', '10.35.0.0/24', ['10.35.0.10-10.35.0.19'], { podAffinity: { matchLabels: { app: 'db' } } }))
  const annotations = { [ippoolKey]: '{"ipv4":["pa-any","pa-db"]}' }
  t.same(addressesOf(await k.create(podObject({ networks: 'mv', annotations, labels: { app: 'db' } }))), ['net1=10.35.0.10/24@pa-db'])
  t.same(addressesOf(await k.create(podObject({ networks: 'mv', annotations, labels: { app: 'web' } }))), ['net1=10.34.0.10/24@pa-any'])
})

t.test('pools of equal rank are tried in the order written', async (t) => {
  await k.create(ippool('ord-a', '10.36.0.0/24', ['10.36.0.10-10.36.0.19']))
  await k.create(ippool('ord-b', '10.37.0.0/24', ['10.37.0.10-10.37.0.19']))
  t.same(addressesOf(await k.create(podObject({ networks: 'mv', annotations: { [ippoolKey]: '{"ipv4":["ord-b","ord-a"]}' } }))), ['net1=10.37.0.10/24@ord-b'])
})

t.test("multusName keeps a pool to the NICs of that NetworkAttachmentDefinition", async (t) => {
  await k.create(ippool('mn-any', '10.38.0.0/24', ['10.38.0.10-10.38.0.19']))
  await k.create(ippool('mn-b', '10.39.0.0/24', ['10.39.0.10-10.39.0.19'], { multusName: ['default/mv-b'] }))
  const annotations = { [ippoolKey]: '{"ipv4":["mn-b","mn-any"]}' }
  t.same(addressesOf(await k.create(podObject({ networks: 'mv', annotations }))), ['net1=10.38.0.10/24@mn-any'], 'net1 is default/mv: mn-b is filtered out')
  t.same(addressesOf(await k.create(podObject({ networks: 'mv-b', annotations }))), ['net1=10.39.0.10/24@mn-b'])
})

t.test('dual stack: an IPv4 and an IPv6 pool give one NIC an address of each family under one token', async (t) => {
  await k.create(ippool('ds-v4', '10.40.0.0/24', ['10.40.0.10-10.40.0.19']))
  await k.create(ippool('ds-v6', 'fd00:40::/120', ['fd00:40::10-fd00:40::1f']))
  await k.create(nad('default', 'dual', { default_ipv4_ippool: ['ds-v4'], default_ipv6_ippool: ['ds-v6'] }))
  const pod = await k.create(podObject({ networks: 'dual' }))
  t.same(addressesOf(pod), ['net1=10.40.0.10/24@ds-v4', 'net1=fd00:40::10/120@ds-v6'])
  await expectReserved(t, k, pod)
  t.same(await k.counters('ds-v6'), { allocated: 1, total: 16 })
})
