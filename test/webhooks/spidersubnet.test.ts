import t, { type Test } from 'tap'
import { spiderSubnetWebhook as webhook } from '../../webhooks/spidersubnet/index.ts'
import { clusterFromObjects, type ClusterContents } from '../../webhooks/cluster.ts'
import { defaultSettings, type Settings } from '../../webhooks/settings.ts'
import { isRefusal, type FieldError, type ValidationResult } from '../../webhooks/field.ts'
import type { AdmissionContext, Operation } from '../../webhooks/kind.ts'
import type { SpiderIPPool, SpiderSubnet } from '../../schemas/types.ts'

const ctx = (operation: Operation, cluster: ClusterContents = {}, settings: Partial<Settings> = {}): AdmissionContext => ({
  operation,
  settings: { ...defaultSettings(), ...settings },
  cluster: clusterFromObjects(cluster),
  dryRun: false,
})

const subnet = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}, status?: Record<string, unknown>): SpiderSubnet =>
  ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', metadata: { name: 'subnet', ...metadata }, spec, status }) as SpiderSubnet
const namedSubnet = (name: string, spec: Record<string, unknown>) => subnet(spec, { name })
const pool = (name: string, spec: Record<string, unknown>): SpiderIPPool =>
  ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec }) as SpiderIPPool

const fieldErrors = (t: Test, r: ValidationResult): FieldError[] => {
  if (isRefusal(r)) {
    t.fail(`unexpected refusal: ${r.message}`)
    return []
  }
  return r
}
const create = (t: Test, s: SpiderSubnet, cluster: ClusterContents = {}, settings: Partial<Settings> = {}) =>
  fieldErrors(t, webhook.validateCreate(s, ctx('CREATE', cluster, settings)))
const update = (t: Test, old: SpiderSubnet, s: SpiderSubnet, cluster: ClusterContents = {}) => fieldErrors(t, webhook.validateUpdate(old, s, ctx('UPDATE', cluster)))
const texts = (errors: FieldError[]) => errors.map((e) => `${e.field}: ${e.detail}`)
const defaulted = (s: SpiderSubnet) => {
  webhook.default(s, ctx('CREATE'))
  return s
}

const v4 = (spec: Record<string, unknown> = {}) => subnet({ ipVersion: 4, subnet: '10.6.0.0/16', ...spec })
const v6 = (spec: Record<string, unknown> = {}) => subnet({ ipVersion: 6, subnet: 'fd00:10::/64', ...spec })

t.test('the webhook is registered as Spiderpool registers it', async (t) => {
  t.match(webhook, { kind: 'SpiderSubnet', pathName: 'spidersubnet', resource: 'spidersubnets', namespaced: false })
})

t.test('SUBNET-M-01 a terminating subnet is not mutated', async (t) => {
  const terminating = subnet({ subnet: '10.6.0.0/16', ips: ['10.6.0.2', '10.6.0.1'] }, { deletionTimestamp: '2026-01-01T00:00:00Z' })
  const before = structuredClone(terminating)
  t.same(defaulted(terminating), before)
  t.same(defaulted(subnet({ subnet: '10.6.0.0/16' })).metadata.finalizers, ['spiderpool.spidernet.io'], 'a live one is')
})

t.test('SUBNET-M-02 the finalizer is appended when missing and not repeated', async (t) => {
  t.same(defaulted(subnet({ subnet: '10.6.0.0/16' }, { finalizers: ['a'] })).metadata.finalizers, ['a', 'spiderpool.spidernet.io'])
  t.same(defaulted(subnet({ subnet: '10.6.0.0/16' }, { finalizers: ['spiderpool.spidernet.io'] })).metadata.finalizers, ['spiderpool.spidernet.io'])
})

t.test('SUBNET-M-03 ipVersion is derived from the subnet; no CIDR stops mutation', async (t) => {
  t.equal(defaulted(subnet({ subnet: '10.6.0.0/16' })).spec.ipVersion, 4)
  t.equal(defaulted(subnet({ subnet: 'fd00:10::/64' })).spec.ipVersion, 6)
  const bad = defaulted(subnet({ subnet: 'ten', ips: ['10.6.0.2', '10.6.0.1'] }))
  t.equal(bad.spec.ipVersion, undefined)
  t.equal(bad.metadata.labels, undefined)
  t.same(bad.spec.ips, ['10.6.0.2', '10.6.0.1'])
})

