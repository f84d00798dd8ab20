import t from 'tap'
import { buildApp } from '../../server/app.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import { clusterFromObjects } from '../../webhooks/cluster.ts'
import { applyPatch } from './fixtures/json-patch.ts'
import { bombKind, decodePatch, gadgetKind, mutatePath, review, validatePath, widgetKind, type Call, type ReviewOptions } from './fixtures/widget.ts'

function setup() {
  const calls: Call[] = []
  const gadgetCalls: Call[] = []
  const settings = { ...defaultSettings(), enableIPv6: false }
  const snapshots: ReturnType<typeof clusterFromObjects>[] = []
  // a new snapshot at every call, named after the call's number
  const cluster = () => {
    const snapshot = clusterFromObjects({ namespaces: [{ metadata: { name: `ns-${snapshots.length}` } }] })
    snapshots.push(snapshot)
    return snapshot
  }
  const app = buildApp({ kinds: [widgetKind(calls), gadgetKind(gadgetCalls), bombKind()], settings, cluster })
  const send = async (path: string, operation: string, o: ReviewOptions = {}) => {
    const res = await app.inject({ method: 'POST', url: path, payload: review(operation, o) })
    return { http: res.statusCode, body: res.json() }
  }
  return { app, calls, gadgetCalls, settings, snapshots, send }
}

const widget = (spec: object = { size: 3 }, metadata: object = {}) => ({
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'Widget',
  metadata: { name: 'w1', namespace: 'team-a', ...metadata },
  spec,
})

t.test('mutate CREATE: the uid is echoed and the JSON Patch turns the object into the defaulted copy', async (t) => {
  const { send, calls } = setup()
  const object = widget()
  const { http, body } = await send(mutatePath('widget'), 'CREATE', { uid: 'uid-123', object })
  t.equal(http, 200)
  t.equal(body.apiVersion, 'admission.k8s.io/v1')
  t.equal(body.kind, 'AdmissionReview')
  t.equal(body.response.uid, 'uid-123')
  t.equal(body.response.allowed, true)
  t.equal(body.response.patchType, 'JSONPatch')
  const patched = applyPatch(object, decodePatch(body.response.patch))
  t.same(patched, {
    ...object,
    metadata: { ...object.metadata, labels: { 'widgets.example/defaulted': 'true' } },
    spec: { size: 3, tags: ['plain'] },
  })
  t.equal(calls.length, 1)
  t.same(calls[0].args[0], object, 'default received the object as sent')
})

t.test('mutate: when the defaulter changes nothing, there is no patch and no patchType', async (t) => {
  const { send } = setup()
  const { body } = await send(mutatePath('widget'), 'UPDATE', {
    object: widget({ size: 1, tags: ['x'] }, { labels: { 'widgets.example/plain': 'true' } }),
    oldObject: widget({ size: 1 }),
  })
  t.equal(body.response.allowed, true)
  t.notOk('patch' in body.response)
  t.notOk('patchType' in body.response)
})

t.test('mutate DELETE and CONNECT are allowed without a patch and without calling the defaulter', async (t) => {
  const { send, calls } = setup()
  for (const operation of ['DELETE', 'CONNECT']) {
    const { body } = await send(mutatePath('widget'), operation, { oldObject: widget() })
    t.equal(body.response.allowed, true, operation)
    t.notOk('patch' in body.response, operation)
  }
  t.same(calls, [])
})

t.test('the rules get operation, settings, the cluster snapshot of the moment and dryRun', async (t) => {
  const { send, calls, settings, snapshots } = setup()
  await send(mutatePath('widget'), 'CREATE', { object: widget(), dryRun: true })
  await send(validatePath('widget'), 'UPDATE', { object: widget(), oldObject: widget() })
  t.same(
    calls.map((c) => [c.rule, c.ctx.operation, c.ctx.dryRun]),
    [
      ['default', 'CREATE', true],
      ['validateUpdate', 'UPDATE', false],
    ],
  )
  t.equal(calls[0].ctx.settings, settings)
  t.equal(calls[1].ctx.settings, settings)
  t.equal(snapshots.length, 2, 'one snapshot taken per request')
  t.equal(calls[0].ctx.cluster, snapshots[0])
  t.equal(calls[1].ctx.cluster, snapshots[1])
  t.ok(calls[1].ctx.cluster.namespace('ns-1'))
})

