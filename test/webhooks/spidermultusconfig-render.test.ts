// SpiderMultusConfig → NetworkAttachmentDefinition, pure: each SMC goes through what the API server
// does first (CRD defaults, the mutating webhook, CRD defaults again, validation), then is rendered
// and compared byte for byte with Spiderpool's Go output (cni-coordinator.md §C.5).
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { spiderMultusConfigWebhook as webhook } from '../../webhooks/spidermultusconfig/index.ts'
import { nadNameOf, renderCNIConfig, renderNetworkAttachmentDefinition } from '../../webhooks/spidermultusconfig/render.ts'
import { clusterFromObjects } from '../../webhooks/cluster.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import { applySchemaDefaults } from '../../kube/controlplane/defaults.ts'
import { spiderMultusConfigSchema } from '../../schemas/spidermultusconfig.ts'
import type { OpenAPISchema } from '../../schemas/index.ts'
import type { AdmissionContext } from '../../webhooks/kind.ts'
import type { SpiderMultusConfig } from '../../schemas/types.ts'

const examples = fileURLToPath(new URL('../../../shared/reference/examples/', import.meta.url))
const ctx: AdmissionContext = { operation: 'CREATE', settings: defaultSettings(), cluster: clusterFromObjects(), dryRun: false }
const schema = spiderMultusConfigSchema as unknown as OpenAPISchema

/** The SMC as stored after admission; a case that admission refuses is a broken test. */
function admitted(t: Test, name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): SpiderMultusConfig {
  const smc = {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderMultusConfig',
    metadata: { name, namespace: 'kube-system', uid: `uid-${name}`, ...(annotations && { annotations }) },
    spec,
  } as SpiderMultusConfig
  applySchemaDefaults(smc, schema)
  webhook.default(smc, ctx)
  applySchemaDefaults(smc, schema)
  t.same(webhook.validateCreate(smc, ctx), [], `${name} is admitted`)
  return smc
}

const config = (smc: SpiderMultusConfig) => renderCNIConfig(smc).text

const coordinator = '{"txQueueLen":0,"tunePodRoutes":true,"mode":"auto","type":"coordinator"}'

t.test('C.5 macvlan-basic: one master, mtu 0 kept, empty ipam, defaulted coordinator last', async (t) => {
  const smc = admitted(t, 'macvlan-ens192', { cniType: 'macvlan', macvlan: { master: ['ens192'] } })
  t.equal(
    config(smc),
    `{"cniVersion":"0.3.1","name":"macvlan-ens192","plugins":[{"type":"macvlan","master":"ens192","mode":"bridge","mtu":0,"ipam":{"type":"spiderpool"}},${coordinator}]}`,
  )
})

t.test('C.5 macvlan-bond-vlan-ifacer: two masters bonded under a VLAN, ifacer first, no coordinator when disabled', async (t) => {
  const smc = admitted(t, 'macvlan-bond-vlan', {
    cniType: 'macvlan',
    enableCoordinator: false,
    macvlan: { master: ['eth0', 'eth1'], vlanID: 10, bond: { name: 'ens1', mode: 0, options: 'primary=eth0;arp_interval=1' } },
  })
  t.equal(
    config(smc),
    '{"cniVersion":"0.3.1","name":"macvlan-bond-vlan","plugins":[{"vlanID":10,"type":"ifacer","interfaces":["eth0","eth1"],"bond":{"name":"ens1","mode":0,"options":"primary=eth0;arp_interval=1"}},{"type":"macvlan","master":"ens1.10","mode":"bridge","mtu":0,"ipam":{"type":"spiderpool"}}]}',
  )
})

t.test('C.5 ipvlan-vlan-ifacer: a VLAN on one master makes ifacer create ens192.100; ipvlan has no mode', async (t) => {
  const smc = admitted(t, 'ipvlan-ens192-vlan100', { cniType: 'ipvlan', ipvlan: { master: ['ens192'], vlanID: 100 } })
  t.equal(
    config(smc),
    `{"cniVersion":"0.3.1","name":"ipvlan-ens192-vlan100","plugins":[{"vlanID":100,"type":"ifacer","interfaces":["ens192"]},{"type":"ipvlan","master":"ens192.100","mtu":0,"ipam":{"type":"spiderpool"}},${coordinator}]}`,
  )
})

