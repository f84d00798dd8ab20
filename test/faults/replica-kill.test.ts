// A webhook replica SIGKILLed while its reservations are on their way to the API (writes slowed so
// that they are in flight): the pods it was admitting are refused, whatever it reserved for them
// is collected by the replica that takes over the lease, and the survivors' pods are untouched.
import t from 'tap'
import { isPod, limited, reservedIP, sleep, startFaultCluster, until } from './cluster.ts'
import { checkInvariants, settledInvariants } from './invariants.ts'
import { assertInvariants, faultMatrix } from './matrix.ts'

const matrix = faultMatrix(t, 'webhook replica killed')
const c = await startFaultCluster(t, { replicas: 2, processes: true })
const { faults } = c.cp

await t.test('the leading replica killed mid-reservation: refused pods leave nothing, admitted pods claim their addresses', async (t) => {
  t.teardown(() => void (faults.writeLatencyMs = 0))
  let run = 0
  // kill while the pods' creates wait in the API, and while the replicas' reservation writes do
  for (const after of [320, 450]) {
    const pool = `kill-${run}`
    await c.createPool(pool, 80 + run, 30)
    await until('a replica leads', async () => (await Promise.all(c.replicas.filter((r) => r.alive()).map((r) => r.leads()))).some(Boolean))
    const leaders = await Promise.all(c.replicas.map(async (r) => r.alive() && (await r.leads())))
    const victim = c.replicas[leaders.indexOf(true)]
    faults.writeLatencyMs = 250
    const names = Array.from({ length: 12 }, (_, i) => `kill-${run}-${i}`)
    const creating = Promise.all(names.map((name) => c.createPod(name, { pools: [pool] })))
    await sleep(after)
    await victim.kill()
    const created = await creating
    faults.writeLatencyMs = 0
    await c.reroute()
    const admitted = created.filter(isPod)
    t.comment(`killed after ${after} ms: ${admitted.length}/${names.length} admitted`)
    t.ok(admitted.length < names.length, 'the kill refused some pods')
    const right = await checkInvariants(c.store, { pools: [pool] })
    t.strictSame(right.duplicates, [], 'no address handed out twice right after the kill')
    t.comment(`right after the kill: ${right.pending.length} reservations carried by no pod`)

    // the survivor takes the lease, then collects what the dead one reserved
    const collected = await settledInvariants(c.store, { pools: [pool], timeoutMs: 20_000 })
    assertInvariants(t, collected, `killed after ${after} ms, collected`)
    t.equal(collected.pending.length, 0, 'no orphan reservation is left')

    const more = (await Promise.all(Array.from({ length: 4 }, (_, i) => c.createPod(`after-kill-${run}-${i}`, { pools: [pool] })))).filter(isPod)
    t.equal(more.length, 4, 'the surviving replica admits new pods')
    const everyone = [...admitted, ...more]
    const adds = await limited(everyone, 6, (pod) => c.cni('ADD', { pod: pod.metadata.name, uid: pod.metadata.uid }))
    t.strictSame(adds.map((a) => a.ips[0]), everyone.map(reservedIP), 'every admitted pod claims its reserved address')
    const claimed = await settledInvariants(c.store, { pools: [pool] })
    assertInvariants(t, claimed, `killed after ${after} ms, claimed`)
    await Promise.all(everyone.map((pod) => c.deletePod(pod.metadata.name)))
    await limited(everyone, 6, (pod) => c.cni('DEL', { pod: pod.metadata.name, uid: pod.metadata.uid }))
    const gone = await settledInvariants(c.store, { pools: [pool] })
    assertInvariants(t, gone, `killed after ${after} ms, all gone`)
    matrix.record('leader SIGKILLed mid-reservation, 2 replicas (2 timings)', right, collected, claimed, gone)

    await c.addReplica()
    run++
  }
})

await matrix.write()
