// Deletion: finalizers, preconditions, ownerReference cascades (Background, Foreground, Orphan)
// and namespace termination, through kubectl and the raw API.
import t from 'tap'
import { startTestControlPlane } from './fixtures/controlplane.ts'

const plane = await startTestControlPlane(t)
const { api, kubectl, ok } = plane

const cms = '/api/v1/namespaces/default/configmaps'
const pools = '/apis/spiderpool.spidernet.io/v2beta1/spiderippools'
const merge = 'application/merge-patch+json'

const configMap = (name: string, metadata: object = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...metadata } })
const pool = (name: string, metadata: object = {}) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name, ...metadata }, spec: { subnet: '10.0.0.0/8' } })
const ownedBy = (owner: any) => ({
  ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, blockOwnerDeletion: true }],
})
const exists = async (path: string) => (await api('GET', path)).status === 200

t.test('an object with finalizers is only marked for deletion; removing the last finalizer deletes it', async (t) => {
  await ok(['apply', '-f', '-'], JSON.stringify(pool('held', { finalizers: ['example.com/hold', 'example.com/also'] })))
  const deleted = await kubectl(['delete', 'sp', 'held', '--wait=false'])
  t.equal(deleted.code, 0, deleted.stderr)
  const marked = JSON.parse(await ok(['get', 'sp', 'held', '-o', 'json']))
  t.match(marked.metadata.deletionTimestamp, /Z$/)
  t.equal(marked.metadata.deletionGracePeriodSeconds, 0)

  const again = await api('DELETE', `${pools}/held`)
  t.equal(again.status, 200, 'deleting a terminating object again is accepted')
  t.equal(again.json.metadata.deletionTimestamp, marked.metadata.deletionTimestamp, 'and changes nothing')

  const added = await api('PATCH', `${pools}/held`, { body: { metadata: { finalizers: ['example.com/hold', 'example.com/also', 'example.com/late'] } }, contentType: merge })
  t.equal(added.status, 422, 'no new finalizer on a terminating object')
  t.match(added.json.message, /no new finalizers can be added if the object is being deleted/)

  await ok(['patch', 'sp', 'held', '--type', 'json', '-p', '[{"op":"remove","path":"/metadata/finalizers/0"}]'])
  t.ok(await exists(`${pools}/held`), 'one finalizer left: still there')
  await ok(['patch', 'sp', 'held', '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}'])
  t.notOk(await exists(`${pools}/held`), 'gone with the last finalizer')
})

t.test('delete preconditions on uid and resourceVersion are honoured with 409', async (t) => {
  const created = await api('POST', cms, { body: configMap('guarded') })
  const wrongUid = await api('DELETE', `${cms}/guarded`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'not-it' } } })
  t.equal(wrongUid.status, 409)
  t.match(wrongUid.json.message, /Precondition failed: UID in precondition: not-it, UID in object meta: /)
  const staleVersion = await api('DELETE', `${cms}/guarded`, { body: { preconditions: { resourceVersion: '1' } } })
  t.equal(staleVersion.status, 409)
  t.match(staleVersion.json.message, /Precondition failed: ResourceVersion in precondition: 1/)
  const right = await api('DELETE', `${cms}/guarded`, { body: { preconditions: { uid: created.json.metadata.uid, resourceVersion: created.json.metadata.resourceVersion } } })
  t.equal(right.status, 200)
  t.notOk(await exists(`${cms}/guarded`))
  t.equal((await api('DELETE', `${cms}/guarded`)).status, 404)
})

t.test('background cascade: dependents whose every owner is gone are deleted, others lose the dangling reference', async (t) => {
  const owner = (await api('POST', pools, { body: pool('owner-bg') })).json
  const other = (await api('POST', pools, { body: pool('owner-other') })).json
  await api('POST', cms, { body: configMap('only-child', ownedBy(owner)) })
  const shared = ownedBy(owner).ownerReferences.concat(ownedBy(other).ownerReferences)
  await api('POST', cms, { body: configMap('shared-child', { ownerReferences: shared }) })
  const grandchildOwner = (await api('GET', `${cms}/only-child`)).json
  await api('POST', cms, { body: configMap('grandchild', ownedBy(grandchildOwner)) })

  await ok(['delete', 'sp', 'owner-bg'])
  t.notOk(await exists(`${cms}/only-child`), 'the only child went with its owner')
  t.notOk(await exists(`${cms}/grandchild`), 'and its own dependent after it')
  const survivor = await api('GET', `${cms}/shared-child`)
  t.equal(survivor.status, 200, 'a child with a living owner stays')
  t.same(survivor.json.metadata.ownerReferences.map((r: any) => r.name), ['owner-other'])
})

