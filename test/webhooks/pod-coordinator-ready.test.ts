// A pod whose network chains the coordinator plugin is refused while SpiderCoordinator default is
// not Synced (its CNI ADD would fail at the agent), with the coordinator's reason; pure.
import t from 'tap'
import { chainsCoordinator, coordinatorProblem, refuseWhileCoordinatorNotReady } from '../../webhooks/pod/coordinator-ready.ts'
import { clusterFromObjects } from '../../webhooks/cluster.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import type { NetworkAttachmentDefinition, SpiderCoordinator } from '../../schemas/types.ts'
import type { Pod } from '../../webhooks/pod/pod.ts'

const withCoordinator =
  '{"cniVersion":"0.3.1","name":"macvlan-ens192","plugins":[{"type":"macvlan","master":"ens192","mode":"bridge","mtu":0,"ipam":{"type":"spiderpool"}},{"txQueueLen":0,"tunePodRoutes":true,"mode":"auto","type":"coordinator"}]}'
const withoutCoordinator = '{"cniVersion":"0.3.1","name":"plain","plugins":[{"type":"macvlan","master":"ens192","ipam":{"type":"spiderpool"}}]}'

const nad = (name: string, config: string): NetworkAttachmentDefinition => ({ metadata: { name, namespace: 'default' }, spec: { config } })
const coordinator = (status?: object): SpiderCoordinator => ({ metadata: { name: 'default' }, spec: { podCIDRType: 'auto' }, ...(status && { status }) }) as SpiderCoordinator
const notReady = coordinator({ phase: 'NotReady', reason: 'No kube-controller-manager pod found, unable to get clusterCIDR: create the ConfigMap kube-system/kubeadm-config', overlayPodCIDR: [], serviceCIDR: [] })
const synced = coordinator({ phase: 'Synced', overlayPodCIDR: ['10.233.64.0/18'], serviceCIDR: ['10.233.0.0/18'] })

const pod = (networks?: string, extra: Partial<Pod['spec']> = {}): Pod => ({
  metadata: { name: 'p', namespace: 'default', ...(networks && { annotations: { 'k8s.v1.cni.cncf.io/networks': networks } }) },
  spec: { containers: [{ name: 'c' }], ...extra },
})

const check = (p: Pod, coordinators: SpiderCoordinator[], namespace = 'default') =>
  refuseWhileCoordinatorNotReady(p, namespace, {
    settings: defaultSettings(),
    cluster: clusterFromObjects({ coordinators, networkAttachmentDefinitions: [nad('macvlan-ens192', withCoordinator), nad('plain', withoutCoordinator)] }),
  })

t.test('a NIC whose NAD chains the coordinator is refused while the coordinator is NotReady, with its reason', async (t) => {
  const refusal = check(pod('macvlan-ens192'), [notReady])
  t.match(refusal, { reason: 'Forbidden' })
  t.equal(
    refusal?.message,
    "the Pod's interface net1 uses NetworkAttachmentDefinition default/macvlan-ens192, whose coordinator plugin cannot run: SpiderCoordinator default is NotReady: No kube-controller-manager pod found, unable to get clusterCIDR: create the ConfigMap kube-system/kubeadm-config",
  )
  t.match(check(pod('plain,macvlan-ens192'), [notReady])?.message, "interface net2 uses NetworkAttachmentDefinition default/macvlan-ens192", 'the NIC that needs it is named')
})

t.test('admitted when Synced, when no NIC chains the coordinator, on the host network and in excluded namespaces', async (t) => {
  t.equal(check(pod('macvlan-ens192'), [synced]), undefined)
  t.equal(check(pod('plain'), [notReady]), undefined)
  t.equal(check(pod(), [notReady]), undefined, 'the cluster network alone')
  t.equal(check(pod('macvlan-ens192', { hostNetwork: true }), [notReady]), undefined)
  t.equal(check(pod('macvlan-ens192'), [notReady], 'kube-system'), undefined)
  t.equal(check(pod('missing-nad'), [notReady]), undefined, 'a NAD that does not exist is for the plan to refuse')
})

t.test('no coordinator, or one never synced, is refused too: the agent fails the same way', async (t) => {
  t.match(check(pod('macvlan-ens192'), [])?.message, 'there is no SpiderCoordinator default: create it')
  t.match(check(pod('macvlan-ens192'), [coordinator()])?.message, 'SpiderCoordinator default has not been synced yet')
  t.equal(coordinatorProblem(synced), undefined)
})

t.test('chainsCoordinator reads conflists and single-plugin configs', async (t) => {
  t.ok(chainsCoordinator(withCoordinator))
  t.ok(chainsCoordinator('{"cniVersion":"0.3.1","type":"coordinator"}'))
  t.notOk(chainsCoordinator(withoutCoordinator))
  t.notOk(chainsCoordinator(''), 'an empty config is read on the node, not here')
  t.notOk(chainsCoordinator('{broken'))
})
