// The app over real HTTPS with a certificate from certs/: what kube-apiserver sees.
import { Agent } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { ensureServingCertificate } from '../../certs/index.ts'
import { applyPatch } from './fixtures/json-patch.ts'
import { httpsRequest } from './fixtures/https-client.ts'
import { decodePatch, mutatePath, review, testApp, validatePath } from './fixtures/widget.ts'

async function serve(t: import('tap').Test) {
  const tls = await ensureServingCertificate({ dir: join(t.testdir({ server: {}, other: {} }), 'server'), service: 'spiderpool-controller', namespace: 'kube-system', ipAddresses: ['127.0.0.1'] })
  const app = testApp({ https: { key: tls.keyPem, cert: tls.certPem } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const { port } = app.server.address() as AddressInfo
  return { base: `https://127.0.0.1:${port}`, ca: tls.caPem }
}

t.test('a review posted over HTTPS, verified against the CA, comes back with a patch that defaults the object', { timeout: 30_000 }, async (t) => {
  const { base, ca } = await serve(t)
  const object = { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'Widget', metadata: { name: 'w', namespace: 'team-a' }, spec: { size: 2 } }
  const res = await httpsRequest(base + mutatePath('widget'), { ca, body: JSON.stringify(review('CREATE', { uid: 'tls-uid', object })) })
  t.equal(res.status, 200)
  const { response } = JSON.parse(res.body)
  t.equal(response.uid, 'tls-uid')
  t.equal(response.allowed, true)
  t.equal(response.patchType, 'JSONPatch')
  t.same(applyPatch(object, decodePatch(response.patch)), {
    ...object,
    metadata: { name: 'w', namespace: 'team-a', labels: { 'widgets.example/defaulted': 'true' } },
    spec: { size: 2, tags: ['plain'] },
  })
})

t.test('a client that does not trust the CA is refused at the handshake', { timeout: 30_000 }, async (t) => {
  const { base } = await serve(t)
  const other = await ensureServingCertificate({ dir: join(t.testdirName, 'other'), service: 'other', namespace: 'elsewhere', ipAddresses: ['127.0.0.1'] })
  await t.rejects(httpsRequest(base + '/healthz', { ca: other.caPem }), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
})

t.test('connections are kept alive between reviews', { timeout: 30_000 }, async (t) => {
  const { base, ca } = await serve(t)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const body = JSON.stringify(review('CREATE', { object: { metadata: { name: 'w' }, spec: { size: 1 } } }))
  const first = await httpsRequest(base + validatePath('widget'), { ca, agent, body })
  const second = await httpsRequest(base + validatePath('widget'), { ca, agent, body })
  t.equal(first.status, 200)
  t.equal(second.status, 200)
  t.equal(second.reusedSocket, true, 'the second review went over the first connection')
})

t.test('a 10 MB body over HTTPS gets a 413 JSON answer, not a hang, and the server answers the next request', { timeout: 30_000 }, async (t) => {
  const { base, ca } = await serve(t)
  const big = JSON.stringify(review('CREATE', { object: { metadata: { name: 'big' }, spec: { tags: ['x'.repeat(10 * 1024 * 1024)] } } }))
  const res = await httpsRequest(base + validatePath('widget'), { ca, body: big })
  t.equal(res.status, 413)
  t.match(JSON.parse(res.body), { error: 'Payload Too Large', message: /too large/ })
  const next = await httpsRequest(base + '/healthz', { ca })
  t.equal(next.status, 200)
})