t.test('C.5 vlan-bond: the vlan plugin gets the bond as master and the VLAN id itself; ifacer only bonds', async (t) => {
  const smc = admitted(t, 'vlan-bond100', { cniType: 'vlan', vlan: { master: ['ens192', 'ens224'], vlanID: 100, mtu: 1480, bond: { name: 'bond0', mode: 1 } } })
  t.equal(
    config(smc),
    `{"cniVersion":"0.3.1","name":"vlan-bond100","plugins":[{"type":"ifacer","interfaces":["ens192","ens224"],"bond":{"name":"bond0","mode":1,"options":""}},{"type":"vlan","master":"bond0","vlanMode":"manual","vlanId":100,"mtu":1480,"ipam":{"type":"spiderpool"}},${coordinator}]}`,
  )
})

t.test('vlan in auto mode carries no vlanId: the VLAN is chosen per pod', async (t) => {
  const smc = admitted(t, 'vlan-auto', { cniType: 'vlan', vlan: { master: ['ens192'], vlanMode: 'auto' } })
  t.equal(config(smc), `{"cniVersion":"0.3.1","name":"vlan-auto","plugins":[{"type":"vlan","master":"ens192","vlanMode":"auto","mtu":0,"ipam":{"type":"spiderpool"}},${coordinator}]}`)
})

t.test('C.5 sriov-mtu-tuning-last: rdma right after sriov, tuning after the coordinator, resourceName annotated', async (t) => {
  const smc = admitted(t, 'sriov-mtu', { cniType: 'sriov', sriov: { resourceName: 'spidernet.io/test', minTxRateMbps: 10, maxTxRateMbps: 30, mtu: 1400, rdmaIsolation: true } })
  t.equal(
    config(smc),
    `{"cniVersion":"0.3.1","name":"sriov-mtu","plugins":[{"vlan":0,"min_tx_rate":10,"max_tx_rate":30,"type":"sriov","ipam":{"type":"spiderpool"}},{"type":"rdma"},${coordinator},{"type":"tuning","mtu":1400}]}`,
  )
  t.equal(renderNetworkAttachmentDefinition(smc).nad?.metadata.annotations?.['k8s.v1.cni.cncf.io/resourceName'], 'spidernet.io/test')
})

t.test('sriov alone renames nothing: no rdma without rdmaIsolation, no tuning at mtu 0, match_master_subnet only when true', async (t) => {
  const plain = admitted(t, 'sriov-plain', { cniType: 'sriov', sriov: { resourceName: 'r' } })
  t.equal(config(plain), `{"cniVersion":"0.3.1","name":"sriov-plain","plugins":[{"vlan":0,"min_tx_rate":0,"max_tx_rate":0,"type":"sriov","ipam":{"type":"spiderpool"}},${coordinator}]}`)
  const matching = admitted(t, 'sriov-match', { cniType: 'sriov', sriov: { resourceName: 'r', ippools: { ipv4: ['a'], matchMasterSubnet: true } } })
  t.match(config(matching), '"ipam":{"type":"spiderpool","default_ipv4_ippool":["a"],"match_master_subnet":true}')
})

t.test('C.5 ib-sriov-basic: pkey "" emitted, CRD defaults for link state and RDMA, default pool', async (t) => {
  const smc = admitted(t, 'gpu1-ib-sriov', { cniType: 'ib-sriov', ibsriov: { resourceName: 'spidernet.io/mellanoxibsriov', ippools: { ipv4: ['gpu1-net11'] } } })
  t.equal(
    config(smc),
    `{"cniVersion":"0.3.1","name":"gpu1-ib-sriov","plugins":[{"type":"ib-sriov","pkey":"","link_state":"enable","rdmaIsolation":true,"ibKubernetesEnabled":false,"ipam":{"type":"spiderpool","default_ipv4_ippool":["gpu1-net11"]}},${coordinator}]}`,
  )
  t.equal(renderNetworkAttachmentDefinition(smc).nad?.metadata.annotations?.['k8s.v1.cni.cncf.io/resourceName'], 'spidernet.io/mellanoxibsriov')
})

