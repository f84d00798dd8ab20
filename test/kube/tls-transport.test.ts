// The plugins' hand-written HTTP/1.1 client must be indistinguishable from kube/transport.ts to
// its callers: the same calls against the real local control plane answer the same values and
// throw the same errors; framing (chunked, Content-Length, Connection: close) and TLS checks are
// exercised against small servers that do exactly one odd thing.
import { writeFileSync } from 'node:fs'
import https from 'node:https'
import tls from 'node:tls'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import forge from 'node-forge'
import t from 'tap'
import { buildCertificateAuthority, buildServingCertificate, createPrivateKeyPem } from '../../certs/generate.ts'
import { startControlPlane } from '../../kube/controlplane/index.ts'
import { ApiError } from '../../kube/errors.ts'
import { loadKubeconfig } from '../../kube/kubeconfig.ts'
import { resourcePath, resources } from '../../kube/resources.ts'
import { createStore } from '../../kube/store.ts'
import { createTlsTransport } from '../../kube/tls-transport.ts'
import { createTransport } from '../../kube/transport.ts'
import type { Connection, Transport } from '../../kube/transport.ts'

const dir = t.testdir()
const cp = await startControlPlane({ dataDir: path.join(dir, 'cp'), port: 0, admission: false })
t.teardown(() => cp.close())
const connection = await loadKubeconfig(cp.kubeconfigPath)

/** What a call came to: its value, or the error's observable parts. */
async function outcome(call: Promise<unknown>) {
  try {
    return { value: await call }
  } catch (err) {
    const e = err as Error & { code?: unknown }
    return { error: { type: err instanceof ApiError ? 'ApiError' : e.name, message: e.message, code: e.code, status: err instanceof ApiError ? err.status : undefined } }
  }
}

t.test('against the control plane, every call answers what kube/transport.ts answers', async (t) => {
  const lean = createTlsTransport(connection, { userAgent: 'test' })
  const old = createTransport(connection, { userAgent: 'test' })
  t.teardown(() => (lean.close(), old.close()))
  const both = async (call: (tr: Transport) => Promise<unknown>) => [await outcome(call(old)), await outcome(call(lean))]
  const cmPath = (name?: string) => resourcePath(resources.configmaps, { namespace: 'default', name })
  const configMap = (name: string, data: Record<string, string>, resourceVersion?: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', resourceVersion }, data })

  let [a, b] = await both((tr) => tr.request({ path: cmPath('absent') }))
  t.equal(b.error?.status?.code, 404, 'a missing object is a 404 ApiError')
  t.same(b, a, 'GET of a missing object: same 404 error')

  const created = await lean.request<{ metadata: { resourceVersion: string; uid: string } }>({ method: 'POST', path: cmPath(), body: configMap('one', { a: '1' }) })
  t.ok(created.metadata.uid, 'POST answers the created object (201)')
  ;[a, b] = await both((tr) => tr.request({ path: cmPath('one') }))
  t.same(b, a, 'GET of the object: same value')

  ;[a, b] = await both((tr) => tr.request({ method: 'POST', path: cmPath(), body: configMap('one', { a: '1' }) }))
  t.equal(b.error?.status?.reason, 'AlreadyExists')
  t.same(b, a, 'POST of an existing name: same 409 AlreadyExists')

  const updated = await lean.request<{ data: Record<string, string>; metadata: { resourceVersion: string } }>({ method: 'PUT', path: cmPath('one'), body: configMap('one', { a: '2' }, created.metadata.resourceVersion) })
  t.same(updated.data, { a: '2' }, 'PUT on the resourceVersion read answers the new object (200)')
  ;[a, b] = await both((tr) => tr.request({ method: 'PUT', path: cmPath('one'), body: configMap('one', { a: '3' }, created.metadata.resourceVersion) }))
  t.equal(b.error?.status?.reason, 'Conflict')
  t.same(b, a, 'PUT on a stale resourceVersion: same 409 Conflict')

  ;[a, b] = await both((tr) => tr.request({ method: 'POST', path: cmPath(), body: '{not json' }))
  t.equal(b.error?.status?.code, 400)
  t.same(b, a, 'a body the server cannot read: same 400 error')

  ;[a, b] = await both((tr) => tr.request({ path: cmPath(), query: { labelSelector: 'x!=y' } }))
  t.same(b, a, 'a list with a query: same value')
  ;[a, b] = await both((tr) => tr.request({ path: '/healthz' }))
  t.equal(b.value, 'ok', 'a plain-text answer comes back as text')
  t.same(b, a)
})

t.test('the store works over it: a watch arrives chunked and its events are read as they come', async (t) => {
  const store = createStore(createTlsTransport(connection))
  const writer = createStore(createTransport(connection))
  t.teardown(() => (store.transport.close(), writer.transport.close()))
  const list = await store.list(resources.configmaps, { namespace: 'default' })
  const ac = new AbortController()
  const events = store.transport.stream({ path: resourcePath(resources.configmaps, { namespace: 'default' }), query: { watch: 1, resourceVersion: list.resourceVersion }, signal: ac.signal })
  const seen: string[] = []
  const reading = (async () => {
    for await (const ev of events) {
      const e = ev as { type: string; object: { metadata: { name: string } } }
      seen.push(`${e.type} ${e.object.metadata.name}`)
      if (seen.length === 2) break
    }
  })()
  await writer.create(resources.configmaps, { metadata: { name: 'w1', namespace: 'default' }, data: {} })
  await writer.create(resources.configmaps, { metadata: { name: 'w2', namespace: 'default' }, data: {} })
  await reading
  t.same(seen, ['ADDED w1', 'ADDED w2'])
  t.same((await store.get(resources.configmaps, 'w2', { namespace: 'default' })).metadata.name, 'w2', 'the connection serves requests again after the watch')
})

const validity = () => ({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) })

