// The SpiderCoordinator controller on the local default, with real kubectl: `up` creates the
// `default` coordinator, its status follows the sources (kubeadm-config, kube-controller-manager
// pods, cilium-config, the CNI config directory, Calico's IPPools once their CRD is applied,
// ServiceCIDRs where the control plane serves them), and pods that chain the coordinator are
// refused, with the remedy, while it is NotReady.
import path from 'node:path'
import t, { type Test } from 'tap'
import { runKubectl } from '../../kube/controlplane/fixtures/controlplane.ts'
import type { OptionalAPIs } from '../../../kube/controlplane/served.ts'
import { startLocalDefault, type LocalDefault } from '../../../server/up.ts'
import { readCNIConfigDirectory } from '../../../server/controllers/coordinator.ts'
import { defaultSettings } from '../../../webhooks/settings.ts'

const examplesDir = path.join(import.meta.dirname, '../../../../shared/reference/examples')
const calicoIPPoolsCRD = path.join(import.meta.dirname, 'fixtures/calico-ippools-crd.yaml')

/** The local default, its controller reading `net.d` made of these files, or no such directory (never this machine's /etc/cni/net.d). */
async function up(t: Test, cniConfigFiles?: Record<string, string>, apis?: OptionalAPIs) {
  const dataDir = t.testdir(cniConfigFiles && { 'net.d': cniConfigFiles })
  process.env.SPIDERPOOL_CNI_CONFIG_DIR = path.join(dataDir, 'net.d')
  const local: LocalDefault = await startLocalDefault({ dataDir, apiPort: 0, settings: defaultSettings(), logLevel: 'silent', apis })
  t.teardown(() => local.close())
  const kubectl = (args: string[], input?: string) => runKubectl(local.controlPlane.kubeconfigPath, path.join(dataDir, 'kubectl-cache'), args, input)
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input)
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  /** `kubectl get spidercoordinator default -o yaml` once its status satisfies `until`. */
  const coordinator = async (until: (status: any) => boolean, ms = 15_000) => {
    const deadline = Date.now() + ms
    for (;;) {
      const r = await kubectl(['get', 'spidercoordinator', 'default', '-o', 'json'])
      const status = r.code === 0 ? JSON.parse(r.stdout).status : undefined
      if (until(status)) return { status, yaml: await ok(['get', 'spidercoordinator', 'default', '-o', 'yaml']) }
      if (Date.now() > deadline) throw new Error(`SpiderCoordinator default never got there; last status: ${JSON.stringify(status)}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return { kubectl, ok, coordinator }
}

const configMap = (name: string, data: Record<string, string>) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'kube-system' }, data })
const pod = (name: string, annotations: Record<string, string> = {}) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', annotations }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } })
const withMacvlan = { 'k8s.v1.cni.cncf.io/networks': 'macvlan-ens192' }

t.test('NotReady until kubeadm-config exists: pods chaining the coordinator are refused with the remedy, then admitted', { timeout: 120_000 }, async (t) => {
  const k = await up(t)
  const created = JSON.parse(await k.ok(['get', 'spidercoordinator', 'default', '-o', 'json']))
  t.match(created.spec, { mode: 'auto', podCIDRType: 'auto', hijackCIDR: ['169.254.0.0/16'], vethMTU: 1500, podRPFilter: 0, hostRuleTable: 500 }, 'up creates the coordinator as the chart does')
  t.same(created.metadata.finalizers, ['spiderpool.spidernet.io'])

  const notReady = await k.coordinator((s) => s?.phase === 'NotReady')
  t.match(notReady.status.reason, 'No kube-controller-manager pod found')
  t.match(notReady.status.reason, 'create the ConfigMap kube-system/kubeadm-config')

  await k.ok(['apply', '-f', path.join(examplesDir, 'calico-overlay.yaml')])
  await k.ok(['wait', '--for=create', 'net-attach-def/macvlan-ens192', '-n', 'default', '--timeout=15s'])
  const refused = await k.kubectl(['apply', '-f', '-'], pod('needs-coordinator', withMacvlan))
  t.not(refused.code, 0, 'refused')
  t.match(refused.stderr, "the Pod's interface net1 uses NetworkAttachmentDefinition default/macvlan-ens192, whose coordinator plugin cannot run: SpiderCoordinator default is NotReady")
  t.match(refused.stderr, 'kube-system/kubeadm-config', 'the message says what to fix')
  t.equal((await k.kubectl(['get', 'pod', 'needs-coordinator'])).code, 1, 'nothing stored')
  await k.ok(['apply', '-f', '-'], pod('plain'))
  t.pass('a pod on the cluster network alone does not need the coordinator')

  await k.ok(['apply', '-f', path.join(examplesDir, 'kubeadm-config.yaml')])
  const synced = await k.coordinator((s) => s?.phase === 'Synced')
  t.same(synced.status, { phase: 'Synced', overlayPodCIDR: ['10.233.64.0/18'], serviceCIDR: ['10.233.0.0/18'] }, 'no CNI config directory: the cluster pod CIDR stands in for auto; no ServiceCIDR API (as 1.32): the kubeadm serviceSubnet')
  t.match(synced.yaml, /phase: Synced/)
  t.match(synced.yaml, /overlayPodCIDR:\n\s+- 10\.233\.64\.0\/18/)
  t.match(synced.yaml, /serviceCIDR:\n\s+- 10\.233\.0\.0\/18/)

  let admitted = await k.kubectl(['apply', '-f', '-'], pod('needs-coordinator', withMacvlan))
  for (let i = 0; i < 50 && admitted.code !== 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    admitted = await k.kubectl(['apply', '-f', '-'], pod('needs-coordinator', withMacvlan))
  }
  t.equal(admitted.code, 0, `admitted once Synced: ${admitted.stderr}`)

  await k.ok(['delete', 'cm', '-n', 'kube-system', 'kubeadm-config'])
  await k.coordinator((s) => s?.phase === 'NotReady')
  t.pass('deleting the ConfigMap is seen too')
})

t.test('the status follows its sources: kube-controller-manager flags, podCIDRType, cilium-config, Calico not served', { timeout: 120_000 }, async (t) => {
  const k = await up(t)
  await k.ok(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'kube-controller-manager-node1', namespace: 'kube-system', labels: { component: 'kube-controller-manager' } },
      spec: { containers: [{ name: 'kube-controller-manager', image: 'k8s', command: ['kube-controller-manager', '--cluster-cidr=10.244.0.0/16,fd00:10:244::/56', '--service-cluster-ip-range=10.96.0.0/12'] }] },
    }),
  )
  const fromKCM = await k.coordinator((s) => s?.phase === 'Synced')
  t.same(fromKCM.status, { phase: 'Synced', overlayPodCIDR: ['10.244.0.0/16', 'fd00:10:244::/56'], serviceCIDR: ['10.96.0.0/12'] }, 'from the kube-controller-manager pod')

  await k.ok(['patch', 'spidercoordinator', 'default', '--type', 'merge', '-p', '{"spec":{"podCIDRType":"none"}}'])
  t.same((await k.coordinator((s) => s?.overlayPodCIDR?.length === 0)).status.serviceCIDR, ['10.96.0.0/12'], 'none: no pod CIDR, the service CIDR kept')

  await k.ok(['patch', 'spidercoordinator', 'default', '--type', 'merge', '-p', '{"spec":{"podCIDRType":"cilium"}}'])
  t.match((await k.coordinator((s) => s?.phase === 'NotReady')).status.reason, 'kube-system/cilium-config was not found')
  await k.ok(['apply', '-f', '-'], configMap('cilium-config', { ipam: 'cluster-pool', 'cluster-pool-ipv4-cidr': '10.0.0.0/8' }))
  t.same((await k.coordinator((s) => s?.phase === 'Synced')).status.overlayPodCIDR, ['10.0.0.0/8'], 'cilium cluster-pool from cilium-config')

  await k.ok(['patch', 'spidercoordinator', 'default', '--type', 'merge', '-p', '{"spec":{"podCIDRType":"calico"}}'])
  const noCalico = await k.coordinator((s) => s?.phase === 'NotReady')
  t.match(noCalico.status, { reason: /Calico IPPool API \(crd\.projectcalico\.org\/v1 ippools\) is not served/, overlayPodCIDR: [], serviceCIDR: ['10.96.0.0/12'] }, 'Calico IPPools not served: NotReady, the serviceCIDR left as it was')
})

t.test('auto reads the CNI config directory: a Calico conflist makes it calico', { timeout: 120_000 }, async (t) => {
  const k = await up(t, {
    '00-multus.conf': '{"name":"multus-cni-network","type":"multus"}',
    '10-calico.conflist': '{"name":"k8s-pod-network","cniVersion":"0.3.1","plugins":[{"type":"calico"}]}',
  })
  await k.ok(['apply', '-f', path.join(examplesDir, 'kubeadm-config.yaml')])
  const notReady = await k.coordinator((s) => s?.phase === 'NotReady' && /Calico/.test(s.reason))
  t.match(notReady.status.reason, 'the Calico IPPool API (crd.projectcalico.org/v1 ippools) is not served: install Calico', 'calico, whose pools are not served yet: not the kubeadm pod CIDR')
})

const ipPool = (name: string, cidr: string, disabled = false) =>
  JSON.stringify({ apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name }, spec: { cidr, disabled, ipipMode: 'Always', natOutgoing: true } })

/** `kubectl apply` of the pod until it is admitted: the webhook sees the coordinator through its own informer. */
async function admittedSoon(k: Awaited<ReturnType<typeof up>>, manifest: string) {
  let admitted = await k.kubectl(['apply', '-f', '-'], manifest)
  for (let i = 0; i < 50 && admitted.code !== 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    admitted = await k.kubectl(['apply', '-f', '-'], manifest)
  }
  return admitted
}

t.test('calico: NotReady until Calico IPPools are served, then the enabled pools; NotReady again when the CRD goes', { timeout: 120_000 }, async (t) => {
  const k = await up(t)
  await k.ok(['apply', '-f', path.join(examplesDir, 'kubeadm-config.yaml')])
  await k.coordinator((s) => s?.phase === 'Synced')
  await k.ok(['patch', 'spidercoordinator', 'default', '--type', 'merge', '-p', '{"spec":{"podCIDRType":"calico"}}'])
  const before = await k.coordinator((s) => s?.phase === 'NotReady')
  t.same(before.status, {
    phase: 'NotReady',
    reason: 'the Calico IPPool API (crd.projectcalico.org/v1 ippools) is not served: install Calico (its CRD ippools.crd.projectcalico.org), or set spec.podCIDRType to what the cluster runs',
    overlayPodCIDR: [],
    serviceCIDR: ['10.233.0.0/18'],
  }, 'the reason names the API and the remedy; the serviceCIDR of the Synced status before is kept')

  await k.ok(['apply', '-f', path.join(examplesDir, 'calico-overlay.yaml')])
  await k.ok(['wait', '--for=create', 'net-attach-def/macvlan-ens192', '-n', 'default', '--timeout=15s'])
  const refused = await k.kubectl(['apply', '-f', '-'], pod('needs-coordinator', withMacvlan))
  t.not(refused.code, 0, 'a pod chaining the coordinator is refused')
  t.match(refused.stderr, 'SpiderCoordinator default is NotReady')
  t.match(refused.stderr, 'crd.projectcalico.org/v1 ippools) is not served', 'with the reason')

  await k.ok(['apply', '-f', calicoIPPoolsCRD])
  await k.ok(['wait', '--for=condition=Established', 'crd/ippools.crd.projectcalico.org', '--timeout=15s'])
  await k.ok(['apply', '-f', '-'], ipPool('default-ipv4-ippool', '10.233.64.0/18'))
  await k.ok(['apply', '-f', '-'], ipPool('retired', '10.9.0.0/16', true))
  const synced = await k.coordinator((s) => s?.phase === 'Synced', 30_000)
  t.same(synced.status, { phase: 'Synced', overlayPodCIDR: ['10.233.64.0/18'], serviceCIDR: ['10.233.0.0/18'] }, 'exactly the enabled pool: the disabled one is skipped')
  t.equal((await admittedSoon(k, pod('needs-coordinator', withMacvlan))).code, 0, 'admitted once Synced')

  await k.ok(['patch', 'ippools.crd.projectcalico.org', 'retired', '--type', 'merge', '-p', '{"spec":{"disabled":false}}'])
  t.same((await k.coordinator((s) => s?.overlayPodCIDR?.length === 2)).status.overlayPodCIDR, ['10.233.64.0/18', '10.9.0.0/16'], 'enabled again: oldest first')

  await k.ok(['delete', 'crd', 'ippools.crd.projectcalico.org'])
  const gone = await k.coordinator((s) => s?.phase === 'NotReady', 30_000)
  t.match(gone.status, { reason: /Calico IPPool API .* is not served/, overlayPodCIDR: [], serviceCIDR: ['10.233.0.0/18'] }, 'Calico uninstalled: NotReady again')
})

t.test('ServiceCIDRs, where served, are the service CIDR: they follow kubectl create and delete', { timeout: 120_000 }, async (t) => {
  const k = await up(t, undefined, { serviceCIDRs: 'v1' })
  const serviceCIDR = (name: string, cidrs: string[], version = 'v1') => JSON.stringify({ apiVersion: `networking.k8s.io/${version}`, kind: 'ServiceCIDR', metadata: { name }, spec: { cidrs } })
  await k.ok(['apply', '-f', path.join(examplesDir, 'kubeadm-config.yaml')])
  t.same((await k.coordinator((s) => s?.phase === 'Synced')).status, { phase: 'Synced', overlayPodCIDR: ['10.233.64.0/18'], serviceCIDR: [] }, 'served and none: none, as Spiderpool (kube-apiserver always makes `kubernetes`, this control plane does not)')

  await k.ok(['create', '-f', '-'], serviceCIDR('kubernetes', ['10.233.0.0/18']))
  t.same((await k.coordinator((s) => s?.serviceCIDR?.length === 1)).status.serviceCIDR, ['10.233.0.0/18'])
  // a later second: creation order, not names, decides
  await new Promise((resolve) => setTimeout(resolve, 1100))
  await k.ok(['create', '-f', '-'], serviceCIDR('added', ['10.100.0.0/16', 'fd00:100::/112']))
  t.same((await k.coordinator((s) => s?.serviceCIDR?.length === 3)).status.serviceCIDR, ['10.233.0.0/18', '10.100.0.0/16', 'fd00:100::/112'], 'the ServiceCIDRs in creation order')

  await k.ok(['delete', 'servicecidr', 'added'])
  t.same((await k.coordinator((s) => s?.serviceCIDR?.length === 1)).status.serviceCIDR, ['10.233.0.0/18'], 'deleted: it goes from the status')
  await k.ok(['delete', 'servicecidr', 'kubernetes'])
  t.same((await k.coordinator((s) => s?.serviceCIDR?.length === 0)).status, { phase: 'Synced', overlayPodCIDR: ['10.233.64.0/18'], serviceCIDR: [] })
})

t.test('ServiceCIDRs where only v1beta1 is served (1.31-1.32 with the gate): read there', { timeout: 120_000 }, async (t) => {
  const k = await up(t, undefined, { serviceCIDRs: 'v1beta1' })
  await k.ok(['apply', '-f', path.join(examplesDir, 'kubeadm-config.yaml')])
  await k.coordinator((s) => s?.phase === 'Synced' && s.serviceCIDR.length === 0)
  await k.ok(['create', '-f', '-'], JSON.stringify({ apiVersion: 'networking.k8s.io/v1beta1', kind: 'ServiceCIDR', metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/12'] } }))
  t.same((await k.coordinator((s) => s?.serviceCIDR?.length === 1)).status.serviceCIDR, ['10.96.0.0/12'], 'from networking.k8s.io/v1beta1')
  t.equal((await k.kubectl(['get', 'servicecidrs.v1.networking.k8s.io'])).code, 1, 'v1 is not served here')
})

t.test('a deleted coordinator loses its finalizer and goes', { timeout: 120_000 }, async (t) => {
  const k = await up(t)
  await k.coordinator((s) => s?.phase !== undefined)
  await k.ok(['delete', 'spidercoordinator', 'default', '--wait=true', '--timeout=20s'])
  t.equal((await k.kubectl(['get', 'spidercoordinator', 'default'])).code, 1)
})

t.test('readCNIConfigDirectory: the default network file, a missing directory, an unreadable one', async (t) => {
  const dir = t.testdir({ '00-multus.conf': '{}', '10-flannel.conflist': '{"name":"flannel"}', '20-bridge.conf': '{"name":"bridge"}', 'README': 'x' })
  t.same(await readCNIConfigDirectory(dir), { file: { name: '10-flannel.conflist', text: '{"name":"flannel"}' } })
  t.same(await readCNIConfigDirectory(path.join(dir, 'nope')), { missing: true })
  t.match(await readCNIConfigDirectory(path.join(dir, 'README')), { error: /failed to load cni files in .*README/ })
  t.same(await readCNIConfigDirectory(t.testdir({})), {}, 'an empty directory has no default network')
})