t.test('validate CREATE of a valid object is allowed with status 200', async (t) => {
  const { send } = setup()
  const { body } = await send(validatePath('widget'), 'CREATE', { uid: 'u-ok', object: widget() })
  t.same(body.response, { uid: 'u-ok', allowed: true, status: { code: 200 } })
})

t.test('validate CREATE: a field error is answered as a 422 Invalid status naming the field', async (t) => {
  const { send } = setup()
  const { http, body } = await send(validatePath('widget'), 'CREATE', { uid: 'u-neg', object: widget({ size: -1 }) })
  t.equal(http, 200, 'a denial is a normal answer, not an HTTP error')
  t.same(body.response, {
    uid: 'u-neg',
    allowed: false,
    status: {
      status: 'Failure',
      code: 422,
      reason: 'Invalid',
      message: 'Widget.spiderpool.spidernet.io "w1" is invalid: spec.size: Invalid value: -1: must be greater than or equal to 0',
      details: {
        name: 'w1',
        group: 'spiderpool.spidernet.io',
        kind: 'Widget',
        causes: [{ type: 'FieldValueInvalid', message: 'Invalid value: -1: must be greater than or equal to 0', field: 'spec.size' }],
      },
    },
  })
})

t.test('validate reports every field error, not only the first', async (t) => {
  const { send } = setup()
  const { body } = await send(validatePath('widget'), 'CREATE', { object: widget({ size: -2, tags: ['ok', '', ''] }) })
  t.same(
    body.response.status.details.causes.map((c: { field: string }) => c.field),
    ['spec.size', 'spec.tags[1]', 'spec.tags[2]'],
  )
  t.match(body.response.status.message, /is invalid: \[spec\.size: .*, spec\.tags\[1\]: .*, spec\.tags\[2\]: .*\]$/)
})

t.test('validate CREATE: an AlreadyExists refusal is a 409 status', async (t) => {
  const { send } = setup()
  const { body } = await send(validatePath('widget'), 'CREATE', { object: widget({}, { name: 'taken' }) })
  t.same(body.response.status, {
    status: 'Failure',
    code: 409,
    reason: 'AlreadyExists',
    message: 'Widget.spiderpool.spidernet.io "taken" already exists',
    details: { name: 'taken', group: 'spiderpool.spidernet.io', kind: 'Widget' },
  })
})

t.test('validate UPDATE passes the old and the new object; a Forbidden refusal is a 403 status', async (t) => {
  const { send, calls } = setup()
  const oldObject = widget({ size: 1 }, { deletionTimestamp: '2026-01-01T00:00:00Z' })
  const object = widget({ size: 2 }, { deletionTimestamp: '2026-01-01T00:00:00Z' })
  const { body } = await send(validatePath('widget'), 'UPDATE', { oldObject, object })
  t.same(calls[0].args, [oldObject, object])
  t.same(body.response.status, { status: 'Failure', code: 403, reason: 'Forbidden', message: 'forbidden: cannot update a terminating Widget', details: {} })
})

t.test('validate DELETE calls validateDelete with oldObject', async (t) => {
  const { send, calls } = setup()
  const small = await send(validatePath('widget'), 'DELETE', { oldObject: widget({ size: 2 }) })
  t.equal(small.body.response.allowed, true)
  const big = await send(validatePath('widget'), 'DELETE', { oldObject: widget({ size: 11 }) })
  t.equal(big.body.response.allowed, false)
  t.equal(big.body.response.status.code, 403)
  t.equal(big.body.response.status.message, 'forbidden: cannot delete a Widget of size 11')
  t.same(
    calls.map((c) => [c.rule, c.args]),
    [
      ['validateDelete', [widget({ size: 2 })]],
      ['validateDelete', [widget({ size: 11 })]],
    ],
  )
})

t.test('validate DELETE of a kind without validateDelete is allowed and calls no rule', async (t) => {
  const { send, gadgetCalls } = setup()
  const { body } = await send(validatePath('gadget'), 'DELETE', { kind: 'Gadget', oldObject: { metadata: { name: 'g' } } })
  t.equal(body.response.allowed, true)
  t.same(gadgetCalls, [])
})

