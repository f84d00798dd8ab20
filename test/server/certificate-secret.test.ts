// --cert-source=secret: replicas share one CA and serving pair kept in a Secret, put the CA into the
// webhook configurations, and follow a renewal without a restart. Real HTTPS, real local control plane.
import { X509Certificate } from 'node:crypto'
import type { Test } from 'tap'
import t from 'tap'
import { issueCertificateFiles } from '../../certs/index.ts'
import { createStore } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'
import { resources, type Secret } from '../../kube/resources.ts'
import { filesOfSecret } from '../../kube/certificate-secret.ts'
import { startWebhookServer, type WebhookServer } from '../../server/webhook.ts'
import { webhookConfigurations } from '../../server/webhook-configurations.ts'
import { allKinds } from '../../webhooks/registry.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import { startTestControlPlane } from '../kube/controlplane/fixtures/controlplane.ts'
import { probe, servedFingerprint, until } from './fixtures/tls-probe.ts'

const plane = await startTestControlPlane(t, { admission: true })
const { cp } = plane
const store = createStore(createTransport({ server: cp.url, ca: cp.caPem, token: cp.token }))
const namespace = 'kube-system'
const day = 86_400_000

const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256
const secretOf = (name: string) => store.get(resources.secrets, name, { namespace }) as Promise<Secret>
const caBundles = async (name: string) => {
  const [m, v] = await Promise.all([store.get(resources.mutatingWebhookConfigurations, name), store.get(resources.validatingWebhookConfigurations, name)])
  return [...m.webhooks!, ...v.webhooks!].map((w) => Buffer.from(w.clientConfig?.caBundle ?? '', 'base64').toString())
}

/** A webhook replica keeping its pair in Secret `secret` and the CA in configurations `configs`. */
async function replica(t: Test, secret: string, configs = 'none'): Promise<WebhookServer> {
  const server = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    certificate: { source: 'secret', secretName: secret, mutatingWebhookConfiguration: configs, validatingWebhookConfiguration: configs, checkEveryMs: 200 },
    ipAddresses: ['127.0.0.1'],
    settings: defaultSettings(),
    kube: { kubeconfig: cp.kubeconfigPath },
    serviceName: 'spiderpool-controller',
    namespace,
    logLevel: 'silent',
  })
  t.teardown(() => server.close())
  return server
}

/** Both webhook configurations, pointing at `url` with an empty caBundle, as a chart renders them. */
async function registerConfigurations(name: string, url: string) {
  const configs = webhookConfigurations(allKinds, { url }, '', ['kube-system'])
  await store.create(resources.mutatingWebhookConfigurations, { ...configs.mutating, metadata: { name } })
  await store.create(resources.validatingWebhookConfigurations, { ...configs.validating, metadata: { name } })
}

t.test('first start: the Secret is created with the CA and the pair, the pair is served, and the CA goes into every webhook of both configurations', async (t) => {
  const a = await replica(t, 'certs-first', 'first')
  await registerConfigurations('first', a.url)
  const loaded = await a.certificateLoaded
  const files = filesOfSecret(await secretOf('certs-first'))
  t.same(Object.keys((await secretOf('certs-first')).data!).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'])
  t.equal((await secretOf('certs-first')).type, 'kubernetes.io/tls')
  t.equal(files.certPem, loaded.certPem)
  await until('the pair from the Secret served', async () => (await servedFingerprint(a.url)) === fingerprintOf(files.certPem!))
  t.match(new X509Certificate(files.certPem!).subjectAltName, 'DNS:spiderpool-controller.kube-system.svc')
  await until('the CA injected', async () => (await caBundles('first')).every((b) => b === files.caPem))
  t.equal((await caBundles('first')).length, allKinds.length * 2 + 2, 'every webhook, the pod and endpoint webhooks included')
  // the control plane calls the webhook as kube-apiserver does, verifying against the injected caBundle
  const pool = { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'through-the-webhook' }, spec: { subnet: '10.90.0.0/24', ips: ['10.90.0.1'] } }
  const created = await store.create(resources.ippools, pool as never)
  t.equal((created as any).spec.ipVersion, 4, 'defaulted by the webhook over verified TLS')
  await store.delete(resources.ippools, 'through-the-webhook')
  await store.delete(resources.mutatingWebhookConfigurations, 'first')
  await store.delete(resources.validatingWebhookConfigurations, 'first')
})

t.test('a second replica reuses the Secret as it is and serves the same pair', async (t) => {
  const a = await replica(t, 'certs-shared')
  const first = await a.certificateLoaded
  const version = (await secretOf('certs-shared')).metadata.resourceVersion
  const b = await replica(t, 'certs-shared')
  const second = await b.certificateLoaded
  t.equal(second.certPem, first.certPem)
  t.equal(second.renewed, false, 'loaded, not issued')
  t.equal((await secretOf('certs-shared')).metadata.resourceVersion, version, 'the Secret was not written again')
  await until('b serves the shared pair', async () => (await servedFingerprint(b.url)) === fingerprintOf(first.certPem))
})

