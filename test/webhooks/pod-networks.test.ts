import t from 'tap'
import { readFileSync } from 'node:fs'
import { clusterFromObjects } from '../../webhooks/cluster.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import { parseNetworkSelection, podNICs, type PodNIC } from '../../webhooks/pod/networks.ts'
import { spiderpoolIPAMOf } from '../../webhooks/pod/netconf.ts'
import type { Pod } from '../../webhooks/pod/pod.ts'
import type { NetworkAttachmentDefinition } from '../../schemas/types.ts'

// the NetworkAttachmentDefinition that SpiderMultusConfig default/macvlan-ens192 renders (the walkthroughs print it)
const expected = JSON.parse(readFileSync('/work/shared/reference/examples/expected/nad-macvlan-ens192.json', 'utf8'))
const macvlanEns192: NetworkAttachmentDefinition = { metadata: expected.metadata, spec: { config: JSON.stringify(expected.config) } }

const nad = (namespace: string, name: string, config: unknown): NetworkAttachmentDefinition => ({
  metadata: { namespace, name },
  spec: { config: typeof config === 'string' ? config : JSON.stringify(config) },
})
const macvlanConf = nad('kube-system', 'macvlan-conf', {
  cniVersion: '0.3.1',
  name: 'macvlan-conf',
  plugins: [
    { type: 'macvlan', master: 'eth0', mode: 'bridge', ipam: { type: 'spiderpool' } },
    { type: 'coordinator', ipam: {} },
  ],
})
const calico = nad('kube-system', 'calico', { cniVersion: '0.3.1', name: 'k8s-pod-network', plugins: [{ type: 'calico', ipam: { type: 'calico-ipam' } }] })
const cluster = clusterFromObjects({ networkAttachmentDefinitions: [macvlanEns192, macvlanConf, calico] })
const pod = (annotations: Record<string, string>): Pod => ({ metadata: { generateName: 'web-', annotations }, spec: { containers: [{ name: 'c' }] } })
const summary = (nics: PodNIC[] | { message: string }) =>
  'message' in nics ? nics.message : nics.map((n) => `${n.interface}=${n.network ? `${n.network.namespace}/${n.network.name}` : '-'}${n.ipam ? '(spiderpool)' : ''}`)

t.test('eth0 from the default-network annotation (the macvlan underlay walkthrough): Spiderpool gives its addresses', async (t) => {
  const nics = podNICs(pod({ 'v1.multus-cni.io/default-network': 'kube-system/macvlan-conf' }), 'default', defaultSettings(), cluster)
  t.same(summary(nics), ['eth0=kube-system/macvlan-conf(spiderpool)'])
  t.same((nics as PodNIC[])[0].ipam, { defaultIPv4IPPool: [], defaultIPv6IPPool: [], cleanGateway: false, matchMasterSubnet: false })
})

t.test('net1 from k8s.v1.cni.cncf.io/networks in the pod namespace (the calico overlay walkthrough), eth0 the cluster network', async (t) => {
  const nics = podNICs(pod({ 'k8s.v1.cni.cncf.io/networks': 'macvlan-ens192' }), 'default', defaultSettings(), cluster)
  t.same(summary(nics), ['eth0=-', 'net1=default/macvlan-ens192(spiderpool)'])
  t.same((nics as PodNIC[])[1].ipam?.defaultIPv4IPPool, ['10-6-v4'], 'the SMC pools rendered into the NAD')
})

t.test('without an annotation eth0 is the clusterNetwork setting, `name` meaning the multus namespace', async (t) => {
  const settings = { ...defaultSettings(), clusterNetwork: 'macvlan-conf' }
  t.same(summary(podNICs(pod({}), 'default', settings, cluster)), ['eth0=kube-system/macvlan-conf(spiderpool)'])
  t.same(summary(podNICs(pod({}), 'default', { ...defaultSettings(), clusterNetwork: 'kube-system/calico' }, cluster)), ['eth0=kube-system/calico'], 'a NAD without spiderpool IPAM is not ours')
  t.same(summary(podNICs(pod({ 'v1.multus-cni.io/default-network': 'calico' }), 'default', settings, cluster)), ['eth0=kube-system/calico'], 'the annotation wins; without namespace it is in the multus namespace')
  t.same(summary(podNICs(pod({}), 'default', { ...defaultSettings(), clusterNetwork: 'kube-system/missing' }, cluster)), 'NetworkAttachmentDefinition kube-system/missing named by the setting clusterNetwork does not exist')
})

t.test('additional networks: comma list with namespace and interface, or JSON; unnamed ones are net<position>', async (t) => {
  const s = defaultSettings()
  t.same(summary(podNICs(pod({ 'k8s.v1.cni.cncf.io/networks': 'default/macvlan-ens192@ens1, kube-system/calico' }), 'default', s, cluster)), [
    'eth0=-',
    'ens1=default/macvlan-ens192(spiderpool)',
    'net2=kube-system/calico',
  ])
  t.same(
    summary(podNICs(pod({ 'k8s.v1.cni.cncf.io/networks': '[{"name":"macvlan-ens192","namespace":"default","interface":"data0"},{"name":"macvlan-conf","namespace":"kube-system"}]' }), 'default', s, cluster)),
    ['eth0=-', 'data0=default/macvlan-ens192(spiderpool)', 'net2=kube-system/macvlan-conf(spiderpool)'],
  )
  t.same(summary(podNICs(pod({ 'k8s.v1.cni.cncf.io/networks': '' }), 'default', s, cluster)), ['eth0=-'], 'an empty annotation adds nothing')
})

