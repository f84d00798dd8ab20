// SpiderCoordinator CIDR discovery, pure (cni-coordinator.md §D.2): each source as a fixture, and
// the status it leads to — Synced with the CIDRs, or NotReady saying what to fix.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import {
  cidrsOfKubeadmConfig,
  cidrsOfKubeControllerManager,
  cidrsOfServiceCIDRs,
  defaultCNIConfigFile,
  discoverCoordinatorStatus,
  podCIDRTypeOfCNIConfigs,
  sameStatus,
  type CIDRSources,
  type CiliumPodIPPool,
  type CalicoIPPool,
  type ServiceCIDR,
} from '../../webhooks/spidercoordinator/discovery.ts'

const examples = fileURLToPath(new URL('../../../shared/reference/examples/', import.meta.url))
const kubeadmConfig = parse(readFileSync(examples + 'kubeadm-config.yaml', 'utf8'))

const kcm = (command: string[], args: string[] = []) => ({ spec: { containers: [{ command, args }] } })

const sources = (s: Partial<CIDRSources>): CIDRSources => ({
  podCIDRType: 'cluster',
  kubeadmConfig,
  kubeControllerManagers: [],
  calicoIPPools: [],
  ciliumPodIPPools: [],
  ...s,
})

t.test('kubeadm-config: networking.podSubnet and serviceSubnet of ClusterConfiguration', async (t) => {
  t.same(cidrsOfKubeadmConfig(kubeadmConfig), { pod: ['10.233.64.0/18'], service: ['10.233.0.0/18'] }, 'the example ConfigMap')
  const dual = { data: { ClusterConfiguration: 'apiVersion: kubeadm.k8s.io/v1beta3\nnetworking:\n  dnsDomain: cluster.local\n  podSubnet: 10.244.0.0/16, fd00:10:244::/56\n  serviceSubnet: 10.96.0.0/12,fd00:10:96::/112\n' } }
  t.same(cidrsOfKubeadmConfig(dual), { pod: ['10.244.0.0/16', 'fd00:10:244::/56'], service: ['10.96.0.0/12', 'fd00:10:96::/112'] }, 'dual stack: comma lists, trimmed')
  t.same(cidrsOfKubeadmConfig({ data: { ClusterConfiguration: 'networking:\n  podSubnet: not-a-cidr,10.1.0.0/16\n' } }), { pod: ['10.1.0.0/16'], service: [] }, 'invalid entries skipped')
  t.same(cidrsOfKubeadmConfig({ data: { ClusterConfiguration: 'networking:\n  # podSubnet: 10.1.0.0/16\n  dnsDomain: x\n' } }), { pod: [], service: [] }, 'a commented-out subnet is not one')
  t.same(cidrsOfKubeadmConfig({ data: { ClusterConfiguration: 'networking: [unclosed' } }), { pod: [], service: [] }, 'not YAML: nothing')
  t.same(cidrsOfKubeadmConfig({ data: {} }), { pod: [], service: [] }, 'no ClusterConfiguration key')
  t.same(cidrsOfKubeadmConfig(undefined), { pod: [], service: [] }, 'no ConfigMap')
})

t.test('kube-controller-manager: --cluster-cidr and --service-cluster-ip-range of the first container, command before args', async (t) => {
  t.same(cidrsOfKubeControllerManager(kcm(['kube-controller-manager', '--cluster-cidr=10.244.0.0/16,fd00::/56', '--service-cluster-ip-range=10.96.0.0/12'])), {
    pod: ['10.244.0.0/16', 'fd00::/56'],
    service: ['10.96.0.0/12'],
  })
  t.same(cidrsOfKubeControllerManager(kcm(['kube-controller-manager'], ['--service-cluster-ip-range=10.96.0.0/12', '--cluster-cidr=10.244.0.0/16'])), { pod: ['10.244.0.0/16'], service: ['10.96.0.0/12'] }, 'flags in args')
  t.same(cidrsOfKubeControllerManager(kcm(['--cluster-cidr=10.1.0.0/16'], ['--cluster-cidr=10.2.0.0/16'])), { pod: ['10.1.0.0/16'], service: [] }, 'the first hit wins')
  t.same(cidrsOfKubeControllerManager({ spec: { containers: [{ command: ['x'] }, { command: ['--cluster-cidr=10.1.0.0/16'] }] } }), { pod: [], service: [] }, 'only the first container')
})

