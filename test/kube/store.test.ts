import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startControlPlane } from '../../kube/controlplane/index.ts'
import { createServerTransport } from '../../kube/config.ts'
import { ApiError, isAlreadyExists, isConflict, isGone, isInvalid, isNotFound } from '../../kube/errors.ts'
import { loadKubeconfig } from '../../kube/kubeconfig.ts'
import { resources } from '../../kube/resources.ts'
import type { ConfigMap } from '../../kube/resources.ts'
import { createStore } from '../../kube/store.ts'
import type { Store, WatchEvent } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'
import type { SpiderIPPool } from '../../schemas/types.ts'

// Every directory a test makes lives under one scratch directory, removed when the process exits.
const scratch = mkdtempSync(path.join(tmpdir(), 'kube-store-'))
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }))

async function caught(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p
  } catch (err) {
    if (err instanceof ApiError) return err
    throw err
  }
  throw new Error('expected an ApiError')
}

const configMap = (name: string, data: Record<string, string>, labels?: Record<string, string>): ConfigMap => ({
  metadata: { name, namespace: 'default', labels },
  data,
})

const pool = (name: string): SpiderIPPool => ({
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderIPPool',
  metadata: { name },
  spec: { subnet: '10.6.0.0/24', ips: ['10.6.0.10-10.6.0.20'], gateway: '10.6.0.1' },
})