t.test('a referenced NetworkAttachmentDefinition that does not exist is refused, naming the annotation and the NAD', async (t) => {
  const s = defaultSettings()
  t.same(podNICs(pod({ 'k8s.v1.cni.cncf.io/networks': 'macvlan-ens192' }), 'other', s, cluster), {
    reason: 'Forbidden',
    message: "NetworkAttachmentDefinition other/macvlan-ens192 named by annotation 'k8s.v1.cni.cncf.io/networks' does not exist",
  })
  t.same(podNICs(pod({ 'v1.multus-cni.io/default-network': 'macvlan-ens192' }), 'default', s, cluster), {
    reason: 'Forbidden',
    message: "NetworkAttachmentDefinition kube-system/macvlan-ens192 named by annotation 'v1.multus-cni.io/default-network' does not exist",
  })
})

t.test('annotations Multus cannot parse are refused, naming the annotation and what is wrong', async (t) => {
  const s = defaultSettings()
  const refusal = (annotations: Record<string, string>) => (podNICs(pod(annotations), 'default', s, cluster) as { message: string }).message
  const nets = 'k8s.v1.cni.cncf.io/networks'
  t.equal(refusal({ [nets]: 'a/b/c' }), `invalid annotation '${nets}': parsePodNetworkAnnotation: parsePodNetworkObjectName: Invalid network object (failed at '/')`)
  t.equal(refusal({ [nets]: 'a@b@c' }), `invalid annotation '${nets}': parsePodNetworkAnnotation: parsePodNetworkObjectName: Invalid network object (failed at '@')`)
  t.match(refusal({ [nets]: 'Macvlan_Ens192' }), /did not match comma-delimited format .* mismatch @ 'Macvlan_Ens192'/)
  t.match(refusal({ [nets]: 'macvlan-ens192@averyveryverylongname' }), /Failed to parse interface name: must be less than 15 chars/)
  t.match(refusal({ [nets]: '[{"name": "x"' }), /^invalid annotation 'k8s.v1.cni.cncf.io\/networks': parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format: /)
  t.match(refusal({ [nets]: '{"name": "x"}' }), /not a list of network selection elements/)
  t.match(refusal({ [nets]: '[{"namespace": "default"}]' }), /element 0 has no name/)
  t.match(refusal({ [nets]: '[{"name": "macvlan-ens192", "mac": "zz:00"}]' }), /failed to mac: address zz:00: invalid MAC address/)
  t.match(refusal({ [nets]: '[{"name": "macvlan-ens192", "ips": ["10.0.0.300"]}]' }), /failed to parse IP address "10.0.0.300"/)
  t.equal(refusal({ [nets]: 'macvlan-ens192,macvlan-ens192@net1' }), `invalid annotation '${nets}': interface net1 is requested twice`)
  t.equal(refusal({ [nets]: 'macvlan-ens192@eth0' }), `invalid annotation '${nets}': interface eth0 is requested twice`)
  t.equal(refusal({ 'v1.multus-cni.io/default-network': 'calico,macvlan-conf' }), "invalid annotation 'v1.multus-cni.io/default-network': more than one default network is specified")
})

t.test('a network selection parse follows Multus: JSON when the text holds [ { or ", missing namespace is the default', async (t) => {
  t.same(parseNetworkSelection(' ns1/a@x , b ', 'pods'), { networks: [{ namespace: 'ns1', name: 'a', interface: 'x' }, { namespace: 'pods', name: 'b', interface: '' }] })
  t.same(parseNetworkSelection('[{"name":"a","mac":"0a:58:0a:f4:00:05","ips":["10.0.0.5/24"]}]', 'pods'), { networks: [{ namespace: 'pods', name: 'a', interface: '' }] })
})

t.test('the spiderpool IPAM section of a NAD config: single plugin or conflist, first spiderpool plugin wins', async (t) => {
  t.same(spiderpoolIPAMOf(JSON.stringify({ type: 'macvlan', ipam: { type: 'spiderpool', default_ipv6_ippool: ['v6'], clean_gateway: true } })), {
    ipam: { defaultIPv4IPPool: [], defaultIPv6IPPool: ['v6'], cleanGateway: true, matchMasterSubnet: false },
  })
  t.same(spiderpoolIPAMOf(JSON.stringify(expected.config)).ipam?.defaultIPv4IPPool, ['10-6-v4'])
  t.same(spiderpoolIPAMOf(JSON.stringify({ plugins: [{ type: 'ipvlan', ipam: { type: 'whereabouts' } }] })), { ipam: undefined })
  t.same(spiderpoolIPAMOf(''), { ipam: undefined }, 'an empty config lives in a file on the node: not knowable, not ours')
  t.match(spiderpoolIPAMOf('{nope').error, /^spec.config is not JSON/)
  t.same(spiderpoolIPAMOf('{"plugins": {}}'), { error: 'spec.config plugins is not a list' })
  t.same(spiderpoolIPAMOf(JSON.stringify({ plugins: [{ type: 'x', ipam: { type: 'spiderpool', default_ipv4_ippool: 'a' } }] })), {
    error: 'spec.config plugins[0].ipam.default_ipv4_ippool is not a list of IPPool names',
  })
  t.same(spiderpoolIPAMOf(JSON.stringify({ type: 'x', ipam: { type: 'spiderpool', clean_gateway: 'yes' } })), { error: 'spec.config ipam.clean_gateway is not true or false' })
})

t.test('a NAD with an unreadable config is refused, naming the NAD and the annotation', async (t) => {
  const broken = clusterFromObjects({ networkAttachmentDefinitions: [nad('default', 'broken', '{"plugins": [')] })
  t.match((podNICs(pod({ 'k8s.v1.cni.cncf.io/networks': 'broken' }), 'default', defaultSettings(), broken) as { message: string }).message, /^NetworkAttachmentDefinition default\/broken named by annotation 'k8s.v1.cni.cncf.io\/networks' has an invalid CNI config: spec.config is not JSON/)
})
