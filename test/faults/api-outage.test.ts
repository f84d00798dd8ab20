// The API goes away (every request 503) while pods are being admitted and their addresses
// reserved, while the plugin claims them, and while it releases them. Pods refused for the outage
// leave nothing reserved past the time to live; claims retried after it get what was reserved.
import t from 'tap'
import { isPod, limited, reservedIP, sleep, startFaultCluster, type ApiPod } from './cluster.ts'
import { checkInvariants, settledInvariants } from './invariants.ts'
import { assertInvariants, faultMatrix } from './matrix.ts'

const matrix = faultMatrix(t, 'API outage')
const c = await startFaultCluster(t, { replicas: 2 })
const { faults } = c.cp

/** The API down from `after` ms for `forMs` ms, while `work` runs. */
async function outage<T>(after: number, forMs: number, work: () => Promise<T>): Promise<T> {
  const down = (async () => {
    await sleep(after)
    faults.outage = true
    await sleep(forMs)
    faults.outage = false
  })()
  const out = await work()
  await down
  return out
}

/** ADD as a runtime does it: again after a failure, until it succeeds. */
async function addUntilDone(pod: ApiPod, tries = 20) {
  for (let i = 0; ; i++) {
    const add = await c.cni('ADD', { pod: pod.metadata.name, uid: pod.metadata.uid })
    if (add.code === 0 || i + 1 >= tries) return add
    await sleep(200)
  }
}

await t.test('an outage during reservation: the pods it refuses leave nothing reserved, the admitted ones claim what they were given', async (t) => {
  t.teardown(() => void Object.assign(faults, { outage: false, writeLatencyMs: 0 }))
  let run = 0
  // the outage begins before the creates, while the pods' creates wait in the API, and while the reservations are written
  for (const after of [0, 150, 350]) {
    const pool = `outage-reserve-${run}`
    await c.createPool(pool, 60 + run, 20)
    faults.writeLatencyMs = 300
    const names = Array.from({ length: 8 }, (_, i) => `reserve-${run}-${i}`)
    const created = await outage(after, 1_000, () => Promise.all(names.map((name) => c.createPod(name, { pools: [pool] }))))
    faults.writeLatencyMs = 0
    const admitted = created.filter(isPod)
    t.comment(`outage after ${after} ms: ${admitted.length}/${names.length} admitted; refused: ${[...new Set(created.filter((p) => !isPod(p)).map((e) => (e as Error).message.slice(0, 120)))].join('; ') || 'none'}`)
    const afterOutage = await settledInvariants(c.store, { pools: [pool] })
    assertInvariants(t, afterOutage, `outage after ${after} ms, collected`)

    const adds = await limited(admitted, 6, (pod) => addUntilDone(pod, 3))
    t.strictSame(adds.map((a) => a.ips[0]), admitted.map(reservedIP), 'the admitted pods claim their reserved addresses')
    await Promise.all(admitted.map((pod) => c.deletePod(pod.metadata.name)))
    await limited(admitted, 6, (pod) => c.cni('DEL', { pod: pod.metadata.name, uid: pod.metadata.uid }))
    const settled = await settledInvariants(c.store, { pools: [pool] })
    assertInvariants(t, settled, `outage after ${after} ms, all gone`)
    t.equal(settled.pending.length, 0, 'nothing reserved is left')
    matrix.record('503 outage during reservation (3 timings)', afterOutage, settled)
    run++
  }
})

await t.test('an outage during claim and release: ADD fails with "try again later", its retry gets the reserved address; DEL succeeds and the collector releases', async (t) => {
  t.teardown(() => void Object.assign(faults, { outage: false, writeLatencyMs: 0, conflictEveryNthWrite: 0 }))
  const pool = 'outage-claim'
  await c.createPool(pool, 70, 40)
  let run = 0
  for (const after of [0, 100, 250]) {
    const created = await Promise.all(Array.from({ length: 6 }, (_, i) => c.createPod(`claim-${run}-${i}`, { pools: [pool] })))
    const pods = created.filter(isPod)
    t.equal(pods.length, 6, 'admitted before the outage')
    // slow writes with conflicts: the outage can fall between a claim's read, its pool write, its retry and its SpiderEndpoint
    Object.assign(faults, { writeLatencyMs: 150, conflictEveryNthWrite: 3 })
    const first = await outage(after, 800, () => Promise.all(pods.map((pod) => c.cni('ADD', { pod: pod.metadata.name, uid: pod.metadata.uid }))))
    Object.assign(faults, { writeLatencyMs: 0, conflictEveryNthWrite: 0 })
    const failed = first.filter((a) => a.code !== 0)
    t.ok(failed.every((a) => a.out?.code === 11), `a failed ADD says "try again later" (${failed.length} failed)`)
    const retried = await limited(pods, 6, (pod) => addUntilDone(pod))
    t.strictSame(retried.map((a) => a.ips[0]), pods.map(reservedIP), 'every pod ends with its reserved address')
    const claimed = await settledInvariants(c.store, { pools: [pool] })
    assertInvariants(t, claimed, `outage ${after} ms into the claims`)

    await Promise.all(pods.map((pod) => c.deletePod(pod.metadata.name)))
    const dels = await outage(0, 600, () => Promise.all(pods.map((pod) => c.cni('DEL', { pod: pod.metadata.name, uid: pod.metadata.uid }))))
    t.strictSame(dels.map((d) => d.code), pods.map(() => 0), 'DEL succeeds through the outage')
    const released = await settledInvariants(c.store, { pools: [pool] })
    assertInvariants(t, released, 'DEL during an outage, collected after it')
    t.ok((await checkInvariants(c.store, { pools: [pool] })).ipsChecked > 0)
    matrix.record('503 outage during claim, then during DEL (3 timings)', claimed, released)
    run++
  }
})

await matrix.write()
