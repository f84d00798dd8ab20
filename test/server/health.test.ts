import t from 'tap'
import { testApp } from './fixtures/widget.ts'

t.test('/healthz is ok while the process serves', async (t) => {
  const app = testApp({ ready: () => false })
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('/readyz is 503 until ready() says so, then 200', async (t) => {
  let ready = false
  const app = testApp({ ready: () => ready })
  const before = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(before.statusCode, 503)
  t.same(before.json(), { status: 'not ready' })
  ready = true
  const after = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(after.statusCode, 200)
  t.same(after.json(), { status: 'ok' })
})

t.test('/readyz is ok when no ready() is given', async (t) => {
  const res = await testApp().inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 200)
})
