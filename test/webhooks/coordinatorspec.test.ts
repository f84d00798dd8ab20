import t, { type Test } from 'tap'
import { normaliseCoordinatorSpec } from '../../webhooks/coordinatorspec/normalise.ts'
import { validateCoordinatorSpec } from '../../webhooks/coordinatorspec/validate.ts'
import type { CoordinatorSpec } from '../../schemas/types.ts'
import type { FieldError } from '../../webhooks/field.ts'

/** Exactly these errors in this order: t.match alone lets an array have extra items. */
const matchErrors = (t: Test, errs: unknown, pattern: object[], message = 'field errors') => {
  t.equal((errs as unknown[]).length, pattern.length, `${message}: ${JSON.stringify(errs)}`)
  t.match(errs, pattern, message)
}

const check = (spec: Record<string, unknown>, at = 'spec.coordinator') => validateCoordinatorSpec(spec as CoordinatorSpec, at)
const fields = (errs: FieldError[]) => errs.map((e) => e.field)

t.test('a spec with every field set sensibly passes, in both families', async (t) => {
  t.same(
    check({
      mode: 'underlay',
      podCIDRType: 'calico',
      hijackCIDR: ['10.233.0.0/18', '169.254.1.1', 'fd00:10:233::/116', 'FD00::1'],
      policyRoutes: [
        { dst: '0.0.0.0/0', gw: '10.6.0.1' },
        { dst: 'fd00:20::/64', gw: 'fd00:10::1' },
      ],
      podMACPrefix: '0a:1b',
      txQueueLen: 1000,
      podRPFilter: 2,
      vethLinkAddress: 'fe80::1',
      vethMTU: 9000,
    }),
    [],
  )
})

t.test('mode outside the CRD enum is refused as Unsupported (quirk 7); disabled is the CRD spelling', async (t) => {
  for (const mode of ['auto', 'underlay', 'overlay', 'disabled']) t.same(check({ mode }), [], mode)
  const [err] = check({ mode: 'disable' })
  t.match(err, { field: 'spec.coordinator.mode', type: 'FieldValueNotSupported', value: 'disable' })
})

t.test('COORD-V-02 a podCIDRType outside the list is refused as Unsupported', async (t) => {
  for (const type of ['auto', 'cluster', 'calico', 'cilium', 'none']) t.same(check({ podCIDRType: type }), [], type)
  t.same(check({}), [], 'optional here')
  const [err] = check({ podCIDRType: 'flannel' }, 'spec')
  t.match(err, { field: 'spec.podCIDRType', type: 'FieldValueNotSupported', value: 'flannel' })
  t.match(err.detail, /"auto", "cluster", "calico", "cilium", "none"/)
})

t.test('COORD-V-03 a hijackCIDR entry must be an IP or a prefix, reported at hijackCIDR[i] (not extraCIDR, quirk 8)', async (t) => {
  t.same(check({ hijackCIDR: ['10.0.0.0/8', '10.0.0.1', '10.1.0.5/16', 'fd00::/64', 'fd00::1', '::ffff:10.0.0.0/104'] }), [])
  const errs = check({ hijackCIDR: ['10.0.0.0/8', '10.0.0.0/33', '010.0.0.1', 'fd00::/129', 'nonsense', 'fd00::/064'] })
  t.same(fields(errs), [
    'spec.coordinator.hijackCIDR[1]',
    'spec.coordinator.hijackCIDR[2]',
    'spec.coordinator.hijackCIDR[3]',
    'spec.coordinator.hijackCIDR[4]',
    'spec.coordinator.hijackCIDR[5]',
  ])
  t.equal(errs[0].detail, 'netip.ParsePrefix("10.0.0.0/33"): prefix length out of range')
  t.equal(errs[1].detail, 'ParseAddr("010.0.0.1"): IPv4 field has octet with leading zero')
  t.equal(errs[2].detail, 'netip.ParsePrefix("fd00::/129"): prefix length out of range')
  t.ok(errs.every((e) => e.type === 'FieldValueInvalid'))
})

t.test('COORD-V-03 a zoned address in hijackCIDR is refused: it would become a prefix with a zone and fail at CNI ADD', async (t) => {
  const [bare, prefix] = check({ hijackCIDR: ['fe80::1%eth0', 'fe80::%eth0/64'] }, 'spec')
  t.match(bare, { field: 'spec.hijackCIDR[0]', value: 'fe80::1%eth0' })
  t.match(bare.detail, /zone/)
  t.match(prefix, { field: 'spec.hijackCIDR[1]', detail: 'netip.ParsePrefix("fe80::%eth0/64"): IPv6 zones cannot be present in a prefix' })
})

