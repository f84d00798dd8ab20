import t from 'tap'
import { spiderIPPoolWebhook as webhook } from '../../webhooks/spiderippool/index.ts'
import { clusterFromObjects, type ClusterContents } from '../../webhooks/cluster.ts'
import { defaultSettings, type Settings } from '../../webhooks/settings.ts'
import type { AdmissionContext } from '../../webhooks/kind.ts'
import type { SpiderIPPool, SpiderSubnet } from '../../schemas/types.ts'

const ctx = (cluster: ClusterContents = {}, settings: Partial<Settings> = {}): AdmissionContext => ({
  operation: 'CREATE',
  settings: { ...defaultSettings(), ...settings },
  cluster: clusterFromObjects(cluster),
  dryRun: false,
})

const pool = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): SpiderIPPool =>
  ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'pool', ...metadata }, spec }) as SpiderIPPool

const subnet = (name: string, spec: Record<string, unknown>, labels?: Record<string, string>): SpiderSubnet =>
  ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', metadata: { name, uid: `uid-${name}`, labels }, spec }) as SpiderSubnet

const defaulted = (p: SpiderIPPool, context = ctx()) => {
  webhook.default(p, context)
  return p
}

t.test('the webhook is registered as Spiderpool registers it', async (t) => {
  t.match(webhook, { kind: 'SpiderIPPool', pathName: 'spiderippool', resource: 'spiderippools', namespaced: false })
  t.type(webhook.validateDelete, 'function')
})

t.test('IPPOOL-M-01 a terminating pool is not mutated at all', async (t) => {
  const terminating = pool({ subnet: '10.6.0.0/16', ips: ['10.6.0.3', '10.6.0.2'] }, { deletionTimestamp: '2026-01-01T00:00:00Z' })
  const before = structuredClone(terminating)
  t.same(defaulted(terminating), before)
  const live = defaulted(pool({ subnet: '10.6.0.0/16', ips: ['10.6.0.3', '10.6.0.2'] }))
  t.not(JSON.stringify(live), JSON.stringify(pool({ subnet: '10.6.0.0/16', ips: ['10.6.0.3', '10.6.0.2'] })), 'a live pool is mutated')
})

t.test('IPPOOL-M-02 the finalizer is appended when missing and not repeated', async (t) => {
  t.same(defaulted(pool({ subnet: '10.6.0.0/16' }, { finalizers: ['other'] })).metadata.finalizers, ['other', 'spiderpool.spidernet.io'])
  t.same(defaulted(pool({ subnet: '10.6.0.0/16' }, { finalizers: ['spiderpool.spidernet.io'] })).metadata.finalizers, ['spiderpool.spidernet.io'])
})

t.test('IPPOOL-M-03 ipVersion is derived from the subnet; a subnet that is no CIDR stops mutation', async (t) => {
  t.equal(defaulted(pool({ subnet: '172.18.40.0/24' })).spec.ipVersion, 4)
  t.equal(defaulted(pool({ subnet: 'fd00:10::/120' })).spec.ipVersion, 6)
  t.equal(defaulted(pool({ subnet: 'fd00:10::/120', ipVersion: 6 })).spec.ipVersion, 6, 'a given version is kept')
  const bad = defaulted(pool({ subnet: '172.18.40.0/33', ips: ['172.18.40.2', '172.18.40.1'] }))
  t.equal(bad.spec.ipVersion, undefined)
  t.same(bad.metadata.finalizers, ['spiderpool.spidernet.io'], 'the finalizer came first')
  t.equal(bad.metadata.labels, undefined, 'no label')
  t.same(bad.spec.ips, ['172.18.40.2', '172.18.40.1'], 'ips not merged')
})

