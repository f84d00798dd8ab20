// A pod the pools cannot serve is refused at `kubectl create` with a message that says why, and
// nothing is reserved for it: the pools' records and counters are as they were.
import t from 'tap'
import { ippool, nad, namespace, node, podCluster, podObject } from './fixtures/pod-cluster.ts'

const ippoolKey = 'ipam.spidernet.io/ippool'
const ippoolsKey = 'ipam.spidernet.io/ippools'
const denied = 'admission webhook "pod.spiderpool.spidernet.io" denied the request: forbidden: '

const k = await podCluster(t)
await k.create(namespace('refused'))
await k.create(nad('refused', 'mv'))
await k.create(nad('refused', 'mv-b'))
await k.create(ippool('room', '10.50.0.0/24', ['10.50.0.10-10.50.0.19']))
await k.create(ippool('tiny', '10.51.0.0/24', ['10.51.0.10-10.51.0.11']))
await k.create(ippool('fam-v6', 'fd00:52::/120', ['fd00:52::10-fd00:52::1f']))

const pod = (annotations: Record<string, string>, more: { networks?: string; spec?: Record<string, unknown> } = {}) =>
  podObject({ namespace: 'refused', networks: more.networks ?? 'mv', annotations, spec: more.spec })
const pools = ['room', 'tiny', 'fam-v6']
const everyRecord = async () => Object.fromEntries(await Promise.all(pools.map(async (p) => [p, await k.records(p)] as const)))

/** Creates the pod, expects the refusal, and that no pod was stored and no record changed. */
async function refused(t: import('tap').Test, obj: object, message: string | RegExp) {
  const podsNow = async () => (await k.ok(['get', 'pods', '-n', 'refused', '-o', 'name'])).trim()
  const before = await everyRecord()
  const podsBefore = await podsNow()
  const r = await k.tryCreate(obj)
  t.not(r.code, 0, 'kubectl create fails')
  t.match(r.stderr, typeof message === 'string' ? denied + message : message)
  t.equal(await podsNow(), podsBefore, 'no pod stored')
  t.same(await everyRecord(), before, 'nothing reserved')
}

t.test('an unknown pool is refused by name', async (t) => {
  await refused(t, pod({ [ippoolKey]: '{"ipv4":["room","nope"]}' }), 'failed to get original IPPool nope: spiderippools.spiderpool.spidernet.io "nope" not found')
})

t.test('a pool of the wrong IP family is refused', async (t) => {
  await refused(t, pod({ [ippoolKey]: '{"ipv4":["fam-v6"]}' }), 'no IPPool available, all IPv4 IPPools [fam-v6] of net1 filtered out: expect an IPv4 IPPool, but the version of the IPPool fam-v6 is IPv6')
})

t.test('malformed pool annotations are refused, naming the annotation', async (t) => {
  await refused(t, pod({ [ippoolKey]: '{"ipv4": ["room"' }), "wrong input, invalid format of Pod annotation 'ipam.spidernet.io/ippool': ")
  await refused(t, pod({ [ippoolKey]: '{"ipv4": "room"}' }), "wrong input, invalid format of Pod annotation 'ipam.spidernet.io/ippool': json: cannot unmarshal string into Go struct field AnnoPodIPPoolValue.ipv4 of type []string")
  await refused(t, pod({ [ippoolsKey]: '[{"ipv4":["room"]}]' }, { networks: 'mv, mv-b' }), "wrong input, invalid format of Pod annotation 'ipam.spidernet.io/ippools': 1 unnamed items for the 2 NICs [net1 net2]")
})

