// The SpiderMultusConfig → NetworkAttachmentDefinition controller on the local default, driven
// with real kubectl as a user would: apply, edit and delete SMCs, watch the NADs follow.
import path from 'node:path'
import t, { type Test } from 'tap'
import { runKubectl } from '../../kube/controlplane/fixtures/controlplane.ts'
import { startLocalDefault, type LocalDefault } from '../../../server/up.ts'
import { defaultSettings } from '../../../webhooks/settings.ts'
import { nadUpdate } from '../../../server/controllers/multusconfig.ts'
import type { NetworkAttachmentDefinition } from '../../../schemas/types.ts'

const examplesDir = path.join(import.meta.dirname, '../../../../shared/reference/examples')

async function up(t: Test) {
  const dataDir = t.testdir()
  const local: LocalDefault = await startLocalDefault({ dataDir, apiPort: 0, settings: defaultSettings(), logLevel: 'silent' })
  t.teardown(() => local.close())
  const kubectl = (args: string[], input?: string) => runKubectl(local.controlPlane.kubeconfigPath, path.join(dataDir, 'kubectl-cache'), args, input)
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input)
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  /** The NAD once `until` holds for it (undefined: until it is gone). */
  const nad = async (namespace: string, name: string, until: (nad: NetworkAttachmentDefinition | undefined) => boolean, ms = 15_000) => {
    const deadline = Date.now() + ms
    let last: NetworkAttachmentDefinition | undefined
    for (;;) {
      const r = await kubectl(['get', 'net-attach-def', '-n', namespace, name, '-o', 'json'])
      last = r.code === 0 ? JSON.parse(r.stdout) : undefined
      if (until(last)) return last
      if (Date.now() > deadline) throw new Error(`NAD ${namespace}/${name} never got there; last seen: ${JSON.stringify(last)}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return { local, kubectl, ok, nad }
}

const smc = (name: string, spec: object, annotations?: Record<string, string>) =>
  JSON.stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderMultusConfig', metadata: { name, namespace: 'default', ...(annotations && { annotations }) }, spec })

const exists = (n: NetworkAttachmentDefinition | undefined) => n !== undefined

t.test('the Calico walkthrough: its SMC gives NAD default/macvlan-ens192, which follows edits and goes with the SMC', { timeout: 120_000 }, async (t) => {
  const k = await up(t)
  await k.ok(['apply', '-f', path.join(examplesDir, 'calico-overlay.yaml')])
  const owner = JSON.parse(await k.ok(['get', 'smc', '-n', 'default', 'macvlan-ens192', '-o', 'json']))

  const created = (await k.nad('default', 'macvlan-ens192', exists))!
  t.equal(
    created.spec?.config,
    '{"cniVersion":"0.3.1","name":"macvlan-ens192","plugins":[{"type":"macvlan","master":"ens192","mode":"bridge","mtu":0,"ipam":{"type":"spiderpool","default_ipv4_ippool":["10-6-v4"]}},{"txQueueLen":0,"tunePodRoutes":true,"mode":"auto","type":"coordinator"}]}',
    "Spiderpool's bytes for this SMC",
  )
  t.same(created.metadata.ownerReferences, [
    { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderMultusConfig', name: 'macvlan-ens192', uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true },
  ])
  t.same(created.metadata.annotations, owner.metadata.annotations, "the SMC's annotations, kubectl's last-applied included")

  // a change that does not alter the rendering writes nothing
  await k.ok(['label', 'smc', '-n', 'default', 'macvlan-ens192', 'team=net'])
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  const unchanged = await k.nad('default', 'macvlan-ens192', exists)
  t.equal(unchanged!.metadata.resourceVersion, created.metadata.resourceVersion, 'no write when the NAD would be the same')

  await k.ok(['patch', 'smc', '-n', 'default', 'macvlan-ens192', '--type', 'merge', '-p', '{"spec":{"macvlan":{"vlanID":100}}}'])
  const edited = await k.nad('default', 'macvlan-ens192', (n) => (n?.spec?.config ?? '').includes('ens192.100'))
  t.same(
    JSON.parse(edited!.spec!.config!).plugins.map((p: { type: string }) => p.type),
    ['ifacer', 'macvlan', 'coordinator'],
    'a VLAN brings ifacer in front',
  )

  await k.ok(['delete', 'smc', '-n', 'default', 'macvlan-ens192'])
  t.equal(await k.nad('default', 'macvlan-ens192', (n) => n === undefined), undefined, 'the NAD went with its SMC (ownerReference cascade)')
})

t.test('multus.spidernet.io/cr-name names the NAD; multus.spidernet.io/cni-version sets its CNI version', { timeout: 120_000 }, async (t) => {
  const k = await up(t)
  await k.ok(['apply', '-f', '-'], smc('named-by-annotation', { cniType: 'ipvlan', ipvlan: { master: ['eth1'] } }, { 'multus.spidernet.io/cr-name': 'ipvlan-eth1', 'multus.spidernet.io/cni-version': '1.0.0' }))
  const nad = await k.nad('default', 'ipvlan-eth1', exists)
  t.match(JSON.parse(nad!.spec!.config!), { cniVersion: '1.0.0', name: 'ipvlan-eth1', plugins: [{ type: 'ipvlan', master: 'eth1' }, { type: 'coordinator' }] })
  t.match(nad!.metadata.ownerReferences, [{ kind: 'SpiderMultusConfig', name: 'named-by-annotation' }])
  t.equal((await k.kubectl(['get', 'net-attach-def', '-n', 'default', 'named-by-annotation'])).code, 1, 'no NAD under the SMC name')
})

t.test('a NAD deleted or edited by hand comes back as its SMC says; an unowned one of the same name is adopted', { timeout: 120_000 }, async (t) => {
  const k = await up(t)
  await k.ok(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'macvlan-eth1', namespace: 'default' }, spec: { config: '{"cniVersion":"0.3.1","type":"bridge"}' } }),
  )
  await k.ok(['apply', '-f', '-'], smc('macvlan-eth1', { cniType: 'macvlan', macvlan: { master: ['eth1'] } }))
  const owner = JSON.parse(await k.ok(['get', 'smc', '-n', 'default', 'macvlan-eth1', '-o', 'json']))
  const adopted = await k.nad('default', 'macvlan-eth1', (n) => (n?.metadata.ownerReferences ?? []).length > 0)
  t.match(adopted!.metadata.ownerReferences, [{ uid: owner.metadata.uid, controller: true }], 'taken over')
  t.match(adopted!.spec!.config, '"type":"macvlan","master":"eth1"', 'and rendered')

  await k.ok(['patch', 'net-attach-def', '-n', 'default', 'macvlan-eth1', '--type', 'merge', '-p', '{"spec":{"config":"{}"}}'])
  const restored = await k.nad('default', 'macvlan-eth1', (n) => n?.spec?.config === adopted!.spec!.config && n?.metadata.resourceVersion !== adopted!.metadata.resourceVersion)
  t.ok(restored, 'an edit by hand is undone')

  await k.ok(['delete', 'net-attach-def', '-n', 'default', 'macvlan-eth1'])
  const recreated = await k.nad('default', 'macvlan-eth1', (n) => n !== undefined && n.metadata.uid !== adopted!.metadata.uid)
  t.equal(recreated!.spec!.config, adopted!.spec!.config, 'a deleted NAD is created again')
})

t.test('nadUpdate: nothing when equal; annotations, config and the controller reference replaced when not', async (t) => {
  const desired: NetworkAttachmentDefinition = {
    metadata: { name: 'n', namespace: 'default', annotations: { a: '1' }, ownerReferences: [{ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderMultusConfig', name: 'n', uid: 'u1', controller: true, blockOwnerDeletion: true }] },
    spec: { config: '{"x":1}' },
  }
  const stored = { ...structuredClone(desired), metadata: { ...structuredClone(desired.metadata), resourceVersion: '7', labels: { keep: 'me' } } }
  t.equal(nadUpdate(stored, desired, 'u1'), undefined)
  t.same(nadUpdate({ ...stored, metadata: { ...stored.metadata, annotations: { a: '1' } } }, desired, 'u1'), undefined, 'annotation order does not matter')
  const drifted = nadUpdate({ ...stored, spec: { config: '{}' }, metadata: { ...stored.metadata, annotations: { b: '2' }, ownerReferences: [] } }, desired, 'u1')!
  t.same(drifted.spec, desired.spec)
  t.same(drifted.metadata.annotations, { a: '1' })
  t.same(drifted.metadata.ownerReferences, desired.metadata.ownerReferences)
  t.same([drifted.metadata.resourceVersion, drifted.metadata.labels], ['7', { keep: 'me' }], 'the write is conditional on what was read; labels are kept')
  const recreatedOwner = nadUpdate(stored, desired, 'u2')
  t.ok(recreatedOwner, 'an SMC recreated under the same name (new uid) takes its NAD over')
})
