// A real HTTPS round trip with the generated pair, verification on, as kube-apiserver calls the webhook.

import t from 'tap'
import { ensureServingCertificate } from '../../certs/index.ts'
import { httpsGet, startHttpsServer } from './fixtures/tls.ts'

const root = t.testdir({ served: {}, other: {} })
const options = { service: 'svc', namespace: 'ns', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }
const served = await ensureServingCertificate({ dir: `${root}/served`, ...options })
const other = await ensureServingCertificate({ dir: `${root}/other`, ...options })
const running = await startHttpsServer(served)
t.teardown(() => running.close())

t.test('a client trusting the CA reaches the server as svc.ns.svc with verification on', async (t) => {
  t.equal(await httpsGet(running.port, served.caPem, 'svc.ns.svc'), 'ok')
})

t.test('every Service name and the extra name verify', async (t) => {
  for (const name of ['svc', 'svc.ns', 'svc.ns.svc.cluster.local', 'localhost']) {
    t.equal(await httpsGet(running.port, served.caPem, name), 'ok', name)
  }
})

t.test('a client calling the IP address verifies it against the IP SAN', async (t) => {
  t.equal(await httpsGet(running.port, served.caPem), 'ok')
})

t.test('a client trusting a different CA is refused', async (t) => {
  await t.rejects(httpsGet(running.port, other.caPem, 'svc.ns.svc'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
})

t.test('a name the certificate does not carry is refused', async (t) => {
  await t.rejects(httpsGet(running.port, served.caPem, 'svc.other-ns.svc'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
})
