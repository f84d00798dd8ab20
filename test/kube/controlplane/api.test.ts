// The API as kube-apiserver answers it, request by request: metadata the server owns, status codes
// and Status reasons, the status subresource, dry run, field validation, paging, selectors,
// Table and PartialObjectMetadata output, discovery, openapi, the read-only CRDs.
import t from 'tap'
import { startTestControlPlane } from './fixtures/controlplane.ts'

const plane = await startTestControlPlane(t)
const { api } = plane

const pools = '/apis/spiderpool.spidernet.io/v2beta1/spiderippools'
const pods = '/api/v1/namespaces/default/pods'
const cms = '/api/v1/namespaces/default/configmaps'
const merge = 'application/merge-patch+json'
const table = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'

const pool = (name: string, spec: object = {}, extra: object = {}) => ({
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderIPPool',
  metadata: { name },
  spec: { subnet: '10.0.0.0/8', ipVersion: 4, ...spec },
  ...extra,
})
const pod = (name: string, nodeName: string, labels: object = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { nodeName, containers: [{ name: 'c', image: 'nginx' }] },
})

t.test('create fills in what the server owns and answers 201', async (t) => {
  const created = await api('POST', pools, { body: pool('fresh', {}, { status: { allocatedIPCount: 7 } }) })
  t.equal(created.status, 201)
  const meta = created.json.metadata
  t.match(meta.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.match(meta.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  t.equal(meta.generation, 1)
  t.match(meta.resourceVersion, /^\d+$/)
  t.equal(created.json.status, undefined, 'status is not set through the main resource of a kind with /status')
  const again = await api('POST', pools, { body: pool('fresh') })
  t.equal(again.status, 409)
  t.match(again.json, { reason: 'AlreadyExists', message: 'spiderippools.spiderpool.spidernet.io "fresh" already exists', details: { name: 'fresh', group: 'spiderpool.spidernet.io', kind: 'spiderippools' } })
})

t.test('resourceVersions grow with every write, across kinds', async (t) => {
  const a = await api('POST', cms, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rv-a' } } })
  const b = await api('POST', pools, { body: pool('rv-b') })
  const c = await api('PATCH', `${cms}/rv-a`, { body: { data: { k: 'v' } }, contentType: merge })
  const versions = [a, b, c].map((r) => Number(r.json.metadata.resourceVersion))
  t.ok(versions[0] < versions[1] && versions[1] < versions[2], `${versions}`)
})

t.test('generateName adds 5 characters of the kube-apiserver alphabet', async (t) => {
  const created = await api('POST', cms, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } } })
  t.equal(created.status, 201)
  t.match(created.json.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/)
  t.equal(created.json.metadata.generateName, 'gen-')
})

t.test('names are required and must be DNS subdomains', async (t) => {
  const nameless = await api('POST', cms, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} } })
  t.equal(nameless.status, 422)
  t.match(nameless.json.message, /metadata.name: Required value: name or generateName is required/)
  const bad = await api('POST', cms, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_Valid' } } })
  t.equal(bad.status, 422)
  t.match(bad.json, { reason: 'Invalid', details: { causes: [{ field: 'metadata.name', reason: 'FieldValueInvalid' }] } })
  const label = await api('POST', cms, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ok', labels: { 'a b': 'x' } } } })
  t.equal(label.status, 422)
  t.match(label.json.message, /metadata.labels: Invalid value: "a b"/)
})

