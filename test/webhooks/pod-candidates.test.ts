import t from 'tap'
import { readFileSync } from 'node:fs'
import { clusterFromObjects, type ClusterContents, type Node } from '../../webhooks/cluster.ts'
import { defaultSettings, type Settings } from '../../webhooks/settings.ts'
import { isSkip, planPod, type PodPlan } from '../../webhooks/pod/plan.ts'
import type { Pod } from '../../webhooks/pod/pod.ts'
import type { IPPoolSpec, NetworkAttachmentDefinition, SpiderIPPool } from '../../schemas/types.ts'
import type { ObjectMeta } from '../../schemas/meta.ts'

// ---- fixtures: stored objects as the webhooks leave them ----

let octet = 0
/** A pool of its own /24, ipVersion set as the mutating webhook sets it. */
function pool(name: string, spec: Partial<IPPoolSpec> = {}, meta: Partial<ObjectMeta> = {}): SpiderIPPool {
  const v6 = spec.ipVersion === 6
  const n = ++octet
  const subnet = v6 ? `fd00:${n.toString(16)}::/64` : `10.${n}.0.0/24`
  const ips = v6 ? [`fd00:${n.toString(16)}::10-fd00:${n.toString(16)}::20`] : [`10.${n}.0.10-10.${n}.0.20`]
  return { metadata: { name, ...meta }, spec: { ipVersion: 4, subnet, ips, ...spec } as IPPoolSpec }
}
const v6pool = (name: string, spec: Partial<IPPoolSpec> = {}) => pool(name, { ...spec, ipVersion: 6 })

/** A macvlan NAD as a SpiderMultusConfig renders it, with the SMC's pools in its spiderpool IPAM. */
function macvlanNAD(namespace: string, name: string, ipam: Record<string, unknown> = {}): NetworkAttachmentDefinition {
  const config = {
    cniVersion: '0.3.1',
    name,
    plugins: [
      { type: 'macvlan', master: 'ens192', mode: 'bridge', ipam: { type: 'spiderpool', ...ipam } },
      { type: 'coordinator', ipam: {}, dns: {}, mode: 'auto' },
    ],
  }
  return { metadata: { namespace, name }, spec: { config: JSON.stringify(config) } }
}
const calicoNAD: NetworkAttachmentDefinition = { metadata: { namespace: 'kube-system', name: 'calico' }, spec: { config: '{"cniVersion":"0.3.1","name":"calico","type":"calico","ipam":{"type":"calico-ipam"}}' } }

const node = (name: string, labels: Record<string, string> = {}): Node => ({ metadata: { name, labels } })

/** eth0 = kube-system/macvlan-conf (a spiderpool NAD without default pools) unless annotations say otherwise. */
function podWith(annotations: Record<string, string> = {}, extra: { labels?: Record<string, string>; spec?: Pod['spec']; meta?: Partial<ObjectMeta> } = {}): Pod {
  return {
    metadata: { generateName: 'web-7c9f-', labels: extra.labels ?? { app: 'web' }, annotations: { 'v1.multus-cni.io/default-network': 'kube-system/macvlan-conf', ...annotations }, ...extra.meta },
    spec: { containers: [{ name: 'c' }], ...extra.spec },
  }
}

function clusterWith(c: ClusterContents) {
  return clusterFromObjects({
    ...c,
    networkAttachmentDefinitions: [...(c.networkAttachmentDefinitions ?? []), macvlanNAD('kube-system', 'macvlan-conf'), calicoNAD],
    namespaces: c.namespaces ?? [{ metadata: { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } } }],
  })
}

/** `eth0: ippool v4=[a b] v6=[c]` per NIC, or the refusal message. */
function summary(result: ReturnType<typeof planPod>): string[] | string {
  if (isSkip(result)) return `skip: ${result.skip}`
  if ('reason' in result) return result.message
  return (result as PodPlan).nics.map(
    (n) => `${n.interface}: ${n.source}${n.families.map((f) => ` v${f.family}=[${f.candidates.map((c) => c.pool).join(' ')}]`).join('')}${n.cleanGateway ? ' cleangateway' : ''}`,
  )
}

