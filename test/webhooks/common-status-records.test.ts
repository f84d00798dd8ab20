import t from 'tap'
import { parseAllocatedIPs } from '../../webhooks/common/allocated-ips.ts'
import { parseControlledIPPools } from '../../webhooks/common/controlled-ippools.ts'
import { controllerOf, setControllerReference } from '../../webhooks/common/controller-ref.ts'
import type { ObjectMeta } from '../../schemas/meta.ts'

t.test('allocatedIPs: IP keys and pods are read, other record fields tolerated', async (t) => {
  const text = JSON.stringify({
    '10.6.168.101': { pod: 'default/web-7c9f-abcde', podUid: '1f0c', reservation: { id: 'r1', expires: '2026-01-01T00:00:00Z' } },
    'fd00::1': { podUid: 'x' },
  })
  t.same(parseAllocatedIPs(text), {
    records: [
      { ip: '10.6.168.101', pod: 'default/web-7c9f-abcde' },
      { ip: 'fd00::1', pod: '' },
    ],
  })
  t.same(parseAllocatedIPs(undefined), { records: [] })
  t.same(parseAllocatedIPs(''), { records: [] })
  t.same(parseAllocatedIPs('null'), { records: [] })
  t.type(parseAllocatedIPs('{"a":').error, 'string')
  t.type(parseAllocatedIPs('[1]').error, 'string')
  t.type(parseAllocatedIPs('{"10.0.0.1": 5}').error, 'string')
})

t.test('controlledIPPools: pools in name order with their ranges', async (t) => {
  const text = JSON.stringify({ b: { ips: ['10.0.0.2'] }, a: { ips: ['10.0.0.1'], application: 'apps_v1_Deployment_ns_web' } })
  t.same(parseControlledIPPools(text), {
    pools: [
      { pool: 'a', ips: ['10.0.0.1'] },
      { pool: 'b', ips: ['10.0.0.2'] },
    ],
  })
  t.same(parseControlledIPPools(undefined), { pools: [] })
  t.type(parseControlledIPPools('{"a":{"ips":"10.0.0.1"}}').error, 'string')
  t.type(parseControlledIPPools('nope').error, 'string')
})

t.test('a controller reference replaces one to the same object and yields to another controller', async (t) => {
  const owner = { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', name: 's', uid: 'new' }
  const meta: ObjectMeta = { ownerReferences: [{ ...owner, uid: 'old' }, { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'c1' }] }
  t.ok(setControllerReference(meta, owner))
  t.same(meta.ownerReferences, [
    { ...owner, controller: true, blockOwnerDeletion: true },
    { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'c1' },
  ])
  const taken: ObjectMeta = { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', uid: 'd1', controller: true }] }
  t.notOk(setControllerReference(taken, owner))
  t.equal(controllerOf(taken)?.name, 'd')
  const empty: ObjectMeta = {}
  t.ok(setControllerReference(empty, owner))
  t.equal(controllerOf(empty)?.uid, 'new')
})
