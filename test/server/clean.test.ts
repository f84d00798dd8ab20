// `spiderpool-ts clean`, the chart's pre-delete Job, run as a child process against the local
// default with real kubectl: first as `helm uninstall` runs it (the webhook server still up, its
// mutating webhook putting our finalizer back on every update), then after an uninstall that left
// objects with our finalizer behind and no controller to take it off, so their deletion waits.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { runCommand } from './fixtures/cli.ts'
import { startLocalDefault } from '../../server/up.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import { runKubectl } from '../kube/controlplane/fixtures/controlplane.ts'

const ours = 'spiderpool.spidernet.io'
const foreign = 'example.com/keep'

const dataDir = mkdtempSync(path.join(tmpdir(), 'clean-test-'))
const local = await startLocalDefault({ dataDir, apiPort: 0, settings: defaultSettings(), logLevel: 'silent' })
t.teardown(async () => {
  await local.close()
  rmSync(dataDir, { recursive: true, force: true })
})
const kubeconfig = local.controlPlane.kubeconfigPath
const kubectl = (args: string[], input?: string) => runKubectl(kubeconfig, path.join(dataDir, 'kubectl-cache'), args, input)
const ok = async (args: string[], input?: string) => {
  const r = await kubectl(args, input)
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}
const getJson = async (args: string[]) => {
  const r = await kubectl(['get', ...args, '-o', 'json'])
  return r.code === 0 ? JSON.parse(r.stdout) : r.stderr.includes('NotFound') ? undefined : Promise.reject(new Error(r.stderr))
}

const spider = (kind: string, name: string, spec: object, o: { finalizers?: string[]; namespace?: string; status?: object } = {}) =>
  JSON.stringify({
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind,
    metadata: { name, ...(o.namespace && { namespace: o.namespace }), ...(o.finalizers && { finalizers: o.finalizers }) },
    ...(spec && { spec }),
    ...(o.status && { status: o.status }),
  })
/** A SpiderEndpoint as the plugin writes it: finalized by ours from the start. */
const endpoint = (name: string, finalizers: string[]) =>
  JSON.stringify({
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderEndpoint',
    metadata: { name, namespace: 'default', finalizers },
    status: {
      current: { uid: `uid-${name}`, node: 'n1', ips: [{ interface: 'net1', ipv4: '10.80.0.10/16', ipv4Pool: 'pool-a', vlan: 0, cleanGateway: false, routes: [] }] },
      ownerControllerType: 'Pod',
      ownerControllerName: name,
    },
  })

const clean = (args: string[] = []) => runCommand(['clean', '--kubeconfig', kubeconfig, '--timeout', '30', ...args])

const finalizersOf = async (args: string[]) => (await getJson(args))?.metadata.finalizers ?? []

t.test('as the pre-delete hook: the webhook configurations go first, then our finalizer leaves every kind, and deletion no longer waits', { timeout: 90_000 }, async (t) => {
  await ok(['apply', '-f', '-'], spider('SpiderIPPool', 'pool-a', { subnet: '10.80.0.0/16', ips: ['10.80.0.10-10.80.0.20'] }))
  await ok(['apply', '-f', '-'], spider('SpiderIPPool', 'pool-kept', { subnet: '10.81.0.0/16', ips: ['10.81.0.10-10.81.0.20'] }, { finalizers: [foreign] }))
  await ok(['apply', '-f', '-'], spider('SpiderSubnet', 'subnet-a', { subnet: '10.90.0.0/16', ips: ['10.90.0.10-10.90.0.20'] }))
  await ok(['apply', '-f', '-'], endpoint('pod-a', [ours]))
  t.same(await finalizersOf(['spidercoordinator', 'default']), [ours], 'the coordinator `up` made: finalized by the webhook')
  t.same(await finalizersOf(['spiderippool', 'pool-a']), [ours], 'the pool: finalized by the webhook')
  t.same(await finalizersOf(['spiderippool', 'pool-kept']), [foreign, ours], 'ours added beside another')
  t.same(await finalizersOf(['spidersubnet', 'subnet-a']), [ours])
  t.same(await finalizersOf(['spiderendpoint', '-n', 'default', 'pod-a']), [ours])

  // why the webhook configurations must go first: while they are called, taking the finalizer off does not hold
  const patched = JSON.parse(await ok(['patch', 'spiderippool', 'pool-a', '--type=merge', '-p', '{"metadata":{"finalizers":null}}', '-o', 'json']))
  t.same(patched.metadata.finalizers, [ours], 'the mutating webhook puts it back')

  const run = await clean()
  t.equal(run.code, 0, `clean exits 0: ${run.stderr}`)
  t.match(run.stdout, /^MutatingWebhookConfiguration "spiderpool-controller": deleted\nValidatingWebhookConfiguration "spiderpool-controller": deleted\n/, 'the webhook configurations first')
  for (const line of ['SpiderCoordinator "default"', 'SpiderIPPool "pool-a"', 'SpiderIPPool "pool-kept"', 'SpiderSubnet "subnet-a"', 'SpiderEndpoint "default/pod-a"']) {
    t.match(run.stdout, `${line}: finalizer removed\n`)
  }
  t.equal(await getJson(['mutatingwebhookconfiguration', 'spiderpool-controller']), undefined, 'the MutatingWebhookConfiguration is gone')
  t.equal(await getJson(['validatingwebhookconfiguration', 'spiderpool-controller']), undefined, 'the ValidatingWebhookConfiguration is gone')
  t.same(await finalizersOf(['spidercoordinator', 'default']), [])
  t.same(await finalizersOf(['spiderippool', 'pool-a']), [])
  t.same(await finalizersOf(['spiderippool', 'pool-kept']), [foreign], 'another finalizer is kept')
  t.same(await finalizersOf(['spidersubnet', 'subnet-a']), [])
  t.same(await finalizersOf(['spiderendpoint', '-n', 'default', 'pod-a']), [])

  // then Helm deletes the Deployment: nothing removes our finalizer any more, and none is left to wait for
  await local.webhook.close()
  for (const args of [['spiderippool', 'pool-a'], ['spidersubnet', 'subnet-a'], ['spidercoordinator', 'default'], ['spiderendpoint', '-n', 'default', 'pod-a']]) {
    const deleted = await kubectl(['delete', ...args, '--timeout=10s'])
    t.equal(deleted.code, 0, `kubectl delete ${args.join(' ')} completes: ${deleted.stderr}`)
    t.equal(await getJson(args), undefined, `${args.join(' ')} is gone`)
  }
})