t.test('two replicas starting at once on no Secret end up serving one pair', async (t) => {
  for (const round of [1, 2, 3]) {
    const secret = `certs-race-${round}`
    const [a, b] = await Promise.all([replica(t, secret), replica(t, secret)])
    const [pa, pb] = await Promise.all([a.certificateLoaded, b.certificateLoaded])
    t.equal(pa.certPem, pb.certPem, `round ${round}: one pair`)
    t.equal(Number(pa.renewed) + Number(pb.renewed), 1, `round ${round}: one replica's write landed, the other took it`)
    t.equal(filesOfSecret(await secretOf(secret)).certPem, pa.certPem, `round ${round}: the pair in the Secret`)
    await until('both serve it', async () => (await servedFingerprint(a.url)) === (await servedFingerprint(b.url)))
    t.equal(await servedFingerprint(a.url), fingerprintOf(pa.certPem))
    await Promise.all([a.close(), b.close()])
  }
})

t.test('a pair near expiry in the Secret is renewed once, both replicas reload it live, and both caBundles follow', async (t) => {
  const a = await replica(t, 'certs-renew', 'renew')
  await registerConfigurations('renew', a.url)
  const b = await replica(t, 'certs-renew', 'renew')
  await Promise.all([a.certificateLoaded, b.certificateLoaded])
  const before = await servedFingerprint(a.url)

  // a CA and serving certificate that both expire in 10 days: within the 30-day renewal window
  const expiring = await issueCertificateFiles({}, { service: 'spiderpool-controller', namespace, ipAddresses: ['127.0.0.1'], caValidityMs: 10 * day, leafValidityMs: 10 * day })
  const current = await secretOf('certs-renew')
  const data: Record<string, string> = {}
  for (const [key, pem] of [['ca.crt', expiring.files.caPem], ['ca.key', expiring.files.caKeyPem!], ['tls.crt', expiring.files.certPem], ['tls.key', expiring.files.keyPem]]) {
    data[key] = Buffer.from(pem).toString('base64')
  }
  const written = await store.update(resources.secrets, { ...current, data })

  await until('the Secret renewed past the expiring pair', async () => {
    const files = filesOfSecret(await secretOf('certs-renew'))
    return files.certPem !== expiring.files.certPem && new X509Certificate(files.certPem!).validToDate.getTime() > Date.now() + 300 * day
  })
  const renewed = filesOfSecret(await secretOf('certs-renew'))
  t.not(renewed.caPem, expiring.files.caPem, 'a CA expiring before a new certificate would is replaced too')
  t.ok(Number((await secretOf('certs-renew')).metadata.resourceVersion) > Number(written.metadata.resourceVersion))
  for (const [name, server] of [['a', a], ['b', b]] as const) {
    await until(`${name} serves the renewed pair`, async () => (await servedFingerprint(server.url)) === fingerprintOf(renewed.certPem!))
    t.equal(server.certificate()?.certPem, renewed.certPem, `${name} holds the renewed pair`)
  }
  t.not(fingerprintOf(renewed.certPem!), before)
  await until('both caBundles carry the renewed CA', async () => (await caBundles('renew')).every((bundle) => bundle === renewed.caPem))
  t.equal(await probe(a.url, '/readyz'), 200, 'still ready: no restart')
})

t.test('a pair in the Secret issued for other names is replaced by one for this Service', async (t) => {
  const foreign = await issueCertificateFiles({}, { service: 'someone-else', namespace: 'elsewhere' })
  const data: Record<string, string> = {}
  for (const [key, pem] of [['ca.crt', foreign.files.caPem], ['ca.key', foreign.files.caKeyPem!], ['tls.crt', foreign.files.certPem], ['tls.key', foreign.files.keyPem]]) {
    data[key] = Buffer.from(pem).toString('base64')
  }
  await store.create(resources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'certs-foreign', namespace }, type: 'kubernetes.io/tls', data })
  const a = await replica(t, 'certs-foreign')
  const loaded = await a.certificateLoaded
  t.not(loaded.certPem, foreign.files.certPem)
  t.match(new X509Certificate(loaded.certPem).subjectAltName, 'DNS:spiderpool-controller.kube-system.svc.cluster.local')
  t.equal(loaded.caPem, foreign.files.caPem, 'the CA in the Secret is still good: it signs the new certificate')
})

t.test('/readyz is 503 until the pair is loaded, though the informers have synced', async (t) => {
  // writes (the Secret's create) take 3 s; reads (the informers' lists) do not
  cp.faults.writeLatencyMs = 3000
  t.teardown(() => void (cp.faults.writeLatencyMs = 0))
  const a = await replica(t, 'certs-slow')
  await a.cluster!.waitForSync({ timeoutMs: 10_000 })
  t.equal(a.certificate(), undefined, 'no pair yet')
  t.equal(await probe(a.url, '/healthz'), 200, 'alive, on the provisional certificate')
  t.equal(await probe(a.url, '/readyz'), 503)
  const loaded = await a.certificateLoaded
  t.equal(await probe(a.url, '/readyz'), 200)
  t.equal(await servedFingerprint(a.url), fingerprintOf(loaded.certPem))
})

t.test('/readyz is 503 while the informers have not synced, with the pair loaded', async (t) => {
  const dir = t.testdir()
  cp.faults.outage = true
  t.teardown(() => void (cp.faults.outage = false))
  const server = await startWebhookServer({
    host: '127.0.0.1', port: 0, tlsDir: dir, settings: defaultSettings(), kube: { kubeconfig: cp.kubeconfigPath },
    serviceName: 'spiderpool-controller', namespace, logLevel: 'silent',
  })
  t.teardown(() => server.close())
  t.ok(server.certificate(), 'the pair from the directory is loaded')
  t.equal(await probe(server.url, '/readyz'), 503)
  cp.faults.outage = false
  await until('ready once the API answers', async () => (await probe(server.url, '/readyz')) === 200)
  t.pass('ready')
})
