import t from 'tap'
import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import forge from 'node-forge'
import { buildCertificateAuthority, buildServingCertificate, createPrivateKeyPem } from '../../certs/generate.ts'
import { ApiError, isAlreadyExists, isConflict, isGone, isNotFound } from '../../kube/errors.ts'
import { createTransport } from '../../kube/transport.ts'

const validity = () => ({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) })

// A CA, a serving certificate for 127.0.0.1, and a client certificate (clientAuth) from a second CA.
async function pki() {
  const [caKey, serverKey, clientCaKey, clientKey] = await Promise.all([createPrivateKeyPem(), createPrivateKeyPem(), createPrivateKeyPem(), createPrivateKeyPem()])
  const ca = { certPem: buildCertificateAuthority(caKey, 'test server CA', validity()), keyPem: caKey }
  const serverCert = buildServingCertificate(serverKey, ca, { commonName: 'apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], ...validity() })
  const clientCaPem = buildCertificateAuthority(clientCaKey, 'test client CA', validity())
  const clientCa = forge.pki.certificateFromPem(clientCaPem)
  const key = forge.pki.privateKeyFromPem(clientKey) as forge.pki.rsa.PrivateKey
  const cert = forge.pki.createCertificate()
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e)
  cert.serialNumber = '4a' + Date.now().toString(16)
  Object.assign(cert.validity, validity())
  cert.setSubject([{ name: 'commonName', value: 'system:node:worker-1' }])
  cert.setIssuer(clientCa.subject.attributes)
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', clientAuth: true },
  ])
  cert.sign(forge.pki.privateKeyFromPem(clientCaKey), forge.md.sha256.create())
  return { caPem: ca.certPem, serverCert, serverKey, clientCaPem, clientCert: forge.pki.certificateToPem(cert), clientKey }
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void

