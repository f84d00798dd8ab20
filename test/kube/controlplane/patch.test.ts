// JSON merge patch (RFC 7386) and JSON patch (RFC 6902) as kube-apiserver applies them.
import t from 'tap'
import { ApiError } from '../../../kube/controlplane/errors.ts'
import { applyJsonPatch, applyMergePatch, patchTypeOf } from '../../../kube/controlplane/patch.ts'
import { findResource } from '../../../kube/controlplane/resources.ts'

const pools = findResource('spiderpool.spidernet.io', 'v2beta1', 'spiderippools')!
const pods = findResource('', 'v1', 'pods')!

const statusOf = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    if (error instanceof ApiError) return error.status
    throw error
  }
  return undefined
}

t.test('merge patch: maps merge, null deletes, lists and scalars replace', async (t) => {
  const target = { spec: { a: 1, b: { c: 2, d: 3 }, list: [1, 2] }, keep: true }
  t.same(applyMergePatch(target, { spec: { a: null, b: { c: 20 }, list: [9] } }), { spec: { b: { c: 20, d: 3 }, list: [9] }, keep: true })
  t.same(target.spec.list, [1, 2], 'the target is not changed in place')
  t.same(applyMergePatch({ a: 1 }, { b: { c: null } }), { a: 1, b: {} })
})

t.test('JSON patch: add, remove, replace, move, copy and test', async (t) => {
  const doc = { metadata: { finalizers: ['a', 'b'] }, spec: { ips: ['1'], gw: 'x' } }
  const result = applyJsonPatch(doc, [
    { op: 'add', path: '/spec/ips/-', value: '2' },
    { op: 'add', path: '/spec/ips/0', value: '0' },
    { op: 'remove', path: '/metadata/finalizers/0' },
    { op: 'replace', path: '/spec/gw', value: 'y' },
    { op: 'copy', from: '/spec/gw', path: '/spec/gw2' },
    { op: 'move', from: '/spec/gw2', path: '/spec/moved' },
    { op: 'test', path: '/spec/moved', value: 'y' },
    { op: 'add', path: '/metadata/annotations', value: { 'a~b/c': '1' } },
    { op: 'test', path: '/metadata/annotations/a~0b~1c', value: '1' },
  ])
  t.same(result, { metadata: { finalizers: ['b'], annotations: { 'a~b/c': '1' } }, spec: { ips: ['0', '1', '2'], gw: 'y', moved: 'y' } })
  t.same(doc.spec.ips, ['1'], 'the target is not changed in place')
})

t.test('JSON patch: a failing test, a missing path or a bad index is 422 and applies nothing', async (t) => {
  const doc = { spec: { gw: 'x', ips: [] as string[] } }
  t.match(statusOf(() => applyJsonPatch(doc, [{ op: 'replace', path: '/spec/gw', value: 'y' }, { op: 'test', path: '/spec/gw', value: 'x' }])), { code: 422, reason: 'Invalid' })
  t.match(statusOf(() => applyJsonPatch(doc, [{ op: 'remove', path: '/spec/nope' }])), { code: 422 })
  t.match(statusOf(() => applyJsonPatch(doc, [{ op: 'replace', path: '/spec/missing/deeper', value: 1 }])), { code: 422 })
  t.match(statusOf(() => applyJsonPatch(doc, [{ op: 'add', path: '/spec/ips/3', value: 'z' }])), { code: 422 })
  t.match(statusOf(() => applyJsonPatch(doc, [{ op: 'frobnicate', path: '/spec' }])), { code: 422 })
  t.match(statusOf(() => applyJsonPatch(doc, { op: 'add' })), { code: 400 })
  t.equal(doc.spec.gw, 'x')
})

t.test('patch media types: strategic merge only for built-in kinds, server-side apply not at all', async (t) => {
  t.equal(patchTypeOf('application/merge-patch+json', pools), 'merge')
  t.equal(patchTypeOf('application/json-patch+json; charset=utf-8', pools), 'json')
  t.equal(patchTypeOf('application/strategic-merge-patch+json', pods), 'strategic')
  t.match(statusOf(() => patchTypeOf('application/strategic-merge-patch+json', pools)), {
    code: 415,
    message: 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
  })
  t.match(statusOf(() => patchTypeOf('application/apply-patch+yaml', pods)), { code: 415 })
  t.match(statusOf(() => patchTypeOf('text/plain', pods)), { code: 415 })
})