const plan = (pod: Pod, c: ClusterContents, settings: Partial<Settings> = {}, namespace = 'default') =>
  summary(planPod(pod, namespace, { settings: { ...defaultSettings(), ...settings }, cluster: clusterWith(c) }))

const ippool = (v4: string[], v6: string[] = []) => ({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: v4, ipv6: v6 }) })

// ---- §2.1 sources ----

t.test('§2.1 ippools beats ippool, namespace defaults, the NAD and cluster defaults', async (t) => {
  const pools = [pool('a'), pool('b'), pool('ns-a'), pool('nad-a'), pool('def', { default: true })]
  const nads = [macvlanNAD('kube-system', 'macvlan-conf', { default_ipv4_ippool: ['nad-a'] })]
  const namespaces = [{ metadata: { name: 'default', annotations: { 'ipam.spidernet.io/default-ipv4-ippool': '["ns-a"]' } } }]
  const c = { ippools: pools, networkAttachmentDefinitions: nads, namespaces }
  t.same(plan(podWith({ 'ipam.spidernet.io/ippools': '[{"interface":"eth0","ipv4":["a"]}]', ...ippool(['b']) }), c), ['eth0: ippools v4=[a]'])
  t.same(plan(podWith(ippool(['b'])), c), ['eth0: ippool v4=[b]'], 'ippool beats namespace defaults')
  t.same(plan(podWith(), c), ['eth0: namespace v4=[ns-a]'], 'namespace defaults beat the NAD')
  t.same(plan(podWith(), { ...c, namespaces: undefined }), ['eth0: netconf v4=[nad-a]'], 'the NAD beats cluster defaults')
  t.same(plan(podWith(), { ippools: pools }), ['eth0: cluster default v4=[def]'])
  t.same(plan(podWith(), { ippools: [pool('x')] }), 'no IPPool available, no pool selection rules of any type are specified')
})

t.test('§2.1 a presence check decides the level: a filtered-out pool does not fall back to lower levels', async (t) => {
  const c = { ippools: [pool('off', { disable: true }), pool('def', { default: true })] }
  t.same(plan(podWith(ippool(['off'])), c), 'no IPPool available, all IPv4 IPPools [off] of eth0 filtered out: disabled IPPool off')
  t.same(plan(podWith(ippool([])), c), "no IPPool available for interface eth0: annotation 'ipam.spidernet.io/ippool' names no IPPool of an enabled IP family")
})

t.test('§2.1 namespace defaults count only when a list is non-empty', async (t) => {
  const namespaces = [{ metadata: { name: 'default', annotations: { 'ipam.spidernet.io/default-ipv4-ippool': '[]' } } }]
  t.same(plan(podWith(), { ippools: [pool('def', { default: true })], namespaces }), ['eth0: cluster default v4=[def]'])
  const v6only = [{ metadata: { name: 'default', annotations: { 'ipam.spidernet.io/default-ipv6-ippool': '["ns6"]' } } }]
  t.same(plan(podWith(), { ippools: [v6pool('ns6')], namespaces: v6only }), ['eth0: namespace v6=[ns6]'])
  const broken = [{ metadata: { name: 'default', annotations: { 'ipam.spidernet.io/default-ipv4-ippool': 'ns-a' } } }]
  t.match(plan(podWith(), { namespaces: broken }), /^invalid format of Namespace annotation 'ipam.spidernet.io\/default-ipv4-ippool' of Namespace default: /)
})

