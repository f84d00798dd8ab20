import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startControlPlane } from '../../kube/controlplane/index.ts'
import { resources } from '../../kube/resources.ts'
import { createClusterSnapshot } from '../../kube/snapshot.ts'
import { createStore } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'
import type { SpiderIPPool, SpiderSubnet } from '../../schemas/types.ts'

// Every directory a test makes lives under one scratch directory, removed when the process exits.
const scratch = mkdtempSync(path.join(tmpdir(), 'kube-snapshot-'))
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }))

async function until(what: string, check: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const pool = (name: string, third: number): SpiderIPPool => ({
  metadata: { name },
  spec: { subnet: `10.${third}.0.0/24`, ips: [`10.${third}.0.10-10.${third}.0.20`] },
})

t.test('the cluster snapshot answers from informers over the control plane', async (t) => {
  const cp = await startControlPlane({ dataDir: mkdtempSync(path.join(scratch, 'plane-')), port: 0 })
  const transport = createTransport({ server: cp.url, ca: cp.caPem, token: cp.token })
  const store = createStore(transport)
  t.teardown(async () => {
    transport.close()
    await cp.close()
  })

  await store.create(resources.namespaces, { metadata: { name: 'net' } })
  for (const [name, third] of [['pool-b', 2], ['pool-c', 3], ['pool-a', 1]] as const) await store.create(resources.ippools, pool(name, third))
  const subnet: SpiderSubnet = { metadata: { name: 'subnet-1' }, spec: { subnet: '10.9.0.0/16', ips: ['10.9.0.10-10.9.0.200'] } }
  await store.create(resources.subnets, subnet)
  await store.create(resources.reservedIPs, { metadata: { name: 'reserved-1' }, spec: { ips: ['10.1.0.15'] } })
  await store.create(resources.multusConfigs, { metadata: { name: 'macvlan', namespace: 'net' }, spec: { cniType: 'macvlan', macvlan: { master: ['eth0'] } } })
  await store.create(resources.networkAttachmentDefinitions, { metadata: { name: 'macvlan', namespace: 'net' }, spec: { config: '{"cniVersion":"0.3.1"}' } })

  await store.create(resources.nodes, { metadata: { name: 'worker-2', labels: { zone: 'b' } }, spec: {}, status: { capacity: { cpu: '4' } } })
  await store.create(resources.nodes, { metadata: { name: 'worker-1', labels: { zone: 'a' } }, spec: {} })
  await store.create(resources.endpoints, {
    metadata: { name: 'web-0', namespace: 'net' },
    status: { current: { uid: 'u1', node: 'worker-1', ips: [{ interface: 'eth0', ipv4: '10.1.0.11/24', ipv4Pool: 'pool-a' }] }, ownerControllerName: 'web', ownerControllerType: 'StatefulSet' },
  })
  await store.create(resources.replicasets, {
    metadata: { name: 'web-5d8f', namespace: 'net', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true }] },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
  })

  const cluster = createClusterSnapshot(store)
  t.teardown(() => cluster.stop())
  t.notOk(cluster.hasSynced())
  cluster.start()
  await cluster.waitForSync({ timeoutMs: 5000 })
  t.ok(cluster.hasSynced())
  const s = cluster.snapshot

  t.test('lists come in name order and single lookups find by name', async (t) => {
    t.same(s.ippools().map((p) => p.metadata.name), ['pool-a', 'pool-b', 'pool-c'])
    t.equal(s.ippool('pool-b')?.spec.subnet, '10.2.0.0/24')
    t.equal(s.ippool('pool-z'), undefined)
    t.same(s.subnets().map((x) => x.metadata.name), ['subnet-1'])
    t.equal(s.subnet('subnet-1')?.spec.subnet, '10.9.0.0/16')
    t.same(s.reservedIPs().map((r) => r.spec.ips), [['10.1.0.15']])
    t.same(s.multusConfigs().map((m) => m.metadata.name), ['macvlan'])
    t.equal(s.multusConfig('net', 'macvlan')?.spec?.cniType, 'macvlan')
    t.equal(s.multusConfig('default', 'macvlan'), undefined, 'namespaced lookups look in the given namespace only')
    t.ok(s.networkAttachmentDefinition('net', 'macvlan'))
    t.equal(s.namespace('net')?.metadata.name, 'net')
    t.ok(s.namespace('kube-system'))
  })

  t.test('nodes, SpiderEndpoints and pod owners: nodes and owners carry metadata only', async (t) => {
    t.same(s.nodes().map((n) => n.metadata.name), ['worker-1', 'worker-2'])
    t.same(s.node('worker-2')?.metadata.labels, { zone: 'b' })
    t.equal((s.node('worker-2') as { status?: unknown }).status, undefined, 'no status cached for a node')
    t.equal(s.spiderEndpoint('net', 'web-0')?.status?.current.ips[0].ipv4, '10.1.0.11/24')
    t.equal(s.spiderEndpoint('default', 'web-0'), undefined)
    const rs = s.replicaSet('net', 'web-5d8f')
    t.match(rs?.metadata?.ownerReferences, [{ kind: 'Deployment', name: 'web' }])
    t.equal((rs as { spec?: unknown }).spec, undefined, 'no spec cached for a ReplicaSet')
    t.equal(s.job('net', 'any'), undefined, 'the control plane serves no Jobs, and the snapshot synced all the same')
  })

  t.test('a list is stable between changes and follows the cluster after one', async (t) => {
    const before = s.ippools()
    t.equal(s.ippools(), before, 'the same array while nothing changed')
    t.ok(Object.isFrozen(before), 'callers cannot reorder it')
    await store.create(resources.ippools, pool('pool-ab', 4))
    await until('the new pool', () => s.ippool('pool-ab') !== undefined)
    t.same(s.ippools().map((p) => p.metadata.name), ['pool-a', 'pool-ab', 'pool-b', 'pool-c'])
    await store.delete(resources.ippools, 'pool-b')
    await until('the pool to go', () => s.ippool('pool-b') === undefined)
    t.same(s.ippools().map((p) => p.metadata.name), ['pool-a', 'pool-ab', 'pool-c'])
    const a = s.ippool('pool-a')!
    await store.updateStatus(resources.ippools, { ...a, status: { allocatedIPCount: 3 } })
    await until('the status update', () => s.ippool('pool-a')?.status?.allocatedIPCount === 3)
    t.equal(s.ippools()[0].status?.allocatedIPCount, 3)
  })
})
