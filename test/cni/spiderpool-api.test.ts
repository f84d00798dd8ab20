// The `spiderpool` IPAM plugin against a real API with nothing else acting on it: the local
// control plane alone (no webhook, no collector), reservations written as the webhook writes them,
// the plugin dispatched in this process. What a record and an endpoint become is the plugin's work alone.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { dispatch } from '../../cni/skel.ts'
import { createSpiderpoolIPAM } from '../../cni/spiderpool/index.ts'
import { parseRecords, serialiseRecords, type PoolRecord } from '../../ipam/records.ts'
import { encodeReservation, newReservationToken, reservationAnnotation, type ReservedInterface } from '../../ipam/reservation.ts'
import { startControlPlane } from '../../kube/controlplane/index.ts'
import { isConflict, isNotFound } from '../../kube/errors.ts'
import { resources } from '../../kube/resources.ts'
import { createStore } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'
import type { SpiderEndpoint } from '../../schemas/types.ts'

const dir = t.testdir()
const cp = await startControlPlane({ dataDir: path.join(dir, 'cp'), port: 0, admission: false })
t.teardown(() => cp.close())
const store = createStore(createTransport({ server: cp.url, ca: cp.caPem, token: cp.token }))
t.teardown(() => store.transport.close())
const kubeconfig = path.join(dir, 'cni.kubeconfig')
writeFileSync(
  kubeconfig,
  JSON.stringify({
    clusters: [{ name: 'c', cluster: { server: cp.url, 'certificate-authority-data': Buffer.from(cp.caPem).toString('base64') } }],
    users: [{ name: 'u', user: { token: cp.token } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'c',
  }),
)
const plugin = createSpiderpoolIPAM()

const gw4 = '10.6.0.1'
const gw6 = 'fd00:6::1'
const pool = (name: string, ips: string, v6 = false) =>
  store.create(resources.ippools, {
    metadata: { name },
    spec: v6 ? { ipVersion: 6, subnet: 'fd00:6::/64', ips: [ips], gateway: gw6 } : { ipVersion: 4, subnet: '10.6.0.0/16', ips: [ips], gateway: gw4 },
  } as never)
await pool('a4', '10.6.1.1-10.6.1.20')
await pool('b4', '10.6.2.1-10.6.2.20')
await pool('a6', 'fd00:6::1:1-fd00:6::1:20', true)

const recordsOf = async (name: string): Promise<PoolRecord[]> => parseRecords((await store.get(resources.ippools, name)).status?.allocatedIPs).records ?? []
async function editRecords(name: string, edit: (r: PoolRecord[]) => PoolRecord[]) {
  for (;;) {
    const p = await store.get(resources.ippools, name)
    const records = edit(parseRecords(p.status?.allocatedIPs).records ?? [])
    try {
      return await store.updateStatus(resources.ippools, { ...p, status: { ...p.status, allocatedIPs: serialiseRecords(records), allocatedIPCount: records.length } })
    } catch (err) {
      if (!isConflict(err)) throw err
    }
  }
}
const endpointOf = (name: string, namespace = 'default') =>
  store.get(resources.endpoints, name, { namespace }).catch((err): SpiderEndpoint | undefined => {
    if (isNotFound(err)) return undefined
    throw err
  })

interface NicWant {
  interface: string
  v4?: { pool: string; address: string }
  v6?: { pool: string; address: string }
}

interface MadePod {
  name: string
  namespace: string
  uid: string
  token: string
}

/** A pod as the webhook leaves it: the reservation annotation, and a reserved record per address. */
async function reservedPod(name: string, nics: NicWant[], o: { namespace?: string; finalizers?: string[]; ownerReferences?: object[] } = {}): Promise<MadePod> {
  const namespace = o.namespace ?? 'default'
  const token = newReservationToken()
  const ips: ReservedInterface[] = nics.map((n) => {
    const e: ReservedInterface = { interface: n.interface, vlan: 0, cleanGateway: false, routes: [] }
    if (n.v4) Object.assign(e, { ipv4: `${n.v4.address}/16`, ipv4Pool: n.v4.pool, ipv4Gateway: gw4 })
    if (n.v6) Object.assign(e, { ipv6: `${n.v6.address}/64`, ipv6Pool: n.v6.pool, ipv6Gateway: gw6 })
    return e
  })
  const now = new Date()
  for (const n of nics) {
    for (const a of [n.v4, n.v6]) {
      if (!a) continue
      await editRecords(a.pool, (r) => [
        ...r,
        { ip: a.address, pod: `${namespace}/`, podUid: '', state: 'reserved', token, nic: n.interface, reservedAt: now.toISOString(), expiresAt: new Date(now.getTime() + 120_000).toISOString() },
      ])
    }
  }
  const metadata: Record<string, unknown> = { name, namespace, annotations: { [reservationAnnotation]: encodeReservation({ token, ips }) } }
  if (o.finalizers) metadata.finalizers = o.finalizers
  if (o.ownerReferences) metadata.ownerReferences = o.ownerReferences
  const pod = await store.create(resources.pods, { metadata, spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'x' }] } } as never)
  return { name, namespace, uid: pod.metadata!.uid!, token }
}

