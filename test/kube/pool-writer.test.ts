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
