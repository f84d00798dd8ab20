// Admission webhooks registered through the API and called by the control plane at kube-apiserver's
// points: mutation after defaults, schema validation before validating webhooks, denials and warnings
// returned to kubectl, dry run flagged, DELETE seen with the old object.
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { ensureServingCertificate } from '../../../certs/index.ts'
import { startTestControlPlane } from './fixtures/controlplane.ts'

interface Seen {
  path: string
  request: any
}

const tls = await ensureServingCertificate({ dir: t.testdir(), service: 'webhook', namespace: 'test', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
const seen: Seen[] = []
const review = (response: object) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response })

const webhookServer = createServer({ cert: tls.certPem, key: tls.keyPem }, async (req, res) => {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const { request } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const path = new URL(req.url!, 'https://x').pathname
  seen.push({ path, request })
  res.writeHead(200, { 'content-type': 'application/json' })
  if (path === '/mutate') {
    const patch = [{ op: 'add', path: '/metadata/labels', value: { ...(request.object.metadata.labels ?? {}), mutated: 'yes' } }]
    res.end(review({ uid: request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64'), warnings: ['pool labelled by the webhook'] }))
  } else if (request.operation !== 'DELETE' && request.object.spec.gateway === '10.0.0.66') {
    res.end(review({ uid: request.uid, allowed: false, status: { code: 403, reason: 'Forbidden', message: 'gateway 10.0.0.66 is reserved' } }))
  } else {
    res.end(review({ uid: request.uid, allowed: true }))
  }
})
await new Promise<void>((resolve) => webhookServer.listen(0, '127.0.0.1', resolve))
t.teardown(() => {
  webhookServer.closeAllConnections()
  webhookServer.close()
})
const webhookUrl = (path: string) => `https://127.0.0.1:${(webhookServer.address() as AddressInfo).port}${path}`

const plane = await startTestControlPlane(t, { admission: true })
const caBundle = Buffer.from(tls.caPem).toString('base64')
const rules = [{ operations: ['CREATE', 'UPDATE', 'DELETE'], apiGroups: ['spiderpool.spidernet.io'], apiVersions: ['v2beta1'], resources: ['spiderippools'] }]
const hook = (name: string, path: string) => ({ name, clientConfig: { url: webhookUrl(path), caBundle }, rules, sideEffects: 'NoneOnDryRun', admissionReviewVersions: ['v1'] })
await plane.ok(['apply', '-f', '-'], JSON.stringify({
  apiVersion: 'v1',
  kind: 'List',
  items: [
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'pools' }, webhooks: [hook('mutate.pools.test', '/mutate')] },
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'pools' }, webhooks: [hook('validate.pools.test', '/validate')] },
  ],
}))

const pool = (name: string, spec: object = {}) =>
  JSON.stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec: { subnet: '10.0.0.0/8', ipVersion: 4, ...spec } })
const callsFor = (name: string) => seen.filter((s) => (s.request.object ?? s.request.oldObject)?.metadata?.name === name || s.request.name === name)

t.test('webhook configurations are stored with kube-apiserver defaults', async (t) => {
  const stored = JSON.parse(await plane.ok(['get', 'mutatingwebhookconfiguration', 'pools', '-o', 'json']))
  t.match(stored.webhooks[0], { failurePolicy: 'Fail', matchPolicy: 'Equivalent', timeoutSeconds: 10, reinvocationPolicy: 'Never', namespaceSelector: {}, objectSelector: {} })
})

t.test('create: mutation sees the defaulted object without uid, validation sees the mutated one with uid, warnings reach kubectl', async (t) => {
  const result = await plane.kubectl(['apply', '-f', '-'], pool('hooked'))
  t.equal(result.code, 0, result.stderr)
  t.match(result.stderr, /Warning: pool labelled by the webhook/)
  const [mutation, validation] = callsFor('hooked')
  t.equal(mutation.path, '/mutate')
  t.equal(mutation.request.object.spec.default, false, 'schema defaults before mutating admission')
  t.equal(mutation.request.object.metadata.uid, undefined, 'no uid yet at mutating admission')
  t.equal(validation.path, '/validate')
  t.equal(validation.request.object.metadata.labels.mutated, 'yes')
  t.match(validation.request.object.metadata.uid, /^[0-9a-f-]{36}$/)
  t.equal(validation.request.dryRun, false)
  const stored = JSON.parse(await plane.ok(['get', 'sp', 'hooked', '-o', 'json']))
  t.equal(stored.metadata.labels.mutated, 'yes')
})

t.test('a validating webhook denial reaches kubectl with its code and message, nothing is stored', async (t) => {
  const result = await plane.kubectl(['apply', '-f', '-'], pool('denied', { gateway: '10.0.0.66' }))
  t.not(result.code, 0)
  t.match(result.stderr, /Forbidden.*gateway 10\.0\.0\.66 is reserved/)
  t.equal((await plane.kubectl(['get', 'sp', 'denied'])).code, 1)
})

t.test('schema validation runs before validating webhooks: a 422 never reaches them', async (t) => {
  const result = await plane.kubectl(['apply', '-f', '-'], pool('invalid', { ipVersion: 5 }))
  t.not(result.code, 0)
  t.match(result.stderr, /spec.ipVersion: Unsupported value: 5/)
  t.same(callsFor('invalid').map((c) => c.path), ['/mutate'])
})

t.test('dry run: webhooks are told, nothing is stored', async (t) => {
  const result = await plane.kubectl(['apply', '--dry-run=server', '-f', '-'], pool('dry-hooked'))
  t.equal(result.code, 0, result.stderr)
  t.same(callsFor('dry-hooked').map((c) => [c.path, c.request.dryRun]), [['/mutate', true], ['/validate', true]])
  t.equal((await plane.kubectl(['get', 'sp', 'dry-hooked'])).code, 1)
})

t.test('update: webhooks get the old object; delete: the validating webhook gets only the old object', async (t) => {
  await plane.ok(['patch', 'sp', 'hooked', '--type', 'merge', '-p', '{"spec":{"gateway":"10.0.0.1"}}'])
  const update = callsFor('hooked').filter((c) => c.request.operation === 'UPDATE')
  t.same(update.map((c) => c.path), ['/mutate', '/validate'])
  t.equal(update[1].request.oldObject.spec.gateway, undefined)
  t.equal(update[1].request.object.spec.gateway, '10.0.0.1')
  const refused = await plane.kubectl(['patch', 'sp', 'hooked', '--type', 'merge', '-p', '{"spec":{"gateway":"10.0.0.66"}}'])
  t.not(refused.code, 0)
  t.equal(await plane.ok(['get', 'sp', 'hooked', '-o', 'jsonpath={.spec.gateway}']), '10.0.0.1')
  await plane.ok(['delete', 'sp', 'hooked'])
  const deletion = callsFor('hooked').filter((c) => c.request.operation === 'DELETE')
  t.same(deletion.map((c) => c.path), ['/validate'])
  t.equal(deletion[0].request.oldObject.metadata.name, 'hooked')
  t.equal(deletion[0].request.object, null)
})

t.test('with admission disabled no webhook is called', async (t) => {
  const quiet = await startTestControlPlane(t, { admission: false })
  await quiet.ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'pools' }, webhooks: [hook('validate.pools.test', '/validate')] }))
  const before = seen.length
  await quiet.ok(['apply', '-f', '-'], pool('unhooked', { gateway: '10.0.0.66' }))
  t.equal(seen.length, before)
})