t.test('cluster: the Kubernetes pod CIDR is the overlay pod CIDR', async (t) => {
  t.same(discoverCoordinatorStatus(sources({})), { phase: 'Synced', overlayPodCIDR: ['10.233.64.0/18'], serviceCIDR: ['10.233.0.0/18'] })
})

t.test('without kubeadm-config the kube-controller-manager pod gives both lists', async (t) => {
  const status = discoverCoordinatorStatus(sources({ kubeadmConfig: undefined, kubeControllerManagers: [kcm(['kube-controller-manager', '--cluster-cidr=10.244.0.0/16', '--service-cluster-ip-range=10.96.0.0/12'])] }))
  t.same(status, { phase: 'Synced', overlayPodCIDR: ['10.244.0.0/16'], serviceCIDR: ['10.96.0.0/12'] })
  const half = { data: { ClusterConfiguration: 'networking:\n  podSubnet: 10.1.0.0/16\n' } }
  t.same(discoverCoordinatorStatus(sources({ kubeadmConfig: half, kubeControllerManagers: [kcm(['--cluster-cidr=10.244.0.0/16', '--service-cluster-ip-range=10.96.0.0/12'])] })).overlayPodCIDR, ['10.244.0.0/16'], 'a kubeadm-config missing one list is replaced whole')
})

t.test('neither kubeadm-config nor a kube-controller-manager pod: NotReady, and the reason says to create kubeadm-config', async (t) => {
  for (const podCIDRType of ['cluster', 'none', 'calico']) {
    const status = discoverCoordinatorStatus(sources({ podCIDRType, kubeadmConfig: undefined }))
    t.equal(status.phase, 'NotReady', podCIDRType)
    t.match(status.reason, 'No kube-controller-manager pod found, unable to get clusterCIDR')
    t.match(status.reason, 'create the ConfigMap kube-system/kubeadm-config')
    t.match(status.reason, 'podSubnet: <pod CIDR>')
    t.same([status.overlayPodCIDR, status.serviceCIDR], [[], []])
  }
  t.match(discoverCoordinatorStatus(sources({ kubeadmConfig: { data: {} } })).reason, 'gives no podSubnet and serviceSubnet', 'an empty kubeadm-config is named as such')
  t.match(discoverCoordinatorStatus(sources({ kubeadmConfig: undefined, kubeControllerManagers: { error: 'forbidden' } })), { phase: 'NotReady', reason: /listing the kube-controller-manager pods failed \(forbidden\)/ })
})

t.test('none: no overlay pod CIDR, the service CIDR still', async (t) => {
  t.same(discoverCoordinatorStatus(sources({ podCIDRType: 'none' })), { phase: 'Synced', overlayPodCIDR: [], serviceCIDR: ['10.233.0.0/18'] })
})