t.test('§2.1 NAD default pools: the SpiderMultusConfig pools rendered into the NAD (calico overlay walkthrough)', async (t) => {
  const expected = JSON.parse(readFileSync('/work/shared/reference/examples/expected/nad-macvlan-ens192.json', 'utf8'))
  const nad: NetworkAttachmentDefinition = { metadata: expected.metadata, spec: { config: JSON.stringify(expected.config) } }
  const pod: Pod = { metadata: { generateName: 'nginx-', annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan-ens192' } }, spec: { containers: [{ name: 'nginx' }] } }
  t.same(plan(pod, { ippools: [pool('10-6-v4')], networkAttachmentDefinitions: [nad] }), ['net1: netconf v4=[10-6-v4]'], 'eth0 is calico: no plan for it')
})

t.test('§2.1 clean_gateway of the NAD applies to sources that carry none themselves', async (t) => {
  const nads = [macvlanNAD('kube-system', 'macvlan-conf', { default_ipv4_ippool: ['a'], clean_gateway: true })]
  t.same(plan(podWith(), { ippools: [pool('a')], networkAttachmentDefinitions: nads }), ['eth0: netconf v4=[a] cleangateway'])
  t.same(plan(podWith(ippool(['a'])), { ippools: [pool('a')], networkAttachmentDefinitions: nads }), ['eth0: ippool v4=[a] cleangateway'])
})

t.test('§2.1 cluster default pools grouped by version, in name order; several NICs each get them', async (t) => {
  const c = {
    ippools: [pool('z-def', { default: true }), pool('a-def', { default: true }), v6pool('v6-def', { default: true }), pool('plain')],
    networkAttachmentDefinitions: [macvlanNAD('default', 'second')],
  }
  t.same(plan(podWith({ 'k8s.v1.cni.cncf.io/networks': 'second' }), c), ['eth0: cluster default v4=[a-def z-def] v6=[v6-def]', 'net1: cluster default v4=[a-def z-def] v6=[v6-def]'])
})

t.test('§2.1 each NIC reaches its own level: NAD pools for one, cluster defaults for the other', async (t) => {
  const c = {
    ippools: [pool('net1-a'), pool('def', { default: true })],
    networkAttachmentDefinitions: [macvlanNAD('default', 'second', { default_ipv4_ippool: ['net1-a'] })],
  }
  t.same(plan(podWith({ 'k8s.v1.cni.cncf.io/networks': 'second' }), c), ['eth0: cluster default v4=[def]', 'net1: netconf v4=[net1-a]'])
})

// ---- multi-NIC with ippools ----

t.test('§2.2 ippools: named items go to their NIC, unnamed ones in order to the Spiderpool NICs', async (t) => {
  const c = { ippools: [pool('a'), pool('b'), v6pool('a6')], networkAttachmentDefinitions: [macvlanNAD('default', 'second')] }
  const nets = { 'k8s.v1.cni.cncf.io/networks': 'second' }
  t.same(plan(podWith({ ...nets, 'ipam.spidernet.io/ippools': '[{"interface":"net1","ipv4":["b"],"cleangateway":true},{"interface":"eth0","ipv4":["a"],"ipv6":["a6"]}]' }), c), [
    'eth0: ippools v4=[a] v6=[a6]',
    'net1: ippools v4=[b] cleangateway',
  ])
  t.same(plan(podWith({ ...nets, 'ipam.spidernet.io/ippools': '[{"ipv4":["a"]},{"ipv4":["b"]}]' }), c), ['eth0: ippools v4=[a]', 'net1: ippools v4=[b]'])
  const wrong = "wrong input, invalid format of Pod annotation 'ipam.spidernet.io/ippools'"
  t.same(plan(podWith({ ...nets, 'ipam.spidernet.io/ippools': '[{"interface":"eth0","ipv4":["a"]}]' }), c), `${wrong}: interface net1 must be specified`)
  t.same(plan(podWith({ ...nets, 'ipam.spidernet.io/ippools': '[{"ipv4":["a"]}]' }), c), `${wrong}: 1 unnamed items for the 2 NICs [eth0 net1] of the Pod that use the spiderpool IPAM`)
  t.same(
    plan(podWith({ ...nets, 'ipam.spidernet.io/ippools': '[{"interface":"eth0","ipv4":["a"]},{"interface":"net1","ipv4":["b"]},{"interface":"net2","ipv4":["b"]}]' }), c),
    `${wrong}: interface net2 is not a NIC of the Pod that uses the spiderpool IPAM [eth0 net1]`,
  )
  t.same(plan(podWith({ ...nets, 'ipam.spidernet.io/ippools': '[]' }), c), `${wrong}: value requires at least one item`)
})

t.test('§2.2 ippools for a pod whose eth0 is not ours names its Spiderpool NIC only', async (t) => {
  const c = { ippools: [pool('b')], networkAttachmentDefinitions: [macvlanNAD('default', 'second')] }
  const pod = podWith({ 'v1.multus-cni.io/default-network': 'kube-system/calico', 'k8s.v1.cni.cncf.io/networks': 'second', 'ipam.spidernet.io/ippools': '[{"interface":"net1","ipv4":["b"]}]' })
  t.same(plan(pod, c), ['net1: ippools v4=[b]'])
})

// ---- §2.5 dual stack ----

t.test('§2.5 dual stack: one candidate list per family; a disabled family is dropped silently', async (t) => {
  const c = { ippools: [pool('a'), v6pool('a6')] }
  t.same(plan(podWith(ippool(['a'], ['a6'])), c), ['eth0: ippool v4=[a] v6=[a6]'])
  t.same(plan(podWith(ippool(['a'], ['a6'])), c, { enableIPv6: false }), ['eth0: ippool v4=[a]'])
  t.same(plan(podWith(ippool(['a'])), c), ['eth0: ippool v4=[a]'], 'a v4-only pod in a dual-stack cluster')
  t.same(plan(podWith(ippool([], ['a6'])), c, { enableIPv6: false }), "no IPPool available for interface eth0: annotation 'ipam.spidernet.io/ippool' names no IPPool of an enabled IP family")
})

// ---- §2.3 wildcards ----

t.test('§2.3 a pattern becomes the matching pools of its family in name order, at its place; literals stay', async (t) => {
  const c = { ippools: [pool('backup-v4-b'), pool('backup-v4-a'), pool('first'), v6pool('backup-v4-six'), pool('other')] }
  t.same(plan(podWith(ippool(['first', 'backup-v4-*'])), c), ['eth0: ippool v4=[first backup-v4-a backup-v4-b]'], 'the IPv6 pool is not matched for IPv4')
  t.same(plan(podWith(ippool(['backup-v4-?', 'ot[h]er'])), c), ['eth0: ippool v4=[backup-v4-a backup-v4-b other]'])
  t.same(plan(podWith(ippool(['backup-v4-*', 'backup-v4-a'])), c), ['eth0: ippool v4=[backup-v4-b backup-v4-a]'], 'a pattern does not repeat a literal name')
})

t.test('§2.3 (our fix) a pattern that matches no pool is refused, naming it; a malformed one too', async (t) => {
  const c = { ippools: [pool('a')] }
  t.same(plan(podWith(ippool(['a', 'spare-*'])), c), "IPv4 IPPool pattern 'spare-*' in annotation 'ipam.spidernet.io/ippool' matches no IPv4 IPPool")
  t.same(plan(podWith(ippool(['[a-]'])), c), "failed to match wildcard: IPv4 PoolName pattern '[a-]': syntax error in pattern")
  const namespaces = [{ metadata: { name: 'default', annotations: { 'ipam.spidernet.io/default-ipv4-ippool': '["gone-*"]' } } }]
  t.same(plan(podWith(), { ...c, namespaces }), "IPv4 IPPool pattern 'gone-*' in the default IPPools of Namespace default matches no IPv4 IPPool")
})

// ---- §3.1 precheck ----

t.test('§3.1 precheck: a pool named twice for one NIC, or a pool that does not exist, is refused', async (t) => {
  const c = { ippools: [pool('a')] }
  t.same(plan(podWith(ippool(['a', 'a'])), c), 'wrong input, duplicate IPPool a specified for NIC eth0')
  t.same(plan(podWith(ippool(['a', 'missing'])), c), 'failed to get original IPPool missing: spiderippools.spiderpool.spidernet.io "missing" not found')
})

// ---- §3.2 filters ----

t.test('§3.2 terminating and disabled pools are filtered out', async (t) => {
  const c = { ippools: [pool('gone', {}, { deletionTimestamp: '2026-07-08T12:00:00Z' }), pool('off', { disable: true }), pool('ok')] }
  t.same(plan(podWith(ippool(['gone', 'off', 'ok'])), c), ['eth0: ippool v4=[ok]'])
  t.same(plan(podWith(ippool(['gone', 'off'])), c), 'no IPPool available, all IPv4 IPPools [gone off] of eth0 filtered out: [terminating IPPool gone, disabled IPPool off]')
})

t.test('§3.2 a pool without ipVersion, or of the other family, is filtered out', async (t) => {
  const raw: SpiderIPPool = { metadata: { name: 'raw' }, spec: { subnet: '10.9.0.0/24' } }
  t.same(plan(podWith(ippool(['raw'])), { ippools: [raw] }), 'no IPPool available, all IPv4 IPPools [raw] of eth0 filtered out: nil ippool ipVersion')
  t.same(plan(podWith(ippool(['six'])), { ippools: [v6pool('six')] }), 'no IPPool available, all IPv4 IPPools [six] of eth0 filtered out: expect an IPv4 IPPool, but the version of the IPPool six is IPv6')
})

t.test('§3.2 namespaceName wins over namespaceAffinity; both checked against the pod namespace', async (t) => {
  const namespaces = [{ metadata: { name: 'default', labels: { team: 'a' } } }, { metadata: { name: 'other', labels: { team: 'b' } } }]
  const c = {
    namespaces,
    ippools: [
      pool('by-name', { namespaceName: ['default'], namespaceAffinity: { matchLabels: { team: 'nobody' } } }),
      pool('by-label', { namespaceAffinity: { matchLabels: { team: 'a' } } }),
    ],
  }
  t.same(plan(podWith(ippool(['by-name', 'by-label'])), c), ['eth0: ippool v4=[by-name by-label]'])
  t.same(
    plan(podWith(ippool(['by-name', 'by-label'])), c, {}, 'other'),
    'no IPPool available, all IPv4 IPPools [by-name by-label] of eth0 filtered out: [unmatched Namespace name of IPPool by-name, unmatched Namespace affinity of IPPool by-label]',
  )
})

t.test('§3.2 podAffinity: a label selector on the pod labels', async (t) => {
  const c = { ippools: [pool('web-only', { podAffinity: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] } })] }
  t.same(plan(podWith(ippool(['web-only'])), c), ['eth0: ippool v4=[web-only]'])
  t.same(plan(podWith(ippool(['web-only']), { labels: { app: 'db' } }), c), 'no IPPool available, all IPv4 IPPools [web-only] of eth0 filtered out: unmatched Pod affinity of IPPool web-only')
})

