import t from 'tap'
import { clusterFromObjects, type ClusterContents } from '../../webhooks/cluster.ts'
import { defaultSettings, type Settings } from '../../webhooks/settings.ts'
import { defaultSpiderMultusConfig } from '../../webhooks/spidermultusconfig/default.ts'
import { injectPodResources } from '../../webhooks/pod/inject.ts'
import type { Container, Pod } from '../../webhooks/pod/pod.ts'
import type { SpiderMultusConfig } from '../../schemas/types.ts'

const rdma = 'cni.spidernet.io/rdma-resource-inject'
const network = 'cni.spidernet.io/network-resource-inject'

/** An SMC as stored: defaulted, so its inject annotations are also labels (SMC-M-13). */
function smc(namespace: string, name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}): SpiderMultusConfig {
  const o = { metadata: { namespace, name, annotations }, spec } as SpiderMultusConfig
  defaultSpiderMultusConfig(o)
  return o
}
const gpu = (group: string, ns: string, name: string, master: string, resource: string, pools = ['v4-a']) =>
  smc(ns, name, { cniType: 'macvlan', macvlan: { master: [master], rdmaResourceName: resource, ippools: { ipv4: pools } } }, { [rdma]: group })

const enabled = (more: Partial<Settings> = {}): Settings => ({ ...defaultSettings(), ...more, podResourceInject: { ...defaultSettings().podResourceInject, enabled: true } })
const pod = (annotations: Record<string, string> = {}, containers: Container[] = [{ name: 'a' }, { name: 'b' }]): Pod => ({
  metadata: { generateName: 'train-', annotations },
  spec: { containers },
})
const run = (p: Pod, c: ClusterContents, settings = enabled(), namespace = 'default') =>
  injectPodResources(p, namespace, settings, clusterFromObjects({ namespaces: [{ metadata: { name: 'default' } }], ...c }))

t.test('POD-M-01 the pod annotation decides, even empty; else the namespace annotation', async (t) => {
  const smcs = [gpu('gpu', 'default', 'rdma-a', 'ens1', 'spidernet.io/rdma_a'), gpu('', 'default', 'rdma-empty', 'ens2', 'spidernet.io/rdma_e')]
  const fromPod = pod({ [rdma]: '' })
  t.equal(run(fromPod, { multusConfigs: smcs, namespaces: [{ metadata: { name: 'default', annotations: { [rdma]: 'gpu' } } }] }), undefined)
  t.equal(fromPod.metadata.annotations!['k8s.v1.cni.cncf.io/networks'], 'default/rdma-empty', 'the pod value "" selects the group ""')
  const fromNs = pod()
  t.equal(run(fromNs, { multusConfigs: smcs, namespaces: [{ metadata: { name: 'default', annotations: { [rdma]: 'gpu' } } }] }), undefined)
  t.equal(fromNs.metadata.annotations!['k8s.v1.cni.cncf.io/networks'], 'default/rdma-a')
  t.same(run(pod(), { multusConfigs: smcs, namespaces: [] }), { reason: 'Forbidden', message: 'namespaces "default" not found' }, 'a namespace lookup failure refuses the pod')
  const none = pod()
  t.equal(run(none, { multusConfigs: smcs }), undefined)
  t.same(none, pod(), 'no value for either annotation: nothing injected')
})

t.test('POD-M-02 SpiderMultusConfigs of every namespace labelled with the value; none is a refusal; only the first annotation counts', async (t) => {
  const smcs = [gpu('gpu', 'team-a', 'a', 'ens1', 'r/a'), gpu('gpu', 'team-b', 'b', 'ens2', 'r/b'), gpu('other', 'default', 'c', 'ens3', 'r/c')]
  const p = pod({ [rdma]: 'gpu', [network]: 'other' })
  t.equal(run(p, { multusConfigs: smcs }), undefined)
  t.equal(p.metadata.annotations!['k8s.v1.cni.cncf.io/networks'], 'team-a/a,team-b/b')
  t.same(run(pod({ [rdma]: 'nothing' }), { multusConfigs: smcs }), { reason: 'Forbidden', message: `no spidermultusconfigs with annotation: ${rdma}:nothing found` })
})

