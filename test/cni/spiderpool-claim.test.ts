// The pure halves of the `spiderpool` IPAM plugin: what a claim and a release do to a pool's
// records, what the pod's SpiderEndpoint becomes, the IPAM result, and the network config.
import t from 'tap'
import { claimRecords, heldRecord, isReleased, releaseRecords, sameAddress, type Claimant } from '../../ipam/claim.ts'
import { defaultKubeconfigPath, podIdentityOf, readIPAMConfig } from '../../cni/spiderpool/config.ts'
import { endpointNIC, endpointWithoutNIC, endpointWrite, reservedInterfaceOf, type PodFacts } from '../../cni/spiderpool/endpoint.ts'
import { isAlive, ordinalOf, podFacts, statefulSetKeeps } from '../../cni/spiderpool/pod.ts'
import { reservationOf } from '../../webhooks/pod/claim.ts'
import { ipamResult } from '../../cni/spiderpool/result.ts'
import { defaultKubeconfigPath as coordinatorKubeconfigPath } from '../../cni/coordinator/inputs.ts'
import type { PoolRecord } from '../../ipam/records.ts'
import type { ReservedInterface } from '../../ipam/reservation.ts'
import type { SpiderEndpoint } from '../../schemas/types.ts'

const now = new Date('2026-07-08T12:00:00Z')
const who: Claimant = { namespace: 'default', name: 'web-1', uid: 'uid-1', node: 'node-1', statefulSet: false }
const reserved = (ip: string, token = 'r-aaaaaaaa', nic = 'eth0', pod = 'default/'): PoolRecord => ({
  ip,
  pod,
  podUid: '',
  state: 'reserved',
  token,
  nic,
  reservedAt: '2026-07-08T11:59:00Z',
  expiresAt: '2026-07-08T12:01:00Z',
})
const claimed = (ip: string, pod: string, podUid: string, extra: Partial<PoolRecord> = {}): PoolRecord => ({ ip, pod, podUid, state: 'claimed', ...extra })

t.test('claim: the reservation with the token and NIC becomes the pod\'s, with its name, uid and node; the expiry goes', async (t) => {
  const records = [reserved('10.6.1.1'), reserved('10.6.1.2', 'r-bbbbbbbb')]
  const out = claimRecords(records, [{ address: '10.6.1.1', token: 'r-aaaaaaaa', nic: 'eth0' }], who, now)
  t.ok(out.changed)
  t.strictSame(out.value, [{ address: '10.6.1.1', claimed: 'now' }])
  t.strictSame(out.records[0], { ip: '10.6.1.1', pod: 'default/web-1', podUid: 'uid-1', state: 'claimed', token: 'r-aaaaaaaa', nic: 'eth0', reservedAt: '2026-07-08T11:59:00Z', node: 'node-1' })
  t.strictSame(out.records[1], records[1], 'another reservation is untouched')
  t.strictSame(records[0], reserved('10.6.1.1'), 'the input is not changed')
})

t.test('claim is idempotent: a record the uid already holds stays, nothing to write', async (t) => {
  const first = claimRecords([reserved('10.6.1.1')], [{ address: '10.6.1.1', token: 'r-aaaaaaaa', nic: 'eth0' }], who, now)
  const again = claimRecords(first.records, [{ address: '10.6.1.1', token: 'r-aaaaaaaa', nic: 'eth0' }], who, now)
  t.notOk(again.changed)
  t.strictSame(again.value, [{ address: '10.6.1.1', claimed: 'already' }])
  const fromEndpoint = claimRecords(first.records, [{ address: '10.6.1.1', nic: 'eth0' }], who, now)
  t.strictSame(fromEndpoint.value, [{ address: '10.6.1.1', claimed: 'already' }], 'also without the token (the address came from the SpiderEndpoint)')
})