t.test("§3.2 podAffinity of an auto-created pool matches the pod's top controller, and then decides alone", async (t) => {
  const auto = pool(
    'auto4-web-eth0-9a2b3',
    {
      podAffinity: {
        matchLabels: {
          'ipam.spidernet.io/app-api-group': 'apps',
          'ipam.spidernet.io/app-api-version': 'v1',
          'ipam.spidernet.io/app-kind': 'Deployment',
          'ipam.spidernet.io/app-namespace': 'default',
          'ipam.spidernet.io/app-name': 'web',
        },
      },
      multusName: ['kube-system/not-this-one'],
    },
    { labels: { 'ipam.spidernet.io/owner-application-name': 'web' } },
  )
  const rsOwned = (rs: string, hash: string): Pod =>
    podWith(ippool(['auto4-web-eth0-9a2b3']), {
      labels: { app: 'web', 'pod-template-hash': hash },
      meta: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: 'rs-uid', controller: true }] },
    })
  const replicaSets = [{ metadata: { namespace: 'default', name: 'web-7c9f', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true }] } }]
  t.same(plan(rsOwned('web-7c9f', '7c9f'), { ippools: [auto], replicaSets }), ['eth0: ippool v4=[auto4-web-eth0-9a2b3]'], 'multusName is not checked after the match')
  t.same(plan(rsOwned('web-5d6e', '5d6e'), { ippools: [auto] }), ['eth0: ippool v4=[auto4-web-eth0-9a2b3]'], 'a ReplicaSet not yet in the cache is read from its name and pod-template-hash')
  const other = [{ metadata: { namespace: 'default', name: 'web-7c9f', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', uid: 'x', controller: true }] } }]
  t.same(plan(rsOwned('web-7c9f', '7c9f'), { ippools: [auto], replicaSets: other }), 'no IPPool available, all IPv4 IPPools [auto4-web-eth0-9a2b3] of eth0 filtered out: unmatched Pod annifity of auto-created IPool auto4-web-eth0-9a2b3')
})

t.test("§3.2 multusName must name the NIC's network; without namespace it is in the multus namespace", async (t) => {
  const c = {
    ippools: [pool('ippool-test', { multusName: ['kube-system/macvlan-conf'] }), pool('short', { multusName: ['macvlan-conf'] }), pool('elsewhere', { multusName: ['default/second'] })],
    networkAttachmentDefinitions: [macvlanNAD('default', 'second')],
  }
  t.same(plan(podWith(ippool(['ippool-test', 'short'])), c), ['eth0: ippool v4=[ippool-test short]'])
  t.same(
    plan(podWith(ippool(['elsewhere'])), c),
    'no IPPool available, all IPv4 IPPools [elsewhere] of eth0 filtered out: the spec.multusName [default/second] in the IPPool elsewhere used by the Pod interface eth0 is not matched with the multusCR kube-system/macvlan-conf specified by the Pod',
  )
  t.same(plan(podWith({ 'k8s.v1.cni.cncf.io/networks': 'second', ...ippool(['elsewhere', 'ippool-test']) }), c), [
    'eth0: ippool v4=[ippool-test]',
    'net1: ippool v4=[elsewhere]',
  ], 'cluster default pools mapped to NICs by multusName, through ippool here')
  t.same(plan(podWith(ippool(['short'])), c, { multusNamespace: 'spiderpool' }), 'no IPPool available, all IPv4 IPPools [short] of eth0 filtered out: the spec.multusName [macvlan-conf] in the IPPool short used by the Pod interface eth0 is not matched with the multusCR kube-system/macvlan-conf specified by the Pod', 'the pool\'s short name is read in the multus namespace, the annotation names its own')
})

// ---- node constraints ----

const nodes = [node('worker-1', { zone: 'a' }), node('worker-2', { zone: 'b' }), node('worker-3', { zone: 'b' })]

t.test('§3.2 node filters at admission: a pool is usable when the nodes it serves meet the nodes the pod may run on', async (t) => {
  const c = { nodes, ippools: [pool('zone-a', { nodeAffinity: { matchLabels: { zone: 'a' } } }), pool('w3', { nodeName: ['worker-3'] }), pool('nowhere', { nodeAffinity: { matchLabels: { zone: 'z' } } })] }
  t.same(plan(podWith(ippool(['zone-a', 'w3'])), c), ['eth0: ippool v4=[w3 zone-a]'], 'an unbound pod may run on any node: both usable (nodeName ranks first)')
  t.same(plan(podWith(ippool(['zone-a', 'w3']), { spec: { nodeSelector: { zone: 'b' } } }), c), ['eth0: ippool v4=[w3]'], 'a nodeSelector narrows the nodes')
  t.same(
    plan(podWith(ippool(['zone-a', 'nowhere']), { spec: { nodeSelector: { zone: 'b' } } }), c),
    'no IPPool available, all IPv4 IPPools [zone-a nowhere] of eth0 filtered out: [unmatched Node affinity of IPPool zone-a, unmatched Node affinity of IPPool nowhere] (the Pod can run on [worker-2 worker-3])',
  )
  const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['b'] }] }] } } }
  t.same(plan(podWith(ippool(['zone-a', 'w3']), { spec: { affinity } }), c), ['eth0: ippool v4=[zone-a]'], 'required node affinity narrows the nodes')
})

