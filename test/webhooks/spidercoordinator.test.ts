import t, { type Test } from 'tap'
import { spiderCoordinatorWebhook as webhook } from '../../webhooks/spidercoordinator/index.ts'
import { clusterFromObjects } from '../../webhooks/cluster.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import type { AdmissionContext, Operation } from '../../webhooks/kind.ts'
import type { SpiderCoordinator } from '../../schemas/types.ts'
import type { FieldError } from '../../webhooks/field.ts'

/** Exactly these errors in this order: t.match alone lets an array have extra items. */
const matchErrors = (t: Test, errs: unknown, pattern: object[], message = 'field errors') => {
  t.equal((errs as unknown[]).length, pattern.length, `${message}: ${JSON.stringify(errs)}`)
  t.match(errs, pattern, message)
}

const ctx = (operation: Operation = 'CREATE'): AdmissionContext => ({ operation, settings: defaultSettings(), cluster: clusterFromObjects(), dryRun: false })

const coordinator = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): SpiderCoordinator =>
  ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderCoordinator', metadata: { name: 'default', ...metadata }, spec }) as SpiderCoordinator

const defaulted = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => {
  const c = coordinator(spec, metadata)
  webhook.default(c, ctx())
  return c
}
const errors = (c: SpiderCoordinator) => webhook.validateCreate(c, ctx()) as FieldError[]

t.test('the webhook is registered as Spiderpool registers it', async (t) => {
  t.match(webhook, { kind: 'SpiderCoordinator', pathName: 'spidercoordinator', resource: 'spidercoordinators', namespaced: false })
  t.equal(webhook.validateDelete, undefined, 'DELETE is always allowed')
})

t.test('COORD-M-01 absent fields get their defaults, given ones are kept', async (t) => {
  const c = defaulted({ podCIDRType: 'calico' })
  t.same(c.spec, {
    podCIDRType: 'calico',
    mode: 'auto',
    tunePodRoutes: true,
    hostRuleTable: 500,
    podRPFilter: 0,
    txQueueLen: 0,
    vethLinkAddress: '',
    vethMTU: 1500,
  })
  const kept = defaulted({ podCIDRType: 'none', mode: 'underlay', tunePodRoutes: false, hostRuleTable: 600, podRPFilter: -1, txQueueLen: 10, vethLinkAddress: '169.254.0.1', vethMTU: 9000 })
  t.same(kept.spec, { podCIDRType: 'none', mode: 'underlay', tunePodRoutes: false, hostRuleTable: 600, podRPFilter: -1, txQueueLen: 10, vethLinkAddress: '169.254.0.1', vethMTU: 9000 })
})

t.test('COORD-M-01 defaults apply to a terminating object too', async (t) => {
  const c = defaulted({}, { deletionTimestamp: '2026-07-08T00:00:00Z' })
  t.equal(c.spec.mode, 'auto')
  t.equal(c.spec.vethMTU, 1500)
})

t.test('COORD-M-02 a terminating object gets nothing past the defaults', async (t) => {
  const c = defaulted({ podCIDRType: 'auto', hijackCIDR: ['10.0.0.1'] }, { deletionTimestamp: '2026-07-08T00:00:00Z' })
  t.same(c.spec.hijackCIDR, ['10.0.0.1'])
  t.equal(c.metadata.finalizers, undefined)
  const live = defaulted({ podCIDRType: 'auto', hijackCIDR: ['10.0.0.1'] })
  t.same(live.spec.hijackCIDR, ['10.0.0.1/32'])
})

t.test('COORD-M-03 without podCIDRType nothing is normalised and no finalizer is added', async (t) => {
  const c = defaulted({ hijackCIDR: ['10.0.0.1'] })
  t.same(c.spec.hijackCIDR, ['10.0.0.1'])
  t.equal(c.metadata.finalizers, undefined)
  matchErrors(t, errors(c), [{ field: 'spec.podCIDRType' }], 'validation refuses it')
})

t.test('COORD-M-04 bare hijackCIDR addresses become /32 and /128', async (t) => {
  const c = defaulted({ podCIDRType: 'cluster', hijackCIDR: ['169.254.1.1', 'fd00::1', '10.0.0.0/8'] })
  t.same(c.spec.hijackCIDR, ['169.254.1.1/32', 'fd00::1/128', '10.0.0.0/8'])
  t.same(errors(c), [])
})

