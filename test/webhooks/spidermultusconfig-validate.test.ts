import t, { type Test } from 'tap'
import { spiderMultusConfigWebhook as webhook } from '../../webhooks/spidermultusconfig/index.ts'
import { clusterFromObjects, type ClusterContents } from '../../webhooks/cluster.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import type { AdmissionContext, Operation } from '../../webhooks/kind.ts'
import type { NetworkAttachmentDefinition, SpiderMultusConfig } from '../../schemas/types.ts'
import type { FieldError } from '../../webhooks/field.ts'

/** Exactly these errors in this order: t.match alone lets an array have extra items. */
const matchErrors = (t: Test, errs: unknown, pattern: object[], message = 'field errors') => {
  t.equal((errs as unknown[]).length, pattern.length, `${message}: ${JSON.stringify(errs)}`)
  t.match(errs, pattern, message)
}

const ctx = (contents: ClusterContents = {}, operation: Operation = 'CREATE'): AdmissionContext => ({
  operation,
  settings: defaultSettings(),
  cluster: clusterFromObjects(contents),
  dryRun: false,
})

const smc = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): SpiderMultusConfig =>
  ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderMultusConfig', metadata: { name: 'net1', namespace: 'ns1', ...metadata }, spec }) as SpiderMultusConfig

/** Validation of the object as given (as Spiderpool's unit tests call it). */
const check = (o: SpiderMultusConfig, contents?: ClusterContents) => webhook.validateCreate(o, ctx(contents)) as FieldError[]
/** The admission path: defaulting, then validation. */
const admit = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}, contents?: ClusterContents) => {
  const o = smc(spec, metadata)
  webhook.default(o, ctx(contents))
  return check(o, contents)
}
const fields = (errs: FieldError[]) => errs.map((e) => e.field)

const macvlan = (config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ cniType: 'macvlan', macvlan: { master: ['eth0'], ...config }, ...extra })
const rdma = { 'cni.spidernet.io/rdma-resource-inject': 'gpu' }
const network = { 'cni.spidernet.io/network-resource-inject': 'gpu' }

