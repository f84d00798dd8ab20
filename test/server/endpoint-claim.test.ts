// The endpoint webhook on the local default: the SpiderEndpoint the CNI ADD writes carries the
// claim. Pods are admitted (and reserved) by the real pod webhook, their endpoints written through
// kubectl or the API as the plugin writes them, and the pools read back.
import t from 'tap'
import { claimMarkAnnotation } from '../../ipam/claim.ts'
import { resources } from '../../kube/resources.ts'
import { createStore } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'
import type { SpiderEndpoint } from '../../schemas/types.ts'
import { ippool, nad, podCluster, podObject, reservationOf } from './fixtures/pod-cluster.ts'
import { mutatePath, review } from './fixtures/widget.ts'

const k = await podCluster(t)
await k.create(nad('default', 'mv', { default_ipv4_ippool: ['main'] }))
await k.create(ippool('main', '10.80.0.0/16', ['10.80.0.10-10.80.0.250']))
const { url, caPem, token } = k.local.controlPlane
const store = createStore(createTransport({ server: url, ca: caPem, token }))
t.teardown(() => store.transport.close())

/** The SpiderEndpoint the plugin writes at the pod's first ADD: its reservation entry for net1. */
const endpointOf = (pod: any, o: { annotations?: Record<string, string>; finalizers?: string[] } = {}) => {
  const nic = reservationOf(pod).ips[0]
  return {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderEndpoint',
    metadata: {
      name: pod.metadata.name,
      namespace: pod.metadata.namespace,
      finalizers: o.finalizers ?? ['spiderpool.spidernet.io'],
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid }],
      ...(o.annotations && { annotations: o.annotations }),
    },
    status: {
      current: { uid: pod.metadata.uid, node: 'n1', ips: [{ interface: nic.interface, ipv4: nic.ipv4, ipv4Pool: nic.ipv4Pool, vlan: 0, cleanGateway: false, routes: [] }] },
      ownerControllerType: 'Pod',
      ownerControllerName: pod.metadata.name,
    },
  }
}
const addressOf = (pod: any) => reservationOf(pod).ips[0].ipv4!.split('/')[0]
const recordOf = async (pod: any) => (await k.records('main')).find((r) => r.ip === addressOf(pod))
const markOf = (endpoint: any) => {
  const text = endpoint.metadata.annotations?.[claimMarkAnnotation]
  return text === undefined ? undefined : JSON.parse(text)
}
const newPod = () => k.create(podObject({ networks: 'mv' }))

t.test('the endpoint of an admitted pod claims its reservation in the same request, and says so on the endpoint', async (t) => {
  const pod = await newPod()
  t.match(await recordOf(pod), { state: 'reserved', podUid: '' }, 'reserved at admission')
  const endpoint = await k.create(endpointOf(pod))
  t.match(await recordOf(pod), { state: 'claimed', pod: `default/${pod.metadata.name}`, podUid: pod.metadata.uid, node: 'n1', nic: 'net1', token: reservationOf(pod).token })
  t.notOk((await recordOf(pod))?.expiresAt, 'the claimed record has no expiry')
  t.same(markOf(endpoint), { uid: pod.metadata.uid, interfaces: { net1: { claimed: [addressOf(pod)], lost: {} } } })
})

t.test('100 endpoints written at once: every reservation claimed, batched into far fewer pool writes than claims', async (t) => {
  const pods = await Promise.all(Array.from({ length: 100 }, () => store.create(resources.pods, podObject({ networks: 'mv' }) as never)))
  const writer = k.local.webhook.writer!
  const before = writer.stats.writes
  // a write costs the API a little time, as etcd's does: what arrives meanwhile waits for the next one
  k.local.controlPlane.faults.writeLatencyMs = 2
  const endpoints = await Promise.all(pods.map((p) => store.create(resources.endpoints, endpointOf(p) as SpiderEndpoint))).finally(() => (k.local.controlPlane.faults.writeLatencyMs = 0))
  const writes = writer.stats.writes - before
  // one process serves the API, the webhook and this test here, so the creates arrive spread out; the plugin claiming alone would write 100 times, more with conflicts
  t.ok(writes <= 60, `${writes} pool writes for 100 claims`)
  const records = await k.records('main')
  for (const [i, pod] of pods.entries()) {
    const record = records.find((r) => r.ip === addressOf(pod))
    if (record?.state !== 'claimed' || record.podUid !== pod.metadata!.uid) t.fail(`${pod.metadata!.name}: ${JSON.stringify(record)}`)
    if (markOf(endpoints[i])?.interfaces.net1.claimed[0] !== addressOf(pod)) t.fail(`${pod.metadata!.name}'s endpoint is not marked claimed`)
  }
  t.equal(records.filter((r) => pods.some((p) => p.metadata!.uid === r.podUid && r.state === 'claimed')).length, 100, 'all 100 claimed')
})

