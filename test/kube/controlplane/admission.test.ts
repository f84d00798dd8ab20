// The admission chain against real HTTPS webhook servers with real certificates, as kube-apiserver calls them.

import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { ensureServingCertificate } from '../../../certs/index.ts'
import {
  createAdmissionChain,
  type AdmissionAttributes,
  type AdmissionChainDeps,
  type MutatingWebhook,
  type MutatingWebhookConfiguration,
  type ValidatingWebhook,
  type ValidatingWebhookConfiguration,
} from '../../../kube/controlplane/admission.ts'
import type { AdmissionRequest } from '../../../kube/controlplane/admission/review.ts'

const dirs = t.testdir({ served: {}, stranger: {} })
const certificateNames = { service: 'webhook', namespace: 'system', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }
const served = await ensureServingCertificate({ dir: `${dirs}/served`, ...certificateNames })
const stranger = await ensureServingCertificate({ dir: `${dirs}/stranger`, ...certificateNames })
const caBundle = Buffer.from(served.caPem).toString('base64')
const strangerCaBundle = Buffer.from(stranger.caPem).toString('base64')

// ---- a webhook server: one handler per path, every call recorded

interface Call {
  path: string
  query: URLSearchParams
  host: string | undefined
  request: AdmissionRequest
  at: number
}

type Handler = (request: AdmissionRequest) => unknown

const never = new Promise<never>(() => {})

async function startWebhooks(t: Test, handlers: Record<string, Handler>) {
  const calls: Call[] = []
  const server: Server = createServer({ cert: served.certPem, key: served.keyPem }, async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const url = new URL(req.url ?? '/', 'https://webhook')
    const handler = handlers[url.pathname]
    if (!handler) {
      res.writeHead(404).end()
      return
    }
    const { request } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: AdmissionRequest }
    calls.push({ path: url.pathname, query: url.searchParams, host: req.headers.host, request, at: Date.now() })
    const body = await handler(request)
    if (typeof body === 'string') res.writeHead(200, { 'content-type': 'application/json' }).end(body)
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const { port } = server.address() as AddressInfo
  return {
    port,
    calls,
    callsTo: (path: string) => calls.filter((c) => c.path === path),
    url: (path: string) => `https://127.0.0.1:${port}${path}`,
  }
}

const review = (response: object) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response })
const allow = (request: AdmissionRequest, more: object = {}) => review({ uid: request.uid, allowed: true, ...more })
const deny = (request: AdmissionRequest, status?: object) => review({ uid: request.uid, allowed: false, ...(status ? { status } : {}) })
const jsonPatch = (request: AdmissionRequest, operations: object[]) =>
  allow(request, { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(operations)).toString('base64') })
const labelsOf = (object: object | null | undefined) => (object as { metadata?: { labels?: Record<string, string> } } | null)?.metadata?.labels ?? {}

// ---- configurations and requests

const podRules = [{ operations: ['CREATE' as const, 'UPDATE' as const], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: '*' as const }]

function webhook(name: string, url: string, more: Partial<MutatingWebhook> = {}): MutatingWebhook {
  return { name, clientConfig: { url, caBundle }, rules: podRules, sideEffects: 'None', admissionReviewVersions: ['v1'], timeoutSeconds: 5, ...more }
}
const mutating = (name: string, webhooks: MutatingWebhook[]): MutatingWebhookConfiguration => ({ metadata: { name }, webhooks })
const validating = (name: string, webhooks: ValidatingWebhook[]): ValidatingWebhookConfiguration => ({ metadata: { name }, webhooks })

const namespaces: Record<string, Record<string, string>> = { default: {}, 'team-prod': { env: 'prod' }, 'team-dev': { env: 'dev' } }

function chain(configurations: { mutating?: MutatingWebhookConfiguration[]; validating?: ValidatingWebhookConfiguration[] }, more: Partial<AdmissionChainDeps> = {}) {
  return createAdmissionChain({
    webhookConfigurations: () => ({ mutating: configurations.mutating ?? [], validating: configurations.validating ?? [] }),
    namespace: (name) => (namespaces[name] ? { metadata: { name, labels: namespaces[name] } } : undefined),
    ...more,
  })
}

const pod = (labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'default', labels }, spec: {} })

function podCreate(more: Partial<AdmissionAttributes> = {}): AdmissionAttributes {
  return {
    operation: 'CREATE',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'default',
    name: 'web-0',
    object: pod({ app: 'web' }),
    dryRun: false,
    userInfo: { username: 'alice', groups: ['system:authenticated'] },
    options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    ...more,
  }
}