t.test('C.5 ipoib-basic', async (t) => {
  const smc = admitted(t, 'ipoib', { cniType: 'ipoib', ipoib: { master: 'ibs5f0', ippools: { ipv4: ['v4-91'] } } })
  t.equal(config(smc), `{"cniVersion":"0.3.1","name":"ipoib","plugins":[{"type":"ipoib","master":"ibs5f0","ipam":{"type":"spiderpool","default_ipv4_ippool":["v4-91"]}},${coordinator}]}`)
})

t.test('C.5 ovs-vlan-trunk-deviceid: ipam before trunk, and the OVS offload resource annotated', async (t) => {
  const smc = admitted(t, 'ovs-offload', { cniType: 'ovs', ovs: { bridge: 'br-sriov', vlan: 30, deviceID: '0000:af:00.2', trunk: [{ minID: 10, maxID: 20 }, { id: 42 }] } })
  t.equal(
    config(smc),
    `{"cniVersion":"0.3.1","name":"ovs-offload","plugins":[{"vlan":30,"type":"ovs","bridge":"br-sriov","deviceID":"0000:af:00.2","ipam":{"type":"spiderpool"},"trunk":[{"minID":10,"maxID":20},{"id":42}]},${coordinator}]}`,
  )
  t.equal(renderNetworkAttachmentDefinition(smc).nad?.metadata.annotations?.['k8s.v1.cni.cncf.io/resourceName'], 'ovs-cni.network.kubevirt.io/br-sriov')
  const noDevice = admitted(t, 'ovs-plain', { cniType: 'ovs', ovs: { bridge: 'br1' } })
  t.equal(renderNetworkAttachmentDefinition(noDevice).nad?.metadata.annotations, undefined, 'no deviceID, no resource')
})

t.test('C.5 custom: customCNI byte for byte (no name, version or coordinator added); empty stays empty', async (t) => {
  const text = '{ "cniVersion": "1.0.0", "name": "mine", "plugins": [ {"type": "bridge"} ] }'
  t.equal(config(admitted(t, 'custom-valid-json', { cniType: 'custom', customCNI: text })), text)
  t.equal(config(admitted(t, 'custom-empty', { cniType: 'custom' })), '')
  t.equal(renderNetworkAttachmentDefinition(admitted(t, 'custom-empty2', {})).nad?.spec?.config, '', 'cniType defaults to custom')
})

t.test('chain plugins come between the main plugin and the coordinator, with their keys sorted as Go writes a map', async (t) => {
  const smc = admitted(t, 'chained', {
    cniType: 'macvlan',
    macvlan: { master: ['ens192'] },
    chainCNIJsonData: ['{"type":"tuning","sysctl":{"net.ipv4.conf.all.rp_filter":"0","net.core.somaxconn":"500"}}', '{"type":"bandwidth","ingressRate":1000,"capabilities":{"bandwidth":true}}'],
  })
  const plugins = JSON.parse(config(smc)!).plugins.map((p: { type: string }) => p.type)
  t.same(plugins, ['macvlan', 'tuning', 'bandwidth', 'coordinator'])
  t.match(config(smc), '{"sysctl":{"net.core.somaxconn":"500","net.ipv4.conf.all.rp_filter":"0"},"type":"tuning"},{"capabilities":{"bandwidth":true},"ingressRate":1000,"type":"bandwidth"}')
})

t.test('disableIPAM takes the ipam section off the main plugin only', async (t) => {
  const smc = admitted(t, 'no-ipam', { cniType: 'macvlan', disableIPAM: true, macvlan: { master: ['ens192'], ippools: { ipv4: ['a'] } } })
  t.equal(config(smc), `{"cniVersion":"0.3.1","name":"no-ipam","plugins":[{"type":"macvlan","master":"ens192","mode":"bridge","mtu":0},${coordinator}]}`)
})