const nad = (name: string, owner?: string): NetworkAttachmentDefinition =>
  ({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: {
      name,
      namespace: 'ns1',
      ...(owner ? { ownerReferences: [{ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderMultusConfig', name: owner, uid: 'u' }] } : {}),
    },
    spec: { config: '{}' },
  }) as NetworkAttachmentDefinition

t.test('SMC-V-01 a custom NAD name cannot change', async (t) => {
  const old = smc(macvlan(), { annotations: { 'multus.spidernet.io/cr-name': 'a' } })
  const same = smc(macvlan(), { annotations: { 'multus.spidernet.io/cr-name': 'a' } })
  webhook.default(same, ctx())
  t.same(webhook.validateUpdate(old, same, ctx({}, 'UPDATE')), [])
  const changed = smc(macvlan(), { annotations: { 'multus.spidernet.io/cr-name': 'b' } })
  webhook.default(changed, ctx())
  matchErrors(t, webhook.validateUpdate(old, changed, ctx({}, 'UPDATE')), [
    { field: 'metadata.annotations', type: 'FieldValueInvalid', detail: "it's unsupported to change customized Multus net-attach-def resource name from 'a' to 'b'" },
  ])
})

t.test('SMC-V-02 a custom NAD name cannot be added later; removing it is allowed', async (t) => {
  const plain = smc(macvlan())
  const named = smc(macvlan(), { annotations: { 'multus.spidernet.io/cr-name': 'x' } })
  for (const o of [plain, named]) webhook.default(o, ctx())
  matchErrors(t, webhook.validateUpdate(plain, named, ctx({}, 'UPDATE')), [
    { field: 'metadata.annotations', detail: "it's unsupported to changed Multus net-attach-def 'net1' to customized name 'x'" },
  ])
  t.same(webhook.validateUpdate(named, plain, ctx({}, 'UPDATE')), [])
})

t.test('SMC-V-03 a custom NAD name must be a DNS-1123 subdomain', async (t) => {
  t.same(admit(macvlan(), { annotations: { 'multus.spidernet.io/cr-name': 'macvlan.ens192-a' } }), [])
  for (const bad of ['', 'Macvlan', 'a_b', '-a', 'a.', 'x'.repeat(254)]) {
    const errs = admit(macvlan(), { annotations: { 'multus.spidernet.io/cr-name': bad } })
    t.match(errs, [{ field: 'metadata.annotations', type: 'FieldValueInvalid', detail: /^invalid custom net-attach-def resource name, err: \[.+\]$/ }], JSON.stringify(bad).slice(0, 20))
  }
  const [long] = admit(macvlan(), { annotations: { 'multus.spidernet.io/cr-name': 'x'.repeat(254) } })
  t.equal(long.detail, 'invalid custom net-attach-def resource name, err: [must be no more than 253 characters]')
})

t.test('SMC-V-04 a NAD of that name managed by another SMC is not taken over; an unowned or own NAD is fine', async (t) => {
  t.same(admit(macvlan(), {}, { networkAttachmentDefinitions: [nad('net1')] }), [], 'unowned: adopted')
  t.same(admit(macvlan(), {}, { networkAttachmentDefinitions: [nad('net1', 'net1')] }), [], 'owned by this SMC')
  t.same(admit(macvlan(), { namespace: 'ns2' }, { networkAttachmentDefinitions: [nad('net1', 'other')] }), [], 'another namespace')
  matchErrors(t, admit(macvlan(), {}, { networkAttachmentDefinitions: [nad('net1', 'other')] }), [
    { field: 'metadata.annotations', type: 'FieldValueInvalid', detail: 'the net-attach-def ns1/net1 already exists and is managed by SpiderMultusConfig ns1/other.' },
  ])
  matchErrors(t, admit(macvlan(), { annotations: { 'multus.spidernet.io/cr-name': 'custom' } }, { networkAttachmentDefinitions: [nad('custom', 'other')] }), [
    { field: 'metadata.annotations', detail: 'the net-attach-def ns1/custom already exists and is managed by SpiderMultusConfig ns1/other.' },
  ])
})

t.test('SMC-V-05 the cni-version annotation is 0.3.0, 0.3.1, 0.4.0 or 1.0.0', async (t) => {
  for (const v of ['0.3.0', '0.3.1', '0.4.0', '1.0.0']) t.same(admit(macvlan(), { annotations: { 'multus.spidernet.io/cni-version': v } }), [], v)
  matchErrors(t, admit(macvlan(), { annotations: { 'multus.spidernet.io/cni-version': '0.2.0' } }), [
    { field: 'metadata.annotations', value: '0.2.0', detail: 'unsupported CNI version 0.2.0' },
  ])
})

t.test('SMC-V-06 cniType must be set (an undefaulted object)', async (t) => {
  t.same(check(smc({ cniType: 'macvlan', macvlan: { master: ['eth0'] } })), [])
  matchErrors(t, check(smc({ macvlan: { master: ['eth0'] } })), [{ field: 'spec.cniType', type: 'FieldValueRequired', detail: 'cniType must not be nil' }])
})

t.test('an unknown cniType is refused as Unsupported value (the CRD enum, quirk 7)', async (t) => {
  const [err] = admit({ cniType: 'bridge' })
  t.match(err, { field: 'spec.cniType', type: 'FieldValueNotSupported', value: 'bridge' })
  t.match(err.detail, /"macvlan", "ipvlan", "vlan", "sriov", "ib-sriov", "ipoib", "ovs", "custom"/)
})

for (const type of ['macvlan', 'ipvlan'] as const) {
  const spec = (config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ cniType: type, [type]: { master: ['eth0'], ...config }, ...extra })

  t.test(`SMC-V-07 ${type}: the ${type} block is required`, async (t) => {
    t.same(admit(spec()), [])
    matchErrors(t, admit({ cniType: type }), [{ field: `spec.${type}`, type: 'FieldValueRequired', detail: `no spec.${type} specified` }])
  })

  t.test(`SMC-V-08 ${type}: vlanID within 0..4094`, async (t) => {
    t.same(admit(spec({ vlanID: 4094 })), [])
    matchErrors(t, check(smc(spec({ vlanID: 4095 }))), [{ field: `spec.${type}.vlanID`, value: 4095, detail: 'invalid vlanId 4095, please make sure vlanId in range [0,4094]' }])
    matchErrors(t, check(smc(spec({ vlanID: -1 }))), [{ field: `spec.${type}.vlanID` }])
  })

  t.test(`SMC-V-09 ${type}: mtu ≥ 0`, async (t) => {
    t.same(admit(spec({ mtu: 9000 })), [])
    matchErrors(t, check(smc(spec({ mtu: -1 }))), [{ field: `spec.${type}.mtu`, detail: 'MTU must be greater than or equal to 0' }])
  })

  t.test(`SMC-V-10 ${type}: matchMasterSubnet is not supported`, async (t) => {
    t.same(admit(spec({ ippools: { matchMasterSubnet: false } })), [])
    matchErrors(t, admit(spec({ ippools: { matchMasterSubnet: true } })), [
      { field: `spec.${type}.ippools.matchMasterSubnet`, detail: `MatchMasterSubnet feature is not supported for ${type}` },
    ])
  })

  t.test(`SMC-V-11 ${type}: master is not empty, several masters need a named bond`, async (t) => {
    t.same(admit(spec({ master: ['eth0', 'eth1'], bond: { name: 'bond0', mode: 1 } })), [])
    matchErrors(t, admit(spec({ master: [] })), [{ field: `spec.${type}.master`, detail: "master can't be empty" }])
    matchErrors(t, admit(spec({ master: ['eth0', 'eth1'] })), [{ field: `spec.${type}.bond`, detail: 'the bond property is nil with multiple Interfaces' }])
    matchErrors(t, admit(spec({ master: ['eth0', 'eth1'], bond: { name: '', mode: 1 } })), [{ field: `spec.${type}.bond.name`, detail: "bond name can't be empty" }])
  })

  t.test(`SMC-V-12 ${type}: no other CNI's config`, async (t) => {
    for (const other of [{ vlan: { master: ['eth0'] } }, { sriov: { resourceName: 'r' } }, { ovs: { bridge: 'br' } }, { ibsriov: {} }, { ipoib: {} }, { customCNI: '' }]) {
      matchErrors(t, admit(spec({}, other)), [
        { field: 'spec.cniType', type: 'FieldValueForbidden', detail: `the cniType ${type} only supports spec.${type}, please remove other CNI configs` },
      ], Object.keys(other)[0])
    }
  })

  t.test(`SMC-V-13 ${type}: rdma-resource-inject needs rdmaResourceName and at least one pool`, async (t) => {
    t.same(admit(spec({ rdmaResourceName: 'spidernet.io/rdma', ippools: { ipv6: ['v6'] } }), { annotations: rdma }), [])
    matchErrors(t, admit(spec({ ippools: { ipv4: ['v4'] } }), { annotations: rdma }), [
      { field: `spec.${type}.rdmaResourceName`, type: 'FieldValueRequired', detail: 'rdmaResourceName can not empty for spidermultusconfig ns1/net1' },
    ])
    t.same(
      admit(spec(), { annotations: rdma }).map((e) => [e.field, e.detail]),
      [
        [`spec.${type}.rdmaResourceName`, 'rdmaResourceName can not empty for spidermultusconfig ns1/net1'],
        [`spec.${type}.ippools`, 'no any ippools configured for spidermultusconfig ns1/net1'],
      ],
    )
  })

  t.test(`SMC-V-14 ${type}: network-resource-inject needs pools only when rdmaResourceName is set`, async (t) => {
    t.same(admit(spec(), { annotations: network }), [])
    t.same(admit(spec({ rdmaResourceName: 'r', ippools: { ipv4: ['v4'] } }), { annotations: network }), [])
    matchErrors(t, admit(spec({ rdmaResourceName: 'r' }), { annotations: network }), [
      { field: `spec.${type}.ippools`, detail: 'no any ippools configured for spidermultusconfig ns1/net1' },
    ])
  })
}

t.test('SMC-V-07 vlan: the vlan block is required', async (t) => {
  matchErrors(t, admit({ cniType: 'vlan' }), [{ field: 'spec.vlan', type: 'FieldValueRequired', detail: 'no spec.vlan specified' }])
})

t.test('SMC-V-15 vlan: vlanMode set; manual needs vlanID, auto forbids it; other modes refused', async (t) => {
  const vlan = (config: Record<string, unknown>) => smc({ cniType: 'vlan', vlan: { master: ['eth0'], ...config } })
  t.same(check(vlan({ vlanMode: 'manual', vlanID: 10 })), [])
  t.same(check(vlan({ vlanMode: 'auto' })), [])
  matchErrors(t, check(vlan({ vlanID: 10 })), [{ field: 'spec.vlan.vlanMode', type: 'FieldValueRequired', detail: 'vlanMode must not be nil' }])
  matchErrors(t, check(vlan({ vlanMode: 'manual' })), [{ field: 'spec.vlan.vlanID', detail: 'vlanId must not be nil when vlanMode is manual' }])
  matchErrors(t, check(vlan({ vlanMode: 'auto', vlanID: 10 })), [{ field: 'spec.vlan.vlanID', type: 'FieldValueForbidden', detail: 'vlanId must not be specified when vlanMode is auto' }])
  matchErrors(t, check(vlan({ vlanMode: 'trunk', vlanID: 10 })), [{ field: 'spec.vlan.vlanMode', value: 'trunk', detail: 'invalid vlanMode trunk, supported values are manual and auto' }])
})

t.test('SMC-V-08..V-14 vlan: as macvlan', async (t) => {
  const vlan = (config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ cniType: 'vlan', vlan: { master: ['eth0'], ...config }, ...extra })
  t.same(admit(vlan({ vlanID: 100, mtu: 1500 })), [])
  matchErrors(t, admit(vlan({ vlanID: 5000 })), [{ field: 'spec.vlan.vlanID', detail: 'invalid vlanId 5000, please make sure vlanId in range [0,4094]' }])
  matchErrors(t, admit(vlan({ mtu: -5 })), [{ field: 'spec.vlan.mtu' }])
  matchErrors(t, admit(vlan({ ippools: { matchMasterSubnet: true } })), [{ detail: 'MatchMasterSubnet feature is not supported for vlan' }])
  matchErrors(t, admit(vlan({ master: ['a', 'b'] })), [{ field: 'spec.vlan.bond' }])
  matchErrors(t, admit(vlan({}, { macvlan: { master: ['x'] } })), [{ field: 'spec.cniType', detail: 'the cniType vlan only supports spec.vlan, please remove other CNI configs' }])
  matchErrors(t, admit(vlan({}), { annotations: rdma }), [{ field: 'spec.vlan.rdmaResourceName' }, { field: 'spec.vlan.ippools' }])
  matchErrors(t, admit(vlan({ rdmaResourceName: 'r' }), { annotations: network }), [{ field: 'spec.vlan.ippools' }])
})

const sriov = (config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ cniType: 'sriov', sriov: { resourceName: 'spidernet.io/sriov', ...config }, ...extra })

t.test('SMC-V-07 sriov: the sriov block is required', async (t) => {
  t.same(admit(sriov()), [])
  matchErrors(t, admit({ cniType: 'sriov' }), [{ field: 'spec.sriov', type: 'FieldValueRequired', detail: 'no spec.sriov specified' }])
})

t.test('SMC-V-08 sriov: vlanID within 0..4094', async (t) => {
  t.same(admit(sriov({ vlanID: 0 })), [])
  matchErrors(t, admit(sriov({ vlanID: 4095 })), [{ field: 'spec.sriov.vlanID', detail: 'invalid vlanId 4095, please make sure vlanId in range [0,4094]' }])
})

t.test('SMC-V-16 sriov: a negative mtu is a plain Invalid at spec.sriov.mtu (Spiderpool crashes)', async (t) => {
  t.same(admit(sriov({ mtu: 1500 })), [])
  matchErrors(t, admit(sriov({ mtu: -1 })), [{ field: 'spec.sriov.mtu', type: 'FieldValueInvalid', value: -1, detail: 'MTU must be greater than or equal to 0' }])
})

t.test('SMC-V-17 sriov: minTxRateMbps must not exceed maxTxRateMbps (equal allowed)', async (t) => {
  t.same(admit(sriov({ minTxRateMbps: 100, maxTxRateMbps: 100 })), [])
  t.same(admit(sriov({ minTxRateMbps: 0, maxTxRateMbps: 0 })), [])
  matchErrors(t, admit(sriov({ minTxRateMbps: 200, maxTxRateMbps: 100 })), [{ field: 'spec.sriov.minTxRateMbps', value: 200, detail: 'minTxRateMbps must be less than maxTxRateMbps' }])
  matchErrors(t, admit(sriov({ minTxRateMbps: 10 })), [{ field: 'spec.sriov.minTxRateMbps' }], 'max defaults to 0 and a min above it is refused, as in Spiderpool')
})

t.test('SMC-V-18 sriov: resourceName is required and not empty', async (t) => {
  matchErrors(t, admit({ cniType: 'sriov', sriov: {} }), [{ field: 'spec.sriov.resourceName', type: 'FieldValueRequired', detail: 'no spec.sriov.resourceName specified' }])
  matchErrors(t, admit(sriov({ resourceName: '' })), [{ field: 'spec.sriov.resourceName' }])
})

t.test('SMC-V-10 does not apply to sriov: matchMasterSubnet is allowed', async (t) => {
  t.same(admit(sriov({ ippools: { matchMasterSubnet: true, ipv4: ['a'] } })), [])
})

t.test('SMC-V-12 sriov: no other CNI config', async (t) => {
  matchErrors(t, admit(sriov({}, { macvlan: { master: ['eth0'] } })), [{ field: 'spec.cniType', type: 'FieldValueForbidden', detail: 'the cniType sriov only supports spec.sriov, please remove other CNI configs' }])
})

t.test('SMC-V-13/V-14 sriov: injection checks use resourceName and need pools', async (t) => {
  t.same(admit(sriov({ ippools: { ipv4: ['a'] } }), { annotations: rdma }), [])
  matchErrors(t, admit(sriov(), { annotations: rdma }), [{ field: 'spec.sriov.ippools', detail: 'no any ippools configured for spidermultusconfig ns1/net1' }])
  matchErrors(t, admit(sriov(), { annotations: network }), [{ field: 'spec.sriov.ippools' }])
  t.same(fields(admit({ cniType: 'sriov', sriov: { ippools: { ipv4: ['a'] } } }, { annotations: rdma })), ['spec.sriov.resourceName'], 'an empty resourceName is reported once')
})

const ibsriov = (config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ cniType: 'ib-sriov', ibsriov: { resourceName: 'spidernet.io/ib', ...config }, ...extra })