const internalErrorText = (name: string, why: string) => `Internal error occurred: failed calling webhook "${name}": ${why}`
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

// ---- the request

t.test('the review carries the request as kube-apiserver sends it, with a fresh uid per call and the timeout in the query', async (t) => {
  const server = await startWebhooks(t, { '/mutate': (r) => allow(r) })
  const admission = chain({ mutating: [mutating('m', [webhook('a.example.com', server.url('/mutate')), webhook('b.example.com', server.url('/mutate'))])] })
  const attrs = podCreate()
  t.same(await admission.mutate(attrs), { allowed: true, object: attrs.object })

  t.equal(server.calls.length, 2)
  const [first, second] = server.calls
  t.match(first.request.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.not(first.request.uid, second.request.uid, 'each call has its own uid')
  t.strictSame(first.request, {
    uid: first.request.uid,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    requestKind: { group: '', version: 'v1', kind: 'Pod' },
    requestResource: { group: '', version: 'v1', resource: 'pods' },
    name: 'web-0',
    namespace: 'default',
    operation: 'CREATE',
    userInfo: { username: 'alice', groups: ['system:authenticated'] },
    object: attrs.object,
    oldObject: null,
    dryRun: false,
    options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
  })
  t.equal(first.query.get('timeout'), '5s')
})

t.test('a webhook without timeoutSeconds is given 10 seconds, and more than 30 is cut to 30', async (t) => {
  const server = await startWebhooks(t, { '/mutate': (r) => allow(r) })
  const unset = webhook('unset.example.com', server.url('/mutate'))
  delete unset.timeoutSeconds
  await chain({ mutating: [mutating('m', [unset, webhook('long.example.com', server.url('/mutate'), { timeoutSeconds: 90 })])] }).mutate(podCreate())
  t.same(
    server.calls.map((c) => c.query.get('timeout')),
    ['10s', '30s'],
  )
})

// ---- mutation

t.test('mutating webhooks run by configuration name, each seeing the object as the previous one patched it', async (t) => {
  const server = await startWebhooks(t, {
    '/first': (r) => jsonPatch(r, [{ op: 'add', path: '/metadata/labels/first', value: 'yes' }]),
    '/second': (r) =>
      jsonPatch(r, [
        { op: 'test', path: '/metadata/labels/first', value: 'yes' },
        { op: 'add', path: '/metadata/labels/second', value: 'yes' },
      ]),
  })
  // listed out of order: kube-apiserver sorts configurations by name
  const admission = chain({
    mutating: [mutating('b-config', [webhook('second.example.com', server.url('/second'))]), mutating('a-config', [webhook('first.example.com', server.url('/first'))])],
  })
  const result = await admission.mutate(podCreate())
  t.same(server.calls.map((c) => c.path), ['/first', '/second'])
  t.same(labelsOf(server.calls[1].request.object), { app: 'web', first: 'yes' }, 'the second webhook saw the first one’s label')
  t.same(result, { allowed: true, object: pod({ app: 'web', first: 'yes', second: 'yes' }) })
})

t.test('webhooks of one configuration run in the order listed', async (t) => {
  const server = await startWebhooks(t, { '/a': (r) => allow(r), '/b': (r) => allow(r) })
  await chain({ mutating: [mutating('m', [webhook('z.example.com', server.url('/b')), webhook('a.example.com', server.url('/a'))])] }).mutate(podCreate())
  t.same(server.calls.map((c) => c.path), ['/b', '/a'])
})

t.test('warnings of every webhook reach the client once each', async (t) => {
  const server = await startWebhooks(t, {
    '/m': (r) => allow(r, { warnings: ['image tag is latest'] }),
    '/v': (r) => allow(r, { warnings: ['image tag is latest', 'no resource limits'] }),
  })
  const admission = chain({ mutating: [mutating('m', [webhook('m.example.com', server.url('/m'))])], validating: [validating('v', [webhook('v.example.com', server.url('/v'))])] })
  t.same((await admission.mutate(podCreate())).warnings, ['image tag is latest'])
  t.same((await admission.validate(podCreate())).warnings, ['image tag is latest', 'no resource limits'])
})

t.test('a patch that does not apply refuses the request with a 500 whatever the failurePolicy, as kube-apiserver does', async (t) => {
  const server = await startWebhooks(t, { '/bad': (r) => jsonPatch(r, [{ op: 'remove', path: '/metadata/annotations/missing' }]) })
  for (const failurePolicy of ['Fail', 'Ignore'] as const) {
    const result = await chain({ mutating: [mutating('m', [webhook('bad.example.com', server.url('/bad'), { failurePolicy })])] }).mutate(podCreate())
    t.equal(result.allowed, false, failurePolicy)
    if (!result.allowed) {
      t.equal(result.status.code, 500)
      t.equal(result.status.reason, 'InternalError')
      t.match(result.status.message, /^Internal error occurred: remove operation does not apply: /)
    }
  }
})

t.test('a patch that is not a JSON array is a failed call, subject to the failurePolicy', async (t) => {
  const server = await startWebhooks(t, { '/garbled': (r) => allow(r, { patchType: 'JSONPatch', patch: Buffer.from('{"op":"add"}').toString('base64') }) })
  const garbled = (failurePolicy: 'Fail' | 'Ignore') => chain({ mutating: [mutating('m', [webhook('garbled.example.com', server.url('/garbled'), { failurePolicy })])] })
  const failed = await garbled('Fail').mutate(podCreate())
  t.match(failed, { allowed: false, status: { code: 500, message: /^Internal error occurred: failed calling webhook "garbled.example.com": received undecodable patch in webhook response: / } })
  t.same(await garbled('Ignore').mutate(podCreate()), { allowed: true, object: podCreate().object })
})

t.test('a validating webhook that returns a patch has failed', async (t) => {
  const server = await startWebhooks(t, { '/v': (r) => jsonPatch(r, [{ op: 'add', path: '/metadata/labels/x', value: 'y' }]) })
  const result = await chain({ validating: [validating('v', [webhook('v.example.com', server.url('/v'))])] }).validate(podCreate())
  t.same(result, {
    allowed: false,
    status: {
      apiVersion: 'v1',
      kind: 'Status',
      metadata: {},
      status: 'Failure',
      message: internalErrorText('v.example.com', 'received invalid webhook response: validating webhook may not return response.patch'),
      reason: 'InternalError',
      details: { causes: [{ message: 'failed calling webhook "v.example.com": received invalid webhook response: validating webhook may not return response.patch' }] },
      code: 500,
    },
  })
})

// ---- denial

t.test('a validating denial passes code, reason, details and causes through, its message prefixed with the webhook name', async (t) => {
  const status = {
    status: 'Failure',
    code: 422,
    reason: 'Invalid',
    message: 'SpiderIPPool.spiderpool.spidernet.io "pool" is invalid: spec.gateway: Invalid value: "10.0.0.1": outside the subnet',
    details: {
      name: 'pool',
      group: 'spiderpool.spidernet.io',
      kind: 'SpiderIPPool',
      causes: [{ type: 'FieldValueInvalid', message: 'Invalid value: "10.0.0.1": outside the subnet', field: 'spec.gateway' }],
    },
  }
  const server = await startWebhooks(t, { '/v': (r) => deny(r, status) })
  const result = await chain({ validating: [validating('v', [webhook('ippool.example.com', server.url('/v'))])] }).validate(podCreate())
  t.same(result, {
    allowed: false,
    status: {
      apiVersion: 'v1',
      kind: 'Status',
      metadata: {},
      ...status,
      message: `admission webhook "ippool.example.com" denied the request: ${status.message}`,
    },
  })
})

t.test('a denial without a code gets 400, and one without message or reason says it came without explanation', async (t) => {
  const server = await startWebhooks(t, { '/bare': (r) => deny(r), '/reason': (r) => deny(r, { code: 200, reason: 'Forbidden' }) })
  const bare = await chain({ validating: [validating('v', [webhook('bare.example.com', server.url('/bare'))])] }).validate(podCreate())
  t.same(bare, {
    allowed: false,
    status: { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Failure', message: 'admission webhook "bare.example.com" denied the request without explanation', code: 400 },
  })
  const reason = await chain({ mutating: [mutating('m', [webhook('reason.example.com', server.url('/reason'))])] }).mutate(podCreate())
  t.match(reason, { allowed: false, status: { code: 400, reason: 'Forbidden', message: 'admission webhook "reason.example.com" denied the request: Forbidden' } })
})

t.test('a mutating denial stops the chain: later webhooks are not called', async (t) => {
  const server = await startWebhooks(t, { '/deny': (r) => deny(r, { code: 403, message: 'no' }), '/later': (r) => allow(r) })
  const result = await chain({
    mutating: [mutating('a', [webhook('deny.example.com', server.url('/deny'))]), mutating('b', [webhook('later.example.com', server.url('/later'))])],
  }).mutate(podCreate())
  t.match(result, { allowed: false, status: { code: 403, message: 'admission webhook "deny.example.com" denied the request: no' } })
  t.same(server.callsTo('/later'), [])
})

// ---- failures and the failurePolicy

t.test('a caBundle of another CA fails the call: Fail refuses with 500, Ignore lets the request through', async (t) => {
  const server = await startWebhooks(t, { '/v': (r) => allow(r), '/m': (r) => jsonPatch(r, [{ op: 'add', path: '/metadata/labels/after', value: 'yes' }]) })
  const untrusted = (failurePolicy: 'Fail' | 'Ignore') =>
    webhook('untrusted.example.com', server.url('/v'), { failurePolicy, clientConfig: { url: server.url('/v'), caBundle: strangerCaBundle } })

  const refused = await chain({ validating: [validating('v', [untrusted('Fail')])] }).validate(podCreate())
  const why = `failed to call webhook: Post "${server.url('/v')}?timeout=5s": tls: failed to verify certificate: x509: certificate signed by unknown authority`
  t.match(refused, { allowed: false, status: { code: 500, reason: 'InternalError', message: internalErrorText('untrusted.example.com', why) } })

  t.same(await chain({ validating: [validating('v', [untrusted('Ignore')])] }).validate(podCreate()), { allowed: true })
  const mutated = await chain({
    mutating: [mutating('a', [untrusted('Ignore')]), mutating('b', [webhook('after.example.com', server.url('/m'))])],
  }).mutate(podCreate())
  t.same(labelsOf((mutated as { object?: object }).object), { app: 'web', after: 'yes' }, 'the chain goes on past an ignored failure')
  t.same(server.callsTo('/v'), [], 'the untrusted server never got the review')
})

t.test('a webhook that never answers is abandoned after timeoutSeconds', { timeout: 10_000 }, async (t) => {
  const server = await startWebhooks(t, { '/slow': () => never })
  const slow = webhook('slow.example.com', server.url('/slow'), { timeoutSeconds: 1 })
  const started = Date.now()
  const result = await chain({ validating: [validating('v', [slow])] }).validate(podCreate())
  const elapsed = Date.now() - started
  t.ok(elapsed >= 950 && elapsed < 2500, `refused after ${elapsed} ms`)
  t.match(result, { allowed: false, status: { code: 500, message: internalErrorText('slow.example.com', `failed to call webhook: Post "${server.url('/slow')}?timeout=1s": context deadline exceeded`) } })
  t.equal(server.calls[0]?.query.get('timeout'), '1s')
})

t.test('a response with another uid is a failed call', async (t) => {
  const server = await startWebhooks(t, { '/v': () => review({ uid: 'not-the-request-uid', allowed: true }) })
  const result = await chain({ validating: [validating('v', [webhook('uid.example.com', server.url('/v'))])] }).validate(podCreate())
  const uid = server.calls[0].request.uid
  t.match(result, {
    allowed: false,
    status: { code: 500, message: internalErrorText('uid.example.com', `received invalid webhook response: expected response.uid="${uid}", got "not-the-request-uid"`) },
  })
  const ignored = chain({ validating: [validating('v', [webhook('uid.example.com', server.url('/v'), { failurePolicy: 'Ignore' })])] })
  t.same(await ignored.validate(podCreate()), { allowed: true })
})

t.test('answers that are not an AdmissionReview v1 are failed calls', async (t) => {
  const server = await startWebhooks(t, {
    '/text': () => 'this is not json',
    '/v1beta1': (r) => ({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', response: { uid: r.uid, allowed: true } }),
    '/empty': () => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
  })
  const why = async (path: string) => {
    const result = await chain({ validating: [validating('v', [webhook('odd.example.com', server.url(path))])] }).validate(podCreate())
    return result.allowed ? 'allowed' : result.status.message
  }
  t.match(await why('/text'), /failed calling webhook "odd.example.com": failed to call webhook: couldn't get version\/kind; json parse error: /)
  t.match(
    await why('/v1beta1'),
    /received invalid webhook response: expected webhook response of admission.k8s.io\/v1, Kind=AdmissionReview, got admission.k8s.io\/v1beta1, Kind=AdmissionReview$/,
  )
  t.match(await why('/empty'), /received invalid webhook response: webhook response was absent$/)
  t.match(await why('/missing-path'), /failed to call webhook: the server could not find the requested resource$/, 'a 404 from the server')
})

t.test('a webhook nobody listens on fails with connection refused', async (t) => {
  const closedPort = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
  const result = await chain({ validating: [validating('v', [webhook('gone.example.com', `https://127.0.0.1:${closedPort}/v`)])] }).validate(podCreate())
  t.match(result, { allowed: false, status: { code: 500, message: new RegExp(`${escapeRegExp(`dial tcp 127.0.0.1:${closedPort}: connect: connection refused`)}$`) } })
})

// ---- service references

t.test('a service reference is called on 127.0.0.1 at its port and verified as <service>.<namespace>.svc', async (t) => {
  const server = await startWebhooks(t, { '/mutate-pod': (r) => allow(r) })
  const bySvc = webhook('svc.example.com', '', { clientConfig: { service: { namespace: 'system', name: 'webhook', path: '/mutate-pod', port: server.port }, caBundle } })
  t.same(await chain({ mutating: [mutating('m', [bySvc])] }).mutate(podCreate()), { allowed: true, object: podCreate().object })
  t.equal(server.calls[0]?.host, `webhook.system.svc:${server.port}`)

  const wrongName = { ...bySvc, clientConfig: { ...bySvc.clientConfig, service: { namespace: 'elsewhere', name: 'webhook', path: '/mutate-pod', port: server.port } } }
  const refused = await chain({ mutating: [mutating('m', [wrongName])] }).mutate(podCreate())
  t.match(refused, { allowed: false, status: { code: 500, message: /x509: .*webhook\.elsewhere\.svc/ } }, 'the certificate does not carry webhook.elsewhere.svc')
})

t.test('resolveService decides where a service reference is reached', async (t) => {
  const server = await startWebhooks(t, { '/': (r) => allow(r) })
  const asked: unknown[] = []
  const admission = chain(
    { validating: [validating('v', [webhook('svc.example.com', '', { clientConfig: { service: { namespace: 'system', name: 'webhook' }, caBundle } })])] },
    { resolveService: (namespace, name, port) => (asked.push([namespace, name, port]), { host: '127.0.0.1', port: server.port }) },
  )
  t.same(await admission.validate(podCreate()), { allowed: true })
  t.same(asked, [['system', 'webhook', 443]], 'the default port is 443')
  t.equal(server.calls[0]?.path, '/')
})

// ---- matching

t.test('namespaceSelector: a webhook is called for objects in namespaces whose labels match, and only those', async (t) => {
  const server = await startWebhooks(t, { '/v': (r) => allow(r) })
  const prodOnly = webhook('prod.example.com', server.url('/v'), {
    namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] },
    rules: [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }],
  })
  const admission = chain({ validating: [validating('v', [prodOnly])] })
  await admission.validate(podCreate({ namespace: 'team-prod' }))
  await admission.validate(podCreate({ namespace: 'team-dev' }))
  t.same(server.calls.map((c) => c.request.namespace), ['team-prod'])

  server.calls.length = 0
  const clusterScoped = { kind: { group: 'spiderpool.spidernet.io', version: 'v2beta1', kind: 'SpiderIPPool' }, resource: { group: 'spiderpool.spidernet.io', version: 'v2beta1', resource: 'spiderippools' } }
  await admission.validate(podCreate({ ...clusterScoped, namespace: undefined, name: 'pool', object: { metadata: { name: 'pool' } } }))
  t.equal(server.calls.length, 1, 'a cluster-scoped object is never exempted by a namespaceSelector')
  t.notOk('namespace' in server.calls[0].request, 'and is sent without a namespace')

  server.calls.length = 0
  const namespaceCreate = (labels: Record<string, string>) =>
    podCreate({
      kind: { group: '', version: 'v1', kind: 'Namespace' },
      resource: { group: '', version: 'v1', resource: 'namespaces' },
      namespace: undefined,
      name: 'new-team',
      object: { metadata: { name: 'new-team', labels } },
    })
  await admission.validate(namespaceCreate({ env: 'prod' }))
  await admission.validate(namespaceCreate({ env: 'dev' }))
  t.equal(server.calls.length, 1, 'a Namespace being created is matched by its own labels')
  t.equal(server.calls[0].request.namespace, 'new-team', 'and carries its own name as namespace')
})

t.test('namespaceSelector on a namespace that does not exist refuses with 404, but only when the rules match', async (t) => {
  const server = await startWebhooks(t, { '/v': (r) => allow(r) })
  const selective = webhook('prod.example.com', server.url('/v'), { namespaceSelector: { matchLabels: { env: 'prod' } } })
  const admission = chain({ validating: [validating('v', [selective])] })
  t.same(await admission.validate(podCreate({ namespace: 'ghost' })), {
    allowed: false,
    status: { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Failure', message: 'namespaces "ghost" not found', reason: 'NotFound', details: { name: 'ghost', kind: 'namespaces' }, code: 404 },
  })
  const otherResource = podCreate({ namespace: 'ghost', resource: { group: '', version: 'v1', resource: 'configmaps' }, kind: { group: '', version: 'v1', kind: 'ConfigMap' } })
  t.same(await admission.validate(otherResource), { allowed: true })
  t.same(server.calls, [])
})

t.test('objectSelector: matched against the labels of the object or of the old object', async (t) => {
  const server = await startWebhooks(t, { '/v': (r) => allow(r) })
  const webOnly = webhook('web.example.com', server.url('/v'), { objectSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'skip', operator: 'DoesNotExist' }] } })
  const admission = chain({ validating: [validating('v', [webOnly])] })
  await admission.validate(podCreate({ name: 'new-web', object: pod({ app: 'web' }) }))
  await admission.validate(podCreate({ name: 'new-db', object: pod({ app: 'db' }) }))
  await admission.validate(podCreate({ name: 'skipped', object: pod({ app: 'web', skip: 'yes' }) }))
  await admission.validate(podCreate({ operation: 'UPDATE', name: 'was-web', object: pod({ app: 'db' }), oldObject: pod({ app: 'web' }) }))
  await admission.validate(podCreate({ operation: 'UPDATE', name: 'never-web', object: pod({ app: 'db' }), oldObject: pod({ app: 'cache' }) }))
  t.same(server.calls.map((c) => c.request.name), ['new-web', 'was-web'])
})