t.test('orphan propagation keeps the dependents and strips the owner reference', async (t) => {
  const owner = (await api('POST', pools, { body: pool('owner-orphan') })).json
  await api('POST', cms, { body: configMap('orphaned', ownedBy(owner)) })
  await ok(['delete', 'sp', 'owner-orphan', '--cascade=orphan'])
  const child = await api('GET', `${cms}/orphaned`)
  t.equal(child.status, 200)
  t.equal(child.json.metadata.ownerReferences, undefined)
})

t.test('foreground propagation deletes the dependents first; the owner waits for the ones with finalizers', async (t) => {
  const owner = (await api('POST', pools, { body: pool('owner-fg') })).json
  await api('POST', cms, { body: configMap('fg-free', ownedBy(owner)) })
  await api('POST', cms, { body: configMap('fg-held', { ...ownedBy(owner), finalizers: ['example.com/hold'] }) })
  const response = await api('DELETE', `${pools}/owner-fg`, { body: { propagationPolicy: 'Foreground' } })
  t.equal(response.status, 200)
  t.notOk(await exists(`${cms}/fg-free`))
  const waiting = await api('GET', `${pools}/owner-fg`)
  t.equal(waiting.status, 200, 'the owner waits for the held dependent')
  t.same(waiting.json.metadata.finalizers, ['foregroundDeletion'])
  t.ok(waiting.json.metadata.deletionTimestamp)
  await api('PATCH', `${cms}/fg-held`, { body: { metadata: { finalizers: null } }, contentType: merge })
  t.notOk(await exists(`${cms}/fg-held`))
  t.notOk(await exists(`${pools}/owner-fg`), 'the owner went once its last dependent did')
})

t.test('deleting a namespace deletes what is in it, then the namespace', async (t) => {
  await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } }))
  await api('POST', '/api/v1/namespaces/doomed/configmaps', { body: configMap('a') })
  await api('POST', '/api/v1/namespaces/doomed/configmaps', { body: configMap('held', { finalizers: ['example.com/hold'] }) })
  await ok(['delete', 'namespace', 'doomed', '--wait=false'])
  const terminating = JSON.parse(await ok(['get', 'namespace', 'doomed', '-o', 'json']))
  t.equal(terminating.status.phase, 'Terminating')
  t.notOk(await exists('/api/v1/namespaces/doomed/configmaps/a'))
  const refused = await api('POST', '/api/v1/namespaces/doomed/configmaps', { body: configMap('late') })
  t.equal(refused.status, 403)
  t.match(refused.json.message, /unable to create new content in namespace doomed because it is being terminated/)
  await api('PATCH', '/api/v1/namespaces/doomed/configmaps/held', { body: { metadata: { finalizers: null } }, contentType: merge })
  t.notOk(await exists('/api/v1/namespaces/doomed'), 'the emptied namespace is gone')
})

t.test('objects need an existing namespace', async (t) => {
  const missing = await api('POST', '/api/v1/namespaces/nowhere/configmaps', { body: configMap('x') })
  t.equal(missing.status, 404)
  t.match(missing.json, { reason: 'NotFound', message: 'namespaces "nowhere" not found' })
})

t.test('pods are deleted at once, whatever their grace period', async (t) => {
  const podPath = '/api/v1/namespaces/default/pods'
  await api('POST', podPath, { body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } } })
  const deleted = await kubectl(['delete', 'pod', 'p', '--grace-period=30'])
  t.equal(deleted.code, 0, deleted.stderr)
  t.notOk(await exists(`${podPath}/p`))
})

t.test('dry-run delete leaves the object', async (t) => {
  await api('POST', cms, { body: configMap('kept') })
  const dry = await kubectl(['delete', 'cm', 'kept', '--dry-run=server'])
  t.equal(dry.code, 0, dry.stderr)
  t.ok(await exists(`${cms}/kept`))
})
