// After a burst, once quiet, the server gives back the pages V8 kept: one memory-reducing GC per
// burst, none while requests keep coming, none for a trickle.
import { Agent, request } from 'node:https'
import t from 'tap'
import { startIdleMemoryTrim } from '../../server/memory-trim.ts'
import { startWebhookServer } from '../../server/webhook.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import { review, validatePath } from './fixtures/widget.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('no trim while requests keep arriving; one once they stop; none again without a new burst', async (t) => {
  let served = 0
  const trims: number[] = []
  const trim = startIdleMemoryTrim({ served: () => served, quietMs: 80, minRequests: 500, onTrim: (x) => trims.push(x.requests) })
  t.teardown(() => trim.stop())
  for (let i = 0; i < 10; i++) {
    served += 100
    await sleep(20)
  }
  t.equal(trim.trims, 0, 'busy: no trim')
  await sleep(300)
  t.same(trims, [1000], 'quiet after 1000 requests: one trim')
  served += 10
  await sleep(300)
  t.equal(trim.trims, 1, 'a trickle of 10 is no burst')
})

t.test('a trim gives back the pages a burst left behind', async (t) => {
  let served = 0
  let freed = 0
  const trim = startIdleMemoryTrim({ served: () => served, quietMs: 50, minRequests: 1, onTrim: (x) => (freed = x.rssBefore - x.rssAfter) })
  t.teardown(() => trim.stop())
  // what a burst of reviews leaves: ~100 MiB of short-lived objects, a few of them alive at a time
  let live: unknown[] = []
  for (let i = 0; i < 40; i++) {
    live.push(JSON.parse(JSON.stringify(Array.from({ length: 20_000 }, (_, j) => ({ ip: `10.6.${j >> 8}.${j & 255}`, pod: `default/web-${j}` })))))
    if (live.length > 4) live.shift()
  }
  live = []
  served = 1
  await sleep(200)
  t.equal(trim.trims, 1)
  t.ok(freed > 8 * 2 ** 20, `RSS went down by ${(freed / 2 ** 20).toFixed(1)} MiB`)
})

t.test('a webhook server trims once it is quiet after a burst of admission reviews', async (t) => {
  const server = await startWebhookServer({
    host: '127.0.0.1', port: 0, tlsDir: t.testdir(), settings: defaultSettings(), serviceName: 'spiderpool-controller', namespace: 'kube-system', logLevel: 'silent', idleTrimMs: 100,
  })
  t.teardown(() => server.close())
  const agent = new Agent({ keepAlive: true, maxSockets: 8, rejectUnauthorized: false })
  t.teardown(() => agent.destroy())
  const get = () =>
    new Promise<number>((resolve, reject) => {
      const req = request(new URL(validatePath('spiderippool'), server.url), { agent, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', reject)
      req.end(body)
    })
  const body = JSON.stringify(review('CREATE', { kind: 'SpiderIPPool', name: 'p', object: { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'p' }, spec: { subnet: '10.1.0.0/24', ips: ['10.1.0.1'] } } }))
  const answers = await Promise.all(Array.from({ length: 600 }, get))
  t.ok(answers.every((code) => code === 200))
  const deadline = Date.now() + 3000
  while (server.memoryTrims === 0 && Date.now() < deadline) await sleep(50)
  t.equal(server.memoryTrims, 1, 'one trim after the burst')
})
