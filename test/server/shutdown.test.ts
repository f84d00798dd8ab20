// The orderly stop: /readyz says 503 first, then no new connections, an admission in flight still
// gets its answer (its pool write included), and the lease is released for the next replica at once.
import { spawn } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
import { createStore } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'
import { resources } from '../../kube/resources.ts'
import { parseRecords } from '../../ipam/records.ts'
import { startWebhookServer } from '../../server/webhook.ts'
import { webhookConfigurations } from '../../server/webhook-configurations.ts'
import { allKinds } from '../../webhooks/registry.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import { startTestControlPlane } from '../kube/controlplane/fixtures/controlplane.ts'
import { ippool, nad, podObject, reservationKey } from './fixtures/pod-cluster.ts'
import { probe, until } from './fixtures/tls-probe.ts'

const repo = path.resolve(import.meta.dirname, '../..')
const plane = await startTestControlPlane(t, { admission: true })
const { cp } = plane
const store = createStore(createTransport({ server: cp.url, ca: cp.caPem, token: cp.token }))
const lease = () => store.get(resources.leases, 'spiderpool-controller', { namespace: 'kube-system' })

t.test('close: readyz 503 first, the admission in flight completes with its reservation written, then the lease is released', { timeout: 60_000 }, async (t) => {
  const server = await startWebhookServer({
    host: '127.0.0.1', port: 0, tlsDir: t.testdir(), settings: defaultSettings(), kube: { kubeconfig: cp.kubeconfigPath },
    serviceName: 'spiderpool-controller', namespace: 'kube-system', logLevel: 'silent', shutdownDelayMs: 500,
  })
  t.teardown(() => server.close())
  const configs = webhookConfigurations(allKinds, { url: server.url }, server.caPem, ['kube-system'])
  await store.create(resources.mutatingWebhookConfigurations, configs.mutating)
  await store.create(resources.validatingWebhookConfigurations, configs.validating)
  t.teardown(async () => {
    await store.delete(resources.mutatingWebhookConfigurations, configs.mutating.metadata.name)
    await store.delete(resources.validatingWebhookConfigurations, configs.validating.metadata.name)
  })
  await store.create(resources.networkAttachmentDefinitions, nad('default', 'mv', { default_ipv4_ippool: ['drain'] }) as never)
  await store.create(resources.ippools, ippool('drain', '10.70.0.0/24', ['10.70.0.10-10.70.0.19']) as never)
  await until('the pool and the NAD in the cache', () => !!server.cluster!.snapshot.ippool('drain') && !!server.cluster!.informers.networkAttachmentDefinitions.get('mv', 'default'))
  await until('leading', () => server.controllers!.elector.isLeader())
  t.equal(await probe(server.url, '/readyz'), 200)

  // the reservation's pool write now takes 2 s: the pod's admission is in flight while the server closes
  cp.faults.writeLatencyMs = 2000
  t.teardown(() => void (cp.faults.writeLatencyMs = 0))
  const batches = server.writer!.stats.batches
  const admitted = plane.kubectl(['create', '-o', 'json', '-f', '-'], JSON.stringify(podObject({ name: 'in-flight', networks: 'mv' })))
  await until('the reservation being written', () => server.writer!.stats.batches > batches)
  const closing = server.close()
  t.equal(await probe(server.url, '/readyz'), 503, 'not ready at once, while still listening')
  t.equal(await probe(server.url, '/healthz'), 200, 'still alive during the delay')
  await until('no longer listening', async () => (await probe(server.url, '/healthz')) === 0)

  const result = await admitted
  t.equal(result.code, 0, result.stderr)
  const pod = JSON.parse(result.stdout)
  t.match(pod.metadata.annotations[reservationKey], /"ipv4":"10\.70\.0\.10\/24"/, 'the pod got its answer with the reservation')
  await closing
  const pool = await store.get(resources.ippools, 'drain')
  t.same((parseRecords((pool.status as any)?.allocatedIPs).records ?? []).map((r) => r.ip), ['10.70.0.10'], 'the reservation is in the pool')
  cp.faults.writeLatencyMs = 0
  t.equal((await lease()).spec?.holderIdentity, '', 'the lease was released, not left to expire')
})

t.test('SIGTERM to `webhook --cert-source=secret` exits 0 and releases the lease', { timeout: 60_000 }, async (t) => {
  const child = spawn(
    path.join(repo, 'bin/spiderpool-ts'),
    ['webhook', '--listen', '127.0.0.1:0', '--cert-source=secret', '--tls-secret', 'shutdown-certs', '--kubeconfig', cp.kubeconfigPath, '--log-level', 'warn'],
    { cwd: repo, env: { ...process.env, PATH: `${path.join(repo, 'node_modules/.bin')}:${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  t.teardown(() => void child.kill('SIGKILL'))
  let out = ''
  let err = ''
  child.stdout!.on('data', (c) => (out += c))
  child.stderr!.on('data', (c) => (err += c))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('close', (code, signal) => res({ code, signal })))
  await until('listening', () => /listening on https:/.test(out), 20_000)
  const url = /listening on (https:\/\/\S+)/.exec(out)![1]
  await until('ready', async () => (await probe(url, '/readyz')) === 200, 20_000)
  await until('holding the lease', async () => ((await lease()).spec?.holderIdentity ?? '') !== '', 20_000)
  child.kill('SIGTERM')
  t.same(await exited, { code: 0, signal: null }, err)
  t.equal((await lease()).spec?.holderIdentity, '')
  t.ok((await store.get(resources.secrets, 'shutdown-certs', { namespace: 'kube-system' })).data?.['tls.crt'], 'the pair was kept in the Secret')
})
