import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startControlPlane } from '../../kube/controlplane/index.ts'
import { createPoolWriter } from '../../kube/pool-writer.ts'
import { resources } from '../../kube/resources.ts'
import { createStore, type Store } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'
import { parseRecords } from '../../ipam/records.ts'
import type { ReserveWant } from '../../ipam/reserve.ts'
import type { SpiderIPPool } from '../../schemas/types.ts'

// Every directory a test makes lives under one scratch directory, removed when the process exits.
const scratch = mkdtempSync(path.join(tmpdir(), 'kube-pool-writer-'))
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }))

const cp = await startControlPlane({ dataDir: mkdtempSync(path.join(scratch, 'plane-')), port: 0, admission: false })
const transport = createTransport({ server: cp.url, ca: cp.caPem, token: cp.token })
t.teardown(async () => {
  transport.close()
  await cp.close()
})
const store = createStore(transport)

const want = (token: string): ReserveWant => ({ record: { pod: 'default/', podUid: '', state: 'reserved', token, nic: 'net1' } })

let pools = 0
async function freshPool(): Promise<SpiderIPPool> {
  const name = `pool-${++pools}`
  return store.create(resources.ippools, { metadata: { name }, spec: { subnet: '10.6.0.0/24', ips: ['10.6.0.10-10.6.0.19'] } } as SpiderIPPool)
}

async function recordsOf(name: string) {
  const parsed = parseRecords((await store.get(resources.ippools, name)).status?.allocatedIPs)
  if (parsed.error !== undefined) throw new Error(parsed.error)
  return parsed.records
}

t.test("a batch after the writer's own write starts from that write, not from a cache that has not seen it yet", async (t) => {
  const pool = await freshPool()
  const name = pool.metadata!.name!
  // an informer that lags: it still shows the pool as created
  const writer = createPoolWriter({ store, reservedIPs: () => [], cachedPool: () => pool })
  t.same(await writer.reserve(name, want('r-1')), { ip: '10.6.0.10/24' })
  t.same(await writer.reserve(name, want('r-2')), { ip: '10.6.0.11/24' })
  t.same(await writer.reserve(name, want('r-3')), { ip: '10.6.0.12/24' })
  t.match(writer.stats, { writes: 3, conflicts: 0 }, 'no write was made on the stale copy')
  t.same((await recordsOf(name)).map((r) => r.token), ['r-1', 'r-2', 'r-3'])
})

t.test("once the cache moves past the writer's own write, the cache's newer copy is used", async (t) => {
  const created = await freshPool()
  const name = created.metadata!.name!
  let cached: SpiderIPPool = created
  const writer = createPoolWriter({ store, reservedIPs: () => [], cachedPool: () => cached })
  const other = createPoolWriter({ store, reservedIPs: () => [] })
  t.same(await writer.reserve(name, want('r-1')), { ip: '10.6.0.10/24' })
  // another replica writes, and the cache shows its write
  t.same(await other.reserve(name, want('r-2')), { ip: '10.6.0.11/24' })
  cached = await store.get(resources.ippools, name)
  t.same(await writer.reserve(name, want('r-3')), { ip: '10.6.0.12/24' })
  t.match(writer.stats, { writes: 2, conflicts: 0 }, "the writer's own older copy was not used")
})

/** A store whose next status write breaks the connection, after (`landed`) or before the API applied it. */
function breakingOnce(landed: boolean): Store & { broke: number } {
  const wrapped: Store & { broke: number } = {
    ...store,
    broke: 0,
    updateStatus: async (r, obj, o) => {
      if (wrapped.broke > 0) return store.updateStatus(r, obj, o)
      wrapped.broke++
      if (landed) await store.updateStatus(r, obj, o)
      throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
    },
  }
  return wrapped
}

t.test('a write whose answer was lost to a broken connection is not done twice: the fresh read finds the reservation by its token', async (t) => {
  const pool = await freshPool()
  const name = pool.metadata!.name!
  const api = breakingOnce(true)
  const writer = createPoolWriter({ store: api, reservedIPs: () => [], cachedPool: () => pool })
  t.same(await writer.reserve(name, want('r-1')), { ip: '10.6.0.10/24' })
  t.equal(api.broke, 1)
  t.equal(writer.stats.writes, 1, 'the fresh read already held the reservation: nothing left to write')
  t.same((await recordsOf(name)).map((r) => [r.ip, r.token]), [['10.6.0.10', 'r-1']])
})

t.test('a write that a broken connection kept from the API is made again', async (t) => {
  const pool = await freshPool()
  const name = pool.metadata!.name!
  const api = breakingOnce(false)
  const writer = createPoolWriter({ store: api, reservedIPs: () => [], cachedPool: () => pool })
  t.same(await writer.reserve(name, want('r-1')), { ip: '10.6.0.10/24' })
  t.equal(writer.stats.writes, 2)
  t.same((await recordsOf(name)).map((r) => [r.ip, r.token]), [['10.6.0.10', 'r-1']])
})

