// The state file: a restart restores every object and continues the resourceVersion sequence;
// many quick writes are coalesced into few atomic replacements of a file that always parses.
import { readdirSync, readFileSync, watch } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { StatePersistence } from '../../../kube/controlplane/persistence.ts'
import { findResource } from '../../../kube/controlplane/resources.ts'
import { Store } from '../../../kube/controlplane/store.ts'
import { startTestControlPlane } from './fixtures/controlplane.ts'

const collections = [
  '/api/v1/namespaces',
  '/api/v1/configmaps',
  '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  '/apis/spiderpool.spidernet.io/v2beta1/spiderippools',
  '/apis/spiderpool.spidernet.io/v2beta1/spidermultusconfigs',
  '/apis/coordination.k8s.io/v1/leases',
]

t.test('a restart restores every object as it was and resourceVersions keep growing', async (t) => {
  const plane = await startTestControlPlane(t)
  await plane.ok(['apply', '-f', '/work/shared/reference/examples/macvlan-underlay.yaml'])
  await plane.api('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', {
    body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'leader' }, spec: { holderIdentity: 'a' } },
  })
  await plane.ok(['patch', 'sp', 'ippool-test', '--type', 'merge', '-p', '{"spec":{"gateway":"172.18.0.2"}}'])
  const before = await Promise.all(collections.map(async (c) => (await plane.api('GET', c)).json))
  const lastVersion = Number((await plane.api('GET', '/api/v1/namespaces')).json.metadata.resourceVersion)

  await plane.restart()

  const after = await Promise.all(collections.map(async (c) => (await plane.api('GET', c)).json))
  for (let i = 0; i < collections.length; i++) t.same(after[i].items, before[i].items, `${collections[i]} unchanged`)
  t.equal(Number(after[0].metadata.resourceVersion), lastVersion, 'the list resourceVersion continues where it was')
  const created = await plane.api('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-restart' } } })
  t.ok(Number(created.json.metadata.resourceVersion) > lastVersion, 'new writes get higher resourceVersions')
  t.equal(await plane.ok(['get', 'sp', 'ippool-test', '-o', 'jsonpath={.spec.gateway}']), '172.18.0.2', 'kubectl reads the restored state')
})

t.test('the state file parses at any time during many quick writes and holds all of them after close', async (t) => {
  const plane = await startTestControlPlane(t)
  const stateFile = path.join(plane.dataDir, 'state.json')
  let reads = 0
  let broken = 0
  const reader = setInterval(() => {
    try {
      JSON.parse(readFileSync(stateFile, 'utf8'))
      reads++
    } catch {
      broken++
    }
  }, 5)
  const names = Array.from({ length: 400 }, (_, i) => `cm-${i}`)
  for (let batch = 0; batch < names.length; batch += 50) {
    await Promise.all(
      names.slice(batch, batch + 50).map((name) =>
        plane.api('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { n: name } } }),
      ),
    )
  }
  clearInterval(reader)
  t.equal(broken, 0, `every one of ${reads} reads parsed`)
  await plane.cp.close()
  const state = JSON.parse(readFileSync(stateFile, 'utf8'))
  const saved = state.objects['/configmaps'].map((o: any) => o.metadata.name)
  t.same(saved.sort(), [...names].sort())
  t.same(readdirSync(plane.dataDir).filter((f) => f.includes('.tmp')), [], 'no temporary file is left behind')
})

t.test('a burst of changes is written in few file replacements', async (t) => {
  const dir = t.testdir()
  const file = path.join(dir, 'state.json')
  const store = new Store()
  const persistence = new StatePersistence(file, store, 50)
  let replacements = 0
  const watcher = watch(dir, (event, name) => {
    if (event === 'rename' && name === 'state.json') replacements++
  })
  const configmaps = findResource('', 'v1', 'configmaps')!
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 100; i++) {
      store.create(configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c-${round}-${i}`, namespace: 'default', uid: `${round}-${i}` } })
    }
    await new Promise((r) => setTimeout(r, 10))
  }
  await persistence.close()
  await new Promise((r) => setTimeout(r, 50))
  watcher.close()
  t.ok(replacements >= 1 && replacements <= 6, `1000 changes in ~100ms took ${replacements} writes`)
  const state = JSON.parse(readFileSync(file, 'utf8'))
  t.equal(state.resourceVersion, 1000)
  t.equal(state.objects['/configmaps'].length, 1000)
})