t.test('a mistyped object is refused as Invalid at the field path, and no rule runs', async (t) => {
  const { send, calls } = setup()
  const object = widget({ size: 'big', tags: ['a', 7] })
  for (const path of [mutatePath('widget'), validatePath('widget')]) {
    const { body } = await send(path, 'CREATE', { object })
    t.equal(body.response.allowed, false, path)
    t.equal(body.response.status.code, 422)
    t.equal(body.response.status.reason, 'Invalid')
    t.same(
      body.response.status.details.causes.map((c: { field: string; type: string }) => [c.field, c.type]),
      [
        ['spec.size', 'FieldValueInvalid'],
        ['spec.tags[1]', 'FieldValueInvalid'],
      ],
    )
    t.match(body.response.status.message, /^Widget\.spiderpool\.spidernet\.io "w1" is invalid: \[spec\.size: Invalid value: "string": .*integer/)
  }
  t.same(calls, [], 'neither default nor validateCreate was called')
})

t.test('a mistyped old object on UPDATE is refused too, and validateUpdate does not run', async (t) => {
  const { send, calls } = setup()
  const { body } = await send(validatePath('widget'), 'UPDATE', { object: widget(), oldObject: widget({ size: [1] }) })
  t.equal(body.response.status.code, 422)
  t.equal(body.response.status.details.causes[0].field, 'spec.size')
  t.match(body.response.status.details.causes[0].message, /in the stored object/)
  t.same(calls, [])
})

t.test('a request whose kind or resource is not the path\'s kind is denied with 400 naming both', async (t) => {
  const { send, calls } = setup()
  const wrongKind = await send(validatePath('widget'), 'CREATE', { kind: 'Gadget', resource: 'widgets', object: widget() })
  t.equal(wrongKind.body.response.allowed, false)
  t.equal(wrongKind.body.response.status.code, 400)
  t.match(wrongKind.body.response.status.message, /Kind=Widget/)
  t.match(wrongKind.body.response.status.message, /Kind=Gadget/)
  const wrongResource = await send(mutatePath('widget'), 'CREATE', { kind: 'Widget', resource: 'gadgets', object: widget() })
  t.equal(wrongResource.body.response.status.code, 400)
  t.match(wrongResource.body.response.status.message, /Resource=gadgets/)
  t.same(calls, [])
})

t.test('an operation without the object it needs is denied with 400 naming the field', async (t) => {
  const { send } = setup()
  const create = await send(validatePath('widget'), 'CREATE', {})
  t.equal(create.body.response.status.code, 400)
  t.match(create.body.response.status.message, 'request.object is required for CREATE')
  const update = await send(validatePath('widget'), 'UPDATE', { object: widget() })
  t.match(update.body.response.status.message, 'request.oldObject is required for UPDATE')
})

t.test('a rule that throws is answered allowed:false with code 500, and the server keeps answering', async (t) => {
  const { send } = setup()
  for (const path of [mutatePath('bomb'), validatePath('bomb')]) {
    const { http, body } = await send(path, 'CREATE', { uid: 'boom', kind: 'Bomb', object: { metadata: { name: 'b' } } })
    t.equal(http, 200)
    t.equal(body.response.uid, 'boom')
    t.equal(body.response.allowed, false)
    t.equal(body.response.status.code, 500)
    t.match(body.response.status.message, 'the bomb went off')
  }
  const after = await send(validatePath('widget'), 'CREATE', { object: widget() })
  t.equal(after.body.response.allowed, true)
})

t.test('a validator returning something that is neither errors nor a refusal is a 500, not an allow', async (t) => {
  const broken = { ...widgetKind(), validateCreate: () => undefined as never }
  const app = buildApp({ kinds: [broken], settings: defaultSettings(), cluster: () => clusterFromObjects() })
  const res = await app.inject({ method: 'POST', url: validatePath('widget'), payload: review('CREATE', { object: widget() }) })
  t.equal(res.json().response.allowed, false)
  t.equal(res.json().response.status.code, 500)
})

t.test('every kind gets exactly its two routes', async (t) => {
  const { app } = setup()
  await app.ready()
  for (const name of ['widget', 'gadget', 'bomb']) {
    t.ok(app.hasRoute({ method: 'POST', url: mutatePath(name) }), mutatePath(name))
    t.ok(app.hasRoute({ method: 'POST', url: validatePath(name) }), validatePath(name))
  }
  t.notOk(app.hasRoute({ method: 'POST', url: mutatePath('widgets') }))
})