t.test('SMC-V-07 ib-sriov: the ibsriov block is required', async (t) => {
  t.same(admit(ibsriov()), [])
  matchErrors(t, admit({ cniType: 'ib-sriov' }), [{ field: 'spec.ibsriov', type: 'FieldValueRequired', detail: 'no spec.ibsriov specified' }])
})

t.test('SMC-V-18 ib-sriov: resourceName is required and not empty', async (t) => {
  matchErrors(t, admit(ibsriov({ resourceName: '' })), [{ field: 'spec.ibsriov.resourceName', type: 'FieldValueRequired', detail: 'no spec.ibsriov.resourceName specified' }])
})

t.test('SMC-V-12 ib-sriov: no other CNI config (the message names spec.ibsriov)', async (t) => {
  matchErrors(t, admit(ibsriov({}, { sriov: { resourceName: 'x' } })), [{ field: 'spec.cniType', detail: 'the cniType ib-sriov only supports spec.ibsriov, please remove other CNI configs' }])
})

t.test('SMC-V-13/V-14 ib-sriov: injection needs pools', async (t) => {
  t.same(admit(ibsriov({ ippools: { ipv6: ['b'] } }), { annotations: { ...rdma, ...network } }), [])
  matchErrors(t, admit(ibsriov(), { annotations: { ...rdma, ...network } }), [{ field: 'spec.ibsriov.ippools' }], 'reported once for both annotations')
})

