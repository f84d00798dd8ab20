import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startControlPlane } from '../../kube/controlplane/index.ts'
import { ApiError } from '../../kube/errors.ts'
import type { Status } from '../../kube/errors.ts'
import { resources } from '../../kube/resources.ts'
import { retryOnConflict } from '../../kube/retry.ts'
import { createStore } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'

// Every directory a test makes lives under one scratch directory, removed when the process exits.
const scratch = mkdtempSync(path.join(tmpdir(), 'kube-retry-'))
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }))

const status = (code: number, reason: string): Status => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message: reason })
const conflict = () => new ApiError(status(409, 'Conflict'), 'PUT /x')

t.test('a write that conflicts twice lands on the third run, reporting 3 attempts', async (t) => {
  const runs: number[] = []
  const r = await retryOnConflict(
    async (attempt) => {
      runs.push(attempt)
      if (attempt < 3) throw conflict()
      return 'written'
    },
    { baseMs: 1 },
  )
  t.same(r, { value: 'written', attempts: 3 })
  t.same(runs, [1, 2, 3])
})

t.test('an error other than Conflict propagates at once, without a second run', async (t) => {
  let runs = 0
  const notFound = new ApiError(status(404, 'NotFound'), 'GET /x')
  await t.rejects(
    retryOnConflict(async () => {
      runs++
      throw notFound
    }),
    notFound,
  )
  t.equal(runs, 1)
  const exists = new ApiError(status(409, 'AlreadyExists'), 'POST /x')
  await t.rejects(
    retryOnConflict(async () => {
      runs++
      throw exists
    }),
    exists,
    'AlreadyExists is not retried: re-reading cannot fix it',
  )
  t.equal(runs, 2)
})

t.test('after `steps` conflicts the last conflict propagates', async (t) => {
  let runs = 0
  await t.rejects(
    retryOnConflict(
      async () => {
        runs++
        throw conflict()
      },
      { steps: 4, baseMs: 1 },
    ),
    { code: 409, reason: 'Conflict' },
  )
  t.equal(runs, 4)
})

t.test('waits grow by the factor and stop at the cap', async (t) => {
  const gaps: number[] = []
  let last = Date.now()
  await t.rejects(
    retryOnConflict(
      async () => {
        const now = Date.now()
        gaps.push(now - last)
        last = now
        throw conflict()
      },
      { steps: 5, baseMs: 30, factor: 4, jitter: 0.25, capMs: 100 },
    ),
  )
  const waits = gaps.slice(1)
  t.equal(waits.length, 4)
  // Uncapped the waits would be 30, 120, 480, 1920 ms (plus jitter); timers fire late, never early.
  t.ok(waits[0] >= 29, `first wait ${waits[0]} ms`)
  for (const w of waits.slice(1)) t.ok(w >= 99 && w < 400, `later wait ${w} ms is held at the 100 ms cap`)
})

t.test('an abort during the backoff ends the retry with the abort reason', async (t) => {
  const ac = new AbortController()
  let runs = 0
  const pending = retryOnConflict(
    async () => {
      runs++
      throw conflict()
    },
    { steps: 100, baseMs: 10_000, signal: ac.signal },
  )
  setTimeout(() => ac.abort(new Error('shutdown')), 20)
  await t.rejects(pending, { message: 'shutdown' })
  t.equal(runs, 1)
})

t.test('N concurrent increments of one counter under injected conflicts all land exactly once', async (t) => {
  const cp = await startControlPlane({ dataDir: mkdtempSync(path.join(scratch, 'plane-')), port: 0 })
  const transport = createTransport({ server: cp.url, ca: cp.caPem, token: cp.token })
  t.teardown(async () => {
    transport.close()
    await cp.close()
  })
  const store = createStore(transport)
  await store.create(resources.configmaps, { metadata: { name: 'counter', namespace: 'default' }, data: { count: '0' } })
  cp.faults.conflictEveryNthWrite = 2

  const n = 12
  const increment = () =>
    retryOnConflict(
      async () => {
        const cm = await store.get(resources.configmaps, 'counter', { namespace: 'default' })
        const count = Number(cm.data?.count) + 1
        await store.update(resources.configmaps, { ...cm, data: { count: String(count) } })
      },
      { steps: 200, baseMs: 2, factor: 1.5, capMs: 50 },
    )
  const results = await Promise.all(Array.from({ length: n }, increment))
  const attempts = results.reduce((sum, r) => sum + r.attempts, 0)

  cp.faults.conflictEveryNthWrite = 0
  const final = await store.get(resources.configmaps, 'counter', { namespace: 'default' })
  t.equal(final.data?.count, String(n), 'every increment landed once')
  t.ok(attempts > n, `${attempts} attempts for ${n} increments: conflicts were retried`)
})
