// Structural-schema pruning and defaulting of custom resources, as kube-apiserver does them.
import t from 'tap'
import { applySchemaDefaults } from '../../../kube/controlplane/defaults.ts'
import { pruneObjectMeta, pruneUnknownFields } from '../../../kube/controlplane/prune.ts'
import { spiderIPPoolSchema } from '../../../schemas/spiderippool.ts'
import { spiderMultusConfigSchema } from '../../../schemas/spidermultusconfig.ts'

t.test('pruning drops undeclared fields at any depth and reports their paths', async (t) => {
  const pool: any = {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderIPPool',
    metadata: { name: 'p', labels: { a: 'b' } },
    spec: { subnet: '10.0.0.0/8', bogus: 1, routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1', metric: 5 }], podAffinity: { matchLabels: { any: 'key' } } },
    status: { allocatedIPCount: 1, extra: true },
    top: 1,
  }
  const unknown = pruneUnknownFields(pool, spiderIPPoolSchema)
  t.same(unknown.sort(), ['spec.bogus', 'spec.routes[0].metric', 'status.extra', 'top'])
  t.same(pool.spec.routes, [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }])
  t.same(pool.spec.podAffinity.matchLabels, { any: 'key' }, 'additionalProperties keep their keys')
  t.same(pool.metadata.labels, { a: 'b' }, 'metadata is not the schema’s business')
})

t.test('ObjectMeta keeps its own fields only', async (t) => {
  const object: any = { metadata: { name: 'x', namespace: 'y', finalizers: [], nmae: 'typo' } }
  t.same(pruneObjectMeta(object), ['metadata.nmae'])
  t.same(object.metadata, { name: 'x', namespace: 'y', finalizers: [] })
})

t.test('defaults fill absent fields, also inside objects that defaulting itself creates, and replace nulls', async (t) => {
  const pool: any = { spec: { subnet: '10.0.0.0/8', disable: null } }
  applySchemaDefaults(pool, spiderIPPoolSchema)
  t.same(pool.spec, { subnet: '10.0.0.0/8', default: false, disable: false })
  const smc: any = { spec: { cniType: 'macvlan', macvlan: { master: ['eth0'] } } }
  applySchemaDefaults(smc, spiderMultusConfigSchema)
  t.equal(smc.spec.enableCoordinator, true)
  t.equal(smc.spec.macvlan.master[0], 'eth0')
  t.equal(smc.spec.cniType, 'macvlan', 'given values stay')
  const custom: any = { spec: {} }
  applySchemaDefaults(custom, spiderMultusConfigSchema)
  t.equal(custom.spec.cniType, 'custom')
  t.equal(custom.spec.coordinator, undefined, 'no object is created just to hold defaults')
})
