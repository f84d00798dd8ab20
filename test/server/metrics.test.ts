import t from 'tap'
import { mutatePath, review, testApp, validatePath } from './fixtures/widget.ts'

/** `name{labels} value` lines of a Prometheus text exposition, labels as written. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line)
    if (m) out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]))
  }
  return out
}

t.test('/metrics counts reviews by kind, operation and verdict, and times them per kind', async (t) => {
  const app = testApp()
  const widget = (size: number) => ({ metadata: { name: 'w' }, spec: { size } })
  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object })
  await post(mutatePath('widget'), review('CREATE', { object: widget(1) }))
  await post(mutatePath('widget'), review('CREATE', { object: widget(2) }))
  await post(validatePath('widget'), review('CREATE', { object: widget(-1) }))
  await post(validatePath('widget'), review('DELETE', { oldObject: widget(1) }))
  await post(validatePath('bomb'), review('CREATE', { kind: 'Bomb', object: {} }))
  await post(validatePath('widget'), { not: 'a review' })

  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const s = samples(res.body)
  t.equal(s.get('spiderpool_webhook_requests_total{kind="Widget",operation="CREATE",verdict="allowed"}'), 2)
  t.equal(s.get('spiderpool_webhook_requests_total{kind="Widget",operation="CREATE",verdict="denied"}'), 1)
  t.equal(s.get('spiderpool_webhook_requests_total{kind="Widget",operation="DELETE",verdict="allowed"}'), 1)
  t.equal(s.get('spiderpool_webhook_requests_total{kind="Bomb",operation="CREATE",verdict="error"}'), 1)
  t.equal(s.get('spiderpool_webhook_requests_total{kind="Widget",operation="",verdict="error"}'), 1, 'a body that is not a review counts as an error')
  t.equal(s.get('spiderpool_webhook_request_duration_seconds_count{kind="Widget"}'), 5)
  t.equal(s.get('spiderpool_webhook_request_duration_seconds_count{kind="Bomb"}'), 1)
  t.equal(s.get('spiderpool_webhook_request_duration_seconds_bucket{le="+Inf",kind="Widget"}'), 5)
  t.ok((s.get('spiderpool_webhook_request_duration_seconds_sum{kind="Widget"}') ?? -1) >= 0)
})

t.test('two apps keep separate counts: the registry is the app\'s own, not the global one', async (t) => {
  const a = testApp()
  const b = testApp()
  await a.inject({ method: 'POST', url: validatePath('widget'), payload: review('CREATE', { object: { metadata: { name: 'w' }, spec: {} } }) })
  const fromB = samples((await b.inject({ method: 'GET', url: '/metrics' })).body)
  t.notOk([...fromB.keys()].some((k) => k.startsWith('spiderpool_webhook_requests_total')), 'b has counted nothing')
  const fromA = samples((await a.inject({ method: 'GET', url: '/metrics' })).body)
  t.equal(fromA.get('spiderpool_webhook_requests_total{kind="Widget",operation="CREATE",verdict="allowed"}'), 1)
})

t.test('health and metrics requests are not counted as reviews', async (t) => {
  const app = testApp()
  await app.inject({ method: 'GET', url: '/healthz' })
  await app.inject({ method: 'GET', url: '/metrics' })
  const s = samples((await app.inject({ method: 'GET', url: '/metrics' })).body)
  t.notOk([...s.keys()].some((k) => k.startsWith('spiderpool_webhook_request')))
})