t.test('store against the local control plane', async (t) => {
  const dataDir = mkdtempSync(path.join(scratch, 'plane-'))
  const cp = await startControlPlane({ dataDir, port: 0 })
  const transport = createTransport({ server: cp.url, ca: cp.caPem, token: cp.token })
  const store: Store = createStore(transport)
  t.teardown(async () => {
    transport.close()
    await cp.close()
  })

  t.test('the kubeconfig the control plane writes works through the lean loader and the server-side loader', async (t) => {
    const lean = createTransport(await loadKubeconfig(cp.kubeconfigPath))
    const server = await createServerTransport({ kubeconfig: cp.kubeconfigPath })
    t.teardown(() => {
      lean.close()
      server.close()
    })
    t.ok((await createStore(lean).get(resources.namespaces, 'default')).metadata.uid)
    t.ok((await createStore(server).get(resources.namespaces, 'kube-system')).metadata.uid)
  })

  t.test('a wrong token is answered 401 Unauthorized as an ApiError', async (t) => {
    const bad = createTransport({ server: cp.url, ca: cp.caPem, token: 'wrong' })
    t.teardown(() => bad.close())
    const err = await caught(createStore(bad).get(resources.namespaces, 'default'))
    t.equal(err.code, 401)
  })

  t.test('create, get, update, patch and delete a ConfigMap', async (t) => {
    const created = await store.create(resources.configmaps, configMap('crud', { a: '1' }))
    t.match(created, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'crud', namespace: 'default' }, data: { a: '1' } })
    t.ok(created.metadata.uid && created.metadata.resourceVersion)

    const got = await store.get(resources.configmaps, 'crud', { namespace: 'default' })
    t.same(got.data, { a: '1' })

    const updated = await store.update(resources.configmaps, { ...got, data: { a: '2' } })
    t.same(updated.data, { a: '2' })
    t.not(updated.metadata.resourceVersion, got.metadata.resourceVersion)

    const merged = await store.patch(resources.configmaps, 'crud', { data: { b: '3' } }, { type: 'merge', namespace: 'default' })
    t.same(merged.data, { a: '2', b: '3' })
    const jsonPatched = await store.patch(resources.configmaps, 'crud', [{ op: 'remove', path: '/data/a' }], { type: 'json', namespace: 'default' })
    t.same(jsonPatched.data, { b: '3' })
    const strategic = await store.patch(resources.configmaps, 'crud', { metadata: { labels: { tier: 'x' } } }, { type: 'strategic', namespace: 'default' })
    t.same(strategic.metadata.labels, { tier: 'x' })

    const deleted = await store.delete(resources.configmaps, 'crud', { namespace: 'default' })
    t.ok(deleted === undefined || deleted.metadata.name === 'crud')
    t.ok(isNotFound(await caught(store.get(resources.configmaps, 'crud', { namespace: 'default' }))))
  })

  t.test('creating an existing object is AlreadyExists, not a Conflict', async (t) => {
    await store.create(resources.configmaps, configMap('twice', {}))
    const err = await caught(store.create(resources.configmaps, configMap('twice', {})))
    t.ok(isAlreadyExists(err))
    t.notOk(isConflict(err))
    t.equal(err.code, 409)
  })

  t.test('an update carrying a stale resourceVersion is a Conflict and changes nothing', async (t) => {
    const first = await store.create(resources.configmaps, configMap('stale', { v: 'first' }))
    await store.update(resources.configmaps, { ...first, data: { v: 'second' } })
    const err = await caught(store.update(resources.configmaps, { ...first, data: { v: 'third' } }))
    t.ok(isConflict(err), `${err.code} ${err.reason}`)
    t.equal(err.status.kind, 'Status')
    t.same((await store.get(resources.configmaps, 'stale', { namespace: 'default' })).data, { v: 'second' })
  })

  t.test('an update without a resourceVersion is refused before it is sent', async (t) => {
    await t.rejects(store.update(resources.configmaps, configMap('unread', {})), { name: 'TypeError', message: /resourceVersion is missing/ })
  })

  t.test('delete preconditions: a wrong uid or resourceVersion is a Conflict, the right ones delete', async (t) => {
    const cm = await store.create(resources.configmaps, configMap('guarded', {}))
    t.ok(isConflict(await caught(store.delete(resources.configmaps, 'guarded', { namespace: 'default', preconditions: { uid: 'not-the-uid' } }))))
    t.ok(isConflict(await caught(store.delete(resources.configmaps, 'guarded', { namespace: 'default', preconditions: { resourceVersion: '1' } }))))
    await store.get(resources.configmaps, 'guarded', { namespace: 'default' })
    await store.delete(resources.configmaps, 'guarded', {
      namespace: 'default',
      preconditions: { uid: cm.metadata.uid, resourceVersion: cm.metadata.resourceVersion },
      propagationPolicy: 'Background',
    })
    t.ok(isNotFound(await caught(store.get(resources.configmaps, 'guarded', { namespace: 'default' }))))
  })

  t.test('dry-run writes are answered as if done but persist nothing', async (t) => {
    const dry = await store.create(resources.configmaps, configMap('dry', { a: '1' }), { dryRun: true })
    t.equal(dry.metadata.name, 'dry')
    t.ok(isNotFound(await caught(store.get(resources.configmaps, 'dry', { namespace: 'default' }))))

    const real = await store.create(resources.configmaps, configMap('wet', { a: '1' }))
    const dryUpdate = await store.update(resources.configmaps, { ...real, data: { a: '2' } }, { dryRun: true })
    t.same(dryUpdate.data, { a: '2' })
    await store.patch(resources.configmaps, 'wet', { data: { a: '3' } }, { type: 'merge', namespace: 'default', dryRun: true })
    await store.delete(resources.configmaps, 'wet', { namespace: 'default', dryRun: true })
    const after = await store.get(resources.configmaps, 'wet', { namespace: 'default' })
    t.same(after.data, { a: '1' })
    t.equal(after.metadata.resourceVersion, real.metadata.resourceVersion)
  })

  t.test('a custom resource: create, status through its subresource only, and a schema violation is Invalid', async (t) => {
    const created = await store.create(resources.ippools, pool('store-pool'))
    t.equal(created.spec.subnet, '10.6.0.0/24')
    const withStatus = await store.updateStatus(resources.ippools, { ...created, status: { allocatedIPCount: 1, allocatedIPs: '{}' } })
    t.equal(withStatus.status?.allocatedIPCount, 1)
    const ignored = await store.update(resources.ippools, { ...withStatus, status: { allocatedIPCount: 99 } })
    t.equal(ignored.status?.allocatedIPCount, 1, 'the main resource ignores status')
    const patched = await store.patch(resources.ippools, 'store-pool', { status: { allocatedIPCount: 2 } }, { type: 'merge', status: true })
    t.equal(patched.status?.allocatedIPCount, 2)
    await t.rejects(store.updateStatus(resources.configmaps, configMap('x', {})), /no status subresource/)
    await t.rejects(store.create(resources.configmaps, { metadata: { name: 'nowhere' } }), /ConfigMap is namespaced/)
    const badSpec = { ...pool('bad-pool').spec, ipVersion: 5 } as unknown as SpiderIPPool['spec']
    const err = await caught(store.create(resources.ippools, { ...pool('bad-pool'), spec: badSpec }))
    t.ok(isInvalid(err), `${err.code} ${err.reason}`)
  })

  t.test('a list filters by label and comes back in pages that add up to the whole', async (t) => {
    for (let i = 0; i < 7; i++) await store.create(resources.configmaps, configMap(`page-${i}`, {}, { suite: 'paging', odd: String(i % 2) }))
    const odd = await store.list(resources.configmaps, { namespace: 'default', labelSelector: 'suite=paging,odd=1' })
    t.same(odd.items.map((c) => c.metadata.name), ['page-1', 'page-3', 'page-5'])
    t.ok(odd.items.every((c) => c.kind === 'ConfigMap' && c.apiVersion === 'v1'), 'items carry kind and apiVersion')

    const first = await store.list(resources.configmaps, { namespace: 'default', labelSelector: 'suite=paging', limit: 3 })
    t.equal(first.items.length, 3)
    t.ok(first.continue)
    const second = await store.list(resources.configmaps, { namespace: 'default', labelSelector: 'suite=paging', limit: 3, continue: first.continue })
    t.same(second.items.map((c) => c.metadata.name), ['page-3', 'page-4', 'page-5'])

    const all = await store.listAll(resources.configmaps, { namespace: 'default', labelSelector: 'suite=paging', pageSize: 2 })
    t.same(all.items.map((c) => c.metadata.name), ['page-0', 'page-1', 'page-2', 'page-3', 'page-4', 'page-5', 'page-6'])
    t.equal(all.resourceVersion, first.resourceVersion, 'no write in between: the same snapshot')

    const byField = await store.list(resources.configmaps, { namespace: 'default', fieldSelector: 'metadata.name=page-4' })
    t.same(byField.items.map((c) => c.metadata.name), ['page-4'])
  })

  t.test('a watch from a list resourceVersion yields the later changes in order, then ends at its timeout', async (t) => {
    const listed = await store.list(resources.configmaps, { namespace: 'default' })
    const seen: string[] = []
    const watching = (async () => {
      for await (const e of store.watch(resources.configmaps, { namespace: 'default', resourceVersion: listed.resourceVersion, timeoutSeconds: 2, allowWatchBookmarks: true })) {
        if (e.type !== 'BOOKMARK') seen.push(`${e.type} ${e.object.metadata?.name} ${(e.object as ConfigMap).data?.v ?? ''}`.trim())
      }
    })()
    const cm = await store.create(resources.configmaps, configMap('watched', { v: '1' }))
    await store.update(resources.configmaps, { ...cm, data: { v: '2' } })
    await store.delete(resources.configmaps, 'watched', { namespace: 'default' })
    const started = Date.now()
    await watching
    t.ok(Date.now() - started < 5000, 'the server ended the watch')
    t.same(seen, ['ADDED watched 1', 'MODIFIED watched 2', 'DELETED watched 2'])
  })

  t.test('a watch can be stopped with its signal', async (t) => {
    const ac = new AbortController()
    const events: WatchEvent<ConfigMap>[] = []
    const watching = (async () => {
      for await (const e of store.watch(resources.configmaps, { namespace: 'default', signal: ac.signal })) events.push(e)
    })()
    setTimeout(() => ac.abort(new Error('done watching')), 100)
    await t.rejects(watching, { message: 'done watching' })
    t.ok(events.length > 0, 'a watch without a resourceVersion starts with the current objects as ADDED')
    t.ok(events.every((e) => e.type === 'ADDED'))
  })
})

t.test('a watch from a resourceVersion the restarted server no longer keeps fails with 410 Gone', async (t) => {
  const dataDir = mkdtempSync(path.join(scratch, 'gone-'))
  const first = await startControlPlane({ dataDir, port: 0 })
  let transport = createTransport({ server: first.url, ca: first.caPem, token: first.token })
  const listed = await createStore(transport).list(resources.configmaps)
  await createStore(transport).create(resources.configmaps, configMap('after-list', {}))
  transport.close()
  await first.close()

  const second = await startControlPlane({ dataDir, port: 0 })
  transport = createTransport({ server: second.url, ca: second.caPem, token: second.token })
  t.teardown(async () => {
    transport.close()
    await second.close()
  })
  const err = await caught(
    (async () => {
      for await (const _ of createStore(transport).watch(resources.configmaps, { resourceVersion: listed.resourceVersion, timeoutSeconds: 5 })) {
      }
    })(),
  )
  t.ok(isGone(err), `${err.code} ${err.reason}`)
  t.equal(err.watchEvent, true)
})