t.test('SUBNET-M-04 the subnet-cidr label encodes the subnet; a family mismatch stops mutation', async (t) => {
  t.equal(defaulted(subnet({ subnet: '10.6.0.0/16' })).metadata.labels?.['ipam.spidernet.io/subnet-cidr'], '10-6-0-0-16')
  t.equal(defaulted(subnet({ subnet: 'fd00:10::/120' }, { labels: { 'ipam.spidernet.io/subnet-cidr': 'stale' } })).metadata.labels?.['ipam.spidernet.io/subnet-cidr'], 'fd00-10---120')
  const mismatch = defaulted(subnet({ subnet: '10.6.0.0/16', ipVersion: 6, ips: ['10.6.0.2', '10.6.0.1'] }))
  t.equal(mismatch.metadata.labels, undefined)
  t.same(mismatch.spec.ips, ['10.6.0.2', '10.6.0.1'])
})

t.test('SUBNET-M-05 ips with several entries are merged; a bad list is left alone', async (t) => {
  t.same(defaulted(subnet({ subnet: '10.6.0.0/16', ips: ['10.6.0.10', '10.6.0.1-10.6.0.2', '10.6.0.2-10.6.0.3'] })).spec.ips, ['10.6.0.1-10.6.0.3', '10.6.0.10'])
  t.same(defaulted(subnet({ subnet: 'abcd:1234::/120', ips: ['abcd:1234::a', 'abcd:1234::1-abcd:1234::2', 'abcd:1234::2-abcd:1234::3'] })).spec.ips, [
    'abcd:1234::1-abcd:1234::3',
    'abcd:1234::a',
  ])
  const bad = defaulted(subnet({ subnet: '10.6.0.0/16', ips: ['10.6.0.9-10.6.0.1', '10.6.0.20'], excludeIPs: ['10.6.0.5', '10.6.0.4'] }))
  t.same(bad.spec.ips, ['10.6.0.9-10.6.0.1', '10.6.0.20'])
  t.same(bad.spec.excludeIPs, ['10.6.0.5', '10.6.0.4'], 'stopped before excludeIPs')
})

t.test('SUBNET-M-06 excludeIPs with several entries are merged, a single one kept', async (t) => {
  t.same(defaulted(subnet({ subnet: '10.6.0.0/16', excludeIPs: ['10.6.0.5', '10.6.0.4'] })).spec.excludeIPs, ['10.6.0.4-10.6.0.5'])
  t.same(defaulted(subnet({ subnet: 'fd00::/64', excludeIPs: ['fd00::2', 'fd00::1'] })).spec.excludeIPs, ['fd00::1-fd00::2'])
  t.same(defaulted(subnet({ subnet: '10.6.0.0/16', excludeIPs: ['10.6.0.5-10.6.0.5'] })).spec.excludeIPs, ['10.6.0.5-10.6.0.5'])
})

t.test('SUBNET-V-01 an absent ipVersion is refused at spec.ipVersion', async (t) => {
  t.same(texts(create(t, subnet({ subnet: 'x' }))), ["spec.ipVersion: is not generated correctly, 'spec.subnet' may be invalid"])
  t.same(create(t, v4()), [])
})

t.test('SUBNET-V-02 an ipVersion other than 4 or 6 is an unsupported value', async (t) => {
  t.match(create(t, subnet({ ipVersion: 5, subnet: '10.6.0.0/16' })), [{ field: 'spec.ipVersion', type: 'FieldValueNotSupported', value: 5, detail: 'supported values: "4", "6"' }])
  t.same(create(t, v6()), [])
})

t.test('SUBNET-V-03 a disabled family is forbidden', async (t) => {
  t.same(texts(create(t, v4(), {}, { enableIPv4: false })), ['spec.ipVersion: IPv4 is disabled'])
  t.same(texts(create(t, v6(), {}, { enableIPv6: false })), ['spec.ipVersion: IPv6 is disabled'])
  t.same(create(t, v6(), {}, { enableIPv4: false }), [])
})

