// `spiderpool-ts init` as the chart's Job runs it, against a local control plane that calls the
// webhooks as kube-apiserver does (failurePolicy Fail): the webhook starts after init, as it does
// on a `helm install` without --wait.
import { createServer } from 'node:net'
import path from 'node:path'
import t, { type Test } from 'tap'
import { runCommand } from './fixtures/cli.ts'
import { ensureServingCertificate } from '../../certs/index.ts'
import { createServerTransport } from '../../kube/config.ts'
import { ApiError } from '../../kube/errors.ts'
import { resources } from '../../kube/resources.ts'
import { createStore, type Store } from '../../kube/store.ts'
import { notReadyReason } from '../../server/until-answered.ts'
import { startWebhookServer } from '../../server/webhook.ts'
import { webhookConfigurations } from '../../server/webhook-configurations.ts'
import { allKinds } from '../../webhooks/registry.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import { startTestControlPlane } from '../kube/controlplane/fixtures/controlplane.ts'


function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** A control plane whose webhook configurations point at a webhook that does not listen until `startWebhook`. */
async function clusterWithSilentWebhook(t: Test, o: { register?: boolean } = {}) {
  const plane = await startTestControlPlane(t, { admission: true })
  const transport = await createServerTransport({ kubeconfig: plane.cp.kubeconfigPath })
  t.teardown(() => transport.close())
  const store = createStore(transport)
  const port = await freePort()
  const tlsDir = path.join(plane.dataDir, 'webhook-tls')
  const { caPem } = await ensureServingCertificate({ dir: tlsDir, service: 'spiderpool-controller', namespace: 'kube-system', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] })
  const settings = defaultSettings()
  const register = async () => {
    const configs = webhookConfigurations(allKinds, { url: `https://127.0.0.1:${port}` }, caPem, settings.excludedNamespaces)
    await store.create(resources.mutatingWebhookConfigurations, configs.mutating)
    await store.create(resources.validatingWebhookConfigurations, configs.validating)
  }
  if (o.register !== false) await register()
  const startWebhook = async () => {
    const server = await startWebhookServer({
      host: '127.0.0.1',
      port,
      tlsDir,
      settings,
      kube: { kubeconfig: plane.cp.kubeconfigPath },
      serviceName: 'spiderpool-controller',
      namespace: 'kube-system',
      logLevel: 'silent',
    })
    t.teardown(() => server.close())
    await server.cluster!.waitForSync({ timeoutMs: 30_000 })
  }
  return { plane, store, register, startWebhook }
}

/** `spiderpool-ts init` as a child process; `output` sees its stdout as it comes. */
const init = (kubeconfig: string, args: string[], output?: (text: string) => void) => runCommand(['init', '--kubeconfig', kubeconfig, ...args], output)

const waitFor = (what: string, check: () => boolean, ms = 20_000) =>
  new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + ms
    const tick = () => (check() ? resolve() : Date.now() > deadline ? reject(new Error(`waited ${ms} ms for ${what}`)) : setTimeout(tick, 50))
    tick()
  })

const getCoordinator = (store: Store) => store.get(resources.coordinators, 'default')

t.test('init waits while the webhook does not answer, then creates the default SpiderCoordinator and SpiderMultusConfig, defaulted by the webhook', { timeout: 90_000 }, async (t) => {
  const { plane, store, startWebhook } = await clusterWithSilentWebhook(t)
  let seen = ''
  const running = init(plane.cp.kubeconfigPath, ['--coordinator-mode', 'overlay', '--coordinator-pod-cidr-type', 'none', '--coordinator-hijack-cidr', '10.96.0.0/12,fd00::/108', '--default-multus-config', 'macvlan-conf', '--namespace', 'kube-system', '--timeout', '60'], (s) => (seen = s))
  await waitFor('init to meet the silent webhook', () => seen.includes('not ready'))
  t.match(seen, /SpiderCoordinator "default": not ready \(500 InternalError: Internal error occurred: failed calling webhook "spidercoordinator\.spiderpool\.spidernet\.io": .*connection refused\)/, 'the create failed as kube-apiserver fails it')
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  await startWebhook()
  const run = await running
  t.equal(run.code, 0, `init exits 0 once both exist: ${run.stderr}`)
  t.match(run.stdout, /SpiderCoordinator "default": created\n/)
  t.match(run.stdout, /SpiderMultusConfig "kube-system\/macvlan-conf": created\n/)

  const coordinator = await getCoordinator(store)
  t.match(coordinator.spec, { mode: 'overlay', podCIDRType: 'none', tunePodRoutes: true, hijackCIDR: ['10.96.0.0/12', 'fd00::/108'] }, 'the values given')
  t.match(coordinator.spec, { hostRuleTable: 500, podRPFilter: 0, vethMTU: 1500 }, 'COORD-M-01 defaults from the webhook')
  t.same(coordinator.metadata?.finalizers, ['spiderpool.spidernet.io'], 'COORD-M-06 finalizer from the webhook')
  const smc = await store.get(resources.multusConfigs, 'macvlan-conf', { namespace: 'kube-system' })
  t.equal(smc.spec?.cniType, 'custom')
  t.same(smc.spec?.chainCNIJsonData, [], 'SMC-M-12 default from the webhook')
})