t.test('COORD-M-04 an unparsable entry stops mutation and validation names it as written', async (t) => {
  const c = defaulted({ podCIDRType: 'cluster', hijackCIDR: ['169.254.1.1', 'not-an-ip'], policyRoutes: [{ dst: '10.7.0.1', gw: '10.6.0.1' }] })
  t.same(c.spec.hijackCIDR, ['169.254.1.1', 'not-an-ip'], 'earlier entries are not converted either')
  t.equal(c.spec.policyRoutes?.[0].dst, '10.7.0.1')
  t.equal(c.metadata.finalizers, undefined)
  matchErrors(t, errors(c), [{ field: 'spec.hijackCIDR[1]', value: 'not-an-ip', detail: 'ParseAddr("not-an-ip"): unable to parse IP' }])
})

t.test('COORD-M-05 policy route destinations are rewritten as prefixes (IPv4 and IPv6)', async (t) => {
  const c = defaulted({
    podCIDRType: 'cluster',
    policyRoutes: [
      { dst: '10.7.0.1', gw: '10.6.0.1' },
      { dst: '10.1.0.5/16', gw: '10.6.0.1' },
      { dst: 'FD00:10:0:0::/64', gw: 'fd00::1' },
    ],
  })
  t.same(c.spec.policyRoutes, [
    { dst: '10.7.0.1/32', gw: '10.6.0.1' },
    { dst: '10.1.0.5/16', gw: '10.6.0.1' },
    { dst: 'fd00:10::/64', gw: 'fd00::1' },
  ])
  t.same(errors(c), [])
})

t.test('COORD-M-05 an unparsable dst stops mutation and validation names it', async (t) => {
  const c = defaulted({ podCIDRType: 'cluster', policyRoutes: [{ dst: '10.7.0.0/64', gw: '10.6.0.1' }] })
  t.equal(c.metadata.finalizers, undefined)
  matchErrors(t, errors(c), [{ field: 'spec.policyRoutes[0].dst' }])
})

t.test('COORD-M-06 the finalizer spiderpool.spidernet.io is added once', async (t) => {
  t.same(defaulted({ podCIDRType: 'auto' }).metadata.finalizers, ['spiderpool.spidernet.io'])
  t.same(defaulted({ podCIDRType: 'auto' }, { finalizers: ['other', 'spiderpool.spidernet.io'] }).metadata.finalizers, ['other', 'spiderpool.spidernet.io'])
})

t.test('COORD-V-01 podCIDRType is required', async (t) => {
  t.same(errors(defaulted({ podCIDRType: 'auto' })), [])
  const [err] = errors(defaulted({}))
  t.match(err, { field: 'spec.podCIDRType', type: 'FieldValueNotSupported', value: '', detail: 'supported values: "auto", "cluster", "calico", "cilium", "none"' })
})

t.test('COORD-V-02 podCIDRType must be one of the list', async (t) => {
  matchErrors(t, errors(defaulted({ podCIDRType: 'flannel' })), [{ field: 'spec.podCIDRType', type: 'FieldValueNotSupported', value: 'flannel' }])
})

t.test('COORD-V-03 hijackCIDR entries are IPs or prefixes, IPv4 and IPv6, reported at spec.hijackCIDR[i]', async (t) => {
  t.same(errors(coordinator({ podCIDRType: 'auto', podRPFilter: 0, hijackCIDR: ['10.0.0.0/8', 'fd00::/64', 'fd00::1'] })), [])
  matchErrors(t, errors(coordinator({ podCIDRType: 'auto', podRPFilter: 0, hijackCIDR: ['fd00::/64', 'fd00::/200'] })), [{ field: 'spec.hijackCIDR[1]', type: 'FieldValueInvalid' }])
})

t.test('COORD-V-04/V-05/V-06 policy routes: dst prefix, gw address, one family', async (t) => {
  const base = { podCIDRType: 'auto', podRPFilter: 0 }
  t.same(errors(coordinator({ ...base, policyRoutes: [{ dst: '0.0.0.0/0', gw: '10.6.0.1' }, { dst: '::/0', gw: 'fd00::1' }] })), [], 'default routes are fine')
  matchErrors(t, errors(coordinator({ ...base, policyRoutes: [{ dst: 'x', gw: '10.6.0.1' }] })), [{ field: 'spec.policyRoutes[0].dst' }])
  matchErrors(t, errors(coordinator({ ...base, policyRoutes: [{ dst: '10.7.0.0/16', gw: 'x' }] })), [{ field: 'spec.policyRoutes[0].gw', detail: 'gw is an invalid IP address' }])
  matchErrors(t, errors(coordinator({ ...base, policyRoutes: [{ dst: 'fd00::/64', gw: '10.6.0.1' }] })), [{ field: 'spec.policyRoutes[0]', detail: 'dst and gw must use the same IP family' }])
})