t.test('schema validation names every bad field in one 422', async (t) => {
  const bad = await api('POST', pools, { body: pool('bad', { ipVersion: 5, default: 'yes' }) })
  t.equal(bad.status, 422)
  t.equal(bad.json.reason, 'Invalid')
  t.match(bad.json.message, /^SpiderIPPool\.spiderpool\.spidernet\.io "bad" is invalid: \[/)
  t.same(bad.json.details.causes.map((c: any) => c.field).sort(), ['spec.default', 'spec.ipVersion'])
  const missing = await api('POST', pools, { body: { ...pool('nosubnet'), spec: {} } })
  t.equal(missing.status, 422)
  t.match(missing.json.details.causes, [{ field: 'spec.subnet', reason: 'FieldValueRequired' }])
})

t.test('update: a stale resourceVersion is 409, none is unconditional, and the URL name must match', async (t) => {
  const created = (await api('POST', pools, { body: pool('upd') })).json
  const first = await api('PUT', `${pools}/upd`, { body: { ...created, spec: { ...created.spec, gateway: '10.0.0.1' } } })
  t.equal(first.status, 200)
  const stale = await api('PUT', `${pools}/upd`, { body: { ...created, spec: { ...created.spec, gateway: '10.0.0.2' } } })
  t.equal(stale.status, 409)
  t.equal(stale.json.message, 'Operation cannot be fulfilled on spiderippools.spiderpool.spidernet.io "upd": the object has been modified; please apply your changes to the latest version and try again')
  const { resourceVersion: _, ...unversioned } = created.metadata
  const blind = await api('PUT', `${pools}/upd`, { body: { ...created, metadata: unversioned, spec: { ...created.spec, gateway: '10.0.0.3' } } })
  t.equal(blind.status, 200)
  t.equal(blind.json.spec.gateway, '10.0.0.3')
  t.equal(blind.json.metadata.uid, created.metadata.uid)
  const renamed = await api('PUT', `${pools}/upd`, { body: { ...blind.json, metadata: { ...blind.json.metadata, name: 'other' } } })
  t.equal(renamed.status, 400)
  t.equal((await api('PUT', `${pools}/ghost`, { body: pool('ghost') })).status, 404)
})

t.test('an update that changes nothing keeps the resourceVersion', async (t) => {
  const created = (await api('POST', pools, { body: pool('same') })).json
  const again = await api('PUT', `${pools}/same`, { body: created })
  t.equal(again.json.metadata.resourceVersion, created.metadata.resourceVersion)
})

t.test('status subresource: the main resource ignores status, /status ignores everything else', async (t) => {
  const created = (await api('POST', pools, { body: pool('st') })).json
  const status = await api('PUT', `${pools}/st/status`, { body: { ...created, spec: { ...created.spec, gateway: '10.9.9.9' }, status: { allocatedIPCount: 3, totalIPCount: 10 } } })
  t.equal(status.status, 200)
  t.same(status.json.status, { allocatedIPCount: 3, totalIPCount: 10 })
  t.equal(status.json.spec.gateway, undefined, 'spec change through /status ignored')
  t.equal(status.json.metadata.generation, 1, 'a status write does not count as a generation')
  const main = await api('PATCH', `${pools}/st`, { body: { spec: { gateway: '10.0.0.1' }, status: { allocatedIPCount: 0 } }, contentType: merge })
  t.equal(main.json.spec.gateway, '10.0.0.1')
  t.equal(main.json.status.allocatedIPCount, 3, 'status change through the main resource ignored')
  t.equal(main.json.metadata.generation, 2)
  const patched = await api('PATCH', `${pools}/st/status`, { body: { status: { allocatedIPCount: 4 } }, contentType: merge })
  t.equal(patched.json.status.allocatedIPCount, 4)
  const got = await api('GET', `${pools}/st/status`)
  t.equal(got.json.status.allocatedIPCount, 4)
  t.equal((await api('GET', '/apis/spiderpool.spidernet.io/v2beta1/namespaces/default/spidermultusconfigs/x/status')).status, 404, 'no /status where the CRD has none')
})

t.test('defaults come back when a patch removes a defaulted field', async (t) => {
  await api('POST', pools, { body: pool('dflt', { default: true }) })
  const patched = await api('PATCH', `${pools}/dflt`, { body: { spec: { default: null } }, contentType: merge })
  t.equal(patched.json.spec.default, false)
})

t.test('dryRun=All runs the pipeline and stores nothing', async (t) => {
  const before = (await api('GET', pools)).json.metadata.resourceVersion
  const created = await api('POST', `${pools}?dryRun=All`, { body: pool('dry') })
  t.equal(created.status, 201)
  t.equal(created.json.spec.default, false)
  t.equal((await api('GET', `${pools}/dry`)).status, 404)
  await api('POST', pools, { body: pool('wet') })
  const patched = await api('PATCH', `${pools}/wet?dryRun=All`, { body: { spec: { gateway: '10.1.1.1' } }, contentType: merge })
  t.equal(patched.json.spec.gateway, '10.1.1.1')
  t.equal((await api('GET', `${pools}/wet`)).json.spec.gateway, undefined)
  const removed = await api('DELETE', `${pools}/wet?dryRun=All`)
  t.equal(removed.status, 200)
  t.equal((await api('GET', `${pools}/wet`)).status, 200)
  t.equal((await api('POST', `${pools}?dryRun=Some`, { body: pool('x') })).status, 400)
  t.ok(Number((await api('GET', pools)).json.metadata.resourceVersion) > Number(before))
})

t.test('fieldValidation: Strict refuses, Warn warns, Ignore drops unknown fields silently', async (t) => {
  const body = pool('fv', { colour: 'red' }, { extra: 1 })
  const strict = await api('POST', `${pools}?fieldValidation=Strict`, { body })
  t.equal(strict.status, 400)
  t.equal(strict.json.message, 'SpiderIPPool in version "v2beta1" cannot be handled as a SpiderIPPool: strict decoding error: unknown field "extra", unknown field "spec.colour"')
  const warned = await api('POST', `${pools}?fieldValidation=Warn`, { body })
  t.equal(warned.status, 201)
  t.same(warned.headers.warning, '299 - "unknown field \\"extra\\"", 299 - "unknown field \\"spec.colour\\""')
  t.equal(warned.json.spec.colour, undefined)
  await api('DELETE', `${pools}/fv`)
  const ignored = await api('POST', `${pools}?fieldValidation=Ignore`, { body })
  t.equal(ignored.status, 201)
  t.equal(ignored.headers.warning, undefined)
  const meta = await api('POST', `${cms}?fieldValidation=Strict`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'm', nmespace: 'x' } } })
  t.equal(meta.status, 400)
  t.match(meta.json.message, /unknown field "metadata.nmespace"/)
})