const netconf = (ipam: Record<string, unknown> = {}, cniVersion = '1.0.0') => ({ cniVersion, name: 'macvlan-ens192', type: 'macvlan', master: 'ens192', ipam: { type: 'spiderpool', kubeconfig, ...ipam } })

interface Call {
  ifName?: string
  uid?: string
  config?: object
  prevResult?: unknown
  containerId?: string
}
async function run(command: 'ADD' | 'DEL' | 'CHECK', pod: { name: string; namespace?: string }, c: Call = {}) {
  const args = ['IgnoreUnknown=1', `K8S_POD_NAMESPACE=${pod.namespace ?? 'default'}`, `K8S_POD_NAME=${pod.name}`]
  if (c.uid) args.push(`K8S_POD_UID=${c.uid}`)
  const config = { ...(c.config ?? netconf()), ...(c.prevResult ? { prevResult: c.prevResult } : {}) }
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: c.containerId ?? 'c0ffee', CNI_NETNS: '/var/run/netns/test-pod', CNI_IFNAME: c.ifName ?? 'eth0', CNI_ARGS: args.join(';'), CNI_PATH: '/opt/cni/bin' }
  const outcome = await dispatch(plugin, { about: 'test' }, { env, readStdin: async () => JSON.stringify(config) })
  return { ...outcome, out: outcome.stdout ? JSON.parse(outcome.stdout) : undefined }
}

const deletePod = (p: MadePod) => store.delete(resources.pods, p.name, { namespace: p.namespace })
const holdRelease = ['test.spidernet.io/hold']

