import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startControlPlane } from '../../kube/controlplane/index.ts'
import type { ControlPlane } from '../../kube/controlplane/index.ts'
import { createInformer } from '../../kube/informer.ts'
import type { Informer } from '../../kube/informer.ts'
import { resources } from '../../kube/resources.ts'
import type { ConfigMap } from '../../kube/resources.ts'
import { createStore } from '../../kube/store.ts'
import type { Store } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'

// Every directory a test makes lives under one scratch directory, removed when the process exits.
const scratch = mkdtempSync(path.join(tmpdir(), 'kube-informer-'))
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }))

async function until(what: string, check: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const cm = (name: string, data: Record<string, string> = {}, labels?: Record<string, string>, namespace = 'default'): ConfigMap => ({
  metadata: { name, namespace, labels },
  data,
})

async function connect(t: { teardown(fn: () => void): void }, cp: ControlPlane): Promise<Store> {
  const transport = createTransport({ server: cp.url, ca: cp.caPem, token: cp.token })
  t.teardown(() => transport.close())
  return createStore(transport)
}

// Records what handlers are told, as "add a", "update a 1→2", "delete a".
function record(informer: Informer<ConfigMap>) {
  const log: string[] = []
  informer.on({
    add: (o) => log.push(`add ${o.metadata.name}`),
    update: (old, o) => log.push(`update ${o.metadata.name} ${old.data?.v ?? ''}→${o.data?.v ?? ''}`),
    delete: (o) => log.push(`delete ${o.metadata.name}`),
  })
  return log
}

t.test('informer against the local control plane', async (t) => {
  const cp = await startControlPlane({ dataDir: mkdtempSync(path.join(scratch, 'plane-')), port: 0 })
  t.teardown(() => cp.close())
  const store = await connect(t, cp)
  await store.create(resources.namespaces, { metadata: { name: 'informer' } })

  t.test('it syncs the existing objects, then tells handlers of add, update and delete in order', async (t) => {
    await store.create(resources.configmaps, cm('one', { v: '1' }, undefined, 'informer'))
    await store.create(resources.configmaps, cm('two', { v: '1' }, undefined, 'informer'))
    const informer = createInformer(store, resources.configmaps, { namespace: 'informer' })
    t.teardown(() => informer.stop())
    const log = record(informer)
    t.notOk(informer.hasSynced())
    informer.start()
    await informer.waitForSync({ timeoutMs: 5000 })
    t.ok(informer.hasSynced())
    t.same(log.sort(), ['add one', 'add two'])
    t.same(informer.get('one', 'informer')?.data, { v: '1' })
    log.length = 0

    const three = await store.create(resources.configmaps, cm('three', { v: '1' }, undefined, 'informer'))
    await store.update(resources.configmaps, { ...three, data: { v: '2' } })
    await store.delete(resources.configmaps, 'one', { namespace: 'informer' })
    await store.delete(resources.configmaps, 'three', { namespace: 'informer' })
    await until('four events', () => log.length >= 4)
    t.same(log, ['add three', 'update three 1→2', 'delete one', 'delete three'])
    t.same(informer.list().map((o) => o.metadata.name), ['two'])
    t.equal(informer.get('one', 'informer'), undefined)
  })

  t.test('handlers added after the sync are told of every cached object', async (t) => {
    const informer = createInformer(store, resources.namespaces)
    t.teardown(() => informer.stop())
    informer.start()
    await informer.waitForSync({ timeoutMs: 5000 })
    const log: string[] = []
    informer.on({ add: (o) => log.push(o.metadata.name!) })
    t.ok(log.includes('default') && log.includes('informer'))
  })

  t.test('a handler that throws is reported and does not stop the others or the informer', async (t) => {
    const errors: unknown[] = []
    const informer = createInformer(store, resources.configmaps, { namespace: 'informer', onError: (e) => errors.push(e) })
    t.teardown(() => informer.stop())
    const seen: string[] = []
    informer.on({ add: () => { throw new Error('handler bug') } })
    informer.on({ add: (o) => seen.push(o.metadata.name!) })
    informer.start()
    await informer.waitForSync({ timeoutMs: 5000 })
    await store.create(resources.configmaps, cm('despite-bug', {}, undefined, 'informer'))
    await until('the add', () => seen.includes('despite-bug'))
    t.match(errors[0], { message: 'handler bug' })
  })

  t.test('the namespace index and custom indexes find objects by their values', async (t) => {
    await store.create(resources.namespaces, { metadata: { name: 'indexed' } })
    await store.create(resources.configmaps, cm('i1', {}, { pool: 'red' }, 'indexed'))
    await store.create(resources.configmaps, cm('i2', {}, { pool: 'blue' }, 'indexed'))
    await store.create(resources.configmaps, cm('i3', {}, { pool: 'red' }, 'informer'))
    const informer = createInformer(store, resources.configmaps, {
      labelSelector: 'pool',
      indexes: { byPool: (o) => (o.metadata.labels?.pool ? [o.metadata.labels.pool] : []) },
    })
    t.teardown(() => informer.stop())
    informer.start()
    await informer.waitForSync({ timeoutMs: 5000 })
    const names = (objs: ConfigMap[]) => objs.map((o) => o.metadata.name).sort()
    t.same(names(informer.byIndex('byPool', 'red')), ['i1', 'i3'])
    t.same(names(informer.byNamespace('indexed')), ['i1', 'i2'])

    const i1 = informer.get('i1', 'indexed')!
    await store.update(resources.configmaps, { ...i1, metadata: { ...i1.metadata, labels: { pool: 'blue' } } })
    await until('the relabel to reach the index', () => informer.byIndex('byPool', 'blue').length === 2)
    t.same(names(informer.byIndex('byPool', 'red')), ['i3'])
    await store.delete(resources.configmaps, 'i2', { namespace: 'indexed' })
    await until('the delete to reach the index', () => informer.byIndex('byPool', 'blue').length === 1)
    t.same(names(informer.byNamespace('indexed')), ['i1'])
    t.throws(() => informer.byIndex('nope', 'x'), /no index named "nope"/)
  })

  t.test('a watch the server ends at its timeout is resumed from the last resourceVersion, without a relist', async (t) => {
    const informer = createInformer(store, resources.configmaps, { namespace: 'informer', watchTimeoutSeconds: 1 })
    t.teardown(() => informer.stop())
    const log = record(informer)
    informer.start()
    await informer.waitForSync({ timeoutMs: 5000 })
    log.length = 0
    await until('two watches to have ended', () => informer.stats.watches >= 3, 8000)
    await store.create(resources.configmaps, cm('after-timeouts', { v: '1' }, undefined, 'informer'))
    await until('the add after the timeouts', () => log.includes('add after-timeouts'))
    t.same(log, ['add after-timeouts'], 'nothing seen twice')
    t.equal(informer.stats.lists, 1, 'never listed again')
  })

  t.test('bookmarks move the resourceVersion on while nothing of the resource changes', async (t) => {
    const informer = createInformer(store, resources.ippools)
    t.teardown(() => informer.stop())
    informer.start()
    await informer.waitForSync({ timeoutMs: 5000 })
    const unrelated = await store.create(resources.configmaps, cm('moves-the-clock', {}, undefined, 'informer'))
    const target = Number(unrelated.metadata.resourceVersion)
    t.ok(Number(informer.resourceVersion()) < target)
    // the control plane sends a bookmark every 5 s
    await until('a bookmark', () => Number(informer.resourceVersion()) >= target, 8000)
    t.equal(informer.list().length, 0)
  })

  t.test('an outage keeps it from syncing; it syncs once the server answers again', async (t) => {
    cp.faults.outage = true
    t.teardown(() => {
      cp.faults.outage = false
    })
    const errors: unknown[] = []
    const informer = createInformer(store, resources.namespaces, { backoffMs: { base: 20, cap: 100 }, onError: (e) => errors.push(e) })
    t.teardown(() => informer.stop())
    informer.start()
    await t.rejects(informer.waitForSync({ timeoutMs: 300 }), { message: 'namespaces: not synced within 300 ms' })
    t.ok(errors.length >= 2, `retried with backoff (${errors.length} failures)`)
    t.match(errors[0], { code: 503 })
    cp.faults.outage = false
    await informer.waitForSync({ timeoutMs: 5000 })
    t.ok(informer.get('default'))
  })

  t.test('a resource the server does not serve: an optional informer syncs empty, a required one never syncs', async (t) => {
    const widgets = { group: 'example.com', version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: false, hasStatus: false }
    const optional = createInformer(store, widgets, { optional: true, backoffMs: { base: 20, cap: 100 } })
    const required = createInformer(store, widgets, { backoffMs: { base: 20, cap: 100 } })
    t.teardown(async () => {
      await optional.stop()
      await required.stop()
    })
    optional.start()
    required.start()
    await optional.waitForSync({ timeoutMs: 5000 })
    t.same(optional.list(), [])
    await t.rejects(required.waitForSync({ timeoutMs: 300 }), { message: /not synced within 300 ms/ })
    await until('the optional informer to look again', () => optional.stats.lists >= 2)
  })

  t.test('listError and listed: an optional informer tells when its resource comes to be served, and when it goes', async (t) => {
    const gadgets = { group: 'example.com', version: 'v1', plural: 'gadgets', kind: 'Gadget', namespaced: false, hasStatus: false }
    const crds = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false, hasStatus: true }
    const informer = createInformer(store, gadgets, { optional: true, backoffMs: { base: 20, cap: 100 } })
    t.teardown(() => informer.stop())
    let listed = 0
    informer.on({ listed: () => listed++ })
    informer.start()
    await informer.waitForSync({ timeoutMs: 5000 })
    t.match(informer.listError(), { code: 404 }, 'not served: synced, empty, and the 404 kept')
    t.equal(listed, 1)
    await until('a few more lists', () => informer.stats.lists >= 3)
    t.equal(listed, 1, 'the same failure again is not news')

    const schema = { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }
    await store.create(crds, {
      metadata: { name: 'gadgets.example.com' },
      spec: { group: 'example.com', scope: 'Cluster', names: { kind: 'Gadget', plural: 'gadgets' }, versions: [{ name: 'v1', served: true, storage: true, schema }] },
    } as never)
    await until('the CRD to be seen', () => informer.listError() === undefined)
    t.equal(listed, 2, 'served now: listed once more')
    await store.create(gadgets, { metadata: { name: 'g1' } } as never)
    await until('its object', () => informer.get('g1') !== undefined)

    await store.delete(crds, 'gadgets.example.com')
    await until('the CRD gone: the watch ends, the list 404s', () => informer.listError() !== undefined)
    t.match(informer.listError(), { code: 404 })
    t.equal(informer.get('g1'), undefined, 'its objects went with it')
    t.equal(listed, 3)
  })

  t.test('waitForSync orListError: a reader can act on a list that fails instead of waiting for it', async (t) => {
    cp.faults.outage = true
    t.teardown(() => {
      cp.faults.outage = false
    })
    const informer = createInformer(store, resources.nodes, { backoffMs: { base: 20, cap: 100 } })
    t.teardown(() => informer.stop())
    informer.start()
    await informer.waitForSync({ timeoutMs: 5000, orListError: true })
    t.notOk(informer.hasSynced())
    t.match(informer.listError(), { code: 503 })
    cp.faults.outage = false
    await informer.waitForSync({ timeoutMs: 5000 })
    t.equal(informer.listError(), undefined, 'cleared by a list that succeeds')
  })

  t.test('a metadata-only informer caches PartialObjectMetadata and still follows changes', async (t) => {
    const informer = createInformer(store, resources.configmaps, { namespace: 'informer', metadataOnly: true })
    t.teardown(() => informer.stop())
    const log = record(informer)
    await store.create(resources.configmaps, cm('meta-1', { big: 'x'.repeat(1000) }, { a: '1' }, 'informer'))
    informer.start()
    await informer.waitForSync({ timeoutMs: 5000 })
    const cached = informer.get('meta-1', 'informer')!
    t.equal(cached.kind, 'PartialObjectMetadata')
    t.equal(cached.data, undefined)
    t.same(cached.metadata.labels, { a: '1' })
    log.length = 0
    await store.patch(resources.configmaps, 'meta-1', { metadata: { labels: { a: '2' } } }, { type: 'merge', namespace: 'informer' })
    await until('the label change', () => informer.get('meta-1', 'informer')?.metadata.labels?.a === '2')
    t.same(log, ['update meta-1 →'])
    t.equal(informer.get('meta-1', 'informer')?.kind, 'PartialObjectMetadata')
  })

  t.test('stop ends the watch: later changes are not seen', async (t) => {
    const informer = createInformer(store, resources.configmaps, { namespace: 'informer' })
    const log = record(informer)
    informer.start()
    await informer.waitForSync({ timeoutMs: 5000 })
    await informer.stop()
    log.length = 0
    await store.create(resources.configmaps, cm('after-stop', {}, undefined, 'informer'))
    await new Promise((r) => setTimeout(r, 200))
    t.same(log, [])
  })
})