t.test('claim never hands out an address without a live record for the pod', async (t) => {
  const records = [reserved('10.6.1.2', 'r-bbbbbbbb'), claimed('10.6.1.3', 'default/other', 'uid-9'), reserved('10.6.1.4', 'r-aaaaaaaa', 'net1'), reserved('10.6.1.5', 'r-aaaaaaaa', 'eth0', 'other-ns/')]
  const want = (address: string) => ({ address, token: 'r-aaaaaaaa', nic: 'eth0' })
  const out = claimRecords(records, ['10.6.1.1', '10.6.1.2', '10.6.1.3', '10.6.1.4', '10.6.1.5'].map(want), who, now)
  t.notOk(out.changed)
  t.strictSame(
    out.value.map((o) => o.lost),
    [
      '10.6.1.1 has no record any more (the reservation was released)',
      '10.6.1.2 is reserved for another Pod',
      '10.6.1.3 is held by Pod default/other (uid uid-9)',
      '10.6.1.4 is reserved for interface net1, not eth0',
      '10.6.1.5 is reserved in another namespace (other-ns/)',
    ],
  )
})

t.test('claim: a StatefulSet pod takes over the record of its name under its new uid and node; a stateless pod does not', async (t) => {
  const records = [claimed('10.6.1.7', 'default/web-1', 'uid-old', { nic: 'eth0', node: 'node-2' })]
  const sts = claimRecords(records, [{ address: '10.6.1.7', token: 'r-cccccccc', nic: 'eth0' }], { ...who, statefulSet: true }, now)
  t.strictSame(sts.value, [{ address: '10.6.1.7', claimed: 'rebound' }])
  t.match(sts.records[0], { pod: 'default/web-1', podUid: 'uid-1', node: 'node-1', state: 'claimed' })
  const stateless = claimRecords(records, [{ address: '10.6.1.7', token: 'r-cccccccc', nic: 'eth0' }], who, now)
  t.match(stateless.value, [{ lost: '10.6.1.7 is held by Pod default/web-1 (uid uid-old)' }])
})

t.test('claim: a Spiderpool record without a NIC gets the NIC; addresses match whatever their spelling', async (t) => {
  const out = claimRecords([claimed('fd00::0a', 'default/web-1', 'uid-1')], [{ address: 'fd00::a', nic: 'net1' }], who, now)
  t.match(out.records[0], { ip: 'fd00::0a', nic: 'net1', node: 'node-1' })
  t.ok(sameAddress('10.6.1.1', '10.6.1.1'))
  t.notOk(sameAddress('fd00::a', 'fd00::b'))
})

t.test('release: the NIC\'s records by uid, unclaimed ones by token; other NICs and other pods stay', async (t) => {
  const records = [
    claimed('10.6.1.1', 'default/web-1', 'uid-1', { nic: 'eth0' }),
    claimed('10.6.1.2', 'default/web-1', 'uid-1', { nic: 'net1' }),
    claimed('10.6.1.3', 'default/web-1', 'uid-1'),
    claimed('10.6.1.4', 'default/web-1', 'uid-1'),
    reserved('10.6.1.5', 'r-aaaaaaaa', 'eth0'),
    reserved('10.6.1.6', 'r-aaaaaaaa', 'net1'),
    claimed('10.6.1.7', 'default/other', 'uid-9', { nic: 'eth0', token: 'r-aaaaaaaa' }),
  ]
  const out = releaseRecords(records, { uid: 'uid-1', token: 'r-aaaaaaaa', nic: 'eth0', addresses: ['10.6.1.3'] })
  t.ok(out.changed)
  t.strictSame(out.value.map((r) => r.ip), ['10.6.1.1', '10.6.1.3', '10.6.1.5'], 'its record, the NIC-less record the endpoint lists, its reservation')
  t.strictSame(out.records.map((r) => r.ip), ['10.6.1.2', '10.6.1.4', '10.6.1.6', '10.6.1.7'])
  t.notOk(releaseRecords(out.records, { uid: 'uid-1', token: 'r-aaaaaaaa', nic: 'eth0' }).changed, 'a second release changes nothing')
  t.notOk(isReleased(claimed('10.6.1.8', 'default/web-1', ''), { uid: '', nic: 'eth0' }), 'an empty uid matches nothing')
})

t.test('heldRecord finds what the uid holds for the NIC', async (t) => {
  const records = [claimed('10.6.1.1', 'default/web-1', 'uid-1', { nic: 'net1' }), claimed('10.6.1.2', 'default/web-1', 'uid-1', { nic: 'eth0' })]
  t.equal(heldRecord(records, 'uid-1', 'eth0')?.ip, '10.6.1.2')
  t.equal(heldRecord(records, 'uid-2', 'eth0'), undefined)
  t.equal(heldRecord(records, '', 'eth0'), undefined)
})

