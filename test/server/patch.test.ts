import t, { type Test } from 'tap'
import { diff, pointerSegment, type JsonValue } from '../../server/patch.ts'
import { applyPatch } from './fixtures/json-patch.ts'

/** The patch must turn `from` into exactly `to` under a strict RFC 6902 applier, and leave `from` alone. */
function roundTrip(t: Test, from: JsonValue, to: JsonValue) {
  const before = structuredClone(from)
  const ops = diff(from, to)
  t.same(applyPatch(from, ops), to, JSON.stringify(ops))
  t.same(from, before, 'the original is not modified')
  return ops
}

t.test('equal documents give an empty patch', async (t) => {
  const doc = { metadata: { name: 'a', labels: { x: 'y' } }, spec: { ips: ['10.0.0.1', '10.0.0.2'], n: 0, f: false, z: null } }
  t.same(diff(doc, structuredClone(doc)), [])
})

t.test('a changed scalar is replaced, an added key added, a dropped key removed', async (t) => {
  const ops = roundTrip(t, { spec: { a: 1, b: 'x', c: true } }, { spec: { a: 2, c: true, d: 'new' } })
  t.same(ops, [
    { op: 'replace', path: '/spec/a', value: 2 },
    { op: 'remove', path: '/spec/b' },
    { op: 'add', path: '/spec/d', value: 'new' },
  ])
})

t.test('a missing parent is added whole: metadata.labels appears with its label', async (t) => {
  const ops = roundTrip(t, { metadata: { name: 'w' } }, { metadata: { name: 'w', labels: { 'ipam.spidernet.io/ippool-cidr': '10-0-0-0-24' } } })
  t.same(ops, [{ op: 'add', path: '/metadata/labels', value: { 'ipam.spidernet.io/ippool-cidr': '10-0-0-0-24' } }])
})

t.test('nested missing parents: spec.coordinator.podCIDRType under an absent spec', async (t) => {
  roundTrip(t, { metadata: {} }, { metadata: {}, spec: { coordinator: { podCIDRType: 'auto', tunePodRoutes: true } } })
})

t.test('keys with / and ~ are escaped as ~1 and ~0', async (t) => {
  t.equal(pointerSegment('a/b~c'), 'a~1b~0c')
  t.equal(pointerSegment('~1'), '~01', '~ is escaped before /, so ~1 stays two characters')
  const ops = roundTrip(
    t,
    { metadata: { annotations: { 'ipam.spidernet.io/ippool': 'a', 'x~y': '1' } } },
    { metadata: { annotations: { 'ipam.spidernet.io/ippool': 'b', 'x~y': '2', 'k8s.v1.cni.cncf.io/networks': 'ns/n', '~1': 'odd' } } },
  )
  t.same(
    ops.map((o) => o.path),
    ['/metadata/annotations/ipam.spidernet.io~1ippool', '/metadata/annotations/x~0y', '/metadata/annotations/k8s.v1.cni.cncf.io~1networks', '/metadata/annotations/~01'],
  )
})

t.test('an array that grows gets its new elements added in order', async (t) => {
  roundTrip(t, { spec: { ips: ['10.0.0.1'] } }, { spec: { ips: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] } })
  roundTrip(t, { spec: { ips: [] } }, { spec: { ips: ['10.0.0.1'] } })
})

t.test('an array that shrinks loses its tail, last index first', async (t) => {
  const ops = roundTrip(t, { spec: { ips: ['a', 'b', 'c', 'd'] } }, { spec: { ips: ['a', 'x'] } })
  t.same(ops, [
    { op: 'replace', path: '/spec/ips/1', value: 'x' },
    { op: 'remove', path: '/spec/ips/3' },
    { op: 'remove', path: '/spec/ips/2' },
  ])
  roundTrip(t, { spec: { ips: ['a', 'b'] } }, { spec: { ips: [] } })
})

t.test('arrays of objects are diffed element by element, shifted or not', async (t) => {
  roundTrip(
    t,
    { spec: { routes: [{ dst: '10.0.0.0/8', gw: '10.0.0.1' }, { dst: '0.0.0.0/0', gw: '10.0.0.1' }] } },
    { spec: { routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }, { dst: '10.0.0.0/8', gw: '10.0.0.254', note: 'x' }, { dst: '::/0', gw: 'fe80::1' }] } },
  )
  roundTrip(t, [[1, [2, 3]], { a: [] }], [[1, [3]], { a: [{ b: null }] }, 4])
})

t.test('a value changing type is replaced whole', async (t) => {
  roundTrip(t, { spec: { a: [1, 2], b: { c: 1 }, c: 'x', d: null } }, { spec: { a: { 0: 1 }, b: [1], c: null, d: 'set' } })
})

t.test('a different root is replaced at the empty path', async (t) => {
  t.same(diff([1], { a: 1 }), [{ op: 'replace', path: '', value: { a: 1 } }])
  roundTrip(t, 'x', 'y')
})