t.test('COORD-V-04 a policy route dst must be an IP or a prefix', async (t) => {
  t.same(check({ policyRoutes: [{ dst: '10.7.0.0/16', gw: '10.6.0.1' }, { dst: '10.7.0.1', gw: '10.6.0.1' }] }), [])
  const [err] = check({ policyRoutes: [{ dst: '10.7.0.0/40', gw: '10.6.0.1' }] })
  t.match(err, { field: 'spec.coordinator.policyRoutes[0].dst', type: 'FieldValueInvalid', detail: 'netip.ParsePrefix("10.7.0.0/40"): prefix length out of range' })
  const [v6] = check({ policyRoutes: [{ dst: 'fd00:::/64', gw: 'fd00::1' }] }, 'spec')
  t.equal(v6.field, 'spec.policyRoutes[0].dst')
})

t.test('COORD-V-05 a policy route gw must be an IP', async (t) => {
  const [err] = check({ policyRoutes: [{ dst: '10.7.0.0/16', gw: '10.6.0.0/16' }] })
  t.match(err, { field: 'spec.coordinator.policyRoutes[0].gw', value: '10.6.0.0/16', detail: 'gw is an invalid IP address' })
  const [missing] = check({ policyRoutes: [{ dst: '10.7.0.0/16' }] })
  t.match(missing, { field: 'spec.coordinator.policyRoutes[0].gw', type: 'FieldValueRequired' })
})

t.test('COORD-V-06 dst and gw of a policy route are of one family; an IPv4-mapped gw counts as IPv6', async (t) => {
  t.same(check({ policyRoutes: [{ dst: 'fd00:20::/64', gw: 'fe80::1%eth0' }] }), [], 'a zoned link-local gateway is fine')
  t.same(check({ policyRoutes: [{ dst: '::ffff:10.7.0.0/112', gw: '::ffff:10.6.0.1' }] }), [])
  const [mixed] = check({ policyRoutes: [{ dst: '10.7.0.0/16', gw: 'fd00::1' }] })
  t.match(mixed, { field: 'spec.coordinator.policyRoutes[0]', detail: 'dst and gw must use the same IP family' })
  const [mapped] = check({ policyRoutes: [{ dst: '10.7.0.0/16', gw: '::ffff:10.6.0.1' }] })
  t.equal(mapped.detail, 'dst and gw must use the same IP family')
  const [v6dst] = check({ policyRoutes: [{ dst: 'fd00::/64', gw: '10.6.0.1' }] })
  t.equal(v6dst.field, 'spec.coordinator.policyRoutes[0]')
})

t.test('COORD-V-07 podMACPrefix must be two colon-separated hex bytes', async (t) => {
  t.same(check({ podMACPrefix: '' }), [])
  t.same(check({ podMACPrefix: 'AE:0f' }), [])
  for (const bad of ['0a', '0a:1b:2c', '0a-1b', 'zz:00', '0:1b', '+a:00', '0a:1']) {
    const [err] = check({ podMACPrefix: bad })
    t.match(err, { field: 'spec.coordinator.podMACPrefix', value: bad, detail: 'not a valid MAC prefix' }, bad)
  }
})

t.test('COORD-V-08 podMACPrefix must be unicast: the lowest bit of the first byte is 0', async (t) => {
  t.same(check({ podMACPrefix: '02:00' }), [])
  const [err] = check({ podMACPrefix: '0b:00' })
  t.match(err, { field: 'spec.coordinator.podMACPrefix', detail: 'not a unicast MAC: the lowest bit of the first byte must be 0' })
})

t.test('COORD-V-09 txQueueLen below 0 is refused', async (t) => {
  t.same(check({ txQueueLen: 0 }), [])
  matchErrors(t, check({ txQueueLen: -1 }), [{ field: 'spec.coordinator.txQueueLen', value: -1, detail: "txQueueLen can't be less than 0" }])
})

t.test('COORD-V-11 podRPFilter is 0, 1 or 2, or negative (leave the host setting)', async (t) => {
  for (const f of [-1, 0, 1, 2]) t.same(check({ podRPFilter: f }), [], String(f))
  matchErrors(t, check({ podRPFilter: 3 }), [{ field: 'spec.coordinator.podRPFilter', type: 'FieldValueNotSupported', value: 3, detail: 'supported values: "0", "1", "2"' }])
})