t.test('POD-M-03 every matched SpiderMultusConfig must be usable, with Spiderpool\'s messages', async (t) => {
  const refusal = (config: SpiderMultusConfig, key = rdma) => (run(pod({ [key]: 'g' }), { multusConfigs: [config] }) as { message: string } | undefined)?.message
  const labelled = (spec: Record<string, unknown>, key = rdma) => {
    const o = { metadata: { namespace: 'default', name: 'x', labels: { [key]: 'g' } }, spec } as SpiderMultusConfig
    return o
  }
  t.equal(refusal(labelled({})), 'cniType is nil')
  t.equal(refusal(labelled({ cniType: 'ovs', ovs: { bridge: 'br0' } })), 'RDMA resource injection does not support cniType: ovs')
  t.equal(refusal(labelled({ cniType: 'macvlan' })), 'macvlan config is nil')
  t.equal(refusal(labelled({ cniType: 'ib-sriov' })), 'ib-sriov config is nil')
  t.equal(refusal(gpu('g', 'default', 'x', 'ens1', '')), 'rdmaResourceName can not empty for spidermultusconfig default/x')
  t.equal(refusal(gpu('g', 'default', 'x', 'ens1', 'r/x', [])), 'no any ippools configured for spidermultusconfig default/x')
  const plainNetwork = smc('default', 'x', { cniType: 'macvlan', macvlan: { master: ['ens1'] } }, { [network]: 'g' })
  t.equal(refusal(plainNetwork, network), undefined, 'network injection without a resource needs no pools')
  const networkWithResource = smc('default', 'x', { cniType: 'sriov', sriov: { resourceName: 'intel/sriov' } }, { [network]: 'g' })
  t.equal(refusal(networkWithResource, network), 'no any ippools configured for spidermultusconfig default/x')
})

t.test('POD-M-04 sorted by bond name or first master (sriov: resourceName), then namespace/name; replaces the networks annotation', async (t) => {
  const smcs = [
    gpu('g', 'ns', 'z-ens1', 'ens1', 'r/1'),
    smc('ns', 'bonded', { cniType: 'macvlan', macvlan: { master: ['ens8', 'ens9'], bond: { name: 'bond0', mode: 1 }, rdmaResourceName: 'r/b', ippools: { ipv4: ['p'] } } }, { [rdma]: 'g' }),
    gpu('g', 'ns', 'a-ens1', 'ens1', 'r/1'),
    smc('ns', 'vf', { cniType: 'sriov', sriov: { resourceName: 'aaa/vf', ippools: { ipv4: ['p'] } } }, { [rdma]: 'g' }),
  ]
  const p = pod({ [rdma]: 'g', 'k8s.v1.cni.cncf.io/networks': 'was/here' })
  t.equal(run(p, { multusConfigs: smcs }), undefined)
  t.equal(p.metadata.annotations!['k8s.v1.cni.cncf.io/networks'], 'ns/vf,ns/bonded,ns/a-ens1,ns/z-ens1')
})