t.test('an existing default SpiderCoordinator is the user’s: init leaves it unchanged and needs no webhook for it', { timeout: 60_000 }, async (t) => {
  const { plane, store, register } = await clusterWithSilentWebhook(t, { register: false })
  const mine = await store.create(resources.coordinators, { metadata: { name: 'default' }, spec: { mode: 'underlay', podCIDRType: 'cluster', tunePodRoutes: false, podRPFilter: 0 } })
  await register()
  const run = await init(plane.cp.kubeconfigPath, ['--coordinator-mode', 'overlay', '--timeout', '20'])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, 'SpiderCoordinator "default": exists, left as it is')
  t.notMatch(run.stdout, 'not ready', 'the webhook that does not answer was never needed')
  const after = await getCoordinator(store)
  t.equal(after.metadata?.resourceVersion, mine.metadata?.resourceVersion, 'not written')
  t.match(after.spec, { mode: 'underlay', podCIDRType: 'cluster', tunePodRoutes: false })
})

t.test('a value the API refuses fails at once with the message naming the field, not after the timeout', { timeout: 60_000 }, async (t) => {
  const { plane, store, startWebhook } = await clusterWithSilentWebhook(t)
  await startWebhook()
  for (const [args, field] of [
    [['--coordinator-mode', 'bogus'], 'spec.mode'],
    [['--coordinator-hijack-cidr', '10.96.0.0/33'], 'spec.hijackCIDR'],
  ] as const) {
    const run = await init(plane.cp.kubeconfigPath, [...args, '--timeout', '60'])
    t.equal(run.code, 1, `${args.join(' ')}: exit 1`)
    t.ok(run.ms < 15_000, `${args.join(' ')}: refused after ${run.ms} ms, not after the 60 s timeout`)
    t.match(run.stderr, /^spiderpool-ts: SpiderCoordinator "default" was refused: 422 Invalid: /, 'says which object was refused and how')
    t.match(run.stderr, field, `names ${field}: ${run.stderr.trim()}`)
  }
  await t.rejects(getCoordinator(store), { code: 404 }, 'nothing was created')
})

t.test('when the webhook never answers, init gives up at --timeout with a non-zero exit and the last answer', { timeout: 60_000 }, async (t) => {
  const { plane } = await clusterWithSilentWebhook(t)
  const run = await init(plane.cp.kubeconfigPath, ['--timeout', '2'])
  t.equal(run.code, 1)
  t.ok(run.ms >= 2_000 && run.ms < 15_000, `gave up after ${run.ms} ms`)
  t.match(run.stderr, /SpiderCoordinator "default" could not be created within 2 s \(\d+ attempts\); last answer: 500 InternalError: .*failed calling webhook.*connection refused/)
})

t.test('bad flags are a usage error (exit 2) before any API call', async (t) => {
  for (const args of [['--coordinator-tune-pod-routes', 'yes'], ['--no-coordinator'], ['--timeout', 'soon']]) {
    const run = await init('/nonexistent/kubeconfig', args)
    t.equal(run.code, 2, `${args.join(' ')}: ${run.stderr.trim()}`)
  }
})

const apiError = (code: number, reason: string, details?: object) =>
  new ApiError({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message: reason, details }, 'POST /apis/x')

t.test('which answers mean "not ready yet, try again" and which are a refusal', async (t) => {
  const again: [string, unknown][] = [
    ['500 InternalError (failed calling webhook)', apiError(500, 'InternalError')],
    ['503 ServiceUnavailable', apiError(503, 'ServiceUnavailable')],
    ['504 Timeout', apiError(504, 'Timeout')],
    ['429 TooManyRequests', apiError(429, 'TooManyRequests')],
    ['404 for a resource not served yet', apiError(404, 'NotFound')],
    ['409 Conflict', apiError(409, 'Conflict')],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 10.96.0.1:443'), { code: 'ECONNREFUSED' })],
    ['a request timeout', Object.assign(new Error('no answer within 30000 ms'), { name: 'TimeoutError', code: 'ETIMEDOUT' })],
  ]
  for (const [what, err] of again) t.type(notReadyReason(err), 'string', `${what}: try again`)
  const refused: [string, unknown][] = [
    ['422 Invalid', apiError(422, 'Invalid')],
    ['403 Forbidden', apiError(403, 'Forbidden')],
    ['401 Unauthorized', apiError(401, 'Unauthorized')],
    ['400 BadRequest', apiError(400, 'BadRequest')],
    ['a TLS failure talking to the API server', Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })],
  ]
  for (const [what, err] of refused) t.equal(notReadyReason(err), undefined, `${what}: refused, no retry`)
})