t.test('COORD-V-12 vethLinkAddress is empty or an address of either family', async (t) => {
  for (const a of ['', '169.254.100.1', 'fd00::1', 'fe80::1%eth0']) t.same(check({ vethLinkAddress: a }), [], a)
  for (const bad of ['169.254.100.1/32', 'fd00::g', '1.2.3']) {
    matchErrors(t, check({ vethLinkAddress: bad }), [{ field: 'spec.coordinator.vethLinkAddress', detail: 'vethLinkAddress is an invalid IP address' }], bad)
  }
})

t.test('COORD-V-13 vethMTU must be greater than 0', async (t) => {
  t.same(check({ vethMTU: 1 }), [])
  matchErrors(t, check({ vethMTU: 0 }), [{ field: 'spec.coordinator.vethMTU', detail: 'vethMTU must be greater than 0' }])
})

t.test('every failing field is reported, not only the first', async (t) => {
  const errs = check(
    { podCIDRType: 'flannel', hijackCIDR: ['x'], policyRoutes: [{ dst: 'y', gw: 'z' }], podMACPrefix: '01:00', txQueueLen: -1, podRPFilter: 9, vethLinkAddress: 'v', vethMTU: 0 },
    'spec',
  )
  t.same(fields(errs), [
    'spec.podCIDRType',
    'spec.hijackCIDR[0]',
    'spec.policyRoutes[0].dst',
    'spec.policyRoutes[0].gw',
    'spec.podMACPrefix',
    'spec.txQueueLen',
    'spec.podRPFilter',
    'spec.vethLinkAddress',
    'spec.vethMTU',
  ])
})

t.test('COORD-M-04 a bare hijackCIDR address gets /32 or /128; prefixes are untouched', async (t) => {
  const spec = { hijackCIDR: ['10.0.0.1', '10.1.0.5/16', 'FD00::1', 'fd00:0::/64', '::ffff:1.2.3.4'] } as CoordinatorSpec
  t.equal(normaliseCoordinatorSpec(spec), true)
  t.same(spec.hijackCIDR, ['10.0.0.1/32', '10.1.0.5/16', 'FD00::1/128', 'fd00:0::/64', '::ffff:1.2.3.4/128'])
})

t.test('COORD-M-05 a policy route dst is rewritten as its prefix: bare IP → /32 or /128, IPv6 canonical, host bits kept', async (t) => {
  const spec = {
    policyRoutes: [
      { dst: '10.7.0.1', gw: '10.6.0.1' },
      { dst: '10.1.0.5/16', gw: '10.6.0.1' },
      { dst: 'FD00:0:0::1', gw: 'fd00::ff' },
      { dst: 'FD00:0020:0::/64', gw: 'fd00::ff' },
    ],
  } as CoordinatorSpec
  t.equal(normaliseCoordinatorSpec(spec), true)
  t.same(
    spec.policyRoutes?.map((r) => r.dst),
    ['10.7.0.1/32', '10.1.0.5/16', 'fd00::1/128', 'fd00:20::/64'],
  )
})

t.test('COORD-M-04/05 an entry that cannot be normalised leaves the whole spec untouched (no half-mutated object)', async (t) => {
  const spec = { hijackCIDR: ['10.0.0.1', 'bogus'], policyRoutes: [{ dst: '10.7.0.1', gw: '10.6.0.1' }] } as CoordinatorSpec
  t.equal(normaliseCoordinatorSpec(spec), false)
  t.same(spec, { hijackCIDR: ['10.0.0.1', 'bogus'], policyRoutes: [{ dst: '10.7.0.1', gw: '10.6.0.1' }] })
  const zoned = { hijackCIDR: ['fe80::1%eth0'] } as CoordinatorSpec
  t.equal(normaliseCoordinatorSpec(zoned), false, 'a zoned address is left for validation to refuse')
  t.same(zoned.hijackCIDR, ['fe80::1%eth0'])
  const badDst = { hijackCIDR: ['10.0.0.1'], policyRoutes: [{ dst: '10.7.0.0/99', gw: '10.6.0.1' }] } as CoordinatorSpec
  t.equal(normaliseCoordinatorSpec(badDst), false)
  t.same(badDst.hijackCIDR, ['10.0.0.1'])
})