t.test('default pools of both families become default_ipv4_ippool and default_ipv6_ippool', async (t) => {
  const smc = admitted(t, 'dual', { cniType: 'ipvlan', ipvlan: { master: ['ens192'], ippools: { ipv4: ['v4a', 'v4b'], ipv6: ['v6a'] } } })
  t.match(config(smc), '"ipam":{"type":"spiderpool","default_ipv4_ippool":["v4a","v4b"],"default_ipv6_ippool":["v6a"]}')
})

t.test('the coordinator block carries what the SMC sets, spelled as the plugin reads it', async (t) => {
  const smc = admitted(t, 'tuned', {
    cniType: 'macvlan',
    macvlan: { master: ['ens192'] },
    coordinator: {
      mode: 'underlay',
      podCIDRType: 'cluster',
      podRPFilter: 2,
      podDefaultRouteNIC: 'net1',
      podMACPrefix: '0a:1b',
      vethLinkAddress: '169.254.100.1',
      vethMTU: 1450,
      hostRuleTable: 600,
      tunePodRoutes: false,
      txQueueLen: 1000,
      hijackCIDR: ['10.9.0.0/16'],
      policyRoutes: [{ dst: '10.10.0.0/16', gw: '10.6.0.1' }],
    },
  })
  const plugins = JSON.parse(config(smc)!).plugins
  t.equal(
    JSON.stringify(plugins[1]),
    '{"txQueueLen":1000,"vethLinkAddress":"169.254.100.1","vethMTU":1450,"tunePodRoutes":false,"podMACPrefix":"0a:1b","mode":"underlay","type":"coordinator","podDefaultRouteNic":"net1","podRPFilter":2,"hijackCIDR":["10.9.0.0/16"],"policyRoutes":[{"dst":"10.10.0.0/16","gw":"10.6.0.1"}]}',
    'hostRuleTable and podCIDRType are never rendered',
  )
  const noCIDRType = admitted(t, 'rp', { cniType: 'macvlan', macvlan: { master: ['ens192'] }, coordinator: { podRPFilter: 2 } })
  t.notMatch(config(noCIDRType), 'podRPFilter', "Spiderpool's quirk: podRPFilter only alongside podCIDRType")
})

