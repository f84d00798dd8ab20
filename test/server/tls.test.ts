// TLS of the webhook server as real clients meet it: 1.2 at least, only forward-secret AEAD ciphers,
// an optional client certificate for admission, header and body limits; the same after a reload.
import { X509Certificate } from 'node:crypto'
import { cpSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import t from 'tap'
import { ensureServingCertificate } from '../../certs/index.ts'
import { startWebhookServer } from '../../server/webhook.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import { clientIdentity } from './fixtures/client-certificate.ts'
import { handshake, until } from './fixtures/tls-probe.ts'
import { review as reviewOf } from './fixtures/widget.ts'

const root = t.testdir({ plain: {}, mutual: {}, next: {} })
const start = (dir: string, clientCaPem?: string) =>
  startWebhookServer({ host: '127.0.0.1', port: 0, tlsDir: dir, clientCaPem, settings: defaultSettings(), serviceName: 'spiderpool-controller', namespace: 'kube-system', logLevel: 'silent' })

const apiServer = await clientIdentity('kube-apiserver')
const stranger = await clientIdentity('stranger')
const plain = await start(join(root, 'plain'))
const mutual = await start(join(root, 'mutual'), apiServer.caPem)
t.teardown(() => Promise.all([plain.close(), mutual.close()]))

const review = JSON.stringify(
  reviewOf('CREATE', { uid: 'u-1', kind: 'SpiderIPPool', name: 'p', object: { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'p' }, spec: { subnet: '10.1.0.0/24', ips: ['10.1.0.1'] } } }),
)

interface Call {
  method?: string
  body?: string
  cert?: string
  key?: string
  headers?: Record<string, string>
}

function call(url: string, path: string, ca: string, o: Call = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const body = o.body
    const req = request(
      new URL(path, url),
      {
        method: o.method ?? (body === undefined ? 'GET' : 'POST'),
        ca,
        cert: o.cert,
        key: o.key,
        agent: false,
        headers: { ...(body !== undefined && { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }), ...o.headers },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

const validatePath = '/validate-spiderpool-spidernet-io-v2beta1-spiderippool'

t.test('TLS 1.1 is refused; TLS 1.2 and 1.3 are accepted', async (t) => {
  // SECLEVEL=0 so that this client is willing to offer 1.1 at all: the refusal must come from the server
  await t.rejects(handshake(plain.url, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }), { code: /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|WRONG_VERSION/ })
  t.equal((await handshake(plain.url, { maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2')
  t.equal((await handshake(plain.url)).protocol, 'TLSv1.3')
})

t.test('over TLS 1.2 only ECDHE with AES-GCM or ChaCha20 is agreed: CBC and RSA key exchange are refused', async (t) => {
  for (const cipher of ['ECDHE-RSA-AES128-SHA256', 'ECDHE-RSA-AES256-SHA', 'AES128-GCM-SHA256', 'AES256-SHA256', 'DHE-RSA-AES128-GCM-SHA256']) {
    await t.rejects(handshake(plain.url, { maxVersion: 'TLSv1.2', ciphers: cipher }), { code: /HANDSHAKE_FAILURE|NO_SHARED_CIPHER|NO_CIPHERS/ }, `${cipher} refused`)
  }
  for (const cipher of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']) {
    t.equal((await handshake(plain.url, { maxVersion: 'TLSv1.2', ciphers: cipher })).cipher, cipher, `${cipher} agreed`)
  }
})

t.test("the server's cipher order wins over the client's", async (t) => {
  const offered = 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256'
  t.equal((await handshake(plain.url, { maxVersion: 'TLSv1.2', ciphers: offered })).cipher, 'ECDHE-RSA-AES128-GCM-SHA256')
})

t.test('with a client CA, admission needs a certificate it signed; probes and metrics stay open', async (t) => {
  const ca = mutual.caPem
  const without = await call(mutual.url, validatePath, ca, { body: review })
  t.equal(without.status, 401, 'no client certificate')
  t.match(JSON.parse(without.body), { error: 'Unauthorized' })
  t.equal((await call(mutual.url, validatePath, ca, { body: review, cert: stranger.certPem, key: stranger.keyPem })).status, 401, 'a certificate from another CA')
  const signed = await call(mutual.url, validatePath, ca, { body: review, cert: apiServer.certPem, key: apiServer.keyPem })
  t.equal(signed.status, 200)
  t.match(JSON.parse(signed.body), { kind: 'AdmissionReview', response: { uid: 'u-1' } }, 'judged')
  t.equal((await call(mutual.url, '/mutate--v1-pod', ca, { body: review })).status, 401, 'every admission path')
  for (const path of ['/healthz', '/readyz', '/metrics']) t.equal((await call(mutual.url, path, ca)).status, 200, `${path} without a certificate`)
  t.equal((await call(plain.url, validatePath, plain.caPem, { body: review })).status, 200, 'without a client CA no certificate is asked')
})

t.test('headers over 8 KiB get 431 and bodies over 3 MiB get 413', async (t) => {
  t.equal((await call(plain.url, '/healthz', plain.caPem, { headers: { 'x-filler': 'a'.repeat(9 * 1024) } })).status, 431)
  t.equal((await call(plain.url, '/healthz', plain.caPem, { headers: { 'x-filler': 'a'.repeat(6 * 1024) } })).status, 200)
  const huge = JSON.stringify({ filler: 'a'.repeat(3 * 1024 * 1024 + 1) })
  t.equal((await call(plain.url, validatePath, plain.caPem, { body: huge })).status, 413)
})

t.test('a reloaded certificate keeps the policy: weak ciphers and missing client certificates are still refused', async (t) => {
  const next = await ensureServingCertificate({ dir: join(root, 'next'), service: 'spiderpool-controller', namespace: 'kube-system', ipAddresses: ['127.0.0.1'] })
  cpSync(join(root, 'next'), join(root, 'mutual'), { recursive: true })
  const wanted = new X509Certificate(next.certPem).fingerprint256
  await until('the replaced files served', async () => (await handshake(mutual.url)).certificate.fingerprint256 === wanted)
  await t.rejects(handshake(mutual.url, { maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256' }), { code: /HANDSHAKE_FAILURE|NO_SHARED_CIPHER/ })
  await t.rejects(handshake(mutual.url, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }))
  t.equal((await call(mutual.url, validatePath, next.caPem, { body: review })).status, 401)
  t.equal((await call(mutual.url, validatePath, next.caPem, { body: review, cert: apiServer.certPem, key: apiServer.keyPem })).status, 200)
})
