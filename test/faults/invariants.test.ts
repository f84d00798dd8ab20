// The invariant checker itself: each kind of broken state, written straight into the API (no
// webhook, no collector), is found and named; a sound state passes.
import path from 'node:path'
import t from 'tap'
import { serialiseRecords, type PoolRecord } from '../../ipam/records.ts'
import { startControlPlane } from '../../kube/controlplane/index.ts'
import { resources } from '../../kube/resources.ts'
import { createStore } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'
import { checkInvariants } from './invariants.ts'

const cp = await startControlPlane({ dataDir: path.join(t.testdir(), 'cp'), admission: false })
t.teardown(() => cp.close())
const store = createStore(createTransport({ server: cp.url, ca: cp.caPem, token: cp.token }))
t.teardown(() => store.transport.close())

const token = (n: number) => `r-${String(n).padStart(32, '0')}`
const annotation = (n: number, ip: string, pool: string) => ({ 'ipam.spidernet.io/reservation': JSON.stringify({ token: token(n), ips: [{ interface: 'eth0', ipv4: `${ip}/16`, ipv4Pool: pool }] }) })
const pod = async (name: string, annotations: Record<string, string> = {}, restartPolicy = 'Always') =>
  (await store.create(resources.pods, { metadata: { name, namespace: 'default', annotations }, spec: { restartPolicy, containers: [{ name: 'c', image: 'i' }] } } as never)) as { metadata: { uid: string } }
const endpoint = async (name: string, uid: string, ip: string, pool: string) => {
  await store.create(resources.endpoints, { metadata: { name, namespace: 'default' }, status: { current: { uid, node: 'n', ips: [{ interface: 'eth0', ipv4: `${ip}/16`, ipv4Pool: pool, vlan: 0, cleanGateway: false, routes: [] }] }, ownerControllerType: 'Pod', ownerControllerName: name } } as never)
}
const pool = async (name: string, records: PoolRecord[], counters: { allocatedIPCount?: number; totalIPCount?: number } = {}) => {
  await store.create(resources.ippools, { metadata: { name }, spec: { ipVersion: 4, subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.19'], gateway: '10.6.0.1' } } as never)
  const current = await store.get(resources.ippools, name)
  await store.updateStatus(resources.ippools, { ...current, status: { allocatedIPs: serialiseRecords(records), allocatedIPCount: records.length, totalIPCount: 10, ...counters } } as never)
}
const claimed = (ip: string, pod: string, podUid: string): PoolRecord => ({ ip, pod: `default/${pod}`, podUid, state: 'claimed', nic: 'eth0' })
const reserved = (ip: string, n: number, expiresAt: string): PoolRecord => ({ ip, pod: 'default/', podUid: '', state: 'reserved', token: token(n), nic: 'eth0', expiresAt })

t.test('a sound pool: claimed by a live pod, reserved for a pod that carries the token, counters exact', async (t) => {
  const a = await pod('sound-a')
  await endpoint('sound-a', a.metadata.uid, '10.6.0.10', 'sound')
  await pod('sound-b', annotation(1, '10.6.0.11', 'sound'))
  await pool('sound', [claimed('10.6.0.10', 'sound-a', a.metadata.uid), reserved('10.6.0.11', 1, new Date(Date.now() - 60_000).toISOString())])
  const report = await checkInvariants(store, { pools: ['sound'] })
  t.strictSame(report, { pools: 1, ipsChecked: 10, duplicates: [], leaks: [], pending: [], counters: [] })
})

t.test('found: an address two live pods hold, and one a live pod holds that its pool has free or gives to another', async (t) => {
  const a = await pod('dup-a')
  const b = await pod('dup-b')
  await endpoint('dup-a', a.metadata.uid, '10.6.0.10', 'dup')
  await endpoint('dup-b', b.metadata.uid, '10.6.0.10', 'dup')
  await pod('dup-c', annotation(2, '10.6.0.12', 'dup'))
  await pool('dup', [claimed('10.6.0.10', 'dup-a', a.metadata.uid)])
  const report = await checkInvariants(store, { pools: ['dup'] })
  t.match(report.duplicates, [/10\.6\.0\.10 is held by default\/dup-a \(claimed\) and default\/dup-b/, /10\.6\.0\.10: default\/dup-b holds it .* records it for default\/dup-a/, /10\.6\.0\.12: default\/dup-c holds it \(reserved\) but the pool has it free/])
  t.equal(report.duplicates.length, 3)
})

t.test('found: a record of a gone pod, of a finished pod, and an expired reservation no pod carries; a fresh one is only pending', async (t) => {
  const done = await pod('leak-done', {}, 'Never')
  await store.updateStatus(resources.pods, { ...(await store.get(resources.pods, 'leak-done', { namespace: 'default' })), status: { phase: 'Succeeded' } } as never)
  const records = [
    claimed('10.6.0.10', 'leak-gone', 'uid-gone'),
    claimed('10.6.0.11', 'leak-done', done.metadata.uid),
    reserved('10.6.0.12', 3, new Date(Date.now() - 60_000).toISOString()),
    reserved('10.6.0.13', 4, new Date(Date.now() + 60_000).toISOString()),
  ]
  await pool('leak', records)
  const report = await checkInvariants(store, { pools: ['leak'] })
  t.match(report.leaks, [/10\.6\.0\.10 .*its Pod is gone or finished/, /10\.6\.0\.11 .*its Pod is gone or finished/, /10\.6\.0\.12 .*no live Pod carries token/])
  t.equal(report.leaks.length, 3)
  t.equal(report.pending.length, 1)
  t.equal(report.duplicates.length, 0)
})

t.test('found: a reservation whose token a pod carries for another address, and a claimed address the pod\'s SpiderEndpoint does not use', async (t) => {
  await pod('extra-a', annotation(5, '10.6.0.10', 'extra'))
  const b = await pod('extra-b')
  await endpoint('extra-b', b.metadata.uid, '10.6.0.12', 'extra')
  const stale = new Date(Date.now() - 60_000).toISOString()
  await pool('extra', [reserved('10.6.0.10', 5, stale), reserved('10.6.0.11', 5, stale), claimed('10.6.0.12', 'extra-b', b.metadata.uid), claimed('10.6.0.13', 'extra-b', b.metadata.uid)])
  const report = await checkInvariants(store, { pools: ['extra'] })
  t.match(report.leaks, [/10\.6\.0\.11 .*no live Pod carries token/, /10\.6\.0\.13 .*SpiderEndpoint does not use it/])
  t.equal(report.leaks.length, 2)
})

t.test('found: allocatedIPCount and totalIPCount that the records and the spec contradict', async (t) => {
  await pool('counters', [], { allocatedIPCount: 2, totalIPCount: 11 })
  const report = await checkInvariants(store, { pools: ['counters'] })
  t.strictSame(report.counters, ['IPPool counters: allocatedIPCount 2, 0 records', 'IPPool counters: totalIPCount 11, the spec gives 10'])
})