t.test('§3.2 nodeName wins over nodeAffinity', async (t) => {
  const c = { nodes, ippools: [pool('both', { nodeName: ['worker-1'], nodeAffinity: { matchLabels: { zone: 'b' } } })] }
  t.same(plan(podWith(ippool(['both']), { spec: { nodeSelector: { zone: 'a' } } }), c), ['eth0: ippool v4=[both]'])
  t.same(plan(podWith(ippool(['both']), { spec: { nodeSelector: { zone: 'b' } } }), c), 'no IPPool available, all IPv4 IPPools [both] of eth0 filtered out: unmatched Node name of IPPool both (the Pod can run on [worker-2 worker-3])')
})

t.test('a pod bound or pinned to one node that no candidate serves is refused, naming the node and the pools', async (t) => {
  const c = { nodes, ippools: [pool('w3', { nodeName: ['worker-3'] }), pool('zone-b', { nodeAffinity: { matchLabels: { zone: 'b' } } })] }
  t.same(
    plan(podWith(ippool(['w3', 'zone-b']), { spec: { nodeName: 'worker-1' } }), c),
    'no IPPool available, all IPv4 IPPools [w3 zone-b] of eth0 filtered out: [unmatched Node name of IPPool w3, unmatched Node affinity of IPPool zone-b] (the Pod can only run on node worker-1)',
  )
  const daemonSetPin = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['worker-1'] }] }] } } }
  t.match(plan(podWith(ippool(['w3', 'zone-b']), { spec: { affinity: daemonSetPin } }), c), /\(the Pod can only run on node worker-1\)$/, 'a DaemonSet pod pinned by matchFields metadata.name')
  t.same(plan(podWith(ippool(['w3', 'zone-b']), { spec: { affinity: daemonSetPin } }), { ...c, nodes: [] }), ['eth0: ippool v4=[zone-b]'], 'without Node objects names still compare; label selectors cannot, so that pool stays')
  t.same(plan(podWith(ippool(['w3']), { spec: { affinity: daemonSetPin } }), { ...c, nodes: [] }), 'no IPPool available, all IPv4 IPPools [w3] of eth0 filtered out: unmatched Node name of IPPool w3 (the Pod can only run on node worker-1)')
  t.same(plan(podWith(ippool(['w3', 'zone-b']), { spec: { nodeName: 'worker-3' } }), c), ['eth0: ippool v4=[w3 zone-b]'])
})

