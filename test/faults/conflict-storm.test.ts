// A conflict storm: every Nth write of each object answered 409 while two webhook replicas reserve
// for pods created at once, the plugin claims for all of them at once, and half of them go again.
// Whatever a refusal or a lost race leaves, nothing is handed out twice and nothing stays behind.
import t from 'tap'
import { isPod, limited, reservedIP, startFaultCluster } from './cluster.ts'
import { checkInvariants, settledInvariants } from './invariants.ts'
import { assertInvariants, faultMatrix } from './matrix.ts'

const matrix = faultMatrix(t, 'conflict storm')
const c = await startFaultCluster(t, { replicas: 2 })
const pods = 20

for (const every of [2, 3]) {
  await t.test(`every ${every === 2 ? '2nd' : '3rd'} write conflicts: ${pods} pods through two replicas, claimed at once, half deleted`, async (t) => {
    const pool = `storm-${every}`
    await c.createPool(pool, 40 + every, pods + 5)
    c.cp.faults.conflictEveryNthWrite = every
    t.teardown(() => void (c.cp.faults.conflictEveryNthWrite = 0))

    const started = Date.now()
    const phase = (what: string) => t.comment(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`)
    const names = Array.from({ length: pods }, (_, i) => `storm-${every}-${i}`)
    const created = await Promise.all(names.map((name) => c.createPod(name, { pools: [pool] })))
    const admitted = created.filter(isPod)
    t.comment(`${admitted.length}/${pods} admitted; refused: ${[...new Set(created.filter((p) => !isPod(p)).map((e) => (e as Error).message))].join('; ') || 'none'}`)
    t.ok(admitted.length > 0, 'pods are admitted through the storm')
    t.equal(new Set(admitted.map(reservedIP)).size, admitted.length, 'each admitted pod has its own address')
    const afterAdmission = await checkInvariants(c.store, { pools: [pool] })
    assertInvariants(t, afterAdmission, 'after admission')

    phase('admitted')
    const adds = await limited(admitted, 8, async (pod) => {
      // a runtime retries a failed ADD
      for (let i = 0; ; i++) {
        const add = await c.cni('ADD', { pod: pod.metadata.name, uid: pod.metadata.uid })
        if (add.code === 0 || i >= 3) return add
      }
    })
    const failed = adds.filter((a) => a.code !== 0)
    t.strictSame(failed.map((a) => a.out), [], 'every claim succeeds within three retries')
    t.strictSame(adds.map((a) => a.ips[0]), admitted.map(reservedIP), 'each pod gets what it was reserved')
    const afterClaim = await checkInvariants(c.store, { pools: [pool] })
    assertInvariants(t, afterClaim, 'after the claims')

    phase('claimed')
    const leaving = admitted.filter((_, i) => i % 2 === 0)
    await Promise.all(leaving.map((pod) => c.deletePod(pod.metadata.name)))
    const dels = await limited(leaving, 8, (pod) => c.cni('DEL', { pod: pod.metadata.name, uid: pod.metadata.uid }))
    t.strictSame(dels.map((d) => d.code), leaving.map(() => 0), 'every DEL succeeds')
    phase('released')
    c.cp.faults.conflictEveryNthWrite = 0
    const settled = await settledInvariants(c.store, { pools: [pool] })
    phase('settled')
    assertInvariants(t, settled, 'after half of them went')
    matrix.record(`every ${every === 2 ? '2nd' : '3rd'} write 409, ${pods} pods, 2 replicas`, afterAdmission, afterClaim, settled)
  })
}

await matrix.write()
