import t from 'tap'
import { parse } from 'yaml'
import { defaultSettings, parseSettings } from '../../webhooks/settings.ts'

t.test('pod admission settings default as Spiderpool deploys them', async (t) => {
  const s = defaultSettings()
  t.equal(s.clusterNetwork, '', 'no cluster network: the default network is not one that asks Spiderpool')
  t.equal(s.multusNamespace, 'kube-system')
  t.same(s.excludedNamespaces, ['kube-system', 'kube-public', 'spiderpool', 'metallb-system', 'istio-system'])
  t.equal(s.masterNICEnabled, false)
  t.same(parseSettings(null), s)
  t.same(parseSettings({}), s)
})

t.test('clusterNetwork, multusNamespace and excludedNamespaces are read from conf.yml', async (t) => {
  const s = parseSettings(parse('clusterNetwork: kube-system/macvlan-conf\nmultusNamespace: spiderpool\nexcludedNamespaces: [kube-system, infra]\n'))
  t.equal(s.clusterNetwork, 'kube-system/macvlan-conf')
  t.equal(s.multusNamespace, 'spiderpool')
  t.same(s.excludedNamespaces, ['kube-system', 'infra'])
  t.same(parseSettings({ excludedNamespaces: [] }).excludedNamespaces, [], 'an empty list excludes nothing')
})

t.test("masterNICEnabled follows Spiderpool's agent.networkResourcePlugin.resourceAdvertisement.masterNIC.rules", async (t) => {
  const conf = (rules: unknown) => ({ agent: { networkResourcePlugin: { resourceAdvertisement: { masterNIC: { rules } } } } })
  t.equal(parseSettings(conf([{ includeInterfaces: ['ens192'] }])).masterNICEnabled, true)
  t.equal(parseSettings(conf([])).masterNICEnabled, false)
  t.equal(parseSettings({ agent: { networkResourcePlugin: { enabled: true } } }).masterNICEnabled, false)
  t.throws(() => parseSettings(conf('all')), /agent.networkResourcePlugin.resourceAdvertisement.masterNIC.rules must be a list/)
  t.throws(() => parseSettings({ agent: [] }), /settings: agent must be a mapping/)
})

t.test('new keys of the wrong type are errors naming them', async (t) => {
  t.throws(() => parseSettings({ clusterNetwork: 5 }), /clusterNetwork must be a string/)
  t.throws(() => parseSettings({ multusNamespace: '' }), /multusNamespace must not be empty/)
  t.throws(() => parseSettings({ excludedNamespaces: 'kube-system' }), /excludedNamespaces must be a list/)
})