t.test('after an uninstall that left our finalizer behind: deletion waits until clean; a second run has nothing to do', { timeout: 90_000 }, async (t) => {
  // no webhook and no controller any more; the objects still carry our finalizer
  await ok(['apply', '-f', '-'], spider('SpiderIPPool', 'pool-b', { subnet: '10.82.0.0/16', ips: ['10.82.0.10-10.82.0.20'] }, { finalizers: [ours] }))
  await ok(['apply', '-f', '-'], spider('SpiderIPPool', 'pool-both', { subnet: '10.83.0.0/16', ips: ['10.83.0.10-10.83.0.20'] }, { finalizers: [foreign, ours] }))
  await ok(['apply', '-f', '-'], spider('SpiderCoordinator', 'default', { mode: 'auto', podCIDRType: 'auto' }, { finalizers: [ours] }))
  await ok(['apply', '-f', '-'], endpoint('pod-b', [ours]))

  const waiting = [['spiderippool', 'pool-b'], ['spiderippool', 'pool-both'], ['spidercoordinator', 'default'], ['spiderendpoint', '-n', 'default', 'pod-b']]
  for (const args of waiting) {
    const r = await kubectl(['delete', ...args, '--timeout=2s'])
    t.not(r.code, 0, `kubectl delete ${args.join(' ')} does not complete`)
    const stuck = await getJson(args)
    t.ok(stuck?.metadata.deletionTimestamp, `${args.join(' ')} stays, terminating`)
    t.ok(stuck?.metadata.finalizers.includes(ours), 'held by our finalizer')
  }

  const run = await clean()
  t.equal(run.code, 0, `clean exits 0: ${run.stderr}`)
  t.notMatch(run.stdout, /WebhookConfiguration/, 'no webhook configuration left to delete, and none asked about twice')
  for (const [kind, args] of [['SpiderIPPool "pool-b"', waiting[0]], ['SpiderCoordinator "default"', waiting[2]], ['SpiderEndpoint "default/pod-b"', waiting[3]]] as const) {
    t.match(run.stdout, `${kind}: finalizer removed\n`)
    t.equal(await getJson([...args]), undefined, `${kind} is gone`)
  }
  const both = await getJson(['spiderippool', 'pool-both'])
  t.same(both?.metadata.finalizers, [foreign], 'another finalizer is kept: the pool waits for its owner, not for us')
  t.ok(both?.metadata.deletionTimestamp, 'still terminating')

  const again = await clean()
  t.equal(again.code, 0, `a second clean exits 0: ${again.stderr}`)
  t.equal(again.stdout, 'nothing to clean\n')
  t.same((await getJson(['spiderippool', 'pool-both']))?.metadata.finalizers, [foreign], 'and leaves the other finalizer alone')
})

t.test('an API that does not answer: clean waits for it until --timeout, then exits 1 saying what it waited for; a usage mistake exits 2', { timeout: 60_000 }, async (t) => {
  const bad = await clean(['--timeout', 'soon'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--timeout soon: expected a number of seconds/)

  // the same cluster's kubeconfig, at a port nothing listens on
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
  const text = readFileSync(kubeconfig, 'utf8')
  t.ok(text.includes(local.controlPlane.url), 'the kubeconfig names the control plane’s URL')
  const closed = path.join(dataDir, 'closed.kubeconfig')
  writeFileSync(closed, text.replaceAll(local.controlPlane.url, `https://127.0.0.1:${port}`))
  const started = Date.now()
  const down = await clean(['--kubeconfig', closed, '--timeout', '2'])
  t.equal(down.code, 1, 'exit 1')
  t.ok(Date.now() - started >= 2_000, 'after the timeout, not at the first refused connection')
  t.match(down.stdout, /MutatingWebhookConfiguration "spiderpool-controller": not ready \(.*ECONNREFUSED.*\); trying again in/)
  t.match(down.stderr, /MutatingWebhookConfiguration "spiderpool-controller" did not finish within 2 s \(\d+ attempts\); last answer: .*ECONNREFUSED/)
})