t.test('POD-M-05 each distinct resource no container lists in its limits is added to the first container\'s limits', async (t) => {
  const smcs = [gpu('g', 'ns', 'a', 'ens1', 'spidernet.io/rdma_a'), gpu('g', 'ns', 'b', 'ens2', 'spidernet.io/rdma_b'), gpu('g', 'ns', 'c', 'ens3', 'spidernet.io/rdma_a')]
  const p = pod({ [rdma]: 'g' }, [
    { name: 'a', resources: { requests: { cpu: '1' } } },
    { name: 'b', resources: { limits: { 'spidernet.io/rdma_b': '2' } } },
  ])
  t.equal(run(p, { multusConfigs: smcs }), undefined)
  t.same(p.spec!.containers, [
    { name: 'a', resources: { requests: { cpu: '1' }, limits: { 'spidernet.io/rdma_a': '1' } } },
    { name: 'b', resources: { limits: { 'spidernet.io/rdma_b': '2' } } },
  ])
  const ipoib = smc('ns', 'ib', { cniType: 'ipoib', ipoib: { master: 'ib0', ippools: { ipv4: ['p'] } } }, { [rdma]: 'h' })
  const q = pod({ [rdma]: 'h' })
  t.equal(run(q, { multusConfigs: [ipoib] }), undefined)
  t.same(q.spec!.containers, [{ name: 'a' }, { name: 'b' }], 'ipoib names a device, not a resource')
})

t.test('POD-M-06 master-NIC resources for the SMCs the networks name, in limits and requests, once', async (t) => {
  const smcs = [
    smc('default', 'macvlan-ens192', { cniType: 'macvlan', macvlan: { master: ['ens192'] } }),
    smc('kube-system', 'bonded', { cniType: 'vlan', vlan: { master: ['ens9', 'ens8'], vlanID: 10, bond: { name: 'bond0', mode: 1 } } }),
    smc('default', 'ib', { cniType: 'ipoib', ipoib: { master: 'ib0' } }),
  ]
  const settings = enabled({ masterNICEnabled: true })
  const p = pod({ 'v1.multus-cni.io/default-network': 'kube-system/bonded', 'k8s.v1.cni.cncf.io/networks': 'macvlan-ens192,ib,macvlan-ens192@net9,missing' }, [
    { name: 'a' },
    { name: 'b', resources: { requests: { 'spidernet.io/ens8-nic': '1' } } },
  ])
  t.equal(run(p, { multusConfigs: smcs }, settings), undefined)
  t.same(p.spec!.containers![0], {
    name: 'a',
    resources: {
      limits: { 'spidernet.io/ens192-nic': '1', 'spidernet.io/ens9-nic': '1', 'spidernet.io/ib0-nic': '1' },
      requests: { 'spidernet.io/ens192-nic': '1', 'spidernet.io/ens9-nic': '1', 'spidernet.io/ib0-nic': '1' },
    },
  }, 'missing SMCs are ignored; a resource any container has is not added again')
  const off = pod({ 'k8s.v1.cni.cncf.io/networks': 'macvlan-ens192' })
  t.equal(run(off, { multusConfigs: smcs }, enabled()), undefined)
  t.same(off.spec!.containers, [{ name: 'a' }, { name: 'b' }], 'without master-NIC rules nothing is added')
  t.match(run(pod({ 'k8s.v1.cni.cncf.io/networks': 'a/b/c' }), { multusConfigs: smcs }, settings), { reason: 'Forbidden', message: /Invalid network object \(failed at '\/'\)/ })
})

t.test('injection runs only with podResourceInject enabled, and not in its excluded namespaces', async (t) => {
  const smcs = [gpu('gpu', 'default', 'a', 'ens1', 'r/a')]
  const off = pod({ [rdma]: 'gpu' })
  t.equal(run(off, { multusConfigs: smcs }, defaultSettings()), undefined)
  t.equal(off.metadata.annotations!['k8s.v1.cni.cncf.io/networks'], undefined)
  const excluded = pod({ [rdma]: 'gpu' })
  t.equal(run(excluded, { multusConfigs: smcs }, enabled(), 'istio-system'), undefined)
  t.equal(excluded.metadata.annotations!['k8s.v1.cni.cncf.io/networks'], undefined)
  const settings = enabled()
  settings.podResourceInject.namespacesInclude = ['ml']
  const notIncluded = pod({ [rdma]: 'gpu' })
  t.equal(run(notIncluded, { multusConfigs: smcs }, settings), undefined)
  t.equal(notIncluded.metadata.annotations!['k8s.v1.cni.cncf.io/networks'], undefined)
})
