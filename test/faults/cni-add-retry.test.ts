// CNI ADD retried three times: one after the other with the same container, all three at once,
// and from three successive sandboxes; the pod keeps the one address the webhook reserved.
import t from 'tap'
import { parseRecords } from '../../ipam/records.ts'
import { resources } from '../../kube/resources.ts'
import { isPod, reservedIP, startFaultCluster, type ApiPod } from './cluster.ts'
import { settledInvariants } from './invariants.ts'
import { assertInvariants, faultMatrix } from './matrix.ts'

const matrix = faultMatrix(t, 'CNI ADD retried')
const c = await startFaultCluster(t)
await c.createPool('retry', 20, 30)

const recordsOf = async (ip: string) => (parseRecords((await c.store.get(resources.ippools, 'retry')).status?.allocatedIPs).records ?? []).filter((r) => r.ip === ip)
const admitted = async (name: string): Promise<ApiPod> => {
  const pod = await c.createPod(name)
  if (!isPod(pod)) throw pod
  return pod
}

await t.test('an ADD retried three times with the same container returns the reserved address each time and claims it once', async (t) => {
  const pod = await admitted('same-container')
  const containerId = 'a'.repeat(64)
  const outcomes = []
  for (let i = 0; i < 3; i++) outcomes.push(await c.cni('ADD', { pod: 'same-container', uid: pod.metadata.uid, containerId }))
  t.strictSame(outcomes.map((o) => o.code), [0, 0, 0], outcomes.map((o) => JSON.stringify(o.out) + o.stderr).join(' '))
  t.strictSame(outcomes.map((o) => o.ips), [[reservedIP(pod)], [reservedIP(pod)], [reservedIP(pod)]])
  t.match(await recordsOf(reservedIP(pod)), [{ state: 'claimed', pod: 'default/same-container', podUid: pod.metadata.uid }])
  const report = await settledInvariants(c.store)
  assertInvariants(t, report, 'after three ADDs')
  matrix.record('ADD ×3, same container', report)
})

await t.test('three ADDs of one pod at once all return its reserved address; one record holds it', async (t) => {
  const pods = await Promise.all(['at-once-1', 'at-once-2'].map(admitted))
  const outcomes = await Promise.all(pods.flatMap((pod) => [0, 1, 2].map(() => c.cni('ADD', { pod: pod.metadata.name, uid: pod.metadata.uid, containerId: `${pod.metadata.name}`.padEnd(64, 'b') }))))
  t.strictSame(outcomes.map((o) => o.code), [0, 0, 0, 0, 0, 0], outcomes.map((o) => JSON.stringify(o.out)).join(' '))
  t.strictSame(outcomes.map((o) => o.ips[0]), [0, 0, 0, 1, 1, 1].map((i) => reservedIP(pods[i])))
  for (const pod of pods) t.equal((await recordsOf(reservedIP(pod))).length, 1)
  const report = await settledInvariants(c.store)
  assertInvariants(t, report, 'after concurrent ADDs')
  matrix.record('ADD ×3 at once', report)
})

await t.test('three sandboxes of one pod (ADD, DEL of the live pod, ADD again) keep its address', async (t) => {
  const pod = await admitted('sandboxes')
  const got: string[][] = []
  for (let i = 0; i < 3; i++) {
    const containerId = `sandbox${i}`.padEnd(64, 'c')
    const add = await c.cni('ADD', { pod: 'sandboxes', uid: pod.metadata.uid, containerId })
    t.equal(add.code, 0, JSON.stringify(add.out))
    got.push(add.ips)
    t.equal((await c.cni('DEL', { pod: 'sandboxes', uid: pod.metadata.uid, containerId })).code, 0)
  }
  t.strictSame(got, [[reservedIP(pod)], [reservedIP(pod)], [reservedIP(pod)]])
  t.match(await recordsOf(reservedIP(pod)), [{ state: 'claimed', podUid: pod.metadata.uid }], 'DEL of a live pod keeps the address for the next sandbox')
  const report = await settledInvariants(c.store)
  assertInvariants(t, report, 'after three sandboxes')
  matrix.record('ADD ×3 from new sandboxes', report)

  await c.deletePod('sandboxes')
  t.equal((await c.cni('DEL', { pod: 'sandboxes', uid: pod.metadata.uid, containerId: 'sandbox2'.padEnd(64, 'c') })).code, 0)
  t.strictSame(await recordsOf(reservedIP(pod)), [], 'released once the pod is gone')
  assertInvariants(t, await settledInvariants(c.store), 'after the pod went')
})

await matrix.write()
