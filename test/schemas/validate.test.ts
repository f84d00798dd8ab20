import t from 'tap'
import { openAPIValidator, schemaErrors } from '../../schemas/validate.ts'
import { kinds } from '../../schemas/index.ts'

const pool = (spec: object, status?: object) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'p' }, spec, status })
const macvlan = (macvlan: object) => ({ metadata: { name: 'm', namespace: 'default' }, spec: { cniType: 'macvlan', macvlan } })

t.test('a conforming object has no schema errors', async (t) => {
  t.same(schemaErrors('SpiderIPPool', pool({ subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.20'], ipVersion: 4 }, { allocatedIPs: '{}', allocatedIPCount: 0 })), [])
  t.same(schemaErrors('SpiderMultusConfig', macvlan({ master: ['ens192'], vlanID: 4094, mtu: 2 ** 31 - 1 })), [])
})

t.test('every kind in the table has a validator', async (t) => {
  for (const k of kinds) t.same(schemaErrors(k.kind, { metadata: {}, spec: k.kind === 'SpiderIPPool' || k.kind === 'SpiderSubnet' ? { subnet: '10.0.0.0/8' } : {} }), [], k.kind)
})

t.test('an array element of the wrong type is reported at its index, as kube-apiserver does', async (t) => {
  t.same(schemaErrors('SpiderIPPool', { spec: { ips: [1] } }), [
    { field: 'spec.subnet', type: 'FieldValueRequired', detail: '' },
    { field: 'spec.ips[0]', type: 'FieldValueInvalid', value: 'integer', detail: 'spec.ips[0] in body must be of type string: "integer"' },
  ])
  t.same(
    schemaErrors('SpiderIPPool', pool({ subnet: '10.6.0.0/16', ips: ['10.6.0.1', 2.5] })).map((e) => [e.field, e.value]),
    [['spec.ips[1]', 'number']],
  )
})

t.test('nested objects, map values and missing fields inside array items get dotted paths', async (t) => {
  t.same(schemaErrors('SpiderIPPool', pool({ subnet: '10.6.0.0/16', podAffinity: { matchLabels: 'app=x' } })).map((e) => e.field), ['spec.podAffinity.matchLabels'])
  t.same(schemaErrors('SpiderIPPool', pool({ subnet: '10.6.0.0/16', podAffinity: { matchLabels: { app: 1 } } })).map((e) => e.field), ['spec.podAffinity.matchLabels.app'])
  t.same(
    schemaErrors('SpiderIPPool', pool({ subnet: '10.6.0.0/16', routes: [{ dst: '0.0.0.0/0', gw: '10.6.0.1' }, { dst: '10.0.0.0/8' }] })),
    [{ field: 'spec.routes[1].gw', type: 'FieldValueRequired', detail: '' }],
  )
})

t.test('every violation is reported, not only the first', async (t) => {
  const errors = schemaErrors('SpiderMultusConfig', { spec: { cniType: 'flannel', macvlan: { vlanID: 5000, mtu: -1 } } })
  t.same(errors.map((e) => e.field).sort(), ['spec.cniType', 'spec.macvlan.master', 'spec.macvlan.mtu', 'spec.macvlan.vlanID'])
})

t.test('enum, minimum and maximum read as Kubernetes words them', async (t) => {
  t.same(schemaErrors('SpiderIPPool', pool({ subnet: '10.6.0.0/16', ipVersion: 5 })), [
    { field: 'spec.ipVersion', type: 'FieldValueNotSupported', value: 5, detail: 'supported values: "4", "6"' },
  ])
  t.same(schemaErrors('SpiderMultusConfig', macvlan({ master: ['ens192'], vlanID: 4095 })), [
    { field: 'spec.macvlan.vlanID', type: 'FieldValueInvalid', value: 4095, detail: 'spec.macvlan.vlanID in body should be less than or equal to 4094' },
  ])
  t.same(schemaErrors('SpiderMultusConfig', macvlan({ master: ['ens192'], mtu: -1 })), [
    { field: 'spec.macvlan.mtu', type: 'FieldValueInvalid', value: -1, detail: 'spec.macvlan.mtu in body should be greater than or equal to 0' },
  ])
})

t.test('int32 and int64 formats refuse integers that do not fit', async (t) => {
  t.same(schemaErrors('SpiderMultusConfig', macvlan({ master: ['ens192'], mtu: 2 ** 31 })), [
    { field: 'spec.macvlan.mtu', type: 'FieldValueInvalid', value: 2 ** 31, detail: 'spec.macvlan.mtu in body must be of type int32: "2147483648"' },
  ])
  t.same(schemaErrors('SpiderIPPool', pool({ subnet: '10.6.0.0/16' }, { totalIPCount: 2 ** 53 })), [])
  t.same(schemaErrors('SpiderIPPool', pool({ subnet: '10.6.0.0/16' }, { totalIPCount: 2 ** 63 })).map((e) => e.field), ['status.totalIPCount'])
  t.same(schemaErrors('SpiderIPPool', pool({ subnet: '10.6.0.0/16' }, { totalIPCount: 1.5 })).map((e) => e.value), ['number'], 'a fraction is one type error')
})

t.test('the pool status keeps allocatedIPs as a JSON string', async (t) => {
  t.same(schemaErrors('SpiderIPPool', pool({ subnet: '10.6.0.0/16' }, { allocatedIPs: { '10.6.0.1': {} } })).map((e) => e.field), ['status.allocatedIPs'])
})

t.test('a non-object is reported at the root', async (t) => {
  t.same(schemaErrors('SpiderIPPool', 'pool'), [{ field: '', type: 'FieldValueInvalid', value: 'string', detail: 'body must be of type object: "string"' }])
})

t.test('OpenAPI keywords compile in strict mode and behave as kube-apiserver applies them', async (t) => {
  const validate = openAPIValidator({
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    'x-kubernetes-validations': [{ rule: 'self.a == self.a' }],
    properties: {
      list: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
      selector: { type: 'object', 'x-kubernetes-map-type': 'atomic', additionalProperties: { type: 'string' } },
      keyed: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
      embedded: { type: 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
      maybe: { type: 'string', nullable: true },
      never: { type: 'string' },
      port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
      count: { type: 'integer', format: 'int32', example: 3, externalDocs: { url: 'https://example.com' } },
    },
  })
  t.same(validate({ list: ['a'], selector: { a: 'b' }, keyed: [{ name: 'x' }], embedded: { kind: 'Pod' }, maybe: null, port: 80, count: 3, unknown: 1 }), [])
  t.same(validate({ port: 'http' }), [])
  t.same(validate({ never: null }).map((e) => [e.field, e.value]), [['never', 'null']])
  t.ok(validate({ port: 1.5 }).some((e) => e.field === 'port'), 'int-or-string refuses a fraction')
  t.ok(validate({ port: true }).some((e) => e.field === 'port'), 'int-or-string refuses a boolean')
  t.same(validate({ count: 2 ** 31 }).map((e) => e.field), ['count'])
})

t.test('a format we do not know stops compilation instead of being ignored', async (t) => {
  t.throws(() => openAPIValidator({ type: 'string', format: 'cidr' }), /unknown format "cidr"/)
})
