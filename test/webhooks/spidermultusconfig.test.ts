import t, { type Test } from 'tap'
import { spiderMultusConfigWebhook as webhook } from '../../webhooks/spidermultusconfig/index.ts'
import { clusterFromObjects } from '../../webhooks/cluster.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import type { AdmissionContext } from '../../webhooks/kind.ts'
import type { SpiderMultusConfig } from '../../schemas/types.ts'
import type { FieldError } from '../../webhooks/field.ts'

/** Exactly these errors in this order: t.match alone lets an array have extra items. */
const matchErrors = (t: Test, errs: unknown, pattern: object[], message = 'field errors') => {
  t.equal((errs as unknown[]).length, pattern.length, `${message}: ${JSON.stringify(errs)}`)
  t.match(errs, pattern, message)
}

const ctx: AdmissionContext = { operation: 'CREATE', settings: defaultSettings(), cluster: clusterFromObjects(), dryRun: false }

const smc = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): SpiderMultusConfig =>
  ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderMultusConfig', metadata: { name: 'net1', namespace: 'default', ...metadata }, spec }) as SpiderMultusConfig

const defaulted = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => {
  const o = smc(spec, metadata)
  webhook.default(o, ctx)
  return o
}

const coordinatorFromScratch = {
  mode: 'auto',
  hijackCIDR: [],
  policyRoutes: [],
  vethLinkAddress: '',
  podMACPrefix: '',
  podDefaultRouteNIC: '',
  podRPFilter: 0,
  tunePodRoutes: true,
}

t.test('the webhook is registered as Spiderpool registers it', async (t) => {
  t.match(webhook, { kind: 'SpiderMultusConfig', pathName: 'spidermultusconfig', resource: 'spidermultusconfigs', namespaced: true })
  t.equal(webhook.validateDelete, undefined, 'DELETE is always allowed')
})

t.test('SMC-M-01 an absent cniType becomes custom', async (t) => {
  t.equal(defaulted({}).spec.cniType, 'custom')
  t.equal(defaulted({ cniType: 'macvlan', macvlan: { master: ['eth0'] } }).spec.cniType, 'macvlan')
})

t.test('SMC-M-02 macvlan: vlanID, mtu, rdmaResourceName, bond.options and ippools defaults, given values kept', async (t) => {
  const o = defaulted({ cniType: 'macvlan', macvlan: { master: ['eth0', 'eth1'], bond: { name: 'bond0', mode: 1 } } })
  t.same(o.spec.macvlan, { master: ['eth0', 'eth1'], bond: { name: 'bond0', mode: 1, options: '' }, vlanID: 0, mtu: 0, rdmaResourceName: '', ippools: {} })
  const kept = defaulted({ cniType: 'macvlan', macvlan: { master: ['eth0'], vlanID: 100, mtu: 1400, rdmaResourceName: 'r', ippools: { ipv4: ['a'] } } })
  t.same(kept.spec.macvlan, { master: ['eth0'], vlanID: 100, mtu: 1400, rdmaResourceName: 'r', ippools: { ipv4: ['a'] } })
  t.equal(defaulted({ cniType: 'macvlan' }).spec.macvlan, undefined, 'no block is made up')
})

t.test('SMC-M-03 ipvlan: the same defaults as macvlan', async (t) => {
  const o = defaulted({ cniType: 'ipvlan', ipvlan: { master: ['eth0'] } })
  t.same(o.spec.ipvlan, { master: ['eth0'], vlanID: 0, mtu: 0, rdmaResourceName: '', ippools: {} })
})

t.test('SMC-M-04 vlan: vlanMode manual with vlanID 0; auto mode leaves vlanID absent', async (t) => {
  t.same(defaulted({ cniType: 'vlan', vlan: { master: ['eth0'] } }).spec.vlan, {
    master: ['eth0'],
    vlanMode: 'manual',
    vlanID: 0,
    rdmaResourceName: '',
    mtu: 0,
    ippools: {},
  })
  const auto = defaulted({ cniType: 'vlan', vlan: { master: ['eth0', 'eth1'], vlanMode: 'auto', bond: { name: 'b', mode: 0 } } }).spec.vlan
  t.equal(auto?.vlanID, undefined)
  t.equal(auto?.bond?.options, '')
})

