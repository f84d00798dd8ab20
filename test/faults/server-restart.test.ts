// The server restarted while its collector is releasing the addresses of deleted pods (writes slowed
// so that the collection spans several seconds): the webhook server killed outright or stopped as on
// a rolling update (the next one finishes the collection), or the API server restarted under it
// (its watches resume). The pods that stayed keep their addresses.
import t from 'tap'
import { parseRecords } from '../../ipam/records.ts'
import { resources } from '../../kube/resources.ts'
import { isPod, limited, reservedIP, startFaultCluster, until, type ApiPod } from './cluster.ts'
import { checkInvariants, settledInvariants } from './invariants.ts'
import { assertInvariants, faultMatrix } from './matrix.ts'

const matrix = faultMatrix(t, 'server restarted mid-GC')
const c = await startFaultCluster(t, { replicas: 1, processes: true })
const faults = () => c.cp.faults
const recordCount = async (pool: string) => (parseRecords((await c.store.get(resources.ippools, pool)).status?.allocatedIPs).records ?? []).length

let run = 0
for (const how of ['SIGKILL', 'graceful stop', 'control plane restart'] as const) {
  const what = how === 'control plane restart' ? 'the API server restarted' : `a ${how} of the webhook server`
  await t.test(`${what} while the collector releases: the collection finishes, the staying pods keep their addresses`, async (t) => {
    t.teardown(() => void (faults().writeLatencyMs = 0))
    const pools = [0, 1, 2, 3].map((i) => `gc-${run}-${i}`)
    for (const [i, pool] of pools.entries()) await c.createPool(pool, 100 + run * 10 + i, 10)
    const pods: { pod: ApiPod; pool: string; stays: boolean }[] = []
    for (const pool of pools) {
      for (let i = 0; i < 4; i++) {
        const pod = await c.createPod(`${pool}-${i}`, { pools: [pool] })
        if (!isPod(pod)) throw pod
        pods.push({ pod, pool, stays: i === 0 })
      }
    }
    const adds = await limited(pods, 6, ({ pod }) => c.cni('ADD', { pod: pod.metadata.name, uid: pod.metadata.uid }))
    t.strictSame(adds.map((a) => a.ips[0]), pods.map(({ pod }) => reservedIP(pod)))

    // the pods go without DEL (as after a node's runtime died): only the collector releases them
    faults().writeLatencyMs = 600
    const leaving = pods.filter((p) => !p.stays)
    await Promise.all(leaving.map(({ pod }) => c.deletePod(pod.metadata.name)))
    await until('the collection began', async () => (await Promise.all(pools.map(recordCount))).some((n) => n === 1), 20_000)
    const counts = await Promise.all(pools.map(recordCount))
    t.ok(counts.some((n) => n > 1), `the restart comes mid-collection (records left per pool: ${counts.join(', ')})`)
    const server = c.replicas.find((r) => r.alive())!
    if (how === 'SIGKILL') await server.kill()
    else if (how === 'graceful stop') await server.close()
    else await c.restartControlPlane()
    faults().writeLatencyMs = 0
    const midway = await checkInvariants(c.store, { pools })
    t.strictSame(midway.duplicates, [], 'no address handed out twice mid-collection')
    if (how !== 'control plane restart') await c.addReplica()

    const settled = await settledInvariants(c.store, { pools, timeoutMs: 20_000 })
    assertInvariants(t, settled, `after a ${how} mid-collection`)
    for (const pool of pools) t.equal(await recordCount(pool), 1, `${pool}: only the staying pod's address is left`)

    const fresh = await c.createPod(`${pools[0]}-after`, { pools: [pools[0]] })
    t.ok(isPod(fresh), 'the new server admits pods')
    if (isPod(fresh)) t.notOk(pods.some((p) => p.stays && reservedIP(p.pod) === reservedIP(fresh)), 'and never gives out a staying pod\'s address')
    const withFresh = await settledInvariants(c.store, { pools })
    assertInvariants(t, withFresh, 'a new pod after the restart')
    // mid-collection the records still waiting for the collector are not leaks yet: only duplicates count there
    matrix.record(`${how === 'control plane restart' ? 'API server (local control plane) restarted' : `webhook server ${how}`} mid-GC (12 of 16 pods collected over 4 pools)`, { ...midway, leaks: [] }, settled, withFresh)
    run++
  })
}

await matrix.write()