t.test('SUBNET-V-04 a subnet that is not a CIDR of the family is refused', async (t) => {
  t.same(texts(create(t, subnet({ ipVersion: 6, subnet: '10.6.0.0/16' }))), ["spec.subnet: invalid CIDR format in IPv6 '10.6.0.0/16'"])
  t.same(create(t, v6()), [])
})

t.test('SUBNET-V-05 a subnet not written canonically is refused', async (t) => {
  t.same(texts(create(t, subnet({ ipVersion: 4, subnet: '10.6.0.1/16' }))), ['spec.subnet: unformatted subnet 10.6.0.1/16, please change it to 10.6.0.0/16'])
  t.same(texts(create(t, subnet({ ipVersion: 6, subnet: 'FD00:10:0::/64' }))), ['spec.subnet: unformatted subnet FD00:10:0::/64, please change it to fd00:10::/64'])
  t.same(create(t, v4()), [])
})

t.test('SUBNET-V-06 a subnet of the same name and version is refused with AlreadyExists', async (t) => {
  t.same(webhook.validateCreate(v4(), ctx('CREATE', { subnets: [v4()] })), { reason: 'AlreadyExists', message: 'SpiderSubnet.spiderpool.spidernet.io "subnet" already exists' })
  t.same(create(t, v6(), { subnets: [v4()] }), [])
})

t.test('SUBNET-V-07 a subnet may not overlap another subnet, identical CIDR included', async (t) => {
  t.same(texts(create(t, v4(), { subnets: [namedSubnet('twin', { ipVersion: 4, subnet: '10.6.0.0/16' })] })), ["spec.subnet: overlap with Subnet twin which 'spec.subnet' is 10.6.0.0/16"])
  t.same(texts(create(t, v4(), { subnets: [namedSubnet('inner', { ipVersion: 4, subnet: '10.6.1.0/24' })] })), ["spec.subnet: overlap with Subnet inner which 'spec.subnet' is 10.6.1.0/24"])
  t.same(texts(create(t, v6(), { subnets: [namedSubnet('outer6', { ipVersion: 6, subnet: 'fd00::/16' })] })), ["spec.subnet: overlap with Subnet outer6 which 'spec.subnet' is fd00::/16"])
  t.same(create(t, v4(), { subnets: [namedSubnet('beside', { ipVersion: 4, subnet: '10.7.0.0/16' }), namedSubnet('v6', { ipVersion: 6, subnet: 'fd00::/8' })] }), [])
  t.match(create(t, v4(), { subnets: [namedSubnet('broken', { ipVersion: 4, subnet: 'x' })] }), [{ field: 'spec.subnet', type: 'InternalError' }])
})

t.test('SUBNET-V-08 a subnet may not overlap an IPPool of a different subnet', async (t) => {
  t.same(texts(create(t, v4(), { ippools: [pool('inner', { ipVersion: 4, subnet: '10.6.3.0/24' })] })), ["spec.subnet: overlap with SpiderIPPool 'inner' resource 'spec.subnet' 10.6.3.0/24"])
  t.same(texts(create(t, v6(), { ippools: [pool('p6', { ipVersion: 6, subnet: 'fd00:10::/120' })] })), ["spec.subnet: overlap with SpiderIPPool 'p6' resource 'spec.subnet' fd00:10::/120"])
  t.same(create(t, v4(), { ippools: [pool('beside', { ipVersion: 4, subnet: '10.7.0.0/24' })] }), [])
})