t.test('ADD claims the reservation: reserved → claimed with the pod\'s name, uid and node; the SpiderEndpoint records the NIC; the result has the address, gateway and default route', async (t) => {
  const p = await reservedPod('claim', [{ interface: 'eth0', v4: { pool: 'a4', address: '10.6.1.1' } }])
  const r = await run('ADD', p)
  t.equal(r.exitCode, 0, r.stdout)
  t.strictSame(r.out, { cniVersion: '1.0.0', ips: [{ address: '10.6.1.1/16', gateway: gw4 }], routes: [{ dst: '0.0.0.0/0', gw: gw4 }] })
  const [record] = (await recordsOf('a4')).filter((x) => x.ip === '10.6.1.1')
  t.match(record, { pod: 'default/claim', podUid: p.uid, state: 'claimed', token: p.token, nic: 'eth0', node: 'node-1' })
  t.equal(record.expiresAt, undefined, 'no expiry once claimed')
  const endpoint = await endpointOf('claim')
  t.match(endpoint, {
    metadata: { finalizers: ['spiderpool.spidernet.io'], ownerReferences: [{ kind: 'Pod', name: 'claim', uid: p.uid }] },
    status: { current: { uid: p.uid, node: 'node-1', ips: [{ interface: 'eth0', ipv4: '10.6.1.1/16', ipv4Pool: 'a4', ipv4Gateway: gw4, cleanGateway: false, vlan: 0 }] }, ownerControllerType: 'Pod', ownerControllerName: 'claim' },
  })
  const old = await run('ADD', p, { config: netconf({}, '0.3.1') })
  t.strictSame(old.out, { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.6.1.1/16', gateway: gw4 }], routes: [{ dst: '0.0.0.0/0', gw: gw4 }], dns: {} }, 'a 0.3.1 config gets a 0.3.1 result')
})

t.test('ADD retried with the same container id and uid answers the same, writing nothing more', async (t) => {
  const p = await reservedPod('retried', [{ interface: 'eth0', v4: { pool: 'a4', address: '10.6.1.2' } }])
  const first = await run('ADD', p, { uid: p.uid })
  const version = (await store.get(resources.ippools, 'a4')).metadata?.resourceVersion
  const endpointVersion = (await endpointOf('retried'))?.metadata?.resourceVersion
  for (let i = 0; i < 3; i++) t.strictSame((await run('ADD', p, { uid: p.uid })).out, first.out)
  t.equal((await store.get(resources.ippools, 'a4')).metadata?.resourceVersion, version, 'the pool was not written again')
  t.equal((await endpointOf('retried'))?.metadata?.resourceVersion, endpointVersion, 'nor the endpoint')
})

t.test('cleanGateway and routes: no default route, the pool and custom routes kept', async (t) => {
  const p = await reservedPod('clean', [{ interface: 'net1', v4: { pool: 'a4', address: '10.6.1.3' } }])
  const current = await store.get(resources.pods, 'clean', { namespace: 'default' })
  const reservation = JSON.parse(current.metadata!.annotations![reservationAnnotation])
  reservation.ips[0].cleanGateway = true
  reservation.ips[0].routes = [{ dst: '10.7.0.0/16', gw: '10.6.0.254' }]
  await store.update(resources.pods, { ...current, metadata: { ...current.metadata, annotations: { [reservationAnnotation]: JSON.stringify(reservation) } } })
  const r = await run('ADD', p, { ifName: 'net1' })
  t.strictSame(r.out.routes, [{ dst: '10.7.0.0/16', gw: '10.6.0.254' }])
  t.match((await endpointOf('clean'))?.status?.current.ips, [{ interface: 'net1', cleanGateway: true, routes: [{ dst: '10.7.0.0/16', gw: '10.6.0.254' }] }])
})

t.test('DEL of a live pod does nothing: the next sandbox gets the same address', async (t) => {
  const p = await reservedPod('alive', [{ interface: 'eth0', v4: { pool: 'a4', address: '10.6.1.4' } }])
  const first = await run('ADD', p)
  const del = await run('DEL', p)
  t.equal(del.exitCode, 0)
  t.match(del.stderr, 'the Pod is alive')
  t.ok((await recordsOf('a4')).some((r) => r.podUid === p.uid))
  t.ok(await endpointOf('alive'))
  t.strictSame((await run('ADD', p, { containerId: 'new-sandbox' })).out, first.out)
})

t.test('DEL after the pod is gone releases its record and removes its SpiderEndpoint; DEL twice succeeds', async (t) => {
  const p = await reservedPod('gone', [{ interface: 'eth0', v4: { pool: 'a4', address: '10.6.1.5' } }])
  await run('ADD', p)
  await deletePod(p)
  t.ok((await endpointOf('gone'))?.metadata?.deletionTimestamp, 'the endpoint waits, terminating, on its finalizer')
  const first = await run('DEL', p, { uid: p.uid })
  t.equal(first.exitCode, 0)
  t.match(first.stderr, 'released 10.6.1.5')
  t.notOk((await recordsOf('a4')).some((r) => r.ip === '10.6.1.5'))
  t.equal(await endpointOf('gone'), undefined)
  const second = await run('DEL', p, { uid: p.uid })
  t.equal(second.exitCode, 0)
  t.notMatch(second.stderr, 'released')
})

t.test('DEL without K8S_POD_UID of a gone pod releases by the uid its SpiderEndpoint records', async (t) => {
  const p = await reservedPod('no-uid', [{ interface: 'eth0', v4: { pool: 'a4', address: '10.6.1.6' } }])
  await run('ADD', p)
  await deletePod(p)
  t.match((await run('DEL', p)).stderr, 'released 10.6.1.6')
})

t.test('DEL without ADD: a terminating pod\'s reservation is released by its token; a pod the API never had is fine', async (t) => {
  const p = await reservedPod('no-add', [{ interface: 'eth0', v4: { pool: 'a4', address: '10.6.1.7' } }], { finalizers: holdRelease })
  await deletePod(p)
  const r = await run('DEL', p)
  t.equal(r.exitCode, 0)
  t.match(r.stderr, 'released 10.6.1.7')
  t.notOk((await recordsOf('a4')).some((x) => x.token === p.token))
  const never = await run('DEL', { name: 'never-was' })
  t.equal(never.exitCode, 0)
  t.match(never.stderr, 'no uid and no reservation')
})

t.test('a finished pod (Succeeded) is not alive: DEL releases', async (t) => {
  const p = await reservedPod('done', [{ interface: 'eth0', v4: { pool: 'a4', address: '10.6.1.8' } }])
  await run('ADD', p)
  const current = await store.get(resources.pods, 'done', { namespace: 'default' })
  await store.updateStatus(resources.pods, { ...current, status: { phase: 'Succeeded' } } as never)
  t.match((await run('DEL', p)).stderr, 'released 10.6.1.8')
})

t.test('two NICs: DEL of one releases only its record and drops it from the SpiderEndpoint; the last NIC takes the endpoint', async (t) => {
  const p = await reservedPod('two', [
    { interface: 'net1', v4: { pool: 'a4', address: '10.6.1.9' } },
    { interface: 'net2', v4: { pool: 'b4', address: '10.6.2.9' } },
  ], { finalizers: holdRelease })
  t.equal((await run('ADD', p, { ifName: 'net1' })).out.ips[0].address, '10.6.1.9/16')
  t.equal((await run('ADD', p, { ifName: 'net2' })).out.ips[0].address, '10.6.2.9/16')
  t.strictSame((await endpointOf('two'))?.status?.current.ips.map((i) => i.interface), ['net1', 'net2'])
  await deletePod(p)
  await run('DEL', p, { ifName: 'net1' })
  t.notOk((await recordsOf('a4')).some((r) => r.podUid === p.uid), 'net1 released')
  t.ok((await recordsOf('b4')).some((r) => r.podUid === p.uid), 'net2 kept')
  t.strictSame((await endpointOf('two'))?.status?.current.ips.map((i) => i.interface), ['net2'])
  await run('DEL', p, { ifName: 'net2' })
  t.notOk((await recordsOf('b4')).some((r) => r.podUid === p.uid))
  t.equal(await endpointOf('two'), undefined)
})

t.test('a reservation whose record is gone is not answered: a fresh address with a live record', async (t) => {
  const p = await reservedPod('vanished', [{ interface: 'eth0', v4: { pool: 'a4', address: '10.6.1.10' } }])
  await editRecords('a4', (r) => r.filter((x) => x.ip !== '10.6.1.10'))
  // the fresh choice follows the pod's pool sources as the webhook's did: here the netconf's
  const config = netconf({ default_ipv4_ippool: ['a4'] })
  const r = await run('ADD', p, { config })
  t.equal(r.exitCode, 0, r.stdout)
  t.match(r.stderr, 'IPPool a4: 10.6.1.10 has no record any more (the reservation was released); allocating a fresh IPv4 address')
  const address = r.out.ips[0].address.split('/')[0]
  t.match((await recordsOf('a4')).find((x) => x.ip === address), { pod: 'default/vanished', podUid: p.uid, state: 'claimed', nic: 'eth0' })
  t.match((await endpointOf('vanished'))?.status?.current.ips, [{ ipv4: r.out.ips[0].address, ipv4Pool: 'a4' }])
  t.strictSame((await run('ADD', p, { config })).out, r.out, 'and a retry keeps it')
})

t.test('a record another pod took meanwhile is lost; dual stack keeps the family it could claim', async (t) => {
  const p = await reservedPod('half', [{ interface: 'eth0', v4: { pool: 'a4', address: '10.6.1.11' }, v6: { pool: 'a6', address: 'fd00:6::1:11' } }])
  await editRecords('a6', (r) => r.map((x) => (x.ip === 'fd00:6::1:11' ? { ...x, token: newReservationToken() } : x)))
  const r = await run('ADD', p, { config: netconf({ default_ipv4_ippool: ['a4'], default_ipv6_ippool: ['a6'] }) })
  t.equal(r.exitCode, 0, r.stdout)
  t.match(r.stderr, 'IPPool a6: fd00:6::1:11 is reserved for another Pod; allocating a fresh IPv6 address')
  t.equal(r.out.ips[0].address, '10.6.1.11/16', 'IPv4 claimed as reserved')
  t.not(r.out.ips[1].address, 'fd00:6::1:11/64', 'IPv6 fresh')
  t.strictSame(r.out.routes, [{ dst: '0.0.0.0/0', gw: gw4 }, { dst: '::/0', gw: gw6 }])
  t.match((await recordsOf('a6')).find((x) => `${x.ip}/64` === r.out.ips[1].address), { podUid: p.uid, state: 'claimed' })
})

t.test('a token copied into a pod of another namespace claims nothing', async (t) => {
  const victim = await reservedPod('victim', [{ interface: 'eth0', v4: { pool: 'a4', address: '10.6.1.12' } }])
  const victimPod = await store.get(resources.pods, 'victim', { namespace: 'default' })
  await store.create(resources.namespaces, { metadata: { name: 'other' } } as never)
  await store.create(resources.pods, {
    metadata: { name: 'thief', namespace: 'other', annotations: { [reservationAnnotation]: victimPod.metadata!.annotations![reservationAnnotation] } },
    spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'x' }] },
  } as never)
  const r = await run('ADD', { name: 'thief', namespace: 'other' }, { config: netconf({ default_ipv4_ippool: ['b4'] }) })
  t.match(r.stderr, '10.6.1.12 is reserved in another namespace (default/)')
  t.match(r.out.ips[0].address, /^10\.6\.2\./, 'the thief gets an address of its own')
  t.match((await recordsOf('a4')).find((x) => x.ip === '10.6.1.12'), { state: 'reserved', token: victim.token })
})