t.test('rules: a webhook for pods/status sees status updates only, with the subresource in the review; scope limits by namespace', async (t) => {
  const server = await startWebhooks(t, { '/status': (r) => allow(r), '/cluster': (r) => allow(r) })
  const statusOnly = webhook('status.example.com', server.url('/status'), { rules: [{ operations: ['UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/status'] }] })
  const clusterOnly = webhook('cluster.example.com', server.url('/cluster'), { rules: [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], scope: 'Cluster' }] })
  const admission = chain({ validating: [validating('v', [statusOnly, clusterOnly])] })
  const update = { operation: 'UPDATE' as const, oldObject: pod({ app: 'web' }) }
  await admission.validate(podCreate({ ...update, name: 'main' }))
  await admission.validate(podCreate({ ...update, name: 'status', subResource: 'status' }))
  t.same(server.callsTo('/status').map((c) => [c.request.name, c.request.subResource, c.request.requestSubResource]), [['status', 'status', 'status']])
  t.same(server.callsTo('/cluster'), [], 'a Cluster-scoped rule ignores namespaced pods')

  await admission.validate(podCreate({ namespace: undefined, name: 'node-1', kind: { group: '', version: 'v1', kind: 'Node' }, resource: { group: '', version: 'v1', resource: 'nodes' } }))
  t.same(server.callsTo('/cluster').map((c) => c.request.name), ['node-1'])
})

