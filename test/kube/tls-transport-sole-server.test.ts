// `soleServer`, the CNI plugins' way of trusting the kubeconfig's CA: it changes the trust of the
// whole process (tls.setDefaultCACertificates), so it is tried here, in a test process of its own.
// The checks must be the ones a secure context with `ca` makes: the CA, the server name, and
// insecure-skip-tls-verify.
import https from 'node:https'
import tls from 'node:tls'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildCertificateAuthority, buildServingCertificate, createPrivateKeyPem } from '../../certs/generate.ts'
import { createTlsTransport } from '../../kube/tls-transport.ts'
import type { Connection } from '../../kube/transport.ts'

const validity = () => ({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) })

/** An HTTPS server whose certificate a CA of its own signed for the name apiserver.test. */
async function serverWithCA(name: string) {
  const [caKey, serverKey] = await Promise.all([createPrivateKeyPem(), createPrivateKeyPem()])
  const caPem = buildCertificateAuthority(caKey, name, validity())
  const cert = buildServingCertificate(serverKey, { certPem: caPem, keyPem: caKey }, { commonName: 'apiserver', dnsNames: ['apiserver.test'], ipAddresses: [], ...validity() })
  const server = https.createServer({ cert, key: serverKey }, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.end('{"ok":true}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))))
  const base: Connection = { server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, ca: caPem, tlsServerName: 'apiserver.test' }
  return { caPem, base }
}

/** The first request's value, or the code of its error. */
async function outcome(c: Connection, soleServer: boolean) {
  const tr = createTlsTransport(c, { soleServer })
  try {
    return { value: await tr.request({ path: '/' }) }
  } catch (err) {
    return { code: (err as { code?: string }).code }
  } finally {
    tr.close()
  }
}

const ours = await serverWithCA('cluster CA')
const other = await serverWithCA('some other CA')
const pemBody = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, '')

t.test('the kubeconfig CA becomes the only CA the process trusts, and the server it signed is accepted', async (t) => {
  t.ok(tls.getCACertificates('default').length > 100, "before: Node's bundled root certificates")
  t.same(await outcome(ours.base, true), { value: { ok: true } })
  t.same(tls.getCACertificates('default').map(pemBody), [pemBody(ours.caPem)], 'after: the kubeconfig CA alone')
})

t.test('a server another CA signed is refused, with the error a secure context given `ca` gives', async (t) => {
  const withCA = await outcome({ ...other.base, ca: ours.caPem }, false)
  t.ok(withCA.code, `refused with ca (${withCA.code})`)
  t.same(await outcome({ ...other.base, ca: ours.caPem }, true), withCA)
})

t.test('the server name is still checked', async (t) => {
  t.same(await outcome({ ...ours.base, tlsServerName: undefined }, true), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
})

t.test('insecure-skip-tls-verify accepts any certificate and leaves the process trust alone', async (t) => {
  const before = tls.getCACertificates('default')
  t.same(await outcome({ ...other.base, ca: ours.caPem, insecureSkipTLSVerify: true }, true), { value: { ok: true } })
  t.same(tls.getCACertificates('default'), before)
})