t.test('after a 410 Gone it lists again, and handlers hear what changed while it was away', async (t) => {
  const dataDir = mkdtempSync(path.join(scratch, 'gone-'))
  const first = await startControlPlane({ dataDir, port: 0 })
  const port = Number(new URL(first.url).port)
  const store = await connect(t, first)
  await store.create(resources.configmaps, cm('stays', { v: '1' }))
  await store.create(resources.configmaps, cm('goes', { v: '1' }))
  const errors: unknown[] = []
  const informer = createInformer(store, resources.configmaps, { namespace: 'default', backoffMs: { base: 20, cap: 200 }, onError: (e) => errors.push(e) })
  t.teardown(() => informer.stop())
  const log = record(informer)
  informer.start()
  await informer.waitForSync({ timeoutMs: 5000 })
  log.length = 0
  await first.close()

  // Changes made on another port, where the informer cannot see them; the restart after them
  // keeps no history older than its snapshot, so the informer's resourceVersion is too old.
  const elsewhere = await startControlPlane({ dataDir, port: 0 })
  const other = createStore(createTransport({ server: elsewhere.url, ca: elsewhere.caPem, token: elsewhere.token }))
  await other.create(resources.configmaps, cm('arrives', { v: '1' }))
  await other.delete(resources.configmaps, 'goes', { namespace: 'default' })
  const stays = await other.get(resources.configmaps, 'stays', { namespace: 'default' })
  await other.update(resources.configmaps, { ...stays, data: { v: '2' } })
  other.transport.close()
  await elsewhere.close()

  const again = await startControlPlane({ dataDir, port })
  t.teardown(() => again.close())
  await until('the relist', () => informer.stats.lists === 2, 8000)
  await until('three changes', () => log.length >= 3)
  t.same(log.sort(), ['add arrives', 'delete goes', 'update stays 1→2'])
  t.ok(errors.some((e) => (e as { code?: number }).code === 410), 'the informer was told 410 Gone')
  t.same(informer.list().map((o) => o.metadata.name).sort(), ['arrives', 'stays'])

  await store.create(resources.configmaps, cm('after-relist', {}))
  await until('watching again after the relist', () => log.includes('add after-relist'))
})