const claimant = (i: number) => ({ namespace: 'default', name: `pod-${i}`, uid: `uid-${i}`, node: 'node-1', statefulSet: false })
const now = new Date('2026-07-08T12:00:00Z')

async function bigPool(addresses: number): Promise<string> {
  const name = `pool-${++pools}`
  await store.create(resources.ippools, { metadata: { name }, spec: { subnet: '10.7.0.0/16', ips: [`10.7.0.1-10.7.${Math.floor(addresses / 256)}.${addresses % 256}`] } } as SpiderIPPool)
  return name
}

t.test('200 claims at once on one pool cost a handful of writes, and each reservation becomes its own pod\'s', async (t) => {
  const name = await bigPool(200)
  const writer = createPoolWriter({ store, reservedIPs: () => [] })
  const reserved = await Promise.all(Array.from({ length: 200 }, (_, i) => writer.reserve(name, want(`r-${i}`))))
  const before = writer.stats.writes
  const outcomes = await Promise.all(
    reserved.map((r, i) => writer.claim(name, [{ address: r.ip!.split('/')[0], token: `r-${i}`, nic: 'net1' }], claimant(i), now)),
  )
  t.ok(writer.stats.writes - before <= 5, `${writer.stats.writes - before} writes for 200 claims`)
  t.same(
    outcomes.map((o) => o.map((x) => x.claimed)),
    reserved.map(() => ['now']),
    'every claim answered claimed',
  )
  const records = await recordsOf(name)
  t.equal(records.length, 200)
  for (const [i, r] of reserved.entries()) {
    const record = records.find((x) => x.ip === r.ip!.split('/')[0])
    t.match(record, { pod: `default/pod-${i}`, podUid: `uid-${i}`, state: 'claimed', node: 'node-1', token: `r-${i}` }, `pod-${i}`)
    if (record?.expiresAt !== undefined) t.fail('a claimed record keeps no expiry')
  }
  const again = await writer.claim(name, [{ address: reserved[0].ip!.split('/')[0], token: 'r-0', nic: 'net1' }], claimant(0), now)
  t.same(again, [{ address: reserved[0].ip!.split('/')[0], claimed: 'already' }], 'a claim made again (an ADD retried) finds it made')
})

t.test('a claim whose token is wrong is lost, and the pool is not written', async (t) => {
  const pool = await freshPool()
  const name = pool.metadata!.name!
  const writer = createPoolWriter({ store, reservedIPs: () => [] })
  const { ip } = await writer.reserve(name, want('r-right'))
  const before = await store.get(resources.ippools, name)
  const writes = writer.stats.writes
  const address = ip!.split('/')[0]
  t.same(await writer.claim(name, [{ address, token: 'r-wrong', nic: 'net1' }], claimant(1), now), [{ address, lost: `${address} is reserved for another Pod` }])
  t.equal(writer.stats.writes, writes, 'no write')
  t.equal((await store.get(resources.ippools, name)).metadata!.resourceVersion, before.metadata!.resourceVersion, 'the pool is unchanged')
  t.match(await recordsOf(name), [{ ip: address, state: 'reserved', podUid: '', token: 'r-right' }])
})

t.test('claims, reservations and releases asked in one turn go in one write; a claim on a pool that does not exist is lost', async (t) => {
  const pool = await freshPool()
  const name = pool.metadata!.name!
  const writer = createPoolWriter({ store, reservedIPs: () => [] })
  const first = await writer.reserve(name, want('r-a'))
  await writer.reserve(name, want('r-b'))
  const writes = writer.stats.writes
  const a = first.ip!.split('/')[0]
  const [claimed, reserved, released, missing] = await Promise.all([
    writer.claim(name, [{ address: a, token: 'r-a', nic: 'net1' }], claimant(1), now),
    writer.reserve(name, want('r-c')),
    writer.release(name, (r) => r.token === 'r-b'),
    writer.claim('no-such-pool', [{ address: '10.9.0.1', token: 'r-a', nic: 'net1' }], claimant(1), now),
  ])
  t.equal(writer.stats.writes - writes, 1, 'one write')
  t.same(claimed, [{ address: a, claimed: 'now' }])
  t.same(reserved, { ip: '10.6.0.11/24' }, 'the address the release freed is reserved again in the same write')
  t.equal(released, 1)
  t.same(missing, [{ address: '10.9.0.1', lost: 'IPPool no-such-pool does not exist' }])
  t.same((await recordsOf(name)).map((r) => [r.ip, r.state, r.token]), [
    ['10.6.0.10', 'claimed', 'r-a'],
    ['10.6.0.11', 'reserved', 'r-c'],
  ])
})
