import t from 'tap'
import { aggregateText, errorBody, errorText, invalidStatus, refusalStatus, valueText } from '../../server/status.ts'
import {
  duplicate,
  forbidden,
  internal,
  invalid,
  notSupported,
  refuseAlreadyExists,
  refuseForbidden,
  required,
} from '../../webhooks/field.ts'

t.test('one field error: 422 Invalid, the Kubernetes message, one cause without the field', async (t) => {
  const status = invalidStatus('SpiderIPPool', 'pool-a', [invalid('spec.subnet', '172.18.40.1/24', 'unformatted subnet')])
  t.same(status, {
    status: 'Failure',
    code: 422,
    reason: 'Invalid',
    message: 'SpiderIPPool.spiderpool.spidernet.io "pool-a" is invalid: spec.subnet: Invalid value: "172.18.40.1/24": unformatted subnet',
    details: {
      name: 'pool-a',
      group: 'spiderpool.spidernet.io',
      kind: 'SpiderIPPool',
      causes: [{ type: 'FieldValueInvalid', message: 'Invalid value: "172.18.40.1/24": unformatted subnet', field: 'spec.subnet' }],
    },
  })
})

t.test('several field errors are all reported, bracketed and comma-separated, one cause each', async (t) => {
  const status = invalidStatus('SpiderSubnet', 'sub', [
    invalid('spec.ips[1]', '10.0.0.300', 'not an IP'),
    required('spec.subnet', ''),
    forbidden('spec.ipVersion', 'IPv6 is disabled'),
  ])
  t.equal(
    status.message,
    'SpiderSubnet.spiderpool.spidernet.io "sub" is invalid: [spec.ips[1]: Invalid value: "10.0.0.300": not an IP, spec.subnet: Required value, spec.ipVersion: Forbidden: IPv6 is disabled]',
  )
  t.same(
    status.details?.causes?.map((c) => [c.field, c.type, c.message]),
    [
      ['spec.ips[1]', 'FieldValueInvalid', 'Invalid value: "10.0.0.300": not an IP'],
      ['spec.subnet', 'FieldValueRequired', 'Required value'],
      ['spec.ipVersion', 'FieldValueForbidden', 'Forbidden: IPv6 is disabled'],
    ],
  )
})

t.test('identical error texts appear once in the message (as ErrorList.ToAggregate does) but stay as causes', async (t) => {
  const same = invalid('spec.gateway', '10.0.0.1', 'outside the subnet')
  const status = invalidStatus('SpiderIPPool', 'p', [same, { ...same }])
  t.equal(status.message, 'SpiderIPPool.spiderpool.spidernet.io "p" is invalid: spec.gateway: Invalid value: "10.0.0.1": outside the subnet')
  t.equal(status.details?.causes?.length, 2)
})

t.test('each error type has its Kubernetes text; Required, Forbidden and Internal leave the value out', async (t) => {
  t.equal(errorBody(invalid('f', 'x', 'd')), 'Invalid value: "x": d')
  t.equal(errorBody(required('f', 'd')), 'Required value: d')
  t.equal(errorBody(forbidden('f', 'd')), 'Forbidden: d')
  t.equal(errorBody(notSupported('f', 'bridge', ['macvlan', 'ipvlan'])), 'Unsupported value: "bridge": supported values: "macvlan", "ipvlan"')
  t.equal(errorBody(duplicate('f', '10.0.0.1')), 'Duplicate value: "10.0.0.1"')
  t.equal(errorBody(internal('f', 'cannot parse')), 'Internal error: cannot parse')
  t.equal(errorBody({ field: 'f', type: 'FieldValueForbidden', value: 'hidden', detail: 'no' }), 'Forbidden: no', 'a value given to Forbidden is not shown')
})

t.test('an empty detail adds nothing, not a trailing colon', async (t) => {
  t.equal(errorText(required('spec.subnet', '')), 'spec.subnet: Required value')
  t.equal(errorText(duplicate('spec.ips[2]', '10.0.0.1')), 'spec.ips[2]: Duplicate value: "10.0.0.1"')
})

t.test('values print as Go prints them: strings quoted and escaped, numbers and booleans bare, null, others as JSON', async (t) => {
  t.equal(valueText('a "quoted" \\ text'), '"a \\"quoted\\" \\\\ text"')
  t.equal(valueText(4094), '4094')
  t.equal(valueText(-1.5), '-1.5')
  t.equal(valueText(true), 'true')
  t.equal(valueText(null), 'null')
  t.equal(valueText(['10.0.0.1', '10.0.0.2']), '["10.0.0.1","10.0.0.2"]')
  t.equal(valueText({ dst: '0.0.0.0/0' }), '{"dst":"0.0.0.0/0"}')
  t.equal(errorBody(invalid('spec.vlanID', 5000, 'out of range')), 'Invalid value: 5000: out of range')
  t.equal(errorBody({ field: 'f', type: 'FieldValueInvalid', detail: 'no value given' }), 'Invalid value: no value given', 'no value key: omitted')
  t.equal(errorBody(invalid('spec.ipVersion', undefined, 'not set')), 'Invalid value: null: not set', 'an undefined value is a nil pointer in Go')
})

t.test('aggregateText brackets only when several distinct errors remain', async (t) => {
  t.equal(aggregateText([required('a', '')]), 'a: Required value')
  t.equal(aggregateText([required('a', ''), required('b', '')]), '[a: Required value, b: Required value]')
})

t.test('a Forbidden refusal is 403 with the "forbidden: " prefix Spiderpool\'s NewForbidden gives it', async (t) => {
  t.same(refusalStatus('SpiderIPPool', 'p', refuseForbidden('cannot update a terminating IPPool')), {
    status: 'Failure',
    code: 403,
    reason: 'Forbidden',
    message: 'forbidden: cannot update a terminating IPPool',
    details: {},
  })
})

t.test('an AlreadyExists refusal is 409 with the object named in details', async (t) => {
  t.same(refusalStatus('SpiderSubnet', 'sub-1', refuseAlreadyExists('SpiderSubnet', 'sub-1')), {
    status: 'Failure',
    code: 409,
    reason: 'AlreadyExists',
    message: 'SpiderSubnet.spiderpool.spidernet.io "sub-1" already exists',
    details: { name: 'sub-1', group: 'spiderpool.spidernet.io', kind: 'SpiderSubnet' },
  })
})