t.test('SMC-M-05 sriov: numeric defaults, resourceName "", ippools.matchMasterSubnet false', async (t) => {
  t.same(defaulted({ cniType: 'sriov', sriov: { resourceName: 'r' } }).spec.sriov, {
    resourceName: 'r',
    vlanID: 0,
    mtu: 0,
    minTxRateMbps: 0,
    maxTxRateMbps: 0,
    rdmaIsolation: false,
    ippools: { matchMasterSubnet: false },
  })
  t.same(defaulted({ cniType: 'sriov', sriov: { ippools: { ipv4: ['a'] } } }).spec.sriov?.ippools, { ipv4: ['a'], matchMasterSubnet: false })
  t.same(defaulted({ cniType: 'sriov', sriov: { ippools: { matchMasterSubnet: true } } }).spec.sriov?.ippools, { matchMasterSubnet: true })
  t.equal(defaulted({ cniType: 'sriov', sriov: {} }).spec.sriov?.resourceName, '')
})

t.test('SMC-M-06 ib-sriov: pkey, enableIbKubernetes, rdmaIsolation true, resourceName, linkState enable, ippools', async (t) => {
  t.same(defaulted({ cniType: 'ib-sriov', ibsriov: { resourceName: 'r' } }).spec.ibsriov, {
    resourceName: 'r',
    pkey: '',
    enableIbKubernetes: false,
    rdmaIsolation: true,
    linkState: 'enable',
    ippools: {},
  })
})

t.test('SMC-M-07 ipoib: ippools', async (t) => {
  t.same(defaulted({ cniType: 'ipoib', ipoib: { master: 'ib0' } }).spec.ipoib, { master: 'ib0', ippools: {} })
})

t.test('SMC-M-08 ovs: vlan 0 and ippools', async (t) => {
  t.same(defaulted({ cniType: 'ovs', ovs: { bridge: 'br1' } }).spec.ovs, { bridge: 'br1', vlan: 0, ippools: {} })
  t.equal(defaulted({ cniType: 'ovs', ovs: { bridge: 'br1', vlan: 20 } }).spec.ovs?.vlan, 20)
})

t.test('SMC-M-09 custom: customCNI "" when absent', async (t) => {
  t.equal(defaulted({ cniType: 'custom' }).spec.customCNI, '')
  t.equal(defaulted({ cniType: 'custom', customCNI: '{"type":"x"}' }).spec.customCNI, '{"type":"x"}')
  t.equal(defaulted({ cniType: 'macvlan', macvlan: { master: ['eth0'] } }).spec.customCNI, undefined)
})

t.test('SMC-M-10 custom: the coordinator is removed and enableCoordinator forced false', async (t) => {
  const o = defaulted({ cniType: 'custom', enableCoordinator: true, coordinator: { mode: 'underlay' } })
  t.equal(o.spec.coordinator, undefined)
  t.equal(o.spec.enableCoordinator, false)
  t.same(defaulted({}).spec, { cniType: 'custom', customCNI: '', enableCoordinator: false, chainCNIJsonData: [] })
})

t.test('SMC-M-11 no coordinator given: a complete default coordinator, enableCoordinator true', async (t) => {
  const o = defaulted({ cniType: 'macvlan', macvlan: { master: ['eth0'] } })
  t.same(o.spec.coordinator, coordinatorFromScratch)
  t.equal(o.spec.enableCoordinator, true)
  t.equal(defaulted({ cniType: 'macvlan', macvlan: { master: ['eth0'] }, enableCoordinator: false }).spec.enableCoordinator, false)
})

t.test('SMC-M-11 coordinator given: missing fields defaulted, tunePodRoutes true as the CRD default (quirk 4)', async (t) => {
  const o = defaulted({ cniType: 'ipvlan', ipvlan: { master: ['eth0'] }, coordinator: { mode: 'underlay' } })
  t.same(o.spec.coordinator, {
    mode: 'underlay',
    hijackCIDR: [],
    policyRoutes: [],
    podMACPrefix: '',
    podDefaultRouteNIC: '',
    tunePodRoutes: true,
    txQueueLen: 0,
    podRPFilter: 0,
  })
  t.notOk(o.spec.coordinator && 'vethLinkAddress' in o.spec.coordinator, 'vethLinkAddress is not defaulted here')
  const kept = defaulted({ cniType: 'ipvlan', ipvlan: { master: ['eth0'] }, coordinator: { tunePodRoutes: false, podRPFilter: 1, txQueueLen: 5 } })
  t.match(kept.spec.coordinator, { tunePodRoutes: false, podRPFilter: 1, txQueueLen: 5, mode: 'auto' })
})

t.test('SMC-M-11 an unknown cniType also gets the coordinator defaults (validation refuses it)', async (t) => {
  const o = defaulted({ cniType: 'flannel' })
  t.same(o.spec.coordinator, coordinatorFromScratch)
  matchErrors(t, webhook.validateCreate(o, ctx), [{ field: 'spec.cniType', type: 'FieldValueNotSupported', value: 'flannel' }])
})

