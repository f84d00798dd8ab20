// pods/<name>/binding as kube-apiserver answers kube-scheduler: 201 and a Status once, the pod bound
// and PodScheduled; 409 for a bound pod or one being deleted, 404 for a missing one; over real
// HTTPS, and through real kubectl.
import t from 'tap'
import { startTestControlPlane } from './fixtures/controlplane.ts'

const plane = await startTestControlPlane(t)
const { api } = plane

const pods = '/api/v1/namespaces/default/pods'
const pod = (name: string, extra: object = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, ...extra }, spec: { containers: [{ name: 'c', image: 'nginx' }] } })
const binding = (name: string, node: string, metadata: object = {}) => ({ apiVersion: 'v1', kind: 'Binding', metadata: { name, ...metadata }, target: { apiVersion: 'v1', kind: 'Node', name: node } })
const bind = (name: string, body: unknown, query = '') => api('POST', `${pods}/${name}/binding${query}`, { body })

t.test('a binding places an unbound pod: 201 with a Success Status, nodeName set, PodScheduled, annotations merged', async (t) => {
  const created = await api('POST', pods, { body: pod('web', { annotations: { keep: 'me' } }) })
  t.equal(created.status, 201)
  t.equal(created.json.spec.nodeName, undefined)
  const bound = await bind('web', binding('web', 'node-a', { annotations: { 'scheduler.example.com/score': '7' } }))
  t.equal(bound.status, 201)
  t.strictSame(bound.json, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 })
  const after = (await api('GET', `${pods}/web`)).json
  t.equal(after.spec.nodeName, 'node-a')
  t.strictSame(after.metadata.annotations, { keep: 'me', 'scheduler.example.com/score': '7' })
  t.match(after.status, { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/ }] })
  t.ok(Number(after.metadata.resourceVersion) > Number(created.json.metadata.resourceVersion), 'the pod was written')
  const listed = (await api('GET', `${pods}?fieldSelector=spec.nodeName=node-a`)).json
  t.strictSame(
    listed.items.map((p: any) => p.metadata.name),
    ['web'],
    'the field selector the kubelet lists its pods with finds it',
  )
})

t.test('a bound pod is never moved: 409 Conflict naming the node it is on, the pod unchanged', async (t) => {
  const before = (await api('GET', `${pods}/web`)).json
  for (const node of ['node-b', 'node-a']) {
    const again = await bind('web', binding('web', node))
    t.equal(again.status, 409, `to ${node}`)
    t.strictSame(again.json, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Operation cannot be fulfilled on pods/binding "web": pod web is already assigned to node "node-a"',
      reason: 'Conflict',
      details: { name: 'web', group: '', kind: 'pods/binding' },
      code: 409,
    })
  }
  t.equal((await api('GET', `${pods}/web`)).json.metadata.resourceVersion, before.metadata.resourceVersion)
})

t.test('a missing pod is 404 NotFound', async (t) => {
  const missing = await bind('ghost', binding('ghost', 'node-a'))
  t.equal(missing.status, 404)
  t.match(missing.json, { reason: 'NotFound', message: 'pods "ghost" not found', details: { name: 'ghost', kind: 'pods' }, code: 404 })
})

t.test('malformed bindings: the name in the URL, the namespace, the target, the kind of object', async (t) => {
  await api('POST', pods, { body: pod('lonely') })
  const otherName = await bind('lonely', binding('web', 'node-a'))
  t.equal(otherName.status, 400)
  t.match(otherName.json, { reason: 'BadRequest', message: 'name in URL does not match name in Binding object' })
  const otherNamespace = await bind('lonely', binding('lonely', 'node-a', { namespace: 'kube-system' }))
  t.equal(otherNamespace.status, 400)
  t.match(otherNamespace.json, { message: 'the namespace of the provided object does not match the namespace sent on the request' })
  // ValidatePodBinding's errors leave BindingREST unwrapped: kube-apiserver answers 500 without a reason
  const noTarget = await bind('lonely', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'lonely' }, target: {} })
  t.equal(noTarget.status, 500)
  t.strictSame(noTarget.json, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'target.name: Required value', code: 500 })
  const notANode = await bind('lonely', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'lonely' }, target: { kind: 'Pod', name: 'x' } })
  t.equal(notANode.status, 500)
  t.equal(notANode.json.message, 'target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"')
  const aPod = await bind('lonely', pod('lonely'))
  t.equal(aPod.status, 400)
  t.match(aPod.json.message, /must be of type Binding/)
  t.equal((await api('GET', `${pods}/lonely`)).json.spec.nodeName, undefined, 'none of them bound the pod')
})