const ipoib = (config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ cniType: 'ipoib', ipoib: { master: 'ib0', ...config }, ...extra })

t.test('SMC-V-07 ipoib: the ipoib block is required, and its master', async (t) => {
  t.same(admit(ipoib()), [])
  matchErrors(t, admit({ cniType: 'ipoib' }), [{ field: 'spec.ipoib', type: 'FieldValueRequired', detail: 'no spec.ipoib specified' }])
  matchErrors(t, admit(ipoib({ master: '' })), [{ field: 'spec.ipoib.master', type: 'FieldValueRequired', detail: 'no spec.ipoib.master specified' }])
})

t.test('SMC-V-12 ipoib: no other CNI config', async (t) => {
  matchErrors(t, admit(ipoib({}, { ovs: { bridge: 'br' } })), [{ field: 'spec.cniType', detail: 'the cniType ipoib only supports spec.ipoib, please remove other CNI configs' }])
})

t.test('SMC-V-13/V-14 ipoib: master is the resource name, injection needs pools', async (t) => {
  t.same(admit(ipoib({ ippools: { ipv4: ['a'] } }), { annotations: rdma }), [])
  matchErrors(t, admit(ipoib(), { annotations: rdma }), [{ field: 'spec.ipoib.ippools' }])
  matchErrors(t, admit(ipoib(), { annotations: network }), [{ field: 'spec.ipoib.ippools' }])
})