t.test('calico: enabled IPPools oldest first; no pools, an empty list', async (t) => {
  const pool = (name: string, cidr: string, created: string, extra: Partial<CalicoIPPool['spec']> = {}, deleting = false): CalicoIPPool => ({
    metadata: { name, creationTimestamp: created, ...(deleting && { deletionTimestamp: created }) },
    spec: { cidr, ...extra },
  })
  const pools = [
    pool('b', '10.244.128.0/18', '2024-01-02T00:00:00Z'),
    pool('a', '10.233.64.0/18', '2024-01-01T00:00:00Z'),
    pool('off', '10.9.0.0/16', '2023-01-01T00:00:00Z', { disabled: true }),
    pool('going', '10.8.0.0/16', '2023-01-01T00:00:00Z', {}, true),
    pool('v6', 'fd85:ee78:d8a6:8607::1:0/112', '2024-01-03T00:00:00Z'),
  ]
  t.same(discoverCoordinatorStatus(sources({ podCIDRType: 'calico', calicoIPPools: pools })), {
    phase: 'Synced',
    overlayPodCIDR: ['10.233.64.0/18', '10.244.128.0/18', 'fd85:ee78:d8a6:8607::1:0/112'],
    serviceCIDR: ['10.233.0.0/18'],
  })
  t.same(discoverCoordinatorStatus(sources({ podCIDRType: 'calico' })), { phase: 'Synced', overlayPodCIDR: [], serviceCIDR: ['10.233.0.0/18'] }, 'served, no pool: Synced, empty')
})

t.test('calico: IPPools not served or not listable: NotReady saying which API, the serviceCIDR left as it was', async (t) => {
  const notServed = discoverCoordinatorStatus(sources({ podCIDRType: 'calico', calicoIPPools: { notServed: true }, statusServiceCIDR: ['10.233.0.0/18'] }))
  t.same(notServed, {
    phase: 'NotReady',
    reason: 'the Calico IPPool API (crd.projectcalico.org/v1 ippools) is not served: install Calico (its CRD ippools.crd.projectcalico.org), or set spec.podCIDRType to what the cluster runs',
    overlayPodCIDR: [],
    serviceCIDR: ['10.233.0.0/18'],
  })
  const refused = discoverCoordinatorStatus(sources({ podCIDRType: 'calico', calicoIPPools: { error: 'ippools.crd.projectcalico.org is forbidden' } }))
  t.same(refused, { phase: 'NotReady', reason: 'the Calico IPPools (crd.projectcalico.org/v1 ippools) cannot be listed: ippools.crd.projectcalico.org is forbidden', overlayPodCIDR: [], serviceCIDR: [] }, 'no serviceCIDR before: none now')
  const auto = discoverCoordinatorStatus(sources({ podCIDRType: 'auto', cniConfigDirectory: { file: { name: '10-calico.conflist', text: '{"name":"k8s-pod-network"}' } }, calicoIPPools: { notServed: true } }))
  t.match(auto, { phase: 'NotReady', reason: /Calico IPPool API .* is not served/ }, 'auto resolving to calico: the same')
  t.equal(discoverCoordinatorStatus(sources({ podCIDRType: 'cluster', calicoIPPools: { notServed: true } })).phase, 'Synced', 'read only for calico')
})

t.test('ServiceCIDRs, where listable, are the service CIDR: oldest first, deleting ones skipped, none listed none', async (t) => {
  const serviceCIDRs: ServiceCIDR[] = [
    { metadata: { name: 'extra', creationTimestamp: '2025-02-01T00:00:00Z' }, spec: { cidrs: ['10.100.0.0/16'] } },
    { metadata: { name: 'kubernetes', creationTimestamp: '2025-01-01T00:00:00Z' }, spec: { cidrs: ['10.96.0.0/12', 'fd00:10:96::/112'] } },
    { metadata: { name: 'going', creationTimestamp: '2024-01-01T00:00:00Z', deletionTimestamp: '2025-03-01T00:00:00Z' }, spec: { cidrs: ['10.200.0.0/16'] } },
  ]
  t.same(cidrsOfServiceCIDRs(serviceCIDRs), ['10.96.0.0/12', 'fd00:10:96::/112', '10.100.0.0/16'])
  t.same(discoverCoordinatorStatus(sources({ serviceCIDRs })), { phase: 'Synced', overlayPodCIDR: ['10.233.64.0/18'], serviceCIDR: ['10.96.0.0/12', 'fd00:10:96::/112', '10.100.0.0/16'] }, 'instead of kubeadm-config serviceSubnet')
  t.same(discoverCoordinatorStatus(sources({ serviceCIDRs: [] })).serviceCIDR, [], 'listable and empty: empty, as Spiderpool (a real cluster always has `kubernetes`)')
  t.same(discoverCoordinatorStatus(sources({ serviceCIDRs: undefined })).serviceCIDR, ['10.233.0.0/18'], 'not listable: the Kubernetes service CIDR')
  t.same(discoverCoordinatorStatus(sources({ podCIDRType: 'none', serviceCIDRs })).serviceCIDR, ['10.96.0.0/12', 'fd00:10:96::/112', '10.100.0.0/16'], 'for every type')
  t.equal(discoverCoordinatorStatus(sources({ kubeadmConfig: undefined, serviceCIDRs })).phase, 'NotReady', 'the Kubernetes CIDRs are still required (step 2 comes first)')
})