t.test('kubectl create --dry-run=server of an endpoint claims nothing and marks nothing', async (t) => {
  const pod = await newPod()
  const r = await k.tryCreate(endpointOf(pod), '--dry-run=server')
  t.equal(r.code, 0, r.stderr)
  t.equal(markOf(r.object), undefined, 'no mark')
  t.match(await recordOf(pod), { state: 'reserved', podUid: '' }, 'still only reserved')
})

t.test('a reservation the collector already released: the endpoint says lost, and the pool is unchanged', async (t) => {
  const pod = await newPod()
  await k.writeRecords('main', (records) => records.filter((r) => r.ip !== addressOf(pod)))
  const before = await k.records('main')
  const endpoint = await k.create(endpointOf(pod))
  const address = addressOf(pod)
  t.same(markOf(endpoint), { uid: pod.metadata.uid, interfaces: { net1: { claimed: [], lost: { [address]: `${address} has no record any more (the reservation was released)` } } } })
  t.same(await k.records('main'), before, 'no record written')
})

t.test('a mark written by anyone else does not survive', async (t) => {
  const pod = await newPod()
  const forged = JSON.stringify({ uid: pod.metadata.uid, interfaces: { net1: { claimed: ['10.80.0.9'], lost: {} } } })
  const endpoint = await k.create(endpointOf(pod, { annotations: { [claimMarkAnnotation]: forged, keep: 'me' } }))
  t.same(markOf(endpoint), { uid: pod.metadata.uid, interfaces: { net1: { claimed: [addressOf(pod)], lost: {} } } }, 'the webhook\'s own mark replaces it')
  t.equal(endpoint.metadata.annotations.keep, 'me', 'other annotations stay')

  // an endpoint of no pod the cluster knows: nothing to claim, and the forged mark goes
  const stranger = endpointOf(pod, { annotations: { [claimMarkAnnotation]: forged } })
  stranger.metadata.name = 'no-such-pod'
  stranger.status.current.uid = 'uid-of-no-pod'
  const stored = await k.create(stranger)
  t.equal(markOf(stored), undefined, 'no mark')
})

t.test('an UPDATE that only removes a finalizer claims nothing and keeps the mark', async (t) => {
  const pod = await newPod()
  const endpoint = await k.create(endpointOf(pod))
  const mark = markOf(endpoint)
  const writer = k.local.webhook.writer!
  const batches = writer.stats.batches
  const poolVersion = (await store.get(resources.ippools, 'main')).metadata!.resourceVersion
  const updated = await store.update(resources.endpoints, { ...endpoint, metadata: { ...endpoint.metadata, finalizers: [] } })
  t.same(updated.metadata?.finalizers ?? [], [])
  t.same(markOf(updated), mark, 'the mark stays')
  t.equal(writer.stats.batches, batches, 'no pool write asked')
  t.equal((await store.get(resources.ippools, 'main')).metadata!.resourceVersion, poolVersion, 'the pool is unchanged')
})

t.test('a review that is not a SpiderEndpoint the webhook can read is refused as a bad request', async (t) => {
  const post = (object: unknown) => k.local.webhook.app.inject({ method: 'POST', url: mutatePath('spiderendpoint'), payload: review('CREATE', { uid: 'u-1', kind: 'SpiderEndpoint', namespace: 'default', name: 'x', object }) })
  const bad = await post({ metadata: { name: 'x' }, status: { current: { uid: 'u', ips: 'net1' } } })
  t.equal(bad.statusCode, 200)
  t.match(bad.json().response, { uid: 'u-1', allowed: false, status: { code: 400, message: /status\.current\.ips must be a list/ } })
  t.equal((await k.local.webhook.app.inject({ method: 'POST', url: mutatePath('spiderendpoint'), payload: { hello: 1 } })).statusCode, 400, 'a body that is not a review')
})

// last: it stops the webhook server
t.test('with the webhook server gone, the endpoint is stored unmarked (failurePolicy Ignore) and the reservation waits for the plugin', async (t) => {
  const pod = await newPod()
  await k.local.webhook.close()
  const endpoint = await store.create(resources.endpoints, endpointOf(pod) as SpiderEndpoint)
  t.equal(markOf(endpoint), undefined, 'no mark')
  t.match(await recordOf(pod), { state: 'reserved', podUid: '' })
})