t.test('SUBNET-V-09 pools of the identical subnet must own only addresses the new subnet controls', async (t) => {
  const existing = pool('p', { ipVersion: 4, subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.20'], excludeIPs: ['10.6.0.20'] })
  t.same(create(t, v4({ ips: ['10.6.0.1-10.6.0.19'] }), { ippools: [existing] }), [])
  const [e] = create(t, v4({ ips: ['10.6.0.1-10.6.0.15'] }), { ippools: [existing] })
  t.match(e, { field: 'spec.ips', value: ['10.6.0.1-10.6.0.15'], detail: "SpiderIPPool 'p' owns some IP addresses that SpiderSubnet 'subnet' can't control" })
  const p6 = pool('p6', { ipVersion: 6, subnet: 'fd00:10::/64', ips: ['fd00:10::1-fd00:10::ff'] })
  t.same(texts(create(t, v6({ ips: ['fd00:10::1-fd00:10::fe'] }), { ippools: [p6] })), ["spec.ips: SpiderIPPool 'p6' owns some IP addresses that SpiderSubnet 'subnet' can't control"])
})

t.test('SUBNET-V-10 each ips entry is a strict range of the family inside the subnet', async (t) => {
  const errors = create(t, v4({ ips: ['10.6.0.9-10.6.0.1', 'fd00::1', '10.7.0.1', '10.6.0.1-10.6.0.9', 'x-y-z'] }))
  t.same(texts(errors), [
    "spec.ips[0]: invalid IP range format in IPv4 '10.6.0.9-10.6.0.1'",
    "spec.ips[1]: invalid IP range format in IPv4 'fd00::1'",
    "spec.ips[2]: not pertains to the 'spec.subnet' 10.6.0.0/16 of IPPool",
    "spec.ips[4]: invalid IP range format in IPv4 'x-y-z'",
  ])
  t.same(texts(create(t, v6({ ips: ['fd00:11::1', 'fd00:10::1-fd00:10::2'] }))), ["spec.ips[0]: not pertains to the 'spec.subnet' fd00:10::/64 of IPPool"])
  t.same(create(t, v4({ ips: ['10.6.0.1-10.6.0.9', '10.6.0.5-10.6.0.20'] })), [], 'entries may overlap each other')
})

t.test('SUBNET-V-11 each excludeIPs entry is a strict range of the family inside the subnet', async (t) => {
  t.same(texts(create(t, v4({ excludeIPs: ['10.6.0.1', '10.5.0.1-10.6.0.1'] }))), ["spec.excludeIPs[1]: not pertains to the 'spec.subnet' 10.6.0.0/16 of IPPool"])
  t.same(texts(create(t, v6({ excludeIPs: ['fd00:10::9-fd00:10::1'] }))), ["spec.excludeIPs[0]: invalid IP range format in IPv6 'fd00:10::9-fd00:10::1'"])
  t.same(create(t, v6({ excludeIPs: ['fd00:10::1-fd00:10::9'] })), [])
})

t.test('SUBNET-V-12 a gateway that is not an address of the family is refused', async (t) => {
  t.same(texts(create(t, v4({ gateway: 'fd00::1' }))), ["spec.gateway: invalid IP format in IPv4 'fd00::1'"])
  t.same(texts(create(t, v6({ gateway: '10.6.0.1' }))), ["spec.gateway: invalid IP format in IPv6 '10.6.0.1'"])
  t.same(create(t, v4({ gateway: '10.6.0.1' })), [])
})

t.test('SUBNET-V-13 a gateway outside the subnet is refused', async (t) => {
  t.same(texts(create(t, v4({ gateway: '10.7.0.1' }))), ["spec.gateway: not pertains to the 'spec.subnet' 10.6.0.0/16 of IPPool"])
  t.same(texts(create(t, v6({ gateway: 'fd00:11::1' }))), ["spec.gateway: not pertains to the 'spec.subnet' fd00:10::/64 of IPPool"])
  t.same(create(t, v6({ gateway: 'fd00:10::ffff:ffff:ffff:ffff' })), [], 'the last address of the subnet is inside')
})

t.test('SUBNET-V-14 a gateway inside ips and not excluded is refused at the ips entry', async (t) => {
  t.same(texts(create(t, v4({ ips: ['10.6.0.1-10.6.0.9'], gateway: '10.6.0.1' }))), [
    "spec.ips[0]: conflicts with 'spec.gateway' 10.6.0.1, add the gateway IP address to 'spec.excludeIPs' or remove it from 'spec.ips'",
  ])
  t.same(texts(create(t, v6({ ips: ['fd00:10::5', 'fd00:10::1-fd00:10::9'], gateway: 'fd00:10::1' }))), [
    "spec.ips[1]: conflicts with 'spec.gateway' fd00:10::1, add the gateway IP address to 'spec.excludeIPs' or remove it from 'spec.ips'",
  ])
  t.same(create(t, v4({ ips: ['10.6.0.1-10.6.0.9'], excludeIPs: ['10.6.0.1'], gateway: '10.6.0.1' })), [])
  t.same(create(t, v6({ ips: ['fd00:10::2-fd00:10::9'], gateway: 'fd00:10::1' })), [])
})

const route = (dst: string, gw = '10.6.0.1') => ({ dst, gw })

t.test('SUBNET-V-15 a default route is refused', async (t) => {
  const detail = "please specify 'spec.gateway' to configure the default route"
  t.same(texts(create(t, v4({ routes: [route('0.0.0.0/0')] }))), [`spec.routes[0].dst: ${detail}`])
  t.same(texts(create(t, v6({ routes: [route('::/0', 'fd00:10::1')] }))), [`spec.routes[0].dst: ${detail}`])
  t.same(create(t, v6({ routes: [route('fd00:20::/64', 'fd00:10::1')] })), [])
})

t.test('SUBNET-V-16 two routes to the same dst are refused', async (t) => {
  t.same(texts(create(t, v4({ routes: [route('10.8.0.0/16'), route('10.8.0.0/16')] }))), ['spec.routes[1].dst: duplicate route with the same dst'])
  t.same(texts(create(t, v6({ routes: [route('fd00:20::/64', 'fd00:10::1'), route('fd00:20:0::/64', 'fd00:10::2')] }))), ['spec.routes[1].dst: duplicate route with the same dst'])
  t.same(create(t, v4({ routes: [route('10.8.0.0/16'), route('10.9.0.0/16')] })), [])
})

t.test('SUBNET-V-17 a dst that is not a CIDR of the family is refused', async (t) => {
  t.same(texts(create(t, v4({ routes: [route('10.9.0.0')] }))), ["spec.routes[0].dst: invalid CIDR format in IPv4 '10.9.0.0'"])
  t.same(texts(create(t, v6({ routes: [route('0.0.0.0/0', 'fd00:10::1')] }))), ["spec.routes[0].dst: invalid CIDR format in IPv6 '0.0.0.0/0'"])
  t.same(create(t, v4({ routes: [route('10.9.0.1/16')] })), [], 'host bits are allowed')
})

t.test('SUBNET-V-18 a route gw must be an address of the family inside the subnet', async (t) => {
  t.same(texts(create(t, v4({ routes: [route('10.10.0.0/16', '10.5.0.1')] }))), ["spec.routes[0].gw: not pertains to the 'spec.subnet' 10.6.0.0/16 of IPPool"])
  t.same(texts(create(t, v6({ routes: [route('fd00:20::/64', '10.6.0.1')] }))), ["spec.routes[0].gw: invalid IP format in IPv6 '10.6.0.1'"])
  t.same(create(t, v4({ ips: ['10.6.0.10'], routes: [route('10.10.0.0/16', '10.6.0.254')] })), [])
})

t.test('SUBNET-V-19 updating a terminating subnet that keeps its finalizer is forbidden', async (t) => {
  const terminating = v4()
  terminating.metadata = { name: 'subnet', deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['spiderpool.spidernet.io'] }
  t.same(webhook.validateUpdate(terminating, terminating, ctx('UPDATE')), { reason: 'Forbidden', message: 'cannot update a terminaing Subnet' })
  const released = subnet({ subnet: 'nonsense' }, { deletionTimestamp: '2026-01-01T00:00:00Z' })
  t.same(update(t, terminating, released), [])
})

t.test('SUBNET-V-20 ipVersion cannot change', async (t) => {
  t.match(update(t, v4(), subnet({ ipVersion: 6, subnet: '10.6.0.0/16' }))[0], { field: 'spec.ipVersion', type: 'FieldValueForbidden', detail: 'is not changeable' })
  t.same(update(t, subnet({ subnet: '10.6.0.0/16' }), v4()), [])
})

t.test('SUBNET-V-21 the subnet cannot change', async (t) => {
  t.same(texts(update(t, v4(), subnet({ ipVersion: 4, subnet: '10.7.0.0/16' }))), ['spec.subnet: is not changeable'])
  t.same(update(t, v4({ ips: ['10.6.0.1'] }), v4({ ips: ['10.6.0.1-10.6.0.9'] })), [])
})

t.test('SUBNET-V-22 an update may not take away addresses already handed to pools', async (t) => {
  const controlledIPPools = JSON.stringify({ 'pool-a': { ips: ['10.6.0.10-10.6.0.12'], application: 'apps_v1_Deployment_default_web' }, 'pool-b': { ips: ['10.6.0.30'] } })
  const next = (spec: Record<string, unknown>) => subnet({ ipVersion: 4, subnet: '10.6.0.0/16', ...spec }, {}, { controlledIPPools })
  t.same(update(t, v4(), next({ ips: ['10.6.0.1-10.6.0.100'] })), [])
  const errors = update(t, v4(), next({ ips: ['10.6.0.1-10.6.0.100'], excludeIPs: ['10.6.0.11-10.6.0.12', '10.6.0.30'] }))
  t.same(texts(errors), [
    "spec.ips: remove some IP ranges [10.6.0.11-10.6.0.12] that is being used by IPPool pool-a, total IP addresses of an Subnet are jointly determined by 'spec.ips' and 'spec.excludeIPs'",
    "spec.ips: remove some IP ranges [10.6.0.30] that is being used by IPPool pool-b, total IP addresses of an Subnet are jointly determined by 'spec.ips' and 'spec.excludeIPs'",
  ])
  t.equal(errors[0].type, 'FieldValueForbidden')
  t.match(update(t, v4(), subnet({ ipVersion: 4, subnet: '10.6.0.0/16' }, {}, { controlledIPPools: 'nope' })), [{ field: 'status.controlledIPPools', type: 'InternalError' }])
  const v6Next = subnet({ ipVersion: 6, subnet: 'fd00:10::/64', ips: ['fd00:10::1-fd00:10::ff'] }, {}, { controlledIPPools: JSON.stringify({ p: { ips: ['fd00:10::100'] } }) })
  t.same(texts(update(t, v6Next, v6Next)), [
    "spec.ips: remove some IP ranges [fd00:10::100] that is being used by IPPool p, total IP addresses of an Subnet are jointly determined by 'spec.ips' and 'spec.excludeIPs'",
  ])
})

t.test('SUBNET-D-01 with the delete check on, a subnet with allocated IPs cannot be deleted', async (t) => {
  const busy = subnet({ ipVersion: 4, subnet: '10.6.0.0/16' }, {}, { allocatedIPCount: 7 })
  t.same(webhook.validateDelete!(busy, ctx('DELETE', {}, { enableValidatingResourcesDeletedWebhook: true })), {
    reason: 'Forbidden',
    message: 'cannot delete an Subnet with allocated IPs(7)',
  })
  t.same(webhook.validateDelete!(busy, ctx('DELETE')), [])
  t.same(webhook.validateDelete!(v4(), ctx('DELETE', {}, { enableValidatingResourcesDeletedWebhook: true })), [])
})

t.test('independent errors are all reported; a huge IPv6 subnet validates quickly', async (t) => {
  t.same(
    create(t, v4({ ips: ['x'], excludeIPs: ['10.7.0.1'], gateway: 'g', routes: [{ dst: '::/0', gw: '10.6.0.1' }] })).map((e) => e.field),
    ['spec.ips[0]', 'spec.excludeIPs[0]', 'spec.gateway', 'spec.routes[0].dst'],
  )
  const huge = subnet({ subnet: 'fd12:3456:789a::/48', ips: ['fd12:3456:789a:baba::1-fd12:3456:789a:ffff:ffff:ffff:ffff:ffff'], excludeIPs: ['fd12:3456:789a:baba::1-fd12:3456:789a:baba::ff'], gateway: 'fd12:3456:789a::1' })
  const start = performance.now()
  defaulted(huge)
  const pools = [pool('p', { ipVersion: 6, subnet: 'fd12:3456:789a::/48', ips: ['fd12:3456:789a:cccc::1-fd12:3456:789a:dddd::'] })]
  t.same(create(t, huge, { ippools: pools }), [])
  huge.status = { controlledIPPools: JSON.stringify({ p: { ips: ['fd12:3456:789a:cccc::1-fd12:3456:789a:dddd::'] } }) }
  t.same(update(t, huge, huge), [])
  t.ok(performance.now() - start < 500)
})