t.test('no reservation and no Multus annotation (the cluster network\'s eth0): allocated from the netconf\'s default pools', async (t) => {
  const pod = await store.create(resources.pods, { metadata: { name: 'plain', namespace: 'default' }, spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'x' }] } } as never)
  const r = await run('ADD', { name: 'plain' }, { config: netconf({ default_ipv4_ippool: ['b4'], default_ipv6_ippool: ['a6'] }) })
  t.equal(r.exitCode, 0, r.stdout)
  t.match(r.out.ips, [{ address: /^10\.6\.2\.\d+\/16$/, gateway: gw4 }, { address: /^fd00:6::1:\w+\/64$/, gateway: gw6 }])
  t.match((await recordsOf('b4')).find((x) => `${x.ip}/16` === r.out.ips[0].address), { pod: 'default/plain', podUid: pod.metadata!.uid, state: 'claimed', node: 'node-1' })
  t.strictSame((await run('ADD', { name: 'plain' }, { config: netconf({ default_ipv4_ippool: ['b4'], default_ipv6_ippool: ['a6'] }) })).out, r.out, 'a retry finds what it got')
})

t.test('an earlier pod of the same name (stateless): its SpiderEndpoint is replaced by the new pod\'s', async (t) => {
  const first = await reservedPod('again', [{ interface: 'eth0', v4: { pool: 'a4', address: '10.6.1.13' } }])
  await run('ADD', first)
  await deletePod(first)
  const second = await reservedPod('again', [{ interface: 'eth0', v4: { pool: 'a4', address: '10.6.1.14' } }])
  const r = await run('ADD', second)
  t.equal(r.out.ips[0].address, '10.6.1.14/16')
  const endpoint = await endpointOf('again')
  t.match(endpoint, { metadata: { ownerReferences: [{ uid: second.uid }] }, status: { current: { uid: second.uid, ips: [{ ipv4: '10.6.1.14/16' }] } } })
  t.notOk(endpoint?.metadata?.deletionTimestamp)
})

