// Table output: printer-column JSONPath, cell typing as kube-apiserver's CRD table convertor, ages.
import t from 'tap'
import { evaluateJsonPath, parseJsonPath } from '../../../kube/controlplane/jsonpath.ts'
import { findResource } from '../../../kube/controlplane/resources.ts'
import { humanDuration, toTable } from '../../../kube/controlplane/table.ts'

t.test('JSONPath: dotted fields, indexes and quoted keys with escapes', async (t) => {
  const object = { spec: { podAffinity: { matchLabels: { 'ipam.spidernet.io/app-namespace': 'shop' } } }, status: { current: { ips: [{ interface: 'eth0' }] } } }
  t.same(parseJsonPath(".spec.podAffinity.matchLabels['ipam\\.spidernet\\.io/app\\-namespace']"), ['spec', 'podAffinity', 'matchLabels', 'ipam.spidernet.io/app-namespace'])
  t.equal(evaluateJsonPath(object, parseJsonPath(".spec.podAffinity.matchLabels['ipam\\.spidernet\\.io/app\\-namespace']")), 'shop')
  t.equal(evaluateJsonPath(object, parseJsonPath('.status.current.ips[0].interface')), 'eth0')
  t.equal(evaluateJsonPath(object, parseJsonPath('{.status.current.ips[3].interface}')), undefined)
  t.equal(evaluateJsonPath(object, parseJsonPath('.spec.missing.deeper')), undefined)
})

t.test('ages read as kubectl prints them', async (t) => {
  const s = 1000
  t.equal(humanDuration(5 * s), '5s')
  t.equal(humanDuration(119 * s), '119s')
  t.equal(humanDuration(150 * s), '2m30s')
  t.equal(humanDuration(600 * s), '10m')
  t.equal(humanDuration((3 * 3600 + 20 * 60) * s), '3h20m')
  t.equal(humanDuration(30 * 3600 * s), '30h')
  t.equal(humanDuration((3 * 24 + 5) * 3600 * s), '3d5h')
  t.equal(humanDuration(400 * 24 * 3600 * s), '400d')
  t.equal(humanDuration(-5 * s), '<invalid>')
})

t.test('custom resource cells are typed by the column: numbers, booleans, strings, JSON for lists, null when absent', async (t) => {
  const pools = findResource('spiderpool.spidernet.io', 'v2beta1', 'spiderippools')!
  const pool = {
    metadata: { name: 'p', creationTimestamp: new Date().toISOString() },
    spec: { ipVersion: 4, subnet: '10.0.0.0/8', default: true, nodeName: ['n1', 'n2'] },
    status: { allocatedIPCount: 3 },
  }
  const table = toTable(pools, [pool], { resourceVersion: '9' }, 'None')
  t.same(table.rows[0].cells, ['p', 4, '10.0.0.0/8', 3, null, true, null, '["n1","n2"]', null, null])
  t.equal(table.rows[0].object, undefined, 'includeObject=None')
  t.same(table.metadata, { resourceVersion: '9' })
  const configs = findResource('spiderpool.spidernet.io', 'v2beta1', 'spidermultusconfigs')!
  const configTable = toTable(configs, [{ metadata: { name: 'c', creationTimestamp: new Date(Date.now() - 90_000).toISOString() } }], {}, 'Metadata')
  t.same(configTable.columnDefinitions.map((c) => c.name), ['Name', 'Age'], 'a CRD without columns shows its age')
  t.same(configTable.rows[0].cells, ['c', '90s'])
})