t.test('refusals carry the right code and reason', async (t) => {
  t.equal((await api('GET', '/apis/nothing.example.com/v1/things')).status, 404)
  t.equal((await api('GET', `${pools}/nope`)).json.message, 'spiderippools.spiderpool.spidernet.io "nope" not found')
  t.match((await api('POST', `${pools}/x`, { body: pool('x') })).json, { code: 405, reason: 'MethodNotAllowed' })
  const smp = await api('PATCH', `${pools}/fresh`, { body: { spec: {} }, contentType: 'application/strategic-merge-patch+json' })
  t.match(smp.json, { code: 415, reason: 'UnsupportedMediaType' })
  const garbage = await api('POST', pools, { body: '{not json', contentType: 'application/json' })
  t.match(garbage.json, { code: 400, reason: 'BadRequest' })
  const wrongKind = await api('POST', pools, { body: { ...pool('k'), kind: 'SpiderSubnet' } })
  t.equal(wrongKind.status, 400)
  const wrongNamespace = await api('POST', cms, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'w', namespace: 'kube-system' } } })
  t.equal(wrongNamespace.status, 400)
  t.match(wrongNamespace.json.message, /does not match the namespace/)
})

t.test('pods: created Pending, listed by node and phase through field selectors', async (t) => {
  const created = await api('POST', pods, { body: pod('web-1', 'node-a', { app: 'web' }) })
  t.equal(created.json.status.phase, 'Pending')
  await api('POST', pods, { body: pod('web-2', 'node-b', { app: 'web' }) })
  await api('PATCH', `${pods}/web-2/status`, { body: { status: { phase: 'Running', podIP: '10.0.0.5' } }, contentType: merge })
  const onA = await api('GET', `${pods}?fieldSelector=spec.nodeName%3Dnode-a`)
  t.same(onA.json.items.map((p: any) => p.metadata.name), ['web-1'])
  const running = await api('GET', `/api/v1/pods?fieldSelector=status.phase%3DRunning,metadata.namespace%3Ddefault`)
  t.same(running.json.items.map((p: any) => p.metadata.name), ['web-2'])
  const notRunning = await api('GET', `${pods}?fieldSelector=status.phase!%3DRunning&labelSelector=app%3Dweb`)
  t.same(notRunning.json.items.map((p: any) => p.metadata.name), ['web-1'])
  const bad = await api('GET', `${pods}?fieldSelector=spec.image%3Dx`)
  t.match(bad.json, { code: 400, message: 'field label not supported: spec.image' })
  const badCustom = await api('GET', `${pools}?fieldSelector=spec.subnet%3Dx`)
  t.match(badCustom.json, { code: 400, message: '"spec.subnet" is not a known field selector: only "metadata.name", "metadata.namespace"' })
  t.equal((await api('GET', `${pods}?labelSelector=a%20in%20(b`)).status, 400)
})

t.test('list paging with limit and continue visits every object once', async (t) => {
  for (let i = 0; i < 7; i++) await api('POST', cms, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `page-${i}`, labels: { paged: 'yes' } } } })
  const seen: string[] = []
  let token = ''
  let pages = 0
  do {
    const page = await api('GET', `${cms}?labelSelector=paged&limit=3${token ? `&continue=${encodeURIComponent(token)}` : ''}`)
    seen.push(...page.json.items.map((o: any) => o.metadata.name))
    token = page.json.metadata.continue ?? ''
    pages++
  } while (token)
  t.equal(pages, 3)
  t.same(seen, Array.from({ length: 7 }, (_, i) => `page-${i}`))
  t.equal((await api('GET', `${cms}?continue=garbage`)).status, 400)
})

