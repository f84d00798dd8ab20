// CNI DEL without a prior ADD, and DEL twice: DEL always succeeds, a live pod keeps what it holds,
// a gone pod's addresses come back (by DEL or by the collector), and a stale DEL never takes the
// address of a newer pod of the same name.
import t from 'tap'
import { parseRecords } from '../../ipam/records.ts'
import { resources } from '../../kube/resources.ts'
import { isPod, reservedIP, sleep, startFaultCluster, until, type ApiPod } from './cluster.ts'
import { checkInvariants, settledInvariants } from './invariants.ts'
import { assertInvariants, faultMatrix } from './matrix.ts'

const matrix = faultMatrix(t, 'CNI DEL')
const c = await startFaultCluster(t)
await c.createPool('del', 30, 30)

const records = async () => parseRecords((await c.store.get(resources.ippools, 'del')).status?.allocatedIPs).records ?? []
const admitted = async (name: string): Promise<ApiPod> => {
  const pod = await c.createPod(name)
  if (!isPod(pod)) throw pod
  return pod
}

await t.test('DEL without ADD of a live pod succeeds and keeps its reservation; after the pod goes, its reservation is collected', async (t) => {
  const pod = await admitted('no-add')
  const del = await c.cni('DEL', { pod: 'no-add', uid: pod.metadata.uid })
  t.equal(del.code, 0, del.stderr)
  t.match((await records()).filter((r) => r.ip === reservedIP(pod)), [{ state: 'reserved' }], 'the live pod keeps its reservation')
  const live = await checkInvariants(c.store)
  assertInvariants(t, live, 'DEL without ADD, pod alive')

  await c.deletePod('no-add')
  t.equal((await c.cni('DEL', { pod: 'no-add', uid: pod.metadata.uid })).code, 0, 'DEL without ADD of a gone pod succeeds')
  const report = await settledInvariants(c.store)
  assertInvariants(t, report, 'DEL without ADD, pod gone')
  t.notOk((await records()).some((r) => r.ip === reservedIP(pod)), 'the reservation was released')
  matrix.record('DEL without ADD', live, report)
})

await t.test('DEL of a pod that never existed succeeds and changes nothing', async (t) => {
  const before = await records()
  const del = await c.cni('DEL', { pod: 'never-was', uid: '00000000-0000-0000-0000-000000000000' })
  t.equal(del.code, 0, del.stderr)
  t.strictSame(await records(), before)
  const report = await settledInvariants(c.store)
  assertInvariants(t, report, 'DEL of an unknown pod')
  matrix.record('DEL of a pod that never existed', report)
})

await t.test('DEL twice after the pod is gone: the first releases, the second succeeds with nothing to do', async (t) => {
  const pod = await admitted('twice')
  const containerId = 'd'.repeat(64)
  const add = await c.cni('ADD', { pod: 'twice', uid: pod.metadata.uid, containerId })
  t.strictSame(add.ips, [reservedIP(pod)])
  await c.deletePod('twice')
  const dels = [await c.cni('DEL', { pod: 'twice', uid: pod.metadata.uid, containerId }), await c.cni('DEL', { pod: 'twice', uid: pod.metadata.uid, containerId })]
  t.strictSame(dels.map((d) => d.code), [0, 0])
  t.notOk((await records()).some((r) => r.ip === reservedIP(pod)))
  const report = await settledInvariants(c.store)
  assertInvariants(t, report, 'DEL twice')
  matrix.record('DEL twice', report)
})

await t.test('DEL twice at once, and a late DEL of the old pod after a pod of the same name took its place: the new pod keeps its address', async (t) => {
  const old = await admitted('reborn')
  const oldContainer = 'e'.repeat(64)
  t.equal((await c.cni('ADD', { pod: 'reborn', uid: old.metadata.uid, containerId: oldContainer })).code, 0)
  await c.deletePod('reborn')
  const together = await Promise.all([0, 1].map(() => c.cni('DEL', { pod: 'reborn', uid: old.metadata.uid, containerId: oldContainer })))
  t.strictSame(together.map((d) => d.code), [0, 0])

  const fresh = await admitted('reborn')
  const add = await c.cni('ADD', { pod: 'reborn', uid: fresh.metadata.uid, containerId: 'f'.repeat(64) })
  t.strictSame(add.ips, [reservedIP(fresh)])
  // the runtime cleans up the old sandbox late: it names the old uid
  t.equal((await c.cni('DEL', { pod: 'reborn', uid: old.metadata.uid, containerId: oldContainer })).code, 0)
  t.match((await records()).filter((r) => r.ip === reservedIP(fresh)), [{ state: 'claimed', podUid: fresh.metadata.uid }], 'the new pod keeps its address')
  const report = await settledInvariants(c.store)
  assertInvariants(t, report, 'a stale DEL')
  matrix.record('DEL twice at once, then a stale DEL after re-creation', report)
})

await t.test('ADD racing the deletion of its pod: whatever the ADD claimed or allocated is collected, and no SpiderEndpoint outlives its pod', async (t) => {
  t.teardown(() => void (c.cp.faults.writeLatencyMs = 0))
  const pods = await Promise.all(Array.from({ length: 6 }, (_, i) => admitted(`racing-${i}`)))
  c.cp.faults.writeLatencyMs = 400
  const adding = Promise.all(pods.map((pod) => c.cni('ADD', { pod: pod.metadata.name, uid: pod.metadata.uid })))
  // staggered, so that some deletions land before the ADD reads its pod, some while its writes are in flight, some after
  await Promise.all(pods.map(async (pod, i) => {
    await sleep(150 * i)
    await c.deletePod(pod.metadata.name)
  }))
  const adds = await adding
  c.cp.faults.writeLatencyMs = 0
  t.comment(`ADDs that succeeded: ${adds.filter((a) => a.code === 0).length}/${adds.length}`)
  // the runtime tears down what the ADDs made
  await Promise.all(pods.map((pod) => c.cni('DEL', { pod: pod.metadata.name, uid: pod.metadata.uid })))
  const report = await settledInvariants(c.store)
  assertInvariants(t, report, 'ADD racing the pod\'s deletion')
  await until('the SpiderEndpoints of the gone pods are gone', async () => {
    const left = (await c.store.list(resources.endpoints, { namespace: 'default' })).items.filter((e) => e.metadata?.name?.startsWith('racing-'))
    return left.length === 0
  }, 10_000).catch((err) => t.fail(String(err)))
  matrix.record('ADD racing the pod\'s deletion, then DEL', report)
})

await matrix.write()