t.test('a pod that fits no known node is the scheduler\'s to report: its pools are not blamed', async (t) => {
  const c = { nodes, ippools: [pool('plain'), pool('w3', { nodeName: ['worker-3'] })] }
  t.same(plan(podWith(ippool(['plain', 'w3']), { spec: { nodeSelector: { zone: 'mars' } } }), c), ['eth0: ippool v4=[w3 plain]'])
})

t.test('while the cluster has no nodes, node affinity cannot be evaluated: such pools are usable', async (t) => {
  t.same(plan(podWith(ippool(['z'])), { ippools: [pool('z', { nodeAffinity: { matchLabels: { zone: 'z' } } })] }), ['eth0: ippool v4=[z]'])
})

// ---- §2.7 ordering ----

t.test('§2.7 most specific first (podAffinity, nodeName, nodeAffinity, namespaceName, namespaceAffinity, multusName), ties in the order written', async (t) => {
  const c = {
    nodes,
    ippools: [
      pool('plain-1'),
      pool('multus', { multusName: ['kube-system/macvlan-conf'] }),
      pool('ns-affinity', { namespaceAffinity: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } } }),
      pool('ns-name', { namespaceName: ['default'] }),
      pool('node-affinity', { nodeAffinity: { matchLabels: { zone: 'a' } } }),
      pool('node-name', { nodeName: ['worker-1'] }),
      pool('pod-affinity', { podAffinity: { matchLabels: { app: 'web' } } }),
      pool('plain-2'),
      pool('node-name-and-multus', { nodeName: ['worker-2'], multusName: ['kube-system/macvlan-conf'] }),
    ],
  }
  const written = ['plain-2', 'multus', 'ns-affinity', 'plain-1', 'node-name', 'ns-name', 'node-affinity', 'pod-affinity', 'node-name-and-multus']
  t.same(plan(podWith(ippool(written)), c), ['eth0: ippool v4=[pod-affinity node-name-and-multus node-name node-affinity ns-name ns-affinity multus plain-2 plain-1]'])
  t.same(plan(podWith(ippool(['plain-1', 'plain-2'])), c), ['eth0: ippool v4=[plain-1 plain-2]'])
  t.same(plan(podWith(ippool(['plain-2', 'plain-1'])), c), ['eth0: ippool v4=[plain-2 plain-1]'], 'ties stay in the order written, every time')
})

