// Watches over real HTTPS: event order, resuming from a resourceVersion, 410 Gone for compacted
// history, selectors, bookmarks, timeouts, clean close on shutdown.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { namespaceResource, findResource } from '../../../kube/controlplane/resources.ts'
import { Store } from '../../../kube/controlplane/store.ts'
import { Watches } from '../../../kube/controlplane/watch.ts'
import { openWatch, startTestControlPlane } from './fixtures/controlplane.ts'

const pools = '/apis/spiderpool.spidernet.io/v2beta1/spiderippools'
const pool = (name: string, extra: object = {}) => ({
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderIPPool',
  metadata: { name, ...extra },
  spec: { subnet: '10.0.0.0/8', ipVersion: 4 },
})

t.test('a watch sees ADDED, MODIFIED and DELETED in order, each with a growing resourceVersion', async (t) => {
  const { cp, api } = await startTestControlPlane(t)
  const list = await api('GET', pools)
  const watch = await openWatch(cp, `${pools}?watch=1&resourceVersion=${list.json.metadata.resourceVersion}`)
  t.equal(watch.status, 200)
  await api('POST', pools, { body: pool('a') })
  await api('PATCH', `${pools}/a`, { body: { spec: { gateway: '10.0.0.1' } }, contentType: 'application/merge-patch+json' })
  await api('DELETE', `${pools}/a`)
  const events = await watch.waitFor(3)
  t.same(events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED'])
  t.equal(events[1].object.spec.gateway, '10.0.0.1')
  const versions = events.map((e) => Number(e.object.metadata.resourceVersion))
  t.ok(versions[0] < versions[1] && versions[1] < versions[2], `${versions}`)
  watch.close()
})

t.test('a watch from a resourceVersion replays exactly the changes after it', async (t) => {
  const { cp, api } = await startTestControlPlane(t)
  const first = await api('POST', pools, { body: pool('one') })
  await api('POST', pools, { body: pool('two') })
  await api('DELETE', `${pools}/one`)
  const watch = await openWatch(cp, `${pools}?watch=1&resourceVersion=${first.json.metadata.resourceVersion}`)
  const events = await watch.waitFor(2)
  t.same(events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED two', 'DELETED one'])
  await new Promise((r) => setTimeout(r, 100))
  t.equal(watch.events.length, 2, 'nothing else')
  watch.close()
})

t.test('a watch without a resourceVersion starts with the current objects as ADDED', async (t) => {
  const { cp, api } = await startTestControlPlane(t)
  await api('POST', pools, { body: pool('x') })
  await api('POST', pools, { body: pool('y') })
  const watch = await openWatch(cp, `${pools}?watch=true`)
  t.same((await watch.waitFor(2)).map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED x', 'ADDED y'])
  watch.close()
})

t.test('a watch from a compacted resourceVersion gets an ERROR event with 410 Gone', async (t) => {
  const plane = await startTestControlPlane(t)
  const created = await plane.api('POST', pools, { body: pool('old') })
  const rv = created.json.metadata.resourceVersion
  await plane.api('DELETE', `${pools}/old`)
  // a restart keeps the objects but not the history of changes, as kube-apiserver's watch cache
  await plane.restart()
  const watch = await openWatch(plane.cp, `${pools}?watch=1&resourceVersion=${rv}`)
  t.equal(watch.status, 200)
  const [event] = await watch.waitFor(1)
  t.equal(event.type, 'ERROR')
  t.match(event.object, { kind: 'Status', code: 410, reason: 'Expired', message: /too old resource version/ })
  await watch.ended
  const current = (await plane.api('GET', pools)).json.metadata.resourceVersion
  const fresh = await openWatch(plane.cp, `${pools}?watch=1&resourceVersion=${current}`)
  await plane.api('POST', pools, { body: pool('new') })
  t.same((await fresh.waitFor(1)).map((e) => e.type), ['ADDED'], 'a watch from the list after the restart works')
  fresh.close()
})

t.test('the store keeps a bounded history and reports where it was compacted', async (t) => {
  const store = new Store(100)
  const resource = findResource('', 'v1', 'configmaps')!
  for (let i = 0; i < 300; i++) store.create(resource, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}`, namespace: 'default', uid: `u${i}` } })
  t.ok(store.compactedThrough >= 190 && store.compactedThrough <= 200, `compacted through ${store.compactedThrough}`)
  t.equal(store.changesSince(store.compactedThrough - 1), undefined, 'older changes are gone')
  t.equal(store.changesSince(store.compactedThrough)!.length, 300 - store.compactedThrough)
  t.equal(store.changesSince(250)!.length, 50)
})

t.test('a watch with a label selector sees an object leave it as DELETED and enter it as ADDED', async (t) => {
  const { cp, api } = await startTestControlPlane(t)
  await api('POST', pools, { body: pool('p', { labels: { team: 'a' } }) })
  const rv = (await api('GET', pools)).json.metadata.resourceVersion
  const watch = await openWatch(cp, `${pools}?watch=1&resourceVersion=${rv}&labelSelector=team%3Da`)
  const relabel = (team: string) => api('PATCH', `${pools}/p`, { body: { metadata: { labels: { team } } }, contentType: 'application/merge-patch+json' })
  await relabel('b')
  await relabel('a')
  t.same((await watch.waitFor(2)).map((e) => e.type), ['DELETED', 'ADDED'])
  watch.close()
})

t.test('a watch on one namespace with a field selector on the name sees only that object', async (t) => {
  const { cp, api } = await startTestControlPlane(t)
  const cm = (ns: string, name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } })
  const watch = await openWatch(cp, `/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name%3Dwanted`)
  await api('POST', '/api/v1/namespaces/kube-system/configmaps', { body: cm('kube-system', 'wanted') })
  await api('POST', '/api/v1/namespaces/default/configmaps', { body: cm('default', 'other') })
  await api('POST', '/api/v1/namespaces/default/configmaps', { body: cm('default', 'wanted') })
  const [event] = await watch.waitFor(1)
  t.match(event, { type: 'ADDED', object: { metadata: { name: 'wanted', namespace: 'default' } } })
  await new Promise((r) => setTimeout(r, 100))
  t.equal(watch.events.length, 1)
  watch.close()
})

t.test('sendInitialEvents ends the initial objects with a bookmark annotated k8s.io/initial-events-end', async (t) => {
  const { cp, api } = await startTestControlPlane(t)
  await api('POST', pools, { body: pool('seed') })
  const watch = await openWatch(cp, `${pools}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`)
  const [added, bookmark] = await watch.waitFor(2)
  t.equal(added.type, 'ADDED')
  t.equal(bookmark.type, 'BOOKMARK')
  t.same(bookmark.object.metadata.annotations, { 'k8s.io/initial-events-end': 'true' })
  t.equal(bookmark.object.kind, 'SpiderIPPool')
  watch.close()
})

t.test('idle watches that allow bookmarks get them periodically with the current resourceVersion', async (t) => {
  const store = new Store()
  const watches = new Watches(store, { bookmarkIntervalMs: 50 })
  const server = createServer((req, res) => watches.serve({ resource: namespaceResource, query: new URL(req.url!, 'http://x').searchParams, format: { as: 'object' } }, res))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    watches.closeAll()
    server.close()
  })
  const port = (server.address() as AddressInfo).port
  const response = await fetch(`http://127.0.0.1:${port}/?watch=1&resourceVersion=0&allowWatchBookmarks=true`)
  const reader = response.body!.getReader()
  const { value } = await reader.read()
  const event = JSON.parse(new TextDecoder().decode(value).split('\n')[0])
  t.match(event, { type: 'BOOKMARK', object: { kind: 'Namespace', apiVersion: 'v1', metadata: { resourceVersion: '0' } } })
  await reader.cancel()
})

t.test('timeoutSeconds ends the stream cleanly', async (t) => {
  const { cp } = await startTestControlPlane(t)
  const started = Date.now()
  const watch = await openWatch(cp, `${pools}?watch=1&timeoutSeconds=1`)
  await watch.ended
  const elapsed = Date.now() - started
  t.ok(elapsed >= 900 && elapsed < 3000, `ended after ${elapsed}ms`)
})

t.test('closing the control plane ends open watches cleanly', async (t) => {
  const plane = await startTestControlPlane(t)
  const watch = await openWatch(plane.cp, `${pools}?watch=1`)
  await plane.cp.close()
  await watch.ended
  t.pass('the stream ended without an error')
})

t.test('a watch with Accept Table gets one-row tables with the printer columns', async (t) => {
  const { cp, api } = await startTestControlPlane(t)
  const { request } = await import('node:https')
  const lines = await new Promise<string>((resolve, reject) => {
    const req = request(new URL(`${pools}?watch=1`, cp.url), { headers: { authorization: `Bearer ${cp.token}`, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' }, ca: cp.caPem }, (res) => {
      res.setEncoding('utf8')
      res.once('data', (chunk: string) => {
        req.destroy()
        resolve(chunk)
      })
    })
    req.on('error', reject)
    req.end()
    setTimeout(() => api('POST', pools, { body: pool('tabled') }), 100)
  })
  const event = JSON.parse(lines.split('\n')[0])
  t.equal(event.type, 'ADDED')
  t.equal(event.object.kind, 'Table')
  t.same(event.object.rows[0].cells.slice(0, 3), ['tabled', 4, '10.0.0.0/8'])
})