t.test('annotations: cni-version sets cniVersion, cniconfig-name only the CNI name, cr-name the NAD name and the CNI name', async (t) => {
  const versioned = admitted(t, 'v', { cniType: 'macvlan', macvlan: { master: ['ens192'] } }, { 'multus.spidernet.io/cni-version': '1.0.0' })
  t.match(config(versioned), /^\{"cniVersion":"1\.0\.0","name":"v",/)
  const named = admitted(t, 'n', { cniType: 'macvlan', macvlan: { master: ['ens192'] } }, { 'cni.spidernet.io/cniconfig-name': 'other' })
  t.equal(renderNetworkAttachmentDefinition(named).nad?.metadata.name, 'n')
  t.match(config(named), '"name":"other"')
  const renamed = admitted(t, 'smc-name', { cniType: 'macvlan', macvlan: { master: ['ens192'] } }, { 'multus.spidernet.io/cr-name': 'nad-name' })
  t.equal(nadNameOf(renamed), 'nad-name')
  t.equal(renderNetworkAttachmentDefinition(renamed).nad?.metadata.name, 'nad-name')
  t.match(config(renamed), '"name":"nad-name"')
})

t.test('the NAD: same namespace, every SMC annotation, controlled by the SMC so that it goes with it', async (t) => {
  const smc = admitted(t, 'owned', { cniType: 'macvlan', macvlan: { master: ['ens192'] } }, { team: 'net', 'kubectl.kubernetes.io/last-applied-configuration': '{}' })
  const nad = renderNetworkAttachmentDefinition(smc).nad!
  t.same(nad.metadata, {
    name: 'owned',
    namespace: 'kube-system',
    annotations: { team: 'net', 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
    ownerReferences: [{ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderMultusConfig', name: 'owned', uid: 'uid-owned', controller: true, blockOwnerDeletion: true }],
  })
  t.match(nad, { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition' })
})

t.test('the config is JSON as Go writes it: <, > and & escaped', async (t) => {
  const smc = admitted(t, 'escaped', { cniType: 'macvlan', macvlan: { master: ['ens192'] }, chainCNIJsonData: ['{"type":"x","note":"a<b>&c"}'] })
  t.match(config(smc), '"note":"a\\u003cb\\u003e\\u0026c"')
  t.equal(JSON.parse(config(smc)!).plugins[1].note, 'a<b>&c', 'the same string once parsed')
})

t.test('a chain plugin that is not JSON is an error, not a NAD', async (t) => {
  const smc = admitted(t, 'ok', { cniType: 'macvlan', macvlan: { master: ['ens192'] } })
  smc.spec.chainCNIJsonData = ['{not json']
  t.match(renderNetworkAttachmentDefinition(smc), { error: /failed to unmarshal chain cni config/ })
})

// The walkthrough's printed NAD (expected/nad-macvlan-ens192.json) against what we render from the
// walkthrough's own SMC. The printout is a stale document (cni-coordinator.md §E.2): it differs from
// Spiderpool's output only in the ways listed here, each of which changes nothing for Multus or the plugins.
t.test('the Calico walkthrough NAD default/macvlan-ens192 comes out equal in meaning to the printed one', async (t) => {
  const expected = JSON.parse(readFileSync(examples + 'expected/nad-macvlan-ens192.json', 'utf8'))
  const found = parseAllDocuments(readFileSync(examples + 'calico-overlay.yaml', 'utf8'))
    .map((d) => d.toJS())
    .find((o) => o?.kind === 'SpiderMultusConfig' && o.metadata.name === 'macvlan-ens192')
  const smc = admitted(t, found.metadata.name, found.spec)
  smc.metadata.namespace = found.metadata.namespace
  const nad = renderNetworkAttachmentDefinition(smc).nad!

  t.equal(nad.metadata.name, expected.metadata.name)
  t.equal(nad.metadata.namespace, expected.metadata.namespace)
  t.match(nad.metadata.ownerReferences, expected.metadata.ownerReferences, 'controller and blockOwnerDeletion as printed')
  t.equal(nad.metadata.ownerReferences?.[0].uid, 'uid-macvlan-ens192', 'plus the uid the printout leaves out')

  const rendered = JSON.parse(nad.spec!.config!)
  t.equal(rendered.plugins[1].mode, 'auto', 'rendered NADs always say auto (§C.4)')
  const dropIfEqual = (o: Record<string, unknown>, key: string, value: unknown) => {
    if (JSON.stringify(o[key]) === JSON.stringify(value)) delete o[key]
  }
  const printed = structuredClone(expected.config)
  // the note in the file: the printed type is a typo
  if (printed.plugins[1].type === 'coordinattor') printed.plugins[1].type = 'coordinator'
  // keys the coordinator no longer reads (detect*), cannot use (ipam, dns) or reads with this very value when absent (hostRuleTable)
  for (const [key, value] of Object.entries({ ipam: {}, dns: {}, detectGateway: false, detectIPConflict: false, hostRuleTable: 500 })) dropIfEqual(printed.plugins[1], key, value)
  // values the rendered NAD states that mean "leave it as it is": macvlan mtu 0, txQueueLen 0
  dropIfEqual(rendered.plugins[0], 'mtu', 0)
  dropIfEqual(rendered.plugins[1], 'txQueueLen', 0)
  // auto resolves to overlay on net1 when eth0 is Calico's and there is no veth0 (§B.2), as in this walkthrough
  if (rendered.plugins[1].mode === 'auto') rendered.plugins[1].mode = 'overlay'
  t.strictSame(rendered, printed)
})