t.test('cilium: the pod CIDR by the IPAM mode in kube-system/cilium-config', async (t) => {
  const cilium = (data: Record<string, string>) => ({ data })
  const status = (data: Record<string, string> | undefined, pools: CiliumPodIPPool[] = []) =>
    discoverCoordinatorStatus(sources({ podCIDRType: 'cilium', ciliumConfig: data && cilium(data), ciliumPodIPPools: pools }))
  t.same(status({ ipam: 'cluster-pool', 'cluster-pool-ipv4-cidr': ' 10.0.0.0/8 ', 'cluster-pool-ipv6-cidr': 'fd00::/104 ' }).overlayPodCIDR, ['10.0.0.0/8', 'fd00::/104'], 'cluster-pool, both families trimmed')
  t.same(status({ ipam: 'cluster-pool-v2beta', 'cluster-pool-ipv4-cidr': '10.0.0.0/8 10.1.0.0/16' }).overlayPodCIDR, ['10.0.0.0/8', '10.1.0.0/16'], 'several CIDRs as Cilium takes them')
  t.match(status({ ipam: 'cluster-pool', 'cluster-pool-ipv4-cidr': '10.0.0.0' }), { phase: 'NotReady', reason: /invalid CIDR address "10.0.0.0" in cluster-pool-ipv4-cidr/ })
  t.same(status({ ipam: 'kubernetes' }).overlayPodCIDR, ['10.233.64.0/18'], 'kubernetes: the cluster pod CIDR')
  const pools: CiliumPodIPPool[] = [
    { metadata: { name: 'late', creationTimestamp: '2024-02-01T00:00:00Z' }, spec: { ipv4: { cidrs: ['10.20.0.0/16'] } } },
    { metadata: { name: 'early', creationTimestamp: '2024-01-01T00:00:00Z' }, spec: { ipv4: { cidrs: ['10.10.0.0/16'] }, ipv6: { cidrs: ['fd10::/96'] } } },
    { metadata: { name: 'gone', creationTimestamp: '2023-01-01T00:00:00Z', deletionTimestamp: '2024-03-01T00:00:00Z' }, spec: { ipv4: { cidrs: ['10.30.0.0/16'] } } },
  ]
  t.same(status({ ipam: 'multi-pool' }, pools).overlayPodCIDR, ['10.10.0.0/16', 'fd10::/96', '10.20.0.0/16'], 'multi-pool: pools oldest first, deleting ones skipped')
  t.match(status({ ipam: 'multi-pool' }), { phase: 'NotReady', reason: /no CiliumPodIPPool was found/ })
  t.match(status({ ipam: 'eni' }), { phase: 'NotReady', reason: /unsupported Cilium IPAM mode: eni/ })
  t.match(status(undefined), { phase: 'NotReady', reason: /ConfigMap kube-system\/cilium-config was not found: install Cilium first/ })
})

