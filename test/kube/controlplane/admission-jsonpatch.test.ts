// JSON Patch as RFC 6902 defines it; most cases are the RFC's own appendix A examples.

import t from 'tap'
import { applyJsonPatch, jsonEqual, parseJsonPatch, type JsonValue } from '../../../kube/controlplane/admission/jsonpatch.ts'

const apply = (document: JsonValue, patch: unknown[]) => applyJsonPatch(document, parseJsonPatch(patch))

t.test('add: an object member, an array element by index, and at the end with "-"', async (t) => {
  t.same(apply({ foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }]), { foo: 'bar', baz: 'qux' })
  t.same(apply({ foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }]), { foo: ['bar', 'qux', 'baz'] })
  t.same(apply({ foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }]), { foo: ['bar', ['abc', 'def']] })
  t.same(apply({ foo: ['bar'] }, [{ op: 'add', path: '/foo/1', value: 'end' }]), { foo: ['bar', 'end'] }, 'index equal to the length appends')
  t.same(apply({ foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }]), { foo: 'bar', child: { grandchild: {} } })
  t.same(apply({ foo: 'bar' }, [{ op: 'add', path: '/foo', value: 'replaced' }]), { foo: 'replaced' }, 'adding an existing member replaces it')
  t.same(apply({ foo: 'bar' }, [{ op: 'add', path: '', value: [1] }]), [1], 'the empty path is the whole document')
})

t.test('add: to a member whose parent does not exist, or past the end of an array, does not apply', async (t) => {
  t.throws(() => apply({ foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }]), /add operation does not apply: the document has no value at "\/baz"/)
  t.throws(() => apply({ foo: ['bar'] }, [{ op: 'add', path: '/foo/2', value: 'x' }]), /array index 2 is out of bounds/)
  t.throws(() => apply({ foo: ['bar'] }, [{ op: 'add', path: '/foo/01', value: 'x' }]), /"01" is not an array index/)
  t.throws(() => apply({ foo: 'bar' }, [{ op: 'add', path: '/foo/x', value: 'y' }]), /neither an object nor an array/)
})

t.test('remove and replace act on values that exist, and fail on ones that do not', async (t) => {
  t.same(apply({ baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }]), { foo: 'bar' })
  t.same(apply({ foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }]), { foo: ['bar', 'baz'] })
  t.same(apply({ baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }]), { baz: 'boo', foo: 'bar' })
  t.same(apply({ a: [1, 2, 3] }, [{ op: 'replace', path: '/a/2', value: 9 }]), { a: [1, 2, 9] })
  t.throws(() => apply({ foo: 'bar' }, [{ op: 'remove', path: '/baz' }]), /remove operation does not apply: the document has no value at "\/baz"/)
  t.throws(() => apply({ foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 1 }]), /replace operation does not apply/)
  t.throws(() => apply({ foo: [] }, [{ op: 'remove', path: '/foo/0' }]), /out of bounds/)
  t.throws(() => apply({ foo: [1] }, [{ op: 'remove', path: '/foo/-' }]), /"-" is not an array index/)
})

t.test('move and copy take the value at "from"; a value cannot move into its own child', async (t) => {
  t.same(apply({ foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } }, [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }]), {
    foo: { bar: 'baz' },
    qux: { corge: 'grault', thud: 'fred' },
  })
  t.same(apply({ foo: ['all', 'grass', 'cows', 'eat'] }, [{ op: 'move', from: '/foo/1', path: '/foo/3' }]), { foo: ['all', 'cows', 'eat', 'grass'] })
  const copied = apply({ a: { b: [1] } }, [{ op: 'copy', from: '/a', path: '/c' }, { op: 'add', path: '/c/b/-', value: 2 }])
  t.same(copied, { a: { b: [1] }, c: { b: [1, 2] } }, 'a copy is independent of its source')
  t.throws(() => apply({ a: { b: {} } }, [{ op: 'move', from: '/a', path: '/a/b/c' }]), /cannot move "\/a" into its own child/)
  t.throws(() => apply({ a: 1 }, [{ op: 'copy', from: '/missing', path: '/b' }]), /copy operation does not apply/)
})