const ovs = (config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ cniType: 'ovs', ovs: { bridge: 'br1', ...config }, ...extra })

t.test('SMC-V-19 ovs: neither inject annotation is allowed', async (t) => {
  t.same(admit(ovs()), [])
  for (const annotations of [rdma, network]) {
    matchErrors(t, admit(ovs(), { annotations }), [
      { field: 'spec.cniType', type: 'FieldValueForbidden', detail: 'the cniType ovs does not support RDMA resource or network resource injected' },
    ])
  }
})

t.test('SMC-V-07 ovs: the ovs block is required', async (t) => {
  matchErrors(t, admit({ cniType: 'ovs' }), [{ field: 'spec.ovs', type: 'FieldValueRequired', detail: 'no spec.ovs specified' }])
})

t.test('SMC-V-20 ovs: vlan within 0..4094', async (t) => {
  t.same(admit(ovs({ vlan: 4094 })), [])
  matchErrors(t, admit(ovs({ vlan: 4095 })), [{ field: 'spec.ovs.vlan', type: 'FieldValueInvalid', detail: 'invalid vlanId 4095, please make sure vlanId in range [0,4094]' }])
})

t.test('SMC-V-21 ovs: trunk ids within 0..4094, minID ≤ maxID, maxID only with minID', async (t) => {
  t.same(admit(ovs({ trunk: [{ minID: 10, maxID: 20 }, { minID: 30, maxID: 30 }, { id: 4094 }, { minID: 5 }] })), [])
  matchErrors(t, admit(ovs({ trunk: [{ minID: 4095, maxID: 4095 }] })), [
    { field: 'spec.ovs.trunk[0].minID', detail: 'incorrect trunk minID parameter' },
    { field: 'spec.ovs.trunk[0].maxID', detail: 'incorrect trunk maxID parameter' },
  ])
  matchErrors(t, admit(ovs({ trunk: [{ minID: 20, maxID: 10 }] })), [{ field: 'spec.ovs.trunk[0]', detail: 'minID is greater than maxID in trunk parameter' }])
  matchErrors(t, admit(ovs({ trunk: [{ maxID: 10 }] })), [{ field: 'spec.ovs.trunk[0].minID', type: 'FieldValueRequired' }], 'maxID without minID is a plain error (Spiderpool crashes)')
  matchErrors(t, admit(ovs({ trunk: [{ id: 1 }, { id: 4095 }] })), [{ field: 'spec.ovs.trunk[1].id', detail: 'incorrect trunk id parameter' }], '4095 is refused, as the CRD says (Spiderpool allows up to 4096)')
})