t.test('a webhook with matchConditions is called as if its conditions held (CEL is not evaluated here)', async (t) => {
  const server = await startWebhooks(t, { '/v': (r) => allow(r) })
  const conditional = webhook('cel.example.com', server.url('/v'), { matchConditions: [{ name: 'never', expression: 'false' }] })
  await chain({ validating: [validating('v', [conditional])] }).validate(podCreate())
  t.equal(server.calls.length, 1)
})

t.test('webhook configurations themselves are never sent to webhooks', async (t) => {
  const server = await startWebhooks(t, { '/v': (r) => deny(r) })
  const everything = webhook('all.example.com', server.url('/v'), { rules: [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }] })
  const admission = chain({ mutating: [mutating('m', [everything])], validating: [validating('v', [everything])] })
  const config = podCreate({
    namespace: undefined,
    name: 'm',
    kind: { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingWebhookConfiguration' },
    resource: { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'mutatingwebhookconfigurations' },
    object: mutating('m', []),
  })
  t.same(await admission.validate(config), { allowed: true })
  t.same(await admission.mutate(config), { allowed: true, object: mutating('m', []) })
  t.same(server.calls, [])
})

// ---- dry run

t.test('dryRun: a webhook with side effects is not called and the request is refused; NoneOnDryRun is called with dryRun true', async (t) => {
  const server = await startWebhooks(t, { '/effects': (r) => allow(r), '/careful': (r) => allow(r) })
  const withEffects = webhook('effects.example.com', server.url('/effects'), { sideEffects: 'Some' })
  const careful = webhook('careful.example.com', server.url('/careful'), { sideEffects: 'NoneOnDryRun' })

  const refused = await chain({ mutating: [mutating('m', [careful, withEffects])] }).mutate(podCreate({ dryRun: true }))
  t.same(refused, {
    allowed: false,
    status: { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Failure', message: 'admission webhook "effects.example.com" does not support dry run', reason: 'BadRequest', code: 400 },
  })
  const refusedValidating = await chain({ validating: [validating('v', [{ ...withEffects, failurePolicy: 'Ignore' }])] }).validate(podCreate({ dryRun: true }))
  t.match(refusedValidating, { allowed: false, status: { code: 400 } }, 'Ignore does not let a dry run past a webhook with side effects')
  t.same(server.callsTo('/effects'), [])
  t.same(server.callsTo('/careful').map((c) => c.request.dryRun), [true])

  await chain({ mutating: [mutating('m', [withEffects])] }).mutate(podCreate({ dryRun: false }))
  t.same(server.callsTo('/effects').map((c) => c.request.dryRun), [false], 'without dry run it is called')
})

// ---- reinvocation

t.test('reinvocationPolicy IfNeeded: an earlier webhook is called once more when a later one changed the object', async (t) => {
  const server = await startWebhooks(t, {
    '/early': (r) => allow(r),
    '/late': (r) => (labelsOf(r.object).late ? allow(r) : jsonPatch(r, [{ op: 'add', path: '/metadata/labels/late', value: 'yes' }])),
  })
  const run = (reinvocationPolicy: 'IfNeeded' | 'Never') =>
    chain({
      mutating: [
        mutating('a', [webhook('early.example.com', server.url('/early'), { reinvocationPolicy })]),
        mutating('b', [webhook('late.example.com', server.url('/late'), { reinvocationPolicy: 'IfNeeded' })]),
      ],
    }).mutate(podCreate())

  const result = await run('IfNeeded')
  t.same(
    server.calls.map((c) => [c.path, labelsOf(c.request.object).late ?? null]),
    [
      ['/early', null],
      ['/late', null],
      ['/early', 'yes'],
    ],
    'early again, seeing late’s change; late not again, nothing changed after it',
  )
  t.same(labelsOf((result as { object?: object }).object), { app: 'web', late: 'yes' })

  server.calls.length = 0
  await run('Never')
  t.same(server.calls.map((c) => c.path), ['/early', '/late'])
})

t.test('reinvocationPolicy IfNeeded: a webhook that changed the object itself with nothing changing after it is called once', async (t) => {
  const server = await startWebhooks(t, {
    '/first': (r) => allow(r),
    '/changer': (r) => jsonPatch(r, [{ op: 'add', path: '/metadata/labels/changed', value: 'yes' }]),
  })
  await chain({
    mutating: [mutating('a', [webhook('first.example.com', server.url('/first')), webhook('changer.example.com', server.url('/changer'), { reinvocationPolicy: 'IfNeeded' })])],
  }).mutate(podCreate())
  t.same(server.calls.map((c) => c.path), ['/first', '/changer'])
})

// ---- delete

t.test('DELETE: mutating webhooks get the old object and no object, and may not patch', async (t) => {
  const server = await startWebhooks(t, { '/look': (r) => allow(r), '/patch': (r) => jsonPatch(r, [{ op: 'add', path: '/metadata/labels/x', value: 'y' }]) })
  const onDelete = (name: string, path: string) => webhook(name, server.url(path), { rules: [{ operations: ['DELETE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }] })
  const attrs = podCreate({ operation: 'DELETE', object: pod({ app: 'web' }), oldObject: pod({ app: 'web' }), options: { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1' } })

  t.same(await chain({ mutating: [mutating('m', [onDelete('look.example.com', '/look')])] }).mutate(attrs), { allowed: true })
  t.equal(server.calls[0].request.object, null)
  t.same(server.calls[0].request.oldObject, pod({ app: 'web' }))

  const patched = await chain({ mutating: [mutating('m', [onDelete('patch.example.com', '/patch')])] }).mutate(attrs)
  t.match(patched, {
    allowed: false,
    status: { code: 500, message: 'Internal error occurred: admission webhook "patch.example.com" attempted to modify the object, which is not supported for this operation' },
  })
})

// ---- validating in parallel

t.test('validating webhooks are called in parallel: two slow ones take about as long as one', { timeout: 15_000 }, async (t) => {
  const delay = 800
  const slowly = (r: AdmissionRequest) => new Promise((resolve) => setTimeout(() => resolve(allow(r)), delay))
  const server = await startWebhooks(t, { '/one': slowly, '/two': slowly })
  const admission = chain({ validating: [validating('v1', [webhook('one.example.com', server.url('/one'))]), validating('v2', [webhook('two.example.com', server.url('/two'))])] })
  const started = Date.now()
  t.same(await admission.validate(podCreate()), { allowed: true })
  const elapsed = Date.now() - started
  t.equal(server.calls.length, 2)
  t.ok(elapsed >= delay && elapsed < 2 * delay - 200, `both answered in ${elapsed} ms`)
  t.ok(Math.abs(server.calls[0].at - server.calls[1].at) < delay, 'the second was called before the first answered')
})

t.test('among validating refusals, the first to arrive is returned', { timeout: 15_000 }, async (t) => {
  const server = await startWebhooks(t, {
    '/slow': (r) => new Promise((resolve) => setTimeout(() => resolve(deny(r, { code: 403, message: 'slow says no' })), 400)),
    '/fast': (r) => deny(r, { code: 422, message: 'fast says no' }),
  })
  const result = await chain({ validating: [validating('a', [webhook('slow.example.com', server.url('/slow'))]), validating('b', [webhook('fast.example.com', server.url('/fast'))])] }).validate(
    podCreate(),
  )
  t.match(result, { allowed: false, status: { code: 422, message: 'admission webhook "fast.example.com" denied the request: fast says no' } })
  t.equal(server.calls.length, 2, 'both were asked')
})

// ---- the connection

/** A webhook server that allows everything and counts its TLS connections; `closeUnder(n)` resets the connection under the n-th request (1-based) instead of answering. */
async function countingWebhook(t: Test, closeUnder = new Set<number>()) {
  let connections = 0
  let requests = 0
  let answered = 0
  const server: Server = createServer({ cert: served.certPem, key: served.keyPem }, async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    if (closeUnder.has(++requests)) return void req.socket.destroy()
    const { request } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: AdmissionRequest }
    answered++
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(allow(request)))
  })
  server.on('secureConnection', () => connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const { port } = server.address() as AddressInfo
  return { url: `https://127.0.0.1:${port}/mutate`, connections: () => connections, answered: () => answered }
}

t.test('calls to a webhook reuse one kept-alive connection, as kube-apiserver keeps its connections', async (t) => {
  const server = await countingWebhook(t)
  const admission = chain({ mutating: [mutating('m', [webhook('a.example.com', server.url)])] })
  for (let i = 0; i < 10; i++) t.equal((await admission.mutate(podCreate())).allowed, true)
  t.equal(server.answered(), 10)
  t.equal(server.connections(), 1, 'one TLS handshake for ten admissions')
})

t.test('a kept connection reset under the request is retried once on a new connection, and the admission succeeds', async (t) => {
  const server = await countingWebhook(t, new Set([2]))
  const admission = chain({ mutating: [mutating('m', [webhook('a.example.com', server.url, { failurePolicy: 'Fail' })])] })
  t.equal((await admission.mutate(podCreate())).allowed, true)
  t.equal((await admission.mutate(podCreate())).allowed, true, 'answered on the retry')
  t.equal(server.answered(), 2)
  t.equal(server.connections(), 2, 'the retry came on a new connection')
})

t.test('a reset on a fresh connection is not retried: the call fails and the failurePolicy decides', async (t) => {
  const server = await countingWebhook(t, new Set([1]))
  const admission = chain({ mutating: [mutating('m', [webhook('a.example.com', server.url, { failurePolicy: 'Fail' })])] })
  const result = await admission.mutate(podCreate())
  t.equal(result.allowed, false)
  t.equal(server.answered(), 0)
  t.equal(server.connections(), 1, 'no second connection')
})