t.test('StatefulSet: DEL keeps the address while the StatefulSet wants the ordinal; the next pod of the name takes it over under its uid; scaled down, it is released', async (t) => {
  const sts = await store.create(resources.statefulsets, { metadata: { name: 'db', namespace: 'default' }, spec: { replicas: 1, selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } } } } } as never)
  const owner = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: sts.metadata!.uid, controller: true }]
  const first = await reservedPod('db-0', [{ interface: 'eth0', v4: { pool: 'a4', address: '10.6.1.15' } }], { ownerReferences: owner })
  t.equal((await run('ADD', first)).out.ips[0].address, '10.6.1.15/16')
  t.equal((await endpointOf('db-0'))?.metadata?.ownerReferences, undefined)
  await deletePod(first)
  t.match((await run('DEL', first, { uid: first.uid })).stderr, 'StatefulSet db keeps')
  t.ok((await recordsOf('a4')).some((r) => r.ip === '10.6.1.15' && r.podUid === first.uid))

  // the webhook gives the next db-0 its recorded address without a fresh reservation record
  const pod = await store.create(resources.pods, {
    metadata: { name: 'db-0', namespace: 'default', ownerReferences: owner, annotations: { [reservationAnnotation]: encodeReservation({ token: newReservationToken(), ips: [{ interface: 'eth0', ipv4: '10.6.1.15/16', ipv4Pool: 'a4', ipv4Gateway: gw4, vlan: 0, cleanGateway: false, routes: [] }] }) } },
    spec: { nodeName: 'node-2', containers: [{ name: 'c', image: 'x' }] },
  } as never)
  const second = { name: 'db-0', namespace: 'default', uid: pod.metadata!.uid! }
  const r = await run('ADD', second)
  t.equal(r.out.ips[0].address, '10.6.1.15/16')
  t.match((await recordsOf('a4')).filter((x) => x.ip === '10.6.1.15'), [{ pod: 'default/db-0', podUid: second.uid, node: 'node-2' }])
  t.match((await endpointOf('db-0'))?.status?.current, { uid: second.uid, node: 'node-2' })

  await store.update(resources.statefulsets, { ...(await store.get(resources.statefulsets, 'db', { namespace: 'default' })), spec: { ...sts.spec, replicas: 0 } } as never)
  await store.delete(resources.pods, 'db-0', { namespace: 'default' })
  t.match((await run('DEL', second, { uid: second.uid })).stderr, 'released 10.6.1.15')
  t.equal(await endpointOf('db-0'), undefined)
})