// ---- SpiderSubnet auto-pools ----

t.test('§2.1 SpiderSubnet auto-pool: looked up by its labels for the top controller, NIC and family', async (t) => {
  const labels = (nic: string, version: string, uid = 'd-uid') => ({
    'ipam.spidernet.io/owner-spider-subnet': 'subnet-v4',
    'ipam.spidernet.io/owner-application-gv': 'apps_v1',
    'ipam.spidernet.io/owner-application-kind': 'Deployment',
    'ipam.spidernet.io/owner-application-namespace': 'default',
    'ipam.spidernet.io/owner-application-name': 'web',
    'ipam.spidernet.io/owner-application-uid': uid,
    'ipam.spidernet.io/interface': nic,
    'ipam.spidernet.io/ip-version': version,
  })
  const auto = pool('auto4-web-eth0-d1234', {}, { labels: labels('eth0', 'IPv4') })
  const stale = pool('auto4-web-eth0-old00', {}, { labels: labels('eth0', 'IPv4', 'old-uid') })
  const replicaSets = [{ metadata: { namespace: 'default', name: 'web-7c9f', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true }] } }]
  const owned = (annotations: Record<string, string>) =>
    podWith({ ...annotations, ...ippool(['ignored']) }, { meta: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7c9f', uid: 'rs', controller: true }] } })
  const subnet = { 'ipam.spidernet.io/subnet': '{"ipv4":["subnet-v4"]}' }
  t.same(plan(owned(subnet), { ippools: [stale, auto], replicaSets }), ['eth0: subnet v4=[auto4-web-eth0-d1234]'], 'the subnet level comes first; the uid picks the current pool')
  t.same(plan(owned(subnet), { ippools: [auto], replicaSets }, { enableSpiderSubnet: false }), 'failed to get original IPPool ignored: spiderippools.spiderpool.spidernet.io "ignored" not found', 'feature off: the annotation is not read')
  t.same(
    plan(owned(subnet), { ippools: [auto], replicaSets }, { enableAutoPoolForApplication: false }),
    "it's invalid to use 'ipam.spidernet.io/subnets' or 'ipam.spidernet.io/subnet' annotation when Auto-Pool feature is disabled",
  )
  t.match(plan(owned(subnet), { ippools: [], replicaSets }), /^failed to get IPPool candidates from Subnet: no matching auto-created IPPool candidate with matchLables 'map\[.*ipam.spidernet.io\/interface:eth0 .*\]': the IPPool of Deployment default\/web for interface eth0 from SpiderSubnet subnet-v4 does not exist yet$/)
  t.same(plan(podWith(subnet), { ippools: [auto] }), "failed to get IPPool candidates from Subnet: SpiderSubnet feature doesn't support no-controller pod")
  t.same(
    plan(owned({ 'ipam.spidernet.io/subnets': '[{"interface":"net1","ipv4":["subnet-v4"]}]' }), { ippools: [auto], replicaSets }),
    "failed to get IPPool candidates from Subnet: no subnet is specified for interface eth0 in annotation 'ipam.spidernet.io/subnets'",
  )
  const twin = pool('auto4-web-eth0-twin0', {}, { labels: labels('eth0', 'IPv4') })
  t.match(plan(owned(subnet), { ippools: [auto, twin], replicaSets }), /owns multiple matchLables .* corresponding IPPools '\[auto4-web-eth0-d1234 auto4-web-eth0-twin0\]' for one specify application$/)
})

// ---- skips ----

t.test('nothing to reserve: host network, excluded namespaces, pods without a Spiderpool NIC', async (t) => {
  t.same(plan(podWith(ippool(['a']), { spec: { hostNetwork: true } }), { ippools: [pool('a')] }), 'skip: the Pod uses the host network')
  t.same(plan(podWith(ippool(['a'])), { ippools: [pool('a')] }, {}, 'kube-system'), 'skip: Namespace kube-system is excluded')
  t.same(plan(podWith({ 'v1.multus-cni.io/default-network': 'kube-system/calico' }), {}), 'skip: no NIC of the Pod uses the spiderpool IPAM')
})