t.test('SMC-M-11 with COORD-M-04/05: a bare hijackCIDR IP and a bare route dst become prefixes, IPv4 and IPv6', async (t) => {
  const o = defaulted({
    cniType: 'macvlan',
    macvlan: { master: ['eth0'] },
    coordinator: { hijackCIDR: ['10.0.0.1', 'FD00::1'], policyRoutes: [{ dst: 'FD00:20::1', gw: 'fd00::1' }] },
  })
  t.same(o.spec.coordinator?.hijackCIDR, ['10.0.0.1/32', 'FD00::1/128'])
  t.same(o.spec.coordinator?.policyRoutes, [{ dst: 'fd00:20::1/128', gw: 'fd00::1' }])
  const bad = defaulted({ cniType: 'macvlan', macvlan: { master: ['eth0'] }, coordinator: { hijackCIDR: ['10.0.0.1', 'bogus'] } })
  t.same(bad.spec.coordinator?.hijackCIDR, ['10.0.0.1', 'bogus'], 'left as written')
  matchErrors(t, webhook.validateCreate(bad, ctx), [{ field: 'spec.coordinator.hijackCIDR[1]' }])
})

t.test('SMC-M-12 chainCNIJsonData absent or null becomes []', async (t) => {
  t.same(defaulted({ cniType: 'macvlan', macvlan: { master: ['eth0'] } }).spec.chainCNIJsonData, [])
  t.same(defaulted({ cniType: 'custom', chainCNIJsonData: null }).spec.chainCNIJsonData, [])
  t.same(defaulted({ cniType: 'custom', chainCNIJsonData: ['{"type":"tuning"}'] }).spec.chainCNIJsonData, ['{"type":"tuning"}'])
})

t.test('SMC-M-13 the inject annotations are copied to labels of the same key and value', async (t) => {
  const o = defaulted(
    { cniType: 'macvlan', macvlan: { master: ['eth0'], rdmaResourceName: 'r', ippools: { ipv4: ['p'] } } },
    {
      labels: { app: 'x' },
      annotations: { 'cni.spidernet.io/rdma-resource-inject': 'group-a', 'cni.spidernet.io/network-resource-inject': '', other: 'y' },
    },
  )
  t.same(o.metadata.labels, { app: 'x', 'cni.spidernet.io/rdma-resource-inject': 'group-a', 'cni.spidernet.io/network-resource-inject': '' })
  t.equal(defaulted({ cniType: 'custom' }, { annotations: { other: 'y' } }).metadata.labels, undefined)
})

// UPDATE as kube-apiserver sends it after a merge patch (kubectl apply over an object it did not
// create): the stored object with the patch's fields laid over it.
const updateCtx: AdmissionContext = { ...ctx, operation: 'UPDATE' }
/** The stored object as the webhook defaulted it on create. */
const stored = (spec: Record<string, unknown>) => defaulted(spec)
const patched = (old: SpiderMultusConfig, patch: Record<string, unknown>) => smc({ ...structuredClone(old.spec), ...patch })
const updated = (old: SpiderMultusConfig, patch: Record<string, unknown>) => {
  const o = patched(old, patch)
  webhook.default(o, updateCtx, old)
  return o
}
/** A fresh one each time: defaulting changes the spec it is given in place. */
const macvlanPatch = () => ({ cniType: 'macvlan', macvlan: { master: ['eth0'] } })

t.test('custom → macvlan on UPDATE: the placeholder’s customCNI "" and enableCoordinator false go, the new type is defaulted as on create (deliberate difference)', async (t) => {
  const placeholder = stored({ cniType: 'custom', enableCoordinator: false })
  t.same(placeholder.spec, { cniType: 'custom', customCNI: '', enableCoordinator: false, chainCNIJsonData: [] }, 'what init leaves stored')
  const before = structuredClone(placeholder)
  const o = updated(placeholder, macvlanPatch())
  t.same(o.spec, defaulted(macvlanPatch()).spec, 'the same spec as a fresh create of the macvlan SMC')
  t.equal(o.spec.enableCoordinator, true)
  t.same(o.spec.coordinator, coordinatorFromScratch)
  t.same(webhook.validateUpdate(placeholder, o, updateCtx) as FieldError[], [], 'and the update is accepted')
  t.same(placeholder, before, 'the stored object is only read')

  const withoutStored = patched(placeholder, macvlanPatch())
  webhook.default(withoutStored, updateCtx)
  matchErrors(
    t,
    webhook.validateUpdate(placeholder, withoutStored, updateCtx),
    [{ field: 'spec.cniType', type: 'FieldValueForbidden', detail: /please remove other CNI configs/ }],
    'without the stored object (as Spiderpool) SMC-V-12 refuses it',
  )
  t.equal(withoutStored.spec.enableCoordinator, false)
})

