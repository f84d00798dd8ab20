// A node deleted with running pods: no kubelet will ever run DEL for them. While the pods are still
// in the API they keep their addresses; once the pod garbage collector deletes them (done here, as
// kube-controller-manager's podgc would) or they hang terminating, the collector releases them.
// The pods of the other node keep theirs throughout.
import t from 'tap'
import { parseRecords } from '../../ipam/records.ts'
import { resources } from '../../kube/resources.ts'
import { isPod, limited, reservedIP, sleep, startFaultCluster, type ApiPod } from './cluster.ts'
import { checkInvariants, settledInvariants } from './invariants.ts'
import { assertInvariants, faultMatrix } from './matrix.ts'

const matrix = faultMatrix(t, 'node deleted')
const c = await startFaultCluster(t, { nodes: ['node-1', 'node-2'] })
await c.createPool('nodes', 90, 40)
const records = async () => parseRecords((await c.store.get(resources.ippools, 'nodes')).status?.allocatedIPs).records ?? []

await t.test('node-2 deleted with 8 running pods, one never started and one stuck terminating: released once the pods go, node-1 untouched', async (t) => {
  const create = async (name: string, node: string) => {
    const pod = await c.createPod(name, { node })
    if (!isPod(pod)) throw pod
    return pod
  }
  const stay = await Promise.all(Array.from({ length: 4 }, (_, i) => create(`stay-${i}`, 'node-1')))
  const lost = await Promise.all(Array.from({ length: 8 }, (_, i) => create(`lost-${i}`, 'node-2')))
  const unstarted = await create('lost-unstarted', 'node-2')
  const started: ApiPod[] = [...stay, ...lost]
  const adds = await limited(started, 6, (pod) => c.cni('ADD', { pod: pod.metadata.name, uid: pod.metadata.uid }))
  t.strictSame(adds.map((a) => a.ips[0]), started.map(reservedIP))
  // the last one is stuck terminating: something holds it with a finalizer
  const stuck = lost[lost.length - 1]
  await c.store.patch(resources.pods, stuck.metadata.name, { metadata: { finalizers: ['example.com/hold'] } }, { namespace: 'default', type: 'merge' })

  await c.store.delete(resources.nodes, 'node-2')
  // two collector scans with the pods still in the API
  await sleep(2_500)
  const podsStillThere = await checkInvariants(c.store, { pools: ['nodes'] })
  assertInvariants(t, podsStillThere, 'node gone, its pods still in the API')
  t.equal((await records()).length, started.length + 1, 'pods that still exist keep their addresses')

  // podgc: the pods of a node that no longer exists are deleted at once
  for (const pod of [...lost, unstarted]) await c.deletePod(pod.metadata.name, { gracePeriodSeconds: 0 })
  const collected = await settledInvariants(c.store, { pools: ['nodes'] })
  assertInvariants(t, collected, 'pods of the gone node deleted, no DEL ever run')
  t.strictSame(
    (await records()).map((r) => r.ip).sort(),
    stay.map(reservedIP).sort(),
    'exactly the addresses of node-1\'s pods are left (the stuck terminating pod\'s went too)',
  )
  matrix.record('node deleted with 8 running pods (+1 unstarted, +1 stuck terminating), podgc, no DEL', podsStillThere, collected)

  await c.store.patch(resources.pods, stuck.metadata.name, { metadata: { finalizers: null } }, { namespace: 'default', type: 'merge' })
})

await matrix.write()