const nic = (o: Partial<ReservedInterface> = {}): ReservedInterface => ({ interface: 'eth0', ipv4: '10.6.1.1/16', ipv4Pool: 'v4', ipv4Gateway: '10.6.0.1', vlan: 0, cleanGateway: false, routes: [], ...o })
const facts = (o: Partial<PodFacts> = {}): PodFacts => ({ namespace: 'default', name: 'web-1', uid: 'uid-1', node: 'node-1', statefulSet: false, ownerControllerType: 'Deployment', ownerControllerName: 'web', ...o })

t.test('endpoint: created with the finalizer, owned by the pod, status.current as Spiderpool\'s agent writes it', async (t) => {
  const w = endpointWrite(undefined, facts(), endpointNIC(nic()))
  t.equal(w.action, 'create')
  t.strictSame(w.action === 'create' && w.endpoint, {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderEndpoint',
    metadata: { name: 'web-1', namespace: 'default', finalizers: ['spiderpool.spidernet.io'], ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-1', uid: 'uid-1' }] },
    status: {
      current: { uid: 'uid-1', node: 'node-1', ips: [{ interface: 'eth0', ipv4: '10.6.1.1/16', ipv4Pool: 'v4', ipv4Gateway: '10.6.0.1', vlan: 0, cleanGateway: false, routes: [] }] },
      ownerControllerType: 'Deployment',
      ownerControllerName: 'web',
    },
  })
  const sts = endpointWrite(undefined, facts({ statefulSet: true }), endpointNIC(nic()))
  t.equal(sts.action === 'create' && sts.endpoint.metadata?.ownerReferences, undefined, 'a StatefulSet pod\'s endpoint has no owner')
})

const existing = (o: { uid?: string; ips?: ReturnType<typeof endpointNIC>[]; deleting?: boolean } = {}): SpiderEndpoint => ({
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderEndpoint',
  metadata: { name: 'web-1', namespace: 'default', resourceVersion: '7', finalizers: ['spiderpool.spidernet.io'], ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-1', uid: o.uid ?? 'uid-1' }], ...(o.deleting ? { deletionTimestamp: '2026-07-08T11:00:00Z' } : {}) },
  status: { current: { uid: o.uid ?? 'uid-1', node: 'node-1', ips: o.ips ?? [endpointNIC(nic())] }, ownerControllerType: 'Deployment', ownerControllerName: 'web' },
})

t.test('endpoint: another NIC is added beside the first; the same NIC again writes nothing', async (t) => {
  t.strictSame(endpointWrite(existing(), facts(), endpointNIC(nic())), { action: 'none' })
  const w = endpointWrite(existing(), facts(), endpointNIC(nic({ interface: 'net1', ipv4: '10.7.1.1/16', ipv4Pool: 'v4b' })))
  t.equal(w.action, 'update')
  t.strictSame(w.action === 'update' && w.endpoint.status?.current.ips.map((i) => i.interface), ['eth0', 'net1'])
  t.equal(w.action === 'update' && w.endpoint.metadata?.resourceVersion, '7', 'the update is conditional on what was read')
})

t.test('endpoint: a StatefulSet pod\'s moves to the new uid and node keeping its other NICs; a stateless pod of the same name replaces it', async (t) => {
  const old = existing({ uid: 'uid-0', ips: [endpointNIC(nic()), endpointNIC(nic({ interface: 'net1' }))] })
  const sts = endpointWrite(old, facts({ statefulSet: true, node: 'node-2' }), endpointNIC(nic()))
  t.match(sts.action === 'update' && sts.endpoint, { status: { current: { uid: 'uid-1', node: 'node-2' } } })
  t.strictSame(sts.action === 'update' && sts.endpoint.status?.current.ips.map((i) => i.interface), ['eth0', 'net1'])
  t.equal(sts.action === 'update' && sts.endpoint.metadata?.ownerReferences, undefined)
  const stateless = endpointWrite(old, facts(), endpointNIC(nic()))
  t.strictSame(stateless.action === 'update' && stateless.endpoint.status?.current.ips.map((i) => i.interface), ['eth0'], 'the earlier pod\'s NICs are not the new pod\'s')
  t.strictSame(stateless.action === 'update' && stateless.endpoint.metadata?.ownerReferences, [{ apiVersion: 'v1', kind: 'Pod', name: 'web-1', uid: 'uid-1' }])
  t.equal(endpointWrite(existing({ uid: 'uid-0', deleting: true }), facts(), endpointNIC(nic())).action, 'replace', 'a terminating one is let go and made anew')
})

t.test('endpoint: a NIC dropped; the last one takes the endpoint, its finalizer first', async (t) => {
  const two = existing({ ips: [endpointNIC(nic()), endpointNIC(nic({ interface: 'net1' }))] })
  const w = endpointWithoutNIC(two, 'eth0')
  t.strictSame(w.action === 'update' && w.endpoint.status?.current.ips.map((i) => i.interface), ['net1'])
  t.strictSame(endpointWithoutNIC(two, 'net9'), { action: 'none' })
  const last = endpointWithoutNIC(existing(), 'eth0')
  t.equal(last.action, 'delete')
  t.strictSame(last.action === 'delete' && last.endpoint.metadata?.finalizers, [])
})

t.test('the endpoint entry and the reservation entry carry the same fields', async (t) => {
  const dual = nic({ ipv6: 'fd00::1/64', ipv6Pool: 'v6', ipv6Gateway: 'fd00::fffe', vlan: 100, cleanGateway: true, routes: [{ dst: '10.7.0.0/16', gw: '10.6.0.254' }] })
  t.strictSame(reservedInterfaceOf(endpointNIC(dual)), dual)
  t.strictSame(reservedInterfaceOf({ interface: 'eth0', ipv4: '10.6.1.1/16', ipv4Pool: 'v4' }), { interface: 'eth0', vlan: 0, cleanGateway: false, routes: [], ipv4: '10.6.1.1/16', ipv4Pool: 'v4' })
})

t.test('result: addresses with gateways, a default route per gateway unless cleanGateway, then the pool and custom routes', async (t) => {
  const dual = nic({ ipv6: 'fd00::1/64', ipv6Pool: 'v6', ipv6Gateway: 'fd00::fffe', routes: [{ dst: '10.7.0.0/16', gw: '10.6.0.254' }, { dst: '0.0.0.0/0', gw: '10.6.0.1' }] })
  t.strictSame(ipamResult(dual, '1.0.0'), {
    cniVersion: '1.0.0',
    ips: [{ address: '10.6.1.1/16', gateway: '10.6.0.1' }, { address: 'fd00::1/64', gateway: 'fd00::fffe' }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.6.0.1' }, { dst: '::/0', gw: 'fd00::fffe' }, { dst: '10.7.0.0/16', gw: '10.6.0.254' }],
  })
  t.strictSame(ipamResult(nic({ cleanGateway: true }), '0.3.1'), { cniVersion: '0.3.1', ips: [{ address: '10.6.1.1/16', gateway: '10.6.0.1' }] })
  t.strictSame(ipamResult(nic({ ipv4Gateway: undefined }), '1.0.0'), { cniVersion: '1.0.0', ips: [{ address: '10.6.1.1/16' }] }, 'no gateway, no default route')
})

t.test('netconf: Spiderpool\'s ipam keys, our kubeconfig, every problem reported at once (code 7)', async (t) => {
  t.strictSame(readIPAMConfig({ name: 'n', ipam: { type: 'spiderpool', default_ipv4_ippool: ['a'], default_ipv6_ippool: ['b'], clean_gateway: true, match_master_subnet: false, log_level: 'INFO', log_file_path: '/x', ipam_unix_socket_path: '/y' } }), {
    defaultIPv4IPPool: ['a'],
    defaultIPv6IPPool: ['b'],
    cleanGateway: true,
    matchMasterSubnet: false,
    kubeconfig: defaultKubeconfigPath,
  })
  t.equal(readIPAMConfig({ name: 'n', kubeconfig: '/top', ipam: { type: 'spiderpool' } }).kubeconfig, '/top', 'a top-level kubeconfig (as the coordinator reads it) is used too')
  t.equal(readIPAMConfig({ name: 'n', kubeconfig: '/top', ipam: { type: 'spiderpool', kubeconfig: '/ipam' } }).kubeconfig, '/ipam')
  t.throws(() => readIPAMConfig({ name: 'n', ipam: { type: 'spiderpool', clean_gateway: 'yes', default_ipv6_ippool: [1], kubeconfig: 3 } }), {
    code: 7,
    message: 'invalid ipam section',
    details: 'ipam.default_ipv6_ippool is not a list of IPPool names; ipam.clean_gateway is not true or false; ipam.kubeconfig is not a file path',
  })
  t.throws(() => readIPAMConfig({ name: 'n' }), { code: 7, message: 'the network config has no ipam section' })
  t.equal(defaultKubeconfigPath, coordinatorKubeconfigPath, 'both plugins read the installer\'s kubeconfig')
})

t.test('CNI_ARGS name the pod; the uid is optional', async (t) => {
  t.strictSame(podIdentityOf({ K8S_POD_NAMESPACE: 'ns', K8S_POD_NAME: 'p', K8S_POD_UID: 'u' }), { namespace: 'ns', name: 'p', uid: 'u' })
  t.strictSame(podIdentityOf({ K8S_POD_NAMESPACE: 'ns', K8S_POD_NAME: 'p' }), { namespace: 'ns', name: 'p' })
  t.equal(podIdentityOf({ K8S_POD_NAME: 'p' }), undefined)
})

t.test('the pod: alive, owner, reservation entry; StatefulSet ordinals as Spiderpool judges them', async (t) => {
  const pod = (o: Record<string, unknown> = {}, status?: object) => ({ metadata: { name: 'web-1', namespace: 'default', uid: 'u', ...o }, ...(status ? { status } : {}) }) as never
  t.ok(isAlive(pod()))
  t.notOk(isAlive(pod({ deletionTimestamp: '2026-07-08T12:00:00Z' })))
  t.notOk(isAlive(pod({}, { phase: 'Succeeded' })))
  t.notOk(isAlive(pod({}, { phase: 'Failed' })))
  const rs = podFacts(pod({ labels: { 'pod-template-hash': '7c9f' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7c9f', uid: 'x', controller: true }] }), 'n1')
  t.match(rs, { ownerControllerType: 'Deployment', ownerControllerName: 'web', statefulSet: false, node: 'n1' })
  t.match(podFacts(pod({ ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'x', controller: true }] }), 'n1'), { statefulSet: true, ownerControllerType: 'StatefulSet' })
  t.match(podFacts(pod(), 'n1'), { ownerControllerType: 'Pod', ownerControllerName: 'web-1' })
  t.strictSame(reservationOf(pod(), 'eth0'), { problem: undefined })
  t.match(reservationOf(pod({ annotations: { 'ipam.spidernet.io/reservation': 'nope' } }), 'eth0'), { problem: /invalid annotation 'ipam\.spidernet\.io\/reservation': not JSON/ })
  const text = JSON.stringify({ token: 'r-aaaaaaaa', ips: [{ interface: 'net1', ipv4: '10.6.1.1/16', ipv4Pool: 'v4' }] })
  t.match(reservationOf(pod({ annotations: { 'ipam.spidernet.io/reservation': text } }), 'net1'), { reservation: { token: 'r-aaaaaaaa' }, entry: { interface: 'net1' } })
  t.equal(reservationOf(pod({ annotations: { 'ipam.spidernet.io/reservation': text } }), 'eth0').entry, undefined)

  t.equal(ordinalOf('web-12', 'web'), 12)
  t.equal(ordinalOf('web-01', 'web'), undefined)
  t.equal(ordinalOf('webx-1', 'web'), undefined)
  t.ok(statefulSetKeeps({ spec: { replicas: 3 } }, 'web-2', 'web'))
  t.notOk(statefulSetKeeps({ spec: { replicas: 3 } }, 'web-3', 'web'))
  t.ok(statefulSetKeeps({ spec: { replicas: 2, ordinals: { start: 5 } } }, 'web-6', 'web'))
  t.notOk(statefulSetKeeps({ spec: { replicas: 2, ordinals: { start: 5 } } }, 'web-4', 'web'))
  t.ok(statefulSetKeeps({ spec: {} }, 'web-0', 'web'), 'replicas default to 1')
  t.notOk(statefulSetKeeps(undefined, 'web-0', 'web'), 'a StatefulSet that is gone keeps nothing')
  t.notOk(statefulSetKeeps({ metadata: { deletionTimestamp: 'x' }, spec: { replicas: 1 } }, 'web-0', 'web'))
})