t.test('IPPOOL-M-04 the ippool-cidr label encodes the subnet, overwriting a stale value', async (t) => {
  t.equal(defaulted(pool({ subnet: '172.18.40.0/24' })).metadata.labels?.['ipam.spidernet.io/ippool-cidr'], '172-18-40-0-24')
  t.equal(defaulted(pool({ subnet: 'abcd:1234::/120' })).metadata.labels?.['ipam.spidernet.io/ippool-cidr'], 'abcd-1234---120')
  const stale = defaulted(pool({ subnet: 'fd00:10::/120' }, { labels: { 'ipam.spidernet.io/ippool-cidr': 'old', app: 'x' } }))
  t.same(stale.metadata.labels, { 'ipam.spidernet.io/ippool-cidr': 'fd00-10---120', app: 'x' })
  const mismatch = defaulted(pool({ subnet: 'fd00:10::/120', ipVersion: 4, ips: ['fd00:10::2', 'fd00:10::1'] }))
  t.equal(mismatch.metadata.labels, undefined, 'an IPv6 subnet in an IPv4 pool stops mutation')
  t.same(mismatch.spec.ips, ['fd00:10::2', 'fd00:10::1'])
})

t.test('IPPOOL-M-05 with the SpiderSubnet feature on, the subnet of the same CIDR becomes the controller', async (t) => {
  const s = subnet('subnet-a', { subnet: '10.6.0.0/16', ipVersion: 4 }, { 'ipam.spidernet.io/subnet-cidr': '10-6-0-0-16' })
  const adopted = defaulted(pool({ subnet: '10.6.0.0/16', ips: ['10.6.0.2', '10.6.0.1'] }), ctx({ subnets: [s] }))
  t.same(adopted.metadata.ownerReferences, [
    { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', name: 'subnet-a', uid: 'uid-subnet-a', controller: true, blockOwnerDeletion: true },
  ])
  t.equal(adopted.metadata.labels?.['ipam.spidernet.io/owner-spider-subnet'], 'subnet-a')
  t.same(adopted.spec.ips, ['10.6.0.1-10.6.0.2'], 'mutation goes on')

  const featureOff = defaulted(pool({ subnet: '10.6.0.0/16' }), ctx({ subnets: [s] }, { enableSpiderSubnet: false }))
  t.equal(featureOff.metadata.ownerReferences, undefined, 'feature off: no owner')
  const orphan = defaulted(pool({ subnet: '10.7.0.0/16', ips: ['10.7.0.2', '10.7.0.1'] }), ctx({ subnets: [s] }))
  t.equal(orphan.metadata.ownerReferences, undefined, 'no subnet of that CIDR: an orphan pool')
  t.same(orphan.spec.ips, ['10.7.0.1-10.7.0.2'])

  const foreign = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u1', controller: true }
  const owned = defaulted(pool({ subnet: '10.6.0.0/16', ips: ['10.6.0.2', '10.6.0.1'] }, { ownerReferences: [foreign] }), ctx({ subnets: [s] }))
  t.same(owned.metadata.ownerReferences, [foreign], 'another controller: stop')
  t.equal(owned.metadata.labels?.['ipam.spidernet.io/owner-spider-subnet'], undefined)
  t.same(owned.spec.ips, ['10.6.0.2', '10.6.0.1'], 'nothing after the stop is mutated')
})

t.test('IPPOOL-M-05 a pool already labelled with its controller subnet is left as it is', async (t) => {
  const s = subnet('subnet-a', { subnet: '10.6.0.0/16', ipVersion: 4, gateway: '10.6.0.1' }, { 'ipam.spidernet.io/subnet-cidr': '10-6-0-0-16' })
  const ref = { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', name: 'subnet-a', uid: 'uid-subnet-a', controller: true, blockOwnerDeletion: true }
  const p = defaulted(pool({ subnet: '10.6.0.0/16' }, { ownerReferences: [ref], labels: { 'ipam.spidernet.io/owner-spider-subnet': 'subnet-a' } }), ctx({ subnets: [s] }))
  t.same(p.metadata.ownerReferences, [ref])
  t.equal(p.spec.gateway, undefined, 'no inheritance either')
})

t.test('IPPOOL-M-06 gateway and routes are inherited from the controller subnet unless the pool has its own', async (t) => {
  const routes = [{ dst: '10.8.0.0/16', gw: '10.6.0.254' }]
  const s = subnet('subnet-a', { subnet: '10.6.0.0/16', ipVersion: 4, gateway: '10.6.0.1', routes }, { 'ipam.spidernet.io/subnet-cidr': '10-6-0-0-16' })
  const inherits = defaulted(pool({ subnet: '10.6.0.0/16' }), ctx({ subnets: [s] }))
  t.equal(inherits.spec.gateway, '10.6.0.1')
  t.same(inherits.spec.routes, routes)
  t.not(inherits.spec.routes, s.spec.routes, 'a copy, not the subnet list itself')
  const own = defaulted(pool({ subnet: '10.6.0.0/16', gateway: '10.6.0.2', routes: [] }), ctx({ subnets: [s] }))
  t.equal(own.spec.gateway, '10.6.0.2')
  t.same(own.spec.routes, [], 'an explicit empty list opts out')
})

t.test('IPPOOL-M-07 ips with several entries are merged; one entry or an invalid list stays as written', async (t) => {
  t.same(defaulted(pool({ subnet: '172.18.40.0/24', ips: ['172.18.40.10', '172.18.40.1-172.18.40.2', '172.18.40.2-172.18.40.3'] })).spec.ips, [
    '172.18.40.1-172.18.40.3',
    '172.18.40.10',
  ])
  t.same(defaulted(pool({ subnet: 'abcd:1234::/120', ips: ['abcd:1234::a', 'abcd:1234::1-abcd:1234::2', 'ABCD:1234::2-abcd:1234::3'] })).spec.ips, [
    'abcd:1234::1-abcd:1234::3',
    'abcd:1234::a',
  ])
  t.same(defaulted(pool({ subnet: '10.0.0.0/24', ips: ['10.0.0.1-10.0.0.1'] })).spec.ips, ['10.0.0.1-10.0.0.1'], 'a single entry is not merged')
  const bad = defaulted(pool({ subnet: '10.0.0.0/24', ips: ['10.0.0.1', '10.0.0.9-10.0.0.2'], excludeIPs: ['10.0.0.5', '10.0.0.4'] }))
  t.same(bad.spec.ips, ['10.0.0.1', '10.0.0.9-10.0.0.2'], 'a reversed entry fails the merge')
  t.same(bad.spec.excludeIPs, ['10.0.0.5', '10.0.0.4'], 'and excludeIPs are then not merged either')
})

t.test('IPPOOL-M-08 excludeIPs with several entries are merged; one entry stays as written', async (t) => {
  t.same(defaulted(pool({ subnet: '10.0.0.0/24', excludeIPs: ['10.0.0.5', '10.0.0.4', '10.0.0.9'] })).spec.excludeIPs, ['10.0.0.4-10.0.0.5', '10.0.0.9'])
  t.same(defaulted(pool({ subnet: 'fd00::/64', excludeIPs: ['fd00::2', 'FD00::1'] })).spec.excludeIPs, ['fd00::1-fd00::2'])
  t.same(defaulted(pool({ subnet: 'fd00::/64', excludeIPs: ['FD00::1'] })).spec.excludeIPs, ['FD00::1'])
})

t.test('mutation never throws, whatever the object holds', async (t) => {
  for (const spec of [{}, { subnet: 42 }, { subnet: '10.0.0.0/8', ips: 'x' }, { subnet: '10.0.0.0/8', ipVersion: 5, ips: ['a', 'b'] }, { subnet: '10.0.0.0/8', ips: [null, 3] }]) {
    t.doesNotThrow(() => webhook.default(pool(spec), ctx({ subnets: [subnet('s', { subnet: '10.0.0.0/8' })] })), JSON.stringify(spec))
  }
})