t.test('CHECK: passes while the records give the pod its addresses, fails (100) naming the pool when they do not', async (t) => {
  const p = await reservedPod('checked', [{ interface: 'eth0', v4: { pool: 'a4', address: '10.6.1.16' } }])
  const add = await run('ADD', p)
  t.equal((await run('CHECK', p, { prevResult: add.out })).exitCode, 0)
  await editRecords('a4', (r) => r.map((x) => (x.ip === '10.6.1.16' ? { ...x, podUid: 'someone-else' } : x)))
  const r = await run('CHECK', p, { prevResult: add.out })
  t.match(r.out, { code: 100, msg: `Pod default/checked NIC eth0: IPPool a4 gives 10.6.1.16 to default/checked, not to the Pod (uid ${p.uid})` })
  const other = await run('CHECK', p, { prevResult: { ...add.out, ips: [{ address: '10.6.1.19/16' }] } })
  t.match(other.out, { code: 100, msg: /the result the runtime keeps has \[10\.6\.1\.19\], the SpiderEndpoint 10\.6\.1\.16/ })
})

t.test('the API does not answer: ADD fails with 11, DEL succeeds with a log line', async (t) => {
  const offline = path.join(dir, 'offline.kubeconfig')
  writeFileSync(offline, JSON.stringify({ clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }], contexts: [{ name: 'c', context: { cluster: 'c' } }], 'current-context': 'c' }))
  const add = await run('ADD', { name: 'x' }, { config: netconf({ kubeconfig: offline }) })
  t.match(add.out, { code: 11, msg: 'ADD of Pod default/x NIC eth0: the Kubernetes API is unavailable', details: /ECONNREFUSED/ })
  const del = await run('DEL', { name: 'x' }, { config: netconf({ kubeconfig: offline }) })
  t.equal(del.exitCode, 0)
  t.match(del.stderr, 'DEL succeeds and the collector releases what is left')
  const missing = await run('ADD', { name: 'x' }, { config: netconf({ kubeconfig: path.join(dir, 'nope') }) })
  t.match(missing.out, { code: 7, msg: /cannot use the kubeconfig .*nope/ })
})