async function pki() {
  const [caKey, serverKey, clientCaKey, clientKey] = await Promise.all([createPrivateKeyPem(), createPrivateKeyPem(), createPrivateKeyPem(), createPrivateKeyPem()])
  const ca = { certPem: buildCertificateAuthority(caKey, 'odd server CA', validity()), keyPem: caKey }
  // named only by DNS, so that reaching it at 127.0.0.1 needs the kubeconfig's tls-server-name
  const serverCert = buildServingCertificate(serverKey, ca, { commonName: 'apiserver', dnsNames: ['apiserver.test'], ipAddresses: [], ...validity() })
  const clientCaPem = buildCertificateAuthority(clientCaKey, 'client CA', validity())
  const key = forge.pki.privateKeyFromPem(clientKey) as forge.pki.rsa.PrivateKey
  const cert = forge.pki.createCertificate()
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e)
  cert.serialNumber = '5b' + Date.now().toString(16)
  Object.assign(cert.validity, validity())
  cert.setSubject([{ name: 'commonName', value: 'system:node:worker-1' }])
  cert.setIssuer(forge.pki.certificateFromPem(clientCaPem).subject.attributes)
  cert.setExtensions([{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true, keyEncipherment: true }, { name: 'extKeyUsage', clientAuth: true }])
  cert.sign(forge.pki.privateKeyFromPem(clientCaKey), forge.md.sha256.create())
  return { caPem: ca.certPem, serverCert, serverKey, clientCaPem, clientCert: forge.pki.certificateToPem(cert), clientKey }
}