t.test('custom → another type keeps what the user wrote: a non-empty customCNI is still refused by SMC-V-12', async (t) => {
  const mine = stored({ cniType: 'custom', customCNI: '{"cniVersion":"0.3.1","type":"bridge"}' })
  const o = updated(mine, macvlanPatch())
  t.equal(o.spec.customCNI, '{"cniVersion":"0.3.1","type":"bridge"}', 'not dropped')
  matchErrors(t, webhook.validateUpdate(mine, o, updateCtx), [{ field: 'spec.cniType', type: 'FieldValueForbidden', detail: /please remove other CNI configs/ }])
  t.equal(o.spec.enableCoordinator, true, 'the forced false of SMC-M-10 still goes')
})

t.test('custom → another type: enableCoordinator false is kept when the stored object did not have it false', async (t) => {
  // a custom SMC stored without this webhook (no SMC-M-10): the false is the update's own
  const unforced = smc({ cniType: 'custom', customCNI: '' })
  const o = updated(unforced, { ...macvlanPatch(), enableCoordinator: false })
  t.equal(o.spec.enableCoordinator, false)
  t.equal(o.spec.customCNI, undefined, 'the empty customCNI still goes')
})

t.test('the custom rule applies only when leaving custom', async (t) => {
  const macvlan = stored({ ...macvlanPatch(), enableCoordinator: false })
  const ipvlan = updated(macvlan, { cniType: 'ipvlan', macvlan: undefined, ipvlan: { master: ['eth1'] } })
  t.equal(ipvlan.spec.enableCoordinator, false, 'macvlan → ipvlan keeps enableCoordinator false')
  const stillCustom = updated(stored({ cniType: 'custom' }), { chainCNIJsonData: ['{"type":"tuning"}'] })
  t.same(stillCustom.spec, { cniType: 'custom', customCNI: '', enableCoordinator: false, chainCNIJsonData: ['{"type":"tuning"}'] }, 'custom → custom unchanged')
  const patchWithoutType = patched(stored({ cniType: 'custom' }), {})
  delete patchWithoutType.spec.cniType
  webhook.default(patchWithoutType, updateCtx, stored({ cniType: 'custom' }))
  t.match(patchWithoutType.spec, { cniType: 'custom', customCNI: '', enableCoordinator: false }, 'an absent cniType is custom (SMC-M-01): nothing dropped')
  const created = defaulted({ ...macvlanPatch(), customCNI: '', enableCoordinator: false })
  t.match(created.spec, { customCNI: '', enableCoordinator: false }, 'on CREATE nothing is dropped')
  matchErrors(t, webhook.validateCreate(created, ctx), [{ field: 'spec.cniType', type: 'FieldValueForbidden' }], 'and SMC-V-12 refuses it as Spiderpool does')
})

t.test('the custom rule never throws on an odd stored object', async (t) => {
  for (const old of [{ metadata: {} }, { spec: null }, { spec: 'custom' }, { spec: { cniType: 'custom', enableCoordinator: 'no' } }] as unknown as SpiderMultusConfig[]) {
    const o = smc({ ...macvlanPatch(), customCNI: '', enableCoordinator: false })
    t.doesNotThrow(() => webhook.default(o, updateCtx, old), JSON.stringify(old))
    t.equal(o.spec.enableCoordinator, false, `${JSON.stringify(old)}: enableCoordinator kept`)
  }
})

t.test('mutation is applied to a terminating object too', async (t) => {
  const o = defaulted({ cniType: 'macvlan', macvlan: { master: ['eth0'] } }, { deletionTimestamp: '2026-07-08T00:00:00Z' })
  t.equal(o.spec.macvlan?.vlanID, 0)
  t.same(o.spec.coordinator, coordinatorFromScratch)
})

t.test('a defaulted macvlan SMC passes validation', async (t) => {
  t.same(webhook.validateCreate(defaulted({ cniType: 'macvlan', macvlan: { master: ['eth0'] } }), ctx) as FieldError[], [])
})

t.test('default never throws on odd shapes and leaves what it cannot normalise to validation', async (t) => {
  const o = smc({ cniType: 'sriov', sriov: { ippools: null, resourceName: 'r' }, coordinator: { hijackCIDR: [5], policyRoutes: [null] } }, { annotations: null })
  t.doesNotThrow(() => webhook.default(o, ctx))
  t.same(o.spec.sriov?.ippools, { matchMasterSubnet: false })
  t.same(o.spec.coordinator?.hijackCIDR, [5])
  const bare = { metadata: { name: 'x' } } as SpiderMultusConfig
  t.doesNotThrow(() => webhook.default(bare, ctx))
  t.equal(bare.spec.cniType, 'custom')
})