t.test('test: passes on an equal value whatever the member order, fails otherwise and stops the patch', async (t) => {
  t.same(apply({ baz: 'qux', foo: ['a', 2, 'c'] }, [{ op: 'test', path: '/baz', value: 'qux' }, { op: 'test', path: '/foo/1', value: 2 }]), { baz: 'qux', foo: ['a', 2, 'c'] })
  t.same(apply({ o: { a: 1, b: [1, 2] } }, [{ op: 'test', path: '/o', value: { b: [1, 2], a: 1 } }]), { o: { a: 1, b: [1, 2] } })
  t.throws(() => apply({ baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }]), /test operation does not apply: the value at "\/baz" is not the tested value/)
  t.throws(() => apply({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }]), /not the tested value/, 'the number 10 is not the string "10"')
  t.throws(() => apply({ a: [1, 2] }, [{ op: 'test', path: '/a', value: [2, 1] }]), /not the tested value/, 'array order matters')
})

t.test('~1 stands for "/" and ~0 for "~" in a path, decoded in that order', async (t) => {
  t.same(apply({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: 10 }]), { '/': 9, '~1': 10 })
  t.same(apply({ metadata: { labels: {} } }, [{ op: 'add', path: '/metadata/labels/spiderpool.spidernet.io~1ippool', value: 'pool-a' }]), {
    metadata: { labels: { 'spiderpool.spidernet.io/ippool': 'pool-a' } },
  })
  t.same(apply({}, [{ op: 'add', path: '/a~0b', value: 1 }]), { 'a~b': 1 })
  t.throws(() => apply({}, [{ op: 'add', path: '/a~2b', value: 1 }]), /a "~" not followed by 0 or 1/)
  t.throws(() => apply({}, [{ op: 'add', path: 'a', value: 1 }]), /does not start with "\/"/)
})

t.test('a patch applies whole or not at all, and never changes the document it was given', async (t) => {
  const document = { a: 1, list: [1] }
  t.throws(() => apply(document, [{ op: 'add', path: '/b', value: 2 }, { op: 'remove', path: '/missing' }]))
  t.same(document, { a: 1, list: [1] })
  const value = { nested: true }
  const result = apply(document, [{ op: 'add', path: '/v', value }]) as { v: { nested: boolean } }
  result.v.nested = false
  t.same(value, { nested: true }, 'the value in the patch is copied, not shared')
})

t.test('a "__proto__" member is an ordinary member, not the prototype', async (t) => {
  const result = apply({}, [{ op: 'add', path: '/__proto__', value: { polluted: true } }]) as Record<string, unknown>
  t.equal(Object.getPrototypeOf(result), Object.prototype)
  t.same(Object.keys(result), ['__proto__'])
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})

t.test('malformed operations are refused before anything applies', async (t) => {
  t.throws(() => parseJsonPatch({ op: 'add' }), /must be an array/)
  t.throws(() => parseJsonPatch([{ op: 'merge', path: '/a' }]), /operation 0 has unknown op "merge"/)
  t.throws(() => parseJsonPatch([{ op: 'add', path: '/a' }]), /operation 0 \(add\) has no "value"/)
  t.throws(() => parseJsonPatch([{ op: 'move', path: '/a' }]), /operation 0 \(move\) has no string "from"/)
  t.throws(() => parseJsonPatch([{ op: 'remove' }]), /operation 0 has no string "path"/)
  t.same(parseJsonPatch([{ op: 'add', path: '/a', value: null }]), [{ op: 'add', path: '/a', value: null }], 'null is a value')
})

t.test('jsonEqual compares JSON values structurally', async (t) => {
  t.ok(jsonEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] }))
  t.notOk(jsonEqual({ a: 1 }, { a: 1, b: undefined }))
  t.notOk(jsonEqual([], {}))
  t.notOk(jsonEqual(null, {}))
})
