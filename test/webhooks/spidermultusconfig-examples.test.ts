import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { spiderMultusConfigWebhook as webhook } from '../../webhooks/spidermultusconfig/index.ts'
import { clusterFromObjects } from '../../webhooks/cluster.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import type { AdmissionContext } from '../../webhooks/kind.ts'
import type { SpiderMultusConfig } from '../../schemas/types.ts'

// the manifests of Spiderpool's walkthroughs, as users apply them
const examples = fileURLToPath(new URL('../../../shared/reference/examples/', import.meta.url))
const ctx: AdmissionContext = { operation: 'CREATE', settings: defaultSettings(), cluster: clusterFromObjects(), dryRun: false }

const multusConfigs = readdirSync(examples)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((file) =>
    parseAllDocuments(readFileSync(examples + file, 'utf8'))
      .map((doc) => doc.toJS() as { kind?: string })
      .filter((o) => o?.kind === 'SpiderMultusConfig')
      .map((o) => ({ file, smc: o as SpiderMultusConfig })),
  )

t.test('the examples hold SpiderMultusConfigs', async (t) => {
  t.ok(multusConfigs.length >= 4, `${multusConfigs.length} found`)
})

for (const { file, smc } of multusConfigs) {
  t.test(`${file}: ${smc.metadata.namespace}/${smc.metadata.name} is defaulted and accepted`, async (t) => {
    const o = structuredClone(smc)
    webhook.default(o, ctx)
    t.same(webhook.validateCreate(o, ctx), [])
  })
}

t.test('default/macvlan-ens192 of the Calico walkthrough defaults as SMC-M-02, M-11 and M-12 say', async (t) => {
  const found = multusConfigs.find(({ file, smc }) => file === 'calico-overlay.yaml' && smc.metadata.name === 'macvlan-ens192')
  t.ok(found)
  const o = structuredClone(found!.smc)
  webhook.default(o, ctx)
  t.same(o.spec, {
    cniType: 'macvlan',
    macvlan: { master: ['ens192'], ippools: { ipv4: ['10-6-v4'] }, vlanID: 0, mtu: 0, rdmaResourceName: '' },
    enableCoordinator: true,
    coordinator: {
      mode: 'auto',
      hijackCIDR: [],
      policyRoutes: [],
      vethLinkAddress: '',
      podMACPrefix: '',
      podDefaultRouteNIC: '',
      podRPFilter: 0,
      tunePodRoutes: true,
    },
    chainCNIJsonData: [],
  })
  t.same(o.metadata, { name: 'macvlan-ens192', namespace: 'default' }, 'no label or finalizer added')
})

t.test('kube-system/macvlan-ens192 of the Cilium kube-proxy replacement walkthrough keeps its pools and enableCoordinator', async (t) => {
  const found = multusConfigs.find(({ file }) => file === 'cilium-kpr-underlay.yaml')
  const o = structuredClone(found!.smc)
  webhook.default(o, ctx)
  t.same(o.spec.macvlan, { master: ['ens192'], ippools: { ipv4: ['v4-pool'] }, vlanID: 0, mtu: 0, rdmaResourceName: '' })
  t.equal(o.spec.enableCoordinator, true)
  t.equal(o.spec.coordinator?.tunePodRoutes, true)
})
