import t from 'tap'
import { isObject } from '../../ipam/json.ts'

t.test('a JSON object is an object that is neither null nor an array', async (t) => {
  t.ok(isObject({}))
  t.ok(isObject({ a: 1 }))
  for (const v of [null, undefined, [], [{}], 'x', 1, true]) t.notOk(isObject(v), JSON.stringify(v) ?? 'undefined')
})