t.test('SMC-V-12 ovs: no other CNI config', async (t) => {
  matchErrors(t, admit(ovs({}, { sriov: { resourceName: 'r' } })), [{ field: 'spec.cniType', detail: 'the cniType ovs only supports spec.ovs, please remove other CNI configs' }])
})

t.test('SMC-V-19 custom: neither inject annotation is allowed', async (t) => {
  t.same(admit({ cniType: 'custom' }), [])
  matchErrors(t, admit({ cniType: 'custom' }, { annotations: rdma }), [
    { field: 'spec.cniType', type: 'FieldValueForbidden', detail: 'the cniType custom does not support RDMA resource or network resource injected' },
  ])
  matchErrors(t, admit({ cniType: 'custom' }, { annotations: network }), [{ field: 'spec.cniType' }])
})

t.test('SMC-V-22 custom: no other CNI config', async (t) => {
  t.same(admit({ cniType: 'custom', customCNI: '{"type":"bridge"}', chainCNIJsonData: ['{"type":"tuning"}'] }), [])
  matchErrors(t, admit({ cniType: 'custom', macvlan: { master: ['eth0'] } }), [
    { field: 'spec.cniType', type: 'FieldValueForbidden', detail: 'the cniType custom only supports spec.customCNI, please remove other CNI configs' },
  ])
})

