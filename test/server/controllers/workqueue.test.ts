import t from 'tap'
import { createWorkQueue } from '../../../server/controllers/workqueue.ts'

t.test('a key queued many times while waiting is reconciled once', async (t) => {
  const seen: string[] = []
  const q = createWorkQueue({ reconcile: async (k) => void seen.push(k) })
  for (let i = 0; i < 5; i++) q.add('a')
  q.add('b')
  await q.idle()
  t.same(seen.sort(), ['a', 'b'])
  await q.stop()
})

t.test('one key is never reconciled by two workers at once', async (t) => {
  let running = 0
  let most = 0
  const q = createWorkQueue({
    reconcile: async () => {
      most = Math.max(most, ++running)
      await new Promise((r) => setTimeout(r, 5))
      running--
    },
  })
  q.add('a')
  await new Promise((r) => setTimeout(r, 1))
  q.add('a')
  await q.idle()
  t.equal(most, 1)
  await q.stop()
})

t.test('a failed reconcile comes back after a delay until it succeeds', async (t) => {
  let calls = 0
  const errors: unknown[] = []
  const q = createWorkQueue({
    baseDelayMs: 1,
    reconcile: async () => {
      if (++calls < 3) throw new Error('conflict')
    },
    onError: (_k, e) => errors.push(e),
  })
  q.add('a')
  await q.idle()
  t.equal(calls, 3)
  t.equal(errors.length, 2)
  await q.stop()
})

t.test('stop ends retries and refuses new work', async (t) => {
  let calls = 0
  const q = createWorkQueue({ baseDelayMs: 10_000, reconcile: async () => void calls++ })
  await q.stop()
  q.add('a')
  await new Promise((r) => setTimeout(r, 10))
  t.equal(calls, 0)
})