async function oddServer(p: Awaited<ReturnType<typeof pki>>, handler: (req: IncomingMessage, res: ServerResponse) => void, opts: { requireClientCert?: boolean } = {}) {
  let connections = 0
  const server = https.createServer({ cert: p.serverCert, key: p.serverKey, ...(opts.requireClientCert ? { ca: p.clientCaPem, requestCert: true, rejectUnauthorized: true } : {}) }, (req, res) => {
    req.resume()
    req.on('end', () => handler(req, res))
  })
  server.on('secureConnection', () => connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const base: Connection = { server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, ca: p.caPem, tlsServerName: 'apiserver.test' }
  return {
    base,
    connections: () => connections,
    closeIdleConnections: () => server.closeIdleConnections(),
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  }
}

t.test('framing and connections', async (t) => {
  const p = await pki()

  t.test('a chunked answer, split at odd places, is read whole; so is one of several chunks ending in trailers', async (t) => {
    const s = await oddServer(p, (req, res) => {
      const text = JSON.stringify({ kind: 'List', items: Array.from({ length: 200 }, (_, i) => ({ i, name: `item-${i}-ü` })) })
      res.writeHead(req.url === '/trailers' ? 200 : 404, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', ...(req.url === '/trailers' ? { Trailer: 'X-Done' } : {}) })
      const bytes = Buffer.from(text)
      let at = 0
      const step = () => {
        if (at >= bytes.length) {
          if (req.url === '/trailers') res.addTrailers({ 'X-Done': 'yes' })
          return res.end()
        }
        const n = 1 + ((at * 7) % 997)
        res.write(bytes.subarray(at, at + n))
        at += n
        setImmediate(step)
      }
      step()
    })
    t.teardown(s.close)
    const tr = createTlsTransport(s.base)
    t.teardown(tr.close)
    const value = await tr.request<{ items: { i: number; name: string }[] }>({ path: '/trailers' })
    t.equal(value.items.length, 200)
    t.equal(value.items[199].name, 'item-199-ü', 'multi-byte characters split across chunks survive')
    const err = await outcome(tr.request({ path: '/not-found' }))
    t.equal(err.error?.status?.code, 404, 'a chunked error answer is the ApiError with the body read')
    t.equal(s.connections(), 1, 'both on one connection')
  })

  t.test('requests made at once take turns on one connection', async (t) => {
    const s = await oddServer(p, (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ path: req.url, auth: req.headers.authorization }))
    })
    t.teardown(s.close)
    const tr = createTlsTransport({ ...s.base, token: 'tok' })
    t.teardown(tr.close)
    const answers = await Promise.all(['/a', '/b', '/c', '/d'].map((path) => tr.request<{ path: string; auth: string }>({ path })))
    t.same(answers.map((a) => a.path), ['/a', '/b', '/c', '/d'])
    t.equal(answers[0].auth, 'Bearer tok', 'the bearer token is sent')
    t.equal(s.connections(), 1)
  })

  t.test('open() completes the TLS handshake before any request, and the first request goes on that connection', async (t) => {
    let requests = 0
    const s = await oddServer(p, (_req, res) => {
      requests++
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end('{"ok":true}')
    })
    t.teardown(s.close)
    const tr = createTlsTransport(s.base)
    t.teardown(tr.close)
    tr.open()
    for (let i = 0; i < 100 && s.connections() === 0; i++) await new Promise((r) => setTimeout(r, 10))
    t.equal(s.connections(), 1, 'handshaken with no request made')
    t.equal(requests, 0)
    tr.open()
    t.same(await tr.request({ path: '/' }), { ok: true })
    t.same(await tr.request({ path: '/' }), { ok: true })
    t.equal(s.connections(), 1, 'a second open() and both requests use it')
  })

  t.test('a server that closes the connection after an answer, or while it is idle, is dialled again', async (t) => {
    let n = 0
    const s = await oddServer(
      p,
      (req, res) => {
        n++
        res.writeHead(200, { 'Content-Type': 'application/json', ...(req.url === '/close' ? { Connection: 'close' } : {}) })
        res.end(JSON.stringify({ n }))
      },
    )
    t.teardown(s.close)
    const tr = createTlsTransport(s.base)
    t.teardown(tr.close)
    t.same(await tr.request({ path: '/close' }), { n: 1 })
    t.same(await tr.request({ path: '/keep' }), { n: 2 }, 'after Connection: close')
    t.equal(s.connections(), 2)
    s.closeIdleConnections()
    await new Promise((r) => setTimeout(r, 100))
    t.same(await tr.request({ method: 'PUT', path: '/keep', body: {} }), { n: 3 }, 'after the server closed the idle connection')
    t.equal(s.connections(), 3)
  })

  t.test('a request with no answer fails after its timeout as kube/transport.ts fails; the next one gets a new connection', async (t) => {
    const s = await oddServer(p, (req, res) => {
      if (req.url === '/silent') return
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end('{"ok":true}')
    })
    t.teardown(s.close)
    const tr = createTlsTransport(s.base)
    const old = createTransport(s.base)
    t.teardown(() => (tr.close(), old.close()))
    const [a, b] = [await outcome(old.request({ path: '/silent', timeoutMs: 100 })), await outcome(tr.request({ path: '/silent', timeoutMs: 100 }))]
    t.same(b, a)
    t.match(b.error, { type: 'TimeoutError', code: 'ETIMEDOUT' })
    const ac = new AbortController()
    setTimeout(() => ac.abort(new Error('stop')), 50)
    t.same(await outcome(tr.request({ path: '/silent', signal: ac.signal })), { error: { type: 'Error', message: 'stop', code: undefined, status: undefined } }, 'an abort ends it with the reason')
    t.same(await tr.request({ path: '/ok' }), { ok: true })
  })

  t.test('the server certificate is checked as kube/transport.ts checks it: CA, server name, insecure-skip-tls-verify', async (t) => {
    const s = await oddServer(p, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end('{"ok":true}')
    })
    t.teardown(s.close)
    const compare = async (c: Connection) => {
      const tr = createTlsTransport(c)
      const old = createTransport(c)
      try {
        return [await outcome(old.request({ path: '/' })), await outcome(tr.request({ path: '/' }))]
      } finally {
        tr.close()
        old.close()
      }
    }
    let [a, b] = await compare({ ...s.base, ca: cp.caPem })
    t.ok(b.error?.code, `a CA that did not sign it is refused (${b.error?.code})`)
    t.same(b, a)
    ;[a, b] = await compare({ ...s.base, tlsServerName: undefined })
    t.equal(b.error?.code, 'ERR_TLS_CERT_ALTNAME_INVALID', 'an address the certificate does not name is refused')
    t.same(b, a)
    ;[a, b] = await compare(s.base)
    t.same(b, { value: { ok: true } }, 'the CA and server name from the kubeconfig are accepted')
    ;[a, b] = await compare({ ...s.base, ca: cp.caPem, insecureSkipTLSVerify: true })
    t.same(b, { value: { ok: true } }, 'insecure-skip-tls-verify accepts any certificate')
  })

  t.test('getAll writes its GETs back to back and reads the answers in order, each settling on its own', async (t) => {
    // a server that answers nothing until it has read both requests: a client that waited for the first answer would time out
    const seen: string[] = []
    const server = tls.createServer({ cert: p.serverCert, key: p.serverKey }, (socket) => {
      let text = ''
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1')
        const heads = text.split('\r\n\r\n').slice(0, -1)
        if (heads.length < 2) return
        for (const head of heads) {
          const target = head.split(' ')[1]
          seen.push(target)
          const [code, body] = target === '/missing' ? [404, JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'missing' })] : [200, JSON.stringify({ path: target })]
          socket.write(`HTTP/1.1 ${code} X\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
        }
        text = ''
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const tr = createTlsTransport({ server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, ca: p.caPem, tlsServerName: 'apiserver.test' })
    t.teardown(tr.close)
    const answers = await tr.getAll<{ path: string }>([{ path: '/missing', timeoutMs: 5000 }, { path: '/b', timeoutMs: 5000 }])
    t.same(seen, ['/missing', '/b'], 'both requests reached the server before it answered either')
    t.equal(answers[0].status, 'rejected', 'the 404 fails its own entry')
    t.equal(((answers[0] as PromiseRejectedResult).reason as ApiError).status?.code, 404)
    t.same(answers[1], { status: 'fulfilled', value: { path: '/b' } }, 'and the next answer is still read')
    t.same(await tr.getAll([]), [], 'no requests, no answers')
    await t.rejects(tr.getAll([{ method: 'POST', path: '/x' }]), /GETs only/, 'only GETs are pipelined: a write must not be sent twice')
  })

  t.test('getAll: when the server closes after an answer, the GETs left go again on a new connection', async (t) => {
    let n = 0
    const s = await oddServer(p, (req, res) => {
      n++
      res.writeHead(200, { 'Content-Type': 'application/json', ...(req.url === '/close' ? { Connection: 'close' } : {}) })
      res.end(JSON.stringify({ path: req.url, n }))
    })
    t.teardown(s.close)
    const tr = createTlsTransport(s.base)
    t.teardown(tr.close)
    const answers = await tr.getAll<{ path: string }>([{ path: '/close' }, { path: '/after' }, { path: '/last' }])
    t.same(
      answers.map((a) => (a.status === 'fulfilled' ? a.value.path : 'failed')),
      ['/close', '/after', '/last'],
    )
    t.equal(s.connections(), 2, 'one connection until the close, one for the rest')
    t.same(await tr.request({ path: '/then' }), { path: '/then', n: n }, 'the transport goes on as usual')
  })

  t.test('a client certificate from the kubeconfig authenticates the plugin', async (t) => {
    const s = await oddServer(
      p,
      (req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ cn: (req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN }))
      },
      { requireClientCert: true },
    )
    t.teardown(s.close)
    const kubeconfig = path.join(dir, 'client-cert.kubeconfig')
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        clusters: [{ name: 'c', cluster: { server: s.base.server, 'certificate-authority-data': Buffer.from(p.caPem).toString('base64'), 'tls-server-name': 'apiserver.test' } }],
        users: [{ name: 'u', user: { 'client-certificate-data': Buffer.from(p.clientCert).toString('base64'), 'client-key-data': Buffer.from(p.clientKey).toString('base64') } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'c',
      }),
    )
    const tr = createTlsTransport(await loadKubeconfig(kubeconfig))
    t.teardown(tr.close)
    t.same(await tr.request({ path: '/' }), { cn: 'system:node:worker-1' })
    const anonymous = createTlsTransport(s.base)
    t.teardown(anonymous.close)
    t.ok((await outcome(anonymous.request({ path: '/' }))).error, 'without it the server refuses')
  })
})
