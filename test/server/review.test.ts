// A body that is not an AdmissionReview v1 gets a clear JSON error with an HTTP status, never a
// hang, a 500 or a crash; the server answers the next request as usual.
import t from 'tap'
import { mutatePath, review, testApp, validatePath, widgetKind } from './fixtures/widget.ts'

const path = validatePath('widget')
const opts = { timeout: 15_000 }

async function answered(t: import('tap').Test, app: ReturnType<typeof testApp>) {
  const res = await app.inject({ method: 'POST', url: path, payload: review('CREATE', { object: { metadata: { name: 'ok' }, spec: { size: 1 } } }) })
  t.equal(res.statusCode, 200, 'the next review is answered')
  t.equal(res.json().response.allowed, true)
}

function isJsonError(t: import('tap').Test, res: { statusCode: number; headers: Record<string, unknown>; json(): any }, code: number, message: RegExp | string) {
  t.equal(res.statusCode, code)
  t.match(String(res.headers['content-type']), /^application\/json/)
  const body = res.json()
  t.type(body.error, 'string')
  t.match(body.message, message)
}

t.test('malformed JSON is a 400 with a JSON error', opts, async (t) => {
  const app = testApp()
  const res = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json' }, payload: '{"apiVersion": "admission.k8s.io/v1", ' })
  isJsonError(t, res, 400, /JSON/)
  await answered(t, app)
})

t.test('a review without request is a 400 naming request', opts, async (t) => {
  const app = testApp()
  const res = await app.inject({ method: 'POST', url: path, payload: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' } })
  isJsonError(t, res, 400, 'not an AdmissionReview v1: request is required')
})

t.test('a request without uid is a 400 naming request.uid', opts, async (t) => {
  const app = testApp()
  const body = review('CREATE', { object: {} }) as { request: Record<string, unknown> }
  delete body.request.uid
  const res = await app.inject({ method: 'POST', url: mutatePath('widget'), payload: body })
  isJsonError(t, res, 400, 'request.uid is required')
})

t.test('wrong types in the review are a 400 naming every wrong field', opts, async (t) => {
  const app = testApp()
  const body = review('CREATE') as { request: Record<string, unknown> }
  body.request.uid = 42
  body.request.operation = 'MAKE'
  body.request.object = 'a widget'
  body.request.dryRun = 'yes'
  const res = await app.inject({ method: 'POST', url: path, payload: body })
  isJsonError(t, res, 400, /request\.uid must be string/)
  const message = res.json().message
  t.match(message, /request\.operation must be "CREATE" or "UPDATE" or "DELETE" or "CONNECT"/)
  t.match(message, /request\.object must be object,null/)
  t.match(message, /request\.dryRun must be boolean/)
  t.notMatch(message, /request\.kind/, 'fields that are right are not named')
  await answered(t, app)
})

t.test('another apiVersion or kind of review is a 400 naming it', opts, async (t) => {
  const app = testApp()
  const res = await app.inject({ method: 'POST', url: path, payload: { ...review('CREATE'), apiVersion: 'admission.k8s.io/v1beta1' } })
  isJsonError(t, res, 400, 'apiVersion must be "admission.k8s.io/v1"')
  const notReview = await app.inject({ method: 'POST', url: path, payload: { ...review('CREATE'), kind: 'ConfigMap' } })
  isJsonError(t, notReview, 400, 'kind must be "AdmissionReview"')
})

t.test('a body that is not an object, or no body at all, is a 400', opts, async (t) => {
  const app = testApp()
  isJsonError(t, await app.inject({ method: 'POST', url: path, payload: '[1,2]', headers: { 'content-type': 'application/json' } }), 400, 'the body must be object')
  isJsonError(t, await app.inject({ method: 'POST', url: path }), 400, 'the body must be object')
})

t.test('a body that is not JSON is a 415 naming the content type', opts, async (t) => {
  const app = testApp()
  const text = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(review('CREATE')) })
  isJsonError(t, text, 415, '"text/plain"')
  const yaml = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/yaml' }, payload: 'apiVersion: v1' })
  isJsonError(t, yaml, 415, 'send application/json')
  await answered(t, app)
})

t.test('an unknown path is a 404 with a JSON error', opts, async (t) => {
  const app = testApp()
  const res = await app.inject({ method: 'POST', url: mutatePath('spiderwhatever'), payload: review('CREATE') })
  isJsonError(t, res, 404, 'no route for POST /mutate-spiderpool-spidernet-io-v2beta1-spiderwhatever')
  isJsonError(t, await app.inject({ method: 'GET', url: path }), 404, 'no route for GET')
})

t.test('a 10 MB body is a 413 with a JSON error, and the next review is answered', opts, async (t) => {
  const app = testApp()
  const big = review('CREATE', { object: { metadata: { name: 'big' }, spec: { tags: ['x'.repeat(10 * 1024 * 1024)] } } })
  const res = await app.inject({ method: 'POST', url: path, payload: JSON.stringify(big), headers: { 'content-type': 'application/json' } })
  isJsonError(t, res, 413, /too large/)
  await answered(t, app)
})

t.test('a body just under the 3 MiB limit is reviewed', opts, async (t) => {
  const app = testApp({ kinds: [widgetKind()] })
  const payload = JSON.stringify(review('CREATE', { object: { metadata: { name: 'big' }, spec: { tags: ['x'.repeat(3 * 1024 * 1024 - 2000)] } } }))
  t.ok(payload.length < 3 * 1024 * 1024)
  const res = await app.inject({ method: 'POST', url: path, payload, headers: { 'content-type': 'application/json' } })
  t.equal(res.statusCode, 200)
  t.equal(res.json().response.allowed, true)
})

// Fastify's JSON guard (secure-json-parse) runs only on bodies that could hold such a key: these prove it still does
t.test('a review with a __proto__ key, written plainly or escaped, is a 400 and the next review is answered', opts, async (t) => {
  const app = testApp()
  const body = JSON.stringify(review('CREATE', { object: { metadata: { name: 'ok' }, spec: { size: 1 } } }))
  const poisoned = [
    body.replace('"spec":', '"__proto__":{"polluted":true},"spec":'),
    body.replace('"spec":', '"\\u005f_proto__":{"polluted":true},"spec":'),
    body.replace('"spec":', '"constructor":{"prototype":{"polluted":true}},"spec":'),
    body.replace('"spec":', '"\\u0063onstructor":{"prototype":{"polluted":true}},"spec":'),
  ]
  for (const payload of poisoned) {
    t.ok(JSON.parse(payload).request, 'the body is valid JSON')
    isJsonError(t, await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json' }, payload }), 400, /JSON/)
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was touched')
  await answered(t, app)
})

t.test('the words __proto__ and constructor as values, and other escapes, are reviewed as usual', opts, async (t) => {
  const app = testApp()
  const object = { metadata: { name: 'ok', labels: { role: 'constructor', note: '__proto__' }, annotations: { text: 'caf\u00e9 \u2603' } }, spec: { size: 1 } }
  const payload = JSON.stringify(review('CREATE', { object })).replace('caf\u00e9', 'caf\\u00e9')
  t.match(payload, /\\u00e9/, 'the body carries a \\u escape')
  const res = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json; charset=utf-8' }, payload })
  t.equal(res.statusCode, 200)
  t.equal(res.json().response.allowed, true)
})

t.test('an empty JSON body is a 400 with a JSON error', opts, async (t) => {
  const app = testApp()
  isJsonError(t, await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json' }, payload: '' }), 400, /empty/i)
  await answered(t, app)
})

/** `levels` arrays nested inside one another, around 0. */
function nestedArrays(levels: number): unknown {
  let value: unknown = 0
  for (let i = 0; i < levels; i++) value = [value]
  return value
}

t.test('an object nested deeper than 1000 levels is a 400 naming it; 1000 levels are reviewed', opts, async (t) => {
  const app = testApp()
  // the object is level 0 and its metadata level 1: 998 arrays inside reach level 999, 999 arrays level 1000
  const deepest = (arrays: number) => ({ metadata: { name: 'deep', deep: nestedArrays(arrays) }, spec: { size: 1 } })
  const fits = await app.inject({ method: 'POST', url: path, payload: review('CREATE', { object: deepest(998) }) })
  t.equal(fits.statusCode, 200)
  t.equal(fits.json().response.allowed, true)
  const tooDeep = await app.inject({ method: 'POST', url: path, payload: review('CREATE', { object: deepest(999) }) })
  t.equal(tooDeep.statusCode, 200)
  t.match(tooDeep.json().response, { allowed: false, status: { code: 400, message: 'request.object is nested deeper than 1000 levels' } })
  // far deeper than any stack could walk, written as text: JSON.stringify itself would overflow
  const levels = 100_000
  const payload = JSON.stringify(review('UPDATE', { object: deepest(1), oldObject: deepest(1) })).replace(
    '"oldObject":{"metadata":{"name":"deep","deep":[0]}',
    `"oldObject":{"metadata":{"name":"deep","deep":${'['.repeat(levels)}0${']'.repeat(levels)}}`,
  )
  t.ok(payload.length > 2 * levels, 'the old object is as deep as meant')
  const oldTooDeep = await app.inject({ method: 'POST', url: mutatePath('widget'), headers: { 'content-type': 'application/json' }, payload })
  t.match(oldTooDeep.json().response, { allowed: false, status: { code: 400, message: 'request.oldObject is nested deeper than 1000 levels' } })
  await answered(t, app)
})