t.test('the uid and resourceVersion of the binding are preconditions: 409 when the pod is another', async (t) => {
  const current = (await api('GET', `${pods}/lonely`)).json
  const stale = await bind('lonely', binding('lonely', 'node-a', { uid: '00000000-0000-4000-8000-000000000000' }))
  t.equal(stale.status, 409)
  t.match(stale.json, { reason: 'Conflict', message: /^Operation cannot be fulfilled on pods "lonely": .*Precondition failed: UID in precondition: 00000000-0000-4000-8000-000000000000, UID in object meta: / })
  const oldVersion = await bind('lonely', binding('lonely', 'node-a', { resourceVersion: '1' }))
  t.equal(oldVersion.status, 409)
  t.match(oldVersion.json.message, /Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: /)
  const exact = await bind('lonely', binding('lonely', 'node-b', { uid: current.metadata.uid, resourceVersion: current.metadata.resourceVersion }))
  t.equal(exact.status, 201, 'the scheduler sends the pod uid it saw: accepted')
  t.equal((await api('GET', `${pods}/lonely`)).json.spec.nodeName, 'node-b')
})

t.test('dry run answers 201 and binds nothing', async (t) => {
  await api('POST', pods, { body: pod('dry') })
  const dry = await bind('dry', binding('dry', 'node-a'), '?dryRun=All')
  t.equal(dry.status, 201)
  t.equal((await api('GET', `${pods}/dry`)).json.spec.nodeName, undefined)
})

t.test('a pod being deleted cannot be bound: 409', async (t) => {
  await api('POST', pods, { body: pod('leaving', { finalizers: ['example.com/hold'] }) })
  t.equal((await api('DELETE', `${pods}/leaving`)).status, 200)
  const late = await bind('leaving', binding('leaving', 'node-a'))
  t.equal(late.status, 409)
  t.equal(late.json.message, 'Operation cannot be fulfilled on pods/binding "leaving": pod leaving is being deleted, cannot be assigned to a host')
  await api('PATCH', `${pods}/leaving`, { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' })
})

t.test('binding serves POST only; other subresources of pods stay unknown; discovery lists pods/binding', async (t) => {
  t.equal((await api('GET', `${pods}/web/binding`)).status, 405)
  t.equal((await api('PUT', `${pods}/web/binding`, { body: binding('web', 'node-a') })).status, 405)
  t.equal((await api('POST', `${pods}/web/eviction-typo`, { body: {} })).status, 404)
  t.equal((await api('POST', '/api/v1/namespaces/default/configmaps/x/binding', { body: binding('x', 'n') })).status, 404)
  const core = (await api('GET', '/api/v1')).json
  t.strictSame(
    core.resources.find((r: any) => r.name === 'pods/binding'),
    { name: 'pods/binding', singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] },
  )
})

t.test('real kubectl binds through the subresource (create --raw), and reports the conflict', async (t) => {
  await plane.ok(['run', 'kubectl-pod', '--image=nginx', '--restart=Never'])
  const path = '/api/v1/namespaces/default/pods/kubectl-pod/binding'
  const out = await plane.ok(['create', '--raw', path, '-f', '-'], JSON.stringify(binding('kubectl-pod', 'node-a')))
  t.match(JSON.parse(out), { kind: 'Status', status: 'Success', code: 201 })
  t.equal((await plane.ok(['get', 'pod', 'kubectl-pod', '-o', 'jsonpath={.spec.nodeName}'])).trim(), 'node-a')
  const again = await plane.kubectl(['create', '--raw', path, '-f', '-'], JSON.stringify(binding('kubectl-pod', 'node-b')))
  t.not(again.code, 0)
  t.match(again.stderr, /Operation cannot be fulfilled on pods\/binding "kubectl-pod": pod kubectl-pod is already assigned to node "node-a"/)
})