t.test('COORD-V-07/V-08 podMACPrefix', async (t) => {
  const base = { podCIDRType: 'auto', podRPFilter: 0 }
  t.same(errors(coordinator({ ...base, podMACPrefix: '0a:00' })), [])
  matchErrors(t, errors(coordinator({ ...base, podMACPrefix: '0a:0' })), [{ field: 'spec.podMACPrefix', detail: 'not a valid MAC prefix' }])
  matchErrors(t, errors(coordinator({ ...base, podMACPrefix: '01:00' })), [{ field: 'spec.podMACPrefix', detail: 'not a unicast MAC: the lowest bit of the first byte must be 0' }])
})

t.test('COORD-V-09 txQueueLen', async (t) => {
  matchErrors(t, errors(defaulted({ podCIDRType: 'auto', txQueueLen: -5 })), [{ field: 'spec.txQueueLen', detail: "txQueueLen can't be less than 0" }])
})

t.test('COORD-V-10 podRPFilter is required on a SpiderCoordinator (COORD-M-01 always sets it)', async (t) => {
  matchErrors(t, errors(coordinator({ podCIDRType: 'auto' })), [{ field: 'spec.podRPFilter', type: 'FieldValueNotSupported', detail: 'supported values: "0", "1", "2"' }])
  t.same(errors(defaulted({ podCIDRType: 'auto' })), [])
})

t.test('COORD-V-11 podRPFilter values', async (t) => {
  t.same(errors(defaulted({ podCIDRType: 'auto', podRPFilter: -1 })), [])
  matchErrors(t, errors(defaulted({ podCIDRType: 'auto', podRPFilter: 5 })), [{ field: 'spec.podRPFilter', value: 5 }])
})

t.test('COORD-V-12 vethLinkAddress, IPv4 or IPv6', async (t) => {
  t.same(errors(defaulted({ podCIDRType: 'auto', vethLinkAddress: 'fd00::100' })), [])
  matchErrors(t, errors(defaulted({ podCIDRType: 'auto', vethLinkAddress: 'fd00::/64' })), [{ field: 'spec.vethLinkAddress', detail: 'vethLinkAddress is an invalid IP address' }])
})

t.test('COORD-V-13 vethMTU', async (t) => {
  matchErrors(t, errors(defaulted({ podCIDRType: 'auto', vethMTU: -1 })), [{ field: 'spec.vethMTU', detail: 'vethMTU must be greater than 0' }])
})

t.test('an unknown mode is refused with Unsupported value (the CRD enum)', async (t) => {
  t.same(errors(defaulted({ podCIDRType: 'auto', mode: 'disabled' })), [])
  matchErrors(t, errors(defaulted({ podCIDRType: 'auto', mode: 'disable' })), [{ field: 'spec.mode', type: 'FieldValueNotSupported' }])
})

t.test('UPDATE is validated like CREATE, with no immutable field and no terminating check', async (t) => {
  const old = defaulted({ podCIDRType: 'calico' })
  const changed = defaulted({ podCIDRType: 'cilium', mode: 'overlay' }, { deletionTimestamp: '2026-07-08T00:00:00Z' })
  t.same(webhook.validateUpdate(old, changed, ctx('UPDATE')), [])
  matchErrors(t, webhook.validateUpdate(old, defaulted({ podCIDRType: 'weave' }), ctx('UPDATE')), [{ field: 'spec.podCIDRType' }])
})

t.test('several independent errors are reported together', async (t) => {
  const c = coordinator({ hijackCIDR: ['fd00::/129'], policyRoutes: [{ dst: '10.7.0.0/16', gw: 'fd00::1' }], txQueueLen: -1, vethMTU: 0 })
  t.same(
    errors(c).map((e) => e.field),
    ['spec.podCIDRType', 'spec.podRPFilter', 'spec.hijackCIDR[0]', 'spec.policyRoutes[0]', 'spec.txQueueLen', 'spec.vethMTU'],
  )
})

t.test('default never throws on a spec that is missing', async (t) => {
  const c = { metadata: { name: 'x' } } as SpiderCoordinator
  webhook.default(c, ctx())
  t.equal(c.spec.mode, 'auto')
})