t.test('SMC-V-23 custom: a non-empty customCNI is any valid JSON', async (t) => {
  for (const ok of ['', '{"cniVersion":"0.3.1","type":"bridge"}', '"just a string"', '[1,2]']) t.same(admit({ cniType: 'custom', customCNI: ok }), [], ok)
  for (const bad of ['{', 'type: bridge', '  ']) {
    matchErrors(t, admit({ cniType: 'custom', customCNI: bad }), [{ field: 'spec.customCNI', type: 'FieldValueForbidden', detail: "customCNI isn't a valid JSON encoding" }], bad)
  }
})

t.test('SMC-V-30 the coordinator is checked as a CoordinatorSpec, errors under spec.coordinator', async (t) => {
  t.same(admit(macvlan({}, { coordinator: { mode: 'overlay', hijackCIDR: ['10.233.0.0/18', 'fd00:10:233::/116'], podMACPrefix: '0a:00' } })), [])
  t.same(check(smc(macvlan({}, { coordinator: {} }))), [], 'podCIDRType and podRPFilter are optional here')
  t.same(
    fields(
      admit(
        macvlan({}, {
          coordinator: {
            podCIDRType: 'flannel',
            hijackCIDR: ['10.0.0.0/33'],
            policyRoutes: [{ dst: 'fd00::/64', gw: '10.6.0.1' }],
            podMACPrefix: '01:00',
            txQueueLen: -1,
            podRPFilter: 3,
            vethLinkAddress: 'fd00::/64',
            vethMTU: 0,
            mode: 'disable',
          },
        }),
      ),
    ),
    [
      'spec.coordinator.mode',
      'spec.coordinator.podCIDRType',
      'spec.coordinator.hijackCIDR[0]',
      'spec.coordinator.policyRoutes[0]',
      'spec.coordinator.podMACPrefix',
      'spec.coordinator.txQueueLen',
      'spec.coordinator.podRPFilter',
      'spec.coordinator.vethLinkAddress',
      'spec.coordinator.vethMTU',
    ],
  )
  matchErrors(t, admit(macvlan({}, { coordinator: { vethLinkAddress: '169.254.0.300' } })), [
    { field: 'spec.coordinator.vethLinkAddress', detail: 'vethLinkAddress is an invalid IP address' },
  ])
  matchErrors(t, admit(macvlan({}, { coordinator: { hijackCIDR: ['fe80::1%eth0'] } })), [{ field: 'spec.coordinator.hijackCIDR[0]' }], 'IPv6 with a zone')
})

