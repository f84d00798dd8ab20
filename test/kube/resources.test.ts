import t from 'tap'
import { kinds } from '../../schemas/index.ts'
import { apiVersionOf, resourceOfKind, resourcePath, resources } from '../../kube/resources.ts'

t.test('every kind with a schema has a row that matches its CRD: group, version, plural, scope, status subresource', async (t) => {
  for (const { crd } of kinds) {
    const row = Object.values(resources).find((r) => r.kind === crd.names.kind)
    if (!row) {
      t.fail(`no resource row for ${crd.names.kind}`)
      continue
    }
    t.same(
      { group: row.group, version: row.version, plural: row.plural, namespaced: row.namespaced, hasStatus: row.hasStatus },
      { group: crd.group, version: crd.version, plural: crd.names.plural, namespaced: crd.scope === 'Namespaced', hasStatus: 'status' in crd.subresources },
      crd.names.kind,
    )
  }
})

t.test('paths follow the REST layout of core and named groups, namespaced and cluster-scoped', async (t) => {
  t.equal(resourcePath(resources.pods, { namespace: 'default', name: 'web-0' }), '/api/v1/namespaces/default/pods/web-0')
  t.equal(resourcePath(resources.pods), '/api/v1/pods', 'all namespaces')
  t.equal(resourcePath(resources.nodes, { name: 'n1', subresource: 'status' }), '/api/v1/nodes/n1/status')
  t.equal(resourcePath(resources.ippools, { name: 'pool-v4', subresource: 'status' }), '/apis/spiderpool.spidernet.io/v2beta1/spiderippools/pool-v4/status')
  t.equal(resourcePath(resources.leases, { namespace: 'kube-system', name: 'spiderpool' }), '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/spiderpool')
  t.equal(resourcePath(resources.networkAttachmentDefinitions, { namespace: 'ns' }), '/apis/k8s.cni.cncf.io/v1/namespaces/ns/network-attachment-definitions')
  t.equal(resourcePath(resources.configmaps, { namespace: 'a b', name: 'x/y' }), '/api/v1/namespaces/a%20b/configmaps/x%2Fy', 'names are escaped')
})

t.test('a path that cannot address anything is refused', async (t) => {
  t.throws(() => resourcePath(resources.ippools, { namespace: 'default', name: 'p' }), /cluster-scoped/)
  t.throws(() => resourcePath(resources.pods, { name: 'web-0' }), /namespaced/)
  t.throws(() => resourcePath(resources.nodes, { name: '' }), /empty name/)
})

t.test('apiVersion and kind lead back to the resource', async (t) => {
  t.equal(apiVersionOf(resources.pods), 'v1')
  t.equal(apiVersionOf(resources.deployments), 'apps/v1')
  t.equal(resourceOfKind('spiderpool.spidernet.io/v2beta1', 'SpiderSubnet'), resources.subnets)
  t.equal(resourceOfKind('v1', 'Namespace'), resources.namespaces)
  t.equal(resourceOfKind('spiderpool.spidernet.io/v2beta2', 'SpiderSubnet'), undefined)
})