t.test('Table output: NAME, the printer columns and PartialObjectMetadata rows', async (t) => {
  const got = await api('GET', pools, { accept: table })
  t.equal(got.json.kind, 'Table')
  t.equal(got.json.apiVersion, 'meta.k8s.io/v1')
  t.same(got.json.columnDefinitions.map((c: any) => `${c.name}:${c.priority}`), [
    'Name:0', 'VERSION:0', 'SUBNET:0', 'ALLOCATED-IP-COUNT:0', 'TOTAL-IP-COUNT:0', 'DEFAULT:0', 'DISABLE:10', 'NodeName:10', 'MultusName:10', 'APP-NAMESPACE:10',
  ])
  const row = got.json.rows.find((r: any) => r.cells[0] === 'st')
  t.same(row.cells.slice(0, 6), ['st', 4, '10.0.0.0/8', 4, 10, false])
  t.match(row.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'st' } })
  const full = await api('GET', `${pools}/st?includeObject=Object`, { accept: table })
  t.equal(full.json.rows[0].object.spec.subnet, '10.0.0.0/8')
  const podTable = await api('GET', pods, { accept: table })
  t.same(podTable.json.columnDefinitions.filter((c: any) => c.priority === 0).map((c: any) => c.name), ['Name', 'Ready', 'Status', 'Restarts', 'Age'])
  t.same(podTable.json.rows.map((r: any) => r.cells.slice(0, 3)), [['web-1', '0/1', 'Pending'], ['web-2', '0/1', 'Running']])
  const metadataList = await api('GET', pools, { accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' })
  t.equal(metadataList.json.kind, 'PartialObjectMetadataList')
  t.equal(metadataList.json.items[0].spec, undefined)
})

t.test('discovery, version and openapi', async (t) => {
  const apis = (await api('GET', '/apis')).json
  t.equal(apis.kind, 'APIGroupList')
  t.same(apis.groups.map((g: any) => g.name).sort(), ['admissionregistration.k8s.io', 'apiextensions.k8s.io', 'apps', 'batch', 'coordination.k8s.io', 'k8s.cni.cncf.io', 'policy', 'rbac.authorization.k8s.io', 'spiderpool.spidernet.io'])
  t.match((await api('GET', '/api')).json, { kind: 'APIVersions', versions: ['v1'] })
  const core = (await api('GET', '/api/v1')).json
  t.match(core.resources.find((r: any) => r.name === 'pods'), { kind: 'Pod', namespaced: true, shortNames: ['po'] })
  t.ok(core.resources.some((r: any) => r.name === 'pods/status'))
  t.match((await api('GET', '/apis/k8s.cni.cncf.io')).json, { kind: 'APIGroup', preferredVersion: { groupVersion: 'k8s.cni.cncf.io/v1' } })
  t.match((await api('GET', '/version', { token: null })).json, { major: '1', minor: '32' })
  const root = (await api('GET', '/openapi/v3')).json
  const url = root.paths['apis/spiderpool.spidernet.io/v2beta1'].serverRelativeURL
  const doc = (await api('GET', url)).json
  const patch = doc.paths['/apis/spiderpool.spidernet.io/v2beta1/spiderippools/{name}'].patch
  t.same(patch['x-kubernetes-group-version-kind'], { group: 'spiderpool.spidernet.io', version: 'v2beta1', kind: 'SpiderIPPool' })
  t.ok(patch.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query'))
  t.match((await api('GET', '/openapi/v2')).json, { swagger: '2.0', definitions: {} }, 'an empty v2 document: kubectl validates List files client-side against it')
})

t.test('the CRDs of our kinds are served read-only', async (t) => {
  const crd = await api('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/spiderippools.spiderpool.spidernet.io')
  t.equal(crd.status, 200)
  t.match(crd.json.spec, { group: 'spiderpool.spidernet.io', scope: 'Cluster', names: { kind: 'SpiderIPPool', shortNames: ['sp'] } })
  t.equal(crd.json.spec.versions[0].additionalPrinterColumns.length, 9)
  const change = await api('PATCH', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/spiderippools.spiderpool.spidernet.io', { body: { spec: {} }, contentType: merge })
  t.equal(change.status, 405)
  const all = await plane.ok(['get', 'crd', '-o', 'name'])
  t.equal(all.trim().split('\n').length, 7)
})