t.test('an exhausted pool is refused with its name and use, and nothing more is reserved', async (t) => {
  for (const _ of [1, 2]) await k.create(pod({ [ippoolKey]: '{"ipv4":["tiny"]}' }))
  t.same((await k.records('tiny')).map((r) => r.ip), ['10.51.0.10', '10.51.0.11'])
  await refused(t, pod({ [ippoolKey]: '{"ipv4":["tiny"]}' }), 'failed to allocate any IPv4 IP address to NIC net1 from IPPools [tiny]: IPPool tiny is exhausted: 2/2 addresses in use')
  t.same(await k.counters('tiny'), { allocated: 2, total: 2 })
  await k.ok(['delete', 'pods', '-n', 'refused', '--all'])
})

t.test('when one NIC cannot be served, the pool that could serve the other keeps nothing', async (t) => {
  await k.writeRecords('tiny', () => [
    { ip: '10.51.0.10', pod: 'other/', podUid: '', state: 'reserved', token: 'r-00000000000000000000000000000001', nic: 'net1', reservedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
    { ip: '10.51.0.11', pod: 'other/', podUid: '', state: 'reserved', token: 'r-00000000000000000000000000000002', nic: 'net1', reservedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
  ])
  await refused(t, pod({ [ippoolsKey]: '[{"interface":"net1","ipv4":["room"]},{"interface":"net2","ipv4":["tiny"]}]' }, { networks: 'mv, mv-b' }), 'failed to allocate any IPv4 IP address to NIC net2 from IPPools [tiny]: IPPool tiny is exhausted: 2/2 addresses in use')
  t.same(await k.records('room'), [], 'room reserved nothing for net1')
})

t.test('a pod bound to a node that no candidate pool serves is refused, naming the node and the pools', async (t) => {
  await k.create(node('node-a', { zone: 'a' }))
  await k.create(node('node-b', { zone: 'b' }))
  await k.create(ippool('zone-b', '10.53.0.0/24', ['10.53.0.10-10.53.0.19'], { nodeAffinity: { matchLabels: { zone: 'b' } } }))
  await k.create(ippool('named-b', '10.54.0.0/24', ['10.54.0.10-10.54.0.19'], { nodeName: ['node-b'] }))
  const bound = pod({ [ippoolKey]: '{"ipv4":["zone-b","named-b"]}' }, { spec: { nodeName: 'node-a' } })
  const r = await k.tryCreate(bound)
  t.not(r.code, 0)
  t.match(
    r.stderr,
    denied + 'no IPPool available, all IPv4 IPPools [zone-b named-b] of net1 filtered out: [unmatched Node affinity of IPPool zone-b, unmatched Node name of IPPool named-b] (the Pod can only run on node node-a)',
  )
  t.same(await k.records('zone-b'), [])
  t.same(await k.records('named-b'), [])
})

t.test('pods racing for a small pool: the refused ones keep nothing in any pool, the counters match', async (t) => {
  await k.create(ippool('race-big', '10.55.0.0/24', ['10.55.0.10-10.55.0.59']))
  await k.create(ippool('race-small', '10.56.0.0/24', ['10.56.0.10-10.56.0.14']))
  const annotations = { [ippoolsKey]: '[{"interface":"net1","ipv4":["race-big"]},{"interface":"net2","ipv4":["race-small"]}]' }
  const results = await Promise.all(Array.from({ length: 8 }, () => k.tryCreate(pod(annotations, { networks: 'mv, mv-b' }))))
  const admitted = results.filter((r) => r.code === 0).map((r) => r.object)
  t.equal(admitted.length, 5, 'as many pods as race-small has addresses')
  for (const r of results.filter((x) => x.code !== 0)) t.match(r.stderr, /IPPool race-small is exhausted: 5\/5 addresses in use/)
  const tokens = admitted.map((p) => JSON.parse(p.metadata.annotations['ipam.spidernet.io/reservation']).token).sort()
  for (const pool of ['race-big', 'race-small']) {
    const records = await k.records(pool)
    t.same(records.map((r) => r.token).sort(), tokens, `${pool}: one record per admitted pod, none for the refused`)
    t.equal((await k.counters(pool)).allocated, 5)
  }
})