async function apiServer(p: Awaited<ReturnType<typeof pki>>, handler: Handler, opts: { requireClientCert?: boolean } = {}) {
  let connections = 0
  const server = https.createServer(
    {
      cert: p.serverCert,
      key: p.serverKey,
      ...(opts.requireClientCert ? { ca: p.clientCaPem, requestCert: true, rejectUnauthorized: true } : {}),
    },
    (req, res) => {
      let body = ''
      req.setEncoding('utf8')
      req.on('data', (c: string) => (body += c))
      req.on('end', () => handler(req, res, body))
    },
  )
  server.on('secureConnection', () => connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

const json = (res: ServerResponse, code: number, value: unknown) => {
  res.writeHead(code, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify(value))
}

t.test('transport', async (t) => {
  const p = await pki()

  t.test('a JSON request reaches the server with the bearer token, query and body, over the CA-verified TLS', async (t) => {
    const seen: { method?: string; url?: string; auth?: string; type?: string; body?: string }[] = []
    const s = await apiServer(p, (req, res, body) => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body })
      json(res, 201, { kind: 'ConfigMap', metadata: { name: 'x' } })
    })
    const tr = createTransport({ server: s.url, ca: p.caPem, token: 'secret' })
    t.teardown(async () => {
      tr.close()
      await s.close()
    })
    const answer = await tr.request({ method: 'POST', path: '/api/v1/namespaces/a/configmaps', query: { dryRun: 'All', skip: undefined }, body: { data: { k: 'ü' } } })
    t.same(answer, { kind: 'ConfigMap', metadata: { name: 'x' } })
    t.same(seen, [
      { method: 'POST', url: '/api/v1/namespaces/a/configmaps?dryRun=All', auth: 'Bearer secret', type: 'application/json', body: '{"data":{"k":"ü"}}' },
    ])
  })

  t.test('a server path prefix is kept in front of every API path', async (t) => {
    const urls: string[] = []
    const s = await apiServer(p, (req, res) => {
      urls.push(req.url!)
      json(res, 200, {})
    })
    const tr = createTransport({ server: `${s.url}/k8s/clusters/c-1/`, ca: p.caPem })
    t.teardown(async () => {
      tr.close()
      await s.close()
    })
    await tr.request({ path: '/api/v1/nodes' })
    t.same(urls, ['/k8s/clusters/c-1/api/v1/nodes'])
  })

  t.test('a token function is asked before every request, so a rotated token is used', async (t) => {
    const auths: string[] = []
    const s = await apiServer(p, (req, res) => {
      auths.push(req.headers.authorization ?? '')
      json(res, 200, {})
    })
    let n = 0
    const tr = createTransport({ server: s.url, ca: p.caPem, token: async () => `t${++n}` })
    t.teardown(async () => {
      tr.close()
      await s.close()
    })
    await tr.request({ path: '/api' })
    await tr.request({ path: '/api' })
    t.same(auths, ['Bearer t1', 'Bearer t2'])
  })

  t.test('a plain-text answer (as /healthz gives) comes back as text', async (t) => {
    const s = await apiServer(p, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end('ok')
    })
    const tr = createTransport({ server: s.url, ca: p.caPem })
    t.teardown(async () => {
      tr.close()
      await s.close()
    })
    t.equal(await tr.request({ path: '/healthz' }), 'ok')
  })

  t.test('requests reuse one kept-alive connection', async (t) => {
    const s = await apiServer(p, (_req, res) => json(res, 200, {}))
    const tr = createTransport({ server: s.url, ca: p.caPem })
    t.teardown(async () => {
      tr.close()
      await s.close()
    })
    for (let i = 0; i < 5; i++) await tr.request({ path: '/version' })
    t.equal(s.connections(), 1)
  })

  t.test('a server certificate from an unknown CA is refused unless insecure-skip-tls-verify is set', async (t) => {
    const s = await apiServer(p, (_req, res) => json(res, 200, { ok: true }))
    const strict = createTransport({ server: s.url })
    const insecure = createTransport({ server: s.url, insecureSkipTLSVerify: true })
    const wrongName = createTransport({ server: s.url, ca: p.caPem, tlsServerName: 'kubernetes.default.svc' })
    t.teardown(async () => {
      strict.close()
      insecure.close()
      wrongName.close()
      await s.close()
    })
    await t.rejects(strict.request({ path: '/' }), { code: /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/ })
    t.same(await insecure.request({ path: '/' }), { ok: true })
    await t.rejects(wrongName.request({ path: '/' }), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
  })

  t.test('a client certificate authenticates the client when the server asks for one', async (t) => {
    const s = await apiServer(
      p,
      (req, res) => json(res, 200, { user: (req.socket as TLSSocket).getPeerCertificate().subject.CN }),
      { requireClientCert: true },
    )
    const withCert = createTransport({ server: s.url, ca: p.caPem, cert: p.clientCert, key: p.clientKey })
    const without = createTransport({ server: s.url, ca: p.caPem })
    t.teardown(async () => {
      withCert.close()
      without.close()
      await s.close()
    })
    t.same(await withCert.request({ path: '/' }), { user: 'system:node:worker-1' })
    await t.rejects(without.request({ path: '/' }))
  })

  t.test('a non-2xx answer becomes an ApiError carrying the server Status', async (t) => {
    const statuses: Record<string, [number, unknown]> = {
      '/conflict': [409, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Conflict', code: 409, message: 'the object has been modified', details: { name: 'p1', kind: 'spiderippools', group: 'spiderpool.spidernet.io' } }],
      '/exists': [409, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'AlreadyExists', code: 409, message: 'already exists' }],
      '/missing': [404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' }],
      '/gone': [410, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: 'too old resource version' }],
    }
    const s = await apiServer(p, (req, res) => {
      const answer = statuses[req.url!]
      if (answer) return json(res, answer[0], answer[1])
      res.writeHead(502, { 'Content-Type': 'text/html' })
      res.end('<html>bad gateway</html>')
    })
    const tr = createTransport({ server: s.url, ca: p.caPem })
    t.teardown(async () => {
      tr.close()
      await s.close()
    })
    const caught = (path: string) => tr.request({ method: 'PUT', path, body: {} }).then(() => undefined, (e: unknown) => e)

    const conflict = await caught('/conflict')
    t.ok(conflict instanceof ApiError)
    t.match(conflict, { code: 409, reason: 'Conflict', request: 'PUT /conflict', details: { name: 'p1', kind: 'spiderippools' } })
    t.match((conflict as ApiError).message, 'the object has been modified')
    t.ok(isConflict(conflict))
    t.notOk(isAlreadyExists(conflict))

    const exists = await caught('/exists')
    t.ok(isAlreadyExists(exists))
    t.notOk(isConflict(exists), 'AlreadyExists is a 409 but not a write conflict')

    t.ok(isNotFound(await caught('/missing')))
    t.ok(isGone(await caught('/gone')))

    const proxy = await caught('/other')
    t.match(proxy, { code: 502, reason: 'InternalError', status: { kind: 'Status', code: 502, message: '<html>bad gateway</html>' } })
    t.notOk(isConflict(proxy) || isNotFound(proxy) || isGone(proxy))
  })

  t.test('a request with no answer fails after its timeout', async (t) => {
    const s = await apiServer(p, () => {})
    const tr = createTransport({ server: s.url, ca: p.caPem }, { timeoutMs: 10_000 })
    t.teardown(async () => {
      tr.close()
      await s.close()
    })
    const started = Date.now()
    await t.rejects(tr.request({ path: '/slow', timeoutMs: 200 }), { name: 'TimeoutError', message: /GET \/slow: no answer within 200 ms/ })
    t.ok(Date.now() - started < 5000)
  })

  t.test('an aborted signal ends the request with the abort reason', async (t) => {
    const s = await apiServer(p, () => {})
    const tr = createTransport({ server: s.url, ca: p.caPem })
    t.teardown(async () => {
      tr.close()
      await s.close()
    })
    const ac = new AbortController()
    const pending = tr.request({ path: '/hang', signal: ac.signal })
    setTimeout(() => ac.abort(new Error('shutting down')), 50)
    await t.rejects(pending, { message: 'shutting down' })
    await t.rejects(tr.request({ path: '/hang', signal: AbortSignal.abort(new Error('already')) }), { message: 'already' })
  })

  t.test('a stream yields each newline-delimited JSON value, however the bytes are chunked', async (t) => {
    const lines = [{ type: 'ADDED', object: { n: 'ä€' } }, { type: 'MODIFIED', object: { n: 2 } }, { type: 'BOOKMARK', object: { n: 3 } }]
    const s = await apiServer(p, async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      const bytes = Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n')
      // Write in 3-byte pieces, splitting lines and multi-byte characters.
      for (let i = 0; i < bytes.length; i += 3) {
        res.write(bytes.subarray(i, i + 3))
        if (i % 30 === 0) await new Promise((r) => setTimeout(r, 1))
      }
      res.end()
    })
    const tr = createTransport({ server: s.url, ca: p.caPem })
    t.teardown(async () => {
      tr.close()
      await s.close()
    })
    const got: unknown[] = []
    for await (const v of tr.stream({ path: '/watch' })) got.push(v)
    t.same(got, lines)
  })

  t.test('a stream that fails to start throws the ApiError; breaking out of a stream closes its connection', async (t) => {
    let closed = false
    const s = await apiServer(p, (req, res) => {
      if (req.url === '/forbidden') return json(res, 403, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403, message: 'no' })
      res.writeHead(200)
      res.write('{"n":1}\n')
      res.on('close', () => (closed = true))
    })
    const tr = createTransport({ server: s.url, ca: p.caPem })
    t.teardown(async () => {
      tr.close()
      await s.close()
    })
    await t.rejects(
      (async () => {
        for await (const _ of tr.stream({ path: '/forbidden' })) {
        }
      })(),
      { code: 403, reason: 'Forbidden' },
    )
    for await (const v of tr.stream({ path: '/endless' })) {
      t.same(v, { n: 1 })
      break
    }
    const deadline = Date.now() + 5000
    while (!closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    t.ok(closed, 'the server saw the watch connection close')
  })

  t.test('a silent stream fails after its idle timeout; an abort ends it with the reason', async (t) => {
    const s = await apiServer(p, (req, res) => {
      if (req.url === '/no-headers') return
      res.writeHead(200)
      res.write('{"n":1}\n')
    })
    const tr = createTransport({ server: s.url, ca: p.caPem })
    t.teardown(async () => {
      tr.close()
      await s.close()
    })
    const got: unknown[] = []
    await t.rejects(
      (async () => {
        for await (const v of tr.stream({ path: '/quiet', idleTimeoutMs: 200 })) got.push(v)
      })(),
      { name: 'TimeoutError' },
    )
    t.same(got, [{ n: 1 }])
    await t.rejects(
      (async () => {
        for await (const _ of tr.stream({ path: '/no-headers', idleTimeoutMs: 200 })) {
        }
      })(),
      { name: 'TimeoutError' },
      'also when the server never answers the watch request',
    )
    const ac = new AbortController()
    await t.rejects(
      (async () => {
        for await (const _ of tr.stream({ path: '/quiet', signal: ac.signal })) ac.abort(new Error('stop watching'))
      })(),
      { message: 'stop watching' },
    )
  })
})