t.test('auto: the default network in the CNI config directory decides', async (t) => {
  const file = (name: string, text: string) => ({ file: { name, text } })
  t.same(podCIDRTypeOfCNIConfigs(file('10-calico.conflist', '{"name":"k8s-pod-network","plugins":[]}')), { type: 'calico' })
  t.same(podCIDRTypeOfCNIConfigs(file('10-calico.conflist', '{"name":"calico","plugins":[]}')), { type: 'calico' })
  t.same(podCIDRTypeOfCNIConfigs(file('05-cilium.conflist', '{"name":"cilium","plugins":[]}')), { type: 'cilium' })
  t.same(podCIDRTypeOfCNIConfigs(file('10-flannel.conflist', '{"name":"flannel","plugins":[]}')), { type: 'cluster' })
  t.same(podCIDRTypeOfCNIConfigs(file('10-macvlan.conf', '{"name":"macvlan-underlay","type":"macvlan"}')), { type: 'none' })
  t.same(podCIDRTypeOfCNIConfigs({}), { type: 'none' }, 'a directory without a config')
  t.same(podCIDRTypeOfCNIConfigs({ missing: true }), { type: 'cluster' }, 'no directory at all: the cluster pod CIDR stands in (deliberate)')
  t.match(podCIDRTypeOfCNIConfigs(file('10-x.conf', '{broken')), { error: /error loading CNI config file 10-x.conf/ })

  const withCalico = discoverCoordinatorStatus(sources({ podCIDRType: 'auto', cniConfigDirectory: file('10-calico.conflist', '{"name":"k8s-pod-network"}'), calicoIPPools: [{ metadata: { name: 'p' }, spec: { cidr: '10.233.64.0/18' } }] }))
  t.same(withCalico, { phase: 'Synced', overlayPodCIDR: ['10.233.64.0/18'], serviceCIDR: ['10.233.0.0/18'] })
  t.same(discoverCoordinatorStatus(sources({ podCIDRType: 'auto', cniConfigDirectory: { missing: true } })).overlayPodCIDR, ['10.233.64.0/18'])
  t.match(discoverCoordinatorStatus(sources({ podCIDRType: 'auto', cniConfigDirectory: { error: 'permission denied' } })), {
    phase: 'NotReady',
    reason: /CNI config directory tells no default CNI \(permission denied\): fix the file, or set spec.podCIDRType/,
  })
})

t.test('the default network file: .conf or .conflist, not Multus own, lexically first', async (t) => {
  t.equal(defaultCNIConfigFile(['00-multus.conf', '10-calico.conflist', '05-cilium.conflist', 'calico-kubeconfig', '99-loopback.conf.bak']), '05-cilium.conflist')
  t.equal(defaultCNIConfigFile(['00-multus.conflist', 'multus.d']), undefined)
})

t.test('an unknown podCIDRType is NotReady, not a guess', async (t) => {
  t.match(discoverCoordinatorStatus(sources({ podCIDRType: 'flannel' })), { phase: 'NotReady', reason: /unsupported spec.podCIDRType "flannel"/ })
  t.match(discoverCoordinatorStatus(sources({ podCIDRType: undefined })), { phase: 'NotReady', reason: /unsupported spec.podCIDRType ""/ })
})

t.test('a status that would change nothing is recognised (no write)', async (t) => {
  const synced = { phase: 'Synced' as const, overlayPodCIDR: ['10.233.64.0/18'], serviceCIDR: ['10.233.0.0/18'] }
  t.ok(sameStatus({ ...synced }, synced))
  t.ok(sameStatus({ phase: 'Synced', reason: '', overlayPodCIDR: ['10.233.64.0/18'], serviceCIDR: ['10.233.0.0/18'] }, synced))
  t.notOk(sameStatus(undefined, synced))
  t.notOk(sameStatus({ ...synced, serviceCIDR: [] }, synced))
  t.notOk(sameStatus({ phase: 'NotReady', reason: 'x', overlayPodCIDR: [], serviceCIDR: [] }, { phase: 'NotReady', reason: 'y', overlayPodCIDR: [], serviceCIDR: [] }))
})