t.test('SMC-V-31 each chainCNIJsonData entry is a CNI network config with a type', async (t) => {
  t.same(admit(macvlan({}, { chainCNIJsonData: ['{"type":"tuning","sysctl":{"net.core.somaxconn":"500"}}', '{"TYPE":"bandwidth","ipam":null,"dns":{"nameservers":["10.0.0.10"]}}'] })), [])
  const bad: Record<string, string> = {
    '{"name":"x"}': "error parsing configuration: missing 'type'",
    '{"type":""}': "error parsing configuration: missing 'type'",
    'null': "error parsing configuration: missing 'type'",
    '[{"type":"x"}]': 'error parsing configuration: json: cannot unmarshal array into Go value of type types.NetConf',
    '"tuning"': 'error parsing configuration: json: cannot unmarshal string into Go value of type types.NetConf',
    '{"type":1}': 'error parsing configuration: json: cannot unmarshal number into Go struct field NetConf.type of type string',
    '{"type":"x","capabilities":{"portMappings":"yes"}}': 'error parsing configuration: json: cannot unmarshal string into Go struct field NetConf.capabilities of type bool',
    '{"type":"x","dns":{"nameservers":"10.0.0.10"}}': 'error parsing configuration: json: cannot unmarshal string into Go struct field NetConf.dns.nameservers of type []string',
    '{"type":"x","ipam":"host-local"}': 'error parsing configuration: json: cannot unmarshal string into Go struct field NetConf.ipam of type types.IPAM',
  }
  for (const [config, problem] of Object.entries(bad)) {
    matchErrors(t, admit(macvlan({}, { chainCNIJsonData: ['{"type":"tuning"}', config] })), [
      { field: 'spec.chainCNIJsonData[1]', type: 'FieldValueForbidden', detail: `invalid ${config}: ${problem}` },
    ], config)
  }
  matchErrors(t, admit(macvlan({}, { chainCNIJsonData: ['{type: tuning}'] })), [{ field: 'spec.chainCNIJsonData[0]', detail: /^invalid \{type: tuning\}: error parsing configuration: / }])
})

t.test('several independent errors are reported together', async (t) => {
  const errs = admit(
    { cniType: 'macvlan', macvlan: { master: [], vlanID: 5000, mtu: -1 }, sriov: { resourceName: 'r' }, coordinator: { podMACPrefix: 'zz' }, chainCNIJsonData: ['{}'] },
    { annotations: { 'multus.spidernet.io/cni-version': '9.9.9', ...rdma } },
  )
  t.same(fields(errs), [
    'metadata.annotations',
    'spec.macvlan.vlanID',
    'spec.macvlan.mtu',
    'spec.macvlan.master',
    'spec.cniType',
    'spec.macvlan.rdmaResourceName',
    'spec.macvlan.ippools',
    'spec.coordinator.podMACPrefix',
    'spec.chainCNIJsonData[0]',
  ])
})

t.test('validation never throws on odd shapes', async (t) => {
  t.doesNotThrow(() => check({ metadata: {} } as SpiderMultusConfig))
  t.doesNotThrow(() => admit({ cniType: 'ovs', ovs: { bridge: 'b', trunk: [null] }, coordinator: { policyRoutes: [null] } }))
})
