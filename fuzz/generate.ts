// Fuzz cases for the admission server: what to send (path, method, content type, body) and what
// the answer must be. Case `i` of seed `s` is always the same request.
import { caseRandom, type Random } from './random.ts'
import { deepNesting, expandNesting, hostileValue, hugeArray, mutateObject, mutateText } from './mutate.ts'
import { apiVersion, group, seedObjects, spiderKinds, type Json, type JsonObject, type SpiderKind } from './seeds.ts'

export interface FuzzCase {
  index: number
  /** what made it, for the failure report */
  shape: string
  method: 'POST' | 'GET' | 'PUT'
  path: string
  /** undefined: no content-type header */
  contentType: string | undefined
  body: Buffer
}

/** etcd's request limit, the server's body limit */
export const bodyLimit = 3 * 1024 * 1024

const seeds = seedObjects()
const kinds = Object.keys(spiderKinds) as SpiderKind[]
const operations = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const

export const admissionPaths: string[] = [
  ...kinds.flatMap((k) => [`/mutate-spiderpool-spidernet-io-v2beta1-${spiderKinds[k].path}`, `/validate-spiderpool-spidernet-io-v2beta1-${spiderKinds[k].path}`]),
  '/mutate--v1-pod',
]
const unservedPaths = ['/mutate-spiderpool-spidernet-io-v2beta1-spiderfoo', '/validate--v1-pod', '/mutate-spiderpool-spidernet-io-v2beta2-spiderippool', '/', '/mutate--v1-pod/x', '/%00', '/mutate-spiderpool-spidernet-io-v2beta1-spiderippool/x/../y']
// GET answers 200 here: only a review sent to them is out of place
const probePaths = ['/healthz', '/readyz', '/metrics']

/** The path that serves `obj` (mutate or validate); pods only have a mutating webhook. */
function pathFor(r: Random, obj: JsonObject): string {
  if (obj.kind === 'Pod') return '/mutate--v1-pod'
  const kind = spiderKinds[obj.kind as SpiderKind]
  return `/${r.chance(0.5) ? 'mutate' : 'validate'}-spiderpool-spidernet-io-v2beta1-${kind.path}`
}

/** The AdmissionReview kube-apiserver would send for `obj`. */
export function reviewOf(r: Random, obj: JsonObject, uid: string): JsonObject {
  const isPod = obj.kind === 'Pod'
  const spider = spiderKinds[obj.kind as SpiderKind]
  const operation = r.chance(0.7) ? 'CREATE' : r.pick(operations)
  const meta = (obj.metadata ?? {}) as JsonObject
  const request: JsonObject = {
    uid,
    kind: isPod ? { group: '', version: 'v1', kind: 'Pod' } : { group, version: 'v2beta1', kind: obj.kind as string },
    resource: isPod ? { group: '', version: 'v1', resource: 'pods' } : { group, version: 'v2beta1', resource: spider?.resource ?? 'unknown' },
    operation,
    userInfo: { username: 'kubernetes-admin', groups: ['system:masters'] },
    object: operation === 'DELETE' ? null : obj,
    dryRun: r.chance(0.2),
  }
  if (typeof meta.name === 'string') request.name = meta.name
  if (typeof meta.namespace === 'string') request.namespace = meta.namespace
  if (operation === 'UPDATE' || operation === 'DELETE') request.oldObject = r.chance(0.3) ? mutateObject(r, obj) : obj
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request }
}

const jsonBody = (v: unknown) => Buffer.from(expandNesting(JSON.stringify(v)))

/** Case `index` of the run with `seed`. */
export function generateCase(seed: number, index: number): FuzzCase {
  const r = caseRandom(seed, index)
  const uid = `fuzz-${seed}-${index}`
  // what the answer must be follows from the request itself (check.ts), not from how it was made
  const base = (shape: string, path: string, body: Buffer): FuzzCase => ({ index, shape, method: 'POST', path, contentType: 'application/json', body })
  const obj = structuredClone(r.pick(seeds))
  const roll = r.int(1000)

  if (roll < 250) return base('valid review', pathFor(r, obj), jsonBody(reviewOf(r, obj, uid)))
  if (roll < 550) {
    const mutated = mutateObject(r, obj)
    const review = reviewOf(r, mutated, uid)
    // a mutated object still goes to its own kind's path most of the time: that is where the rules are
    return base('mutated object', r.chance(0.9) ? pathFor(r, obj) : r.pick(admissionPaths), jsonBody(review))
  }
  if (roll < 650) return base('mutated review', r.chance(0.8) ? pathFor(r, obj) : r.pick(admissionPaths), jsonBody(mutateObject(r, reviewOf(r, obj, uid))))
  if (roll < 700) {
    // the kind and resource of the review disagree with the path or with each other
    const review = reviewOf(r, obj, uid)
    const request = review.request as JsonObject
    const other = r.pick(kinds)
    if (r.chance(0.5)) request.kind = { group: r.pick([group, '', 'apps']), version: r.pick(['v2beta1', 'v1', 'v2beta2']), kind: other }
    else request.resource = { group, version: 'v2beta1', resource: spiderKinds[other].resource }
    if (r.chance(0.3)) review.apiVersion = r.pick(['admission.k8s.io/v1beta1', `${apiVersion}`, 'v1', ''])
    if (r.chance(0.3)) review.kind = r.pick(['AdmissionResponse', 'Pod', ''])
    return base('wrong kind', r.pick(admissionPaths), jsonBody(review))
  }
  if (roll < 830) return base('damaged text', pathFor(r, obj), mutateText(r, expandNesting(JSON.stringify(reviewOf(r, obj, uid)))))
  if (roll < 870) {
    const body = r.pick<Json>([[], 1, 'x', null, true, {}, { request: {} }, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, [reviewOf(r, obj, uid)], { request: reviewOf(r, obj, uid).request }, hostileValue(r)])
    return base('not a review', r.pick(admissionPaths), r.chance(0.1) ? Buffer.alloc(0) : jsonBody(body))
  }
  if (roll < 910) {
    const contentType = r.pick([undefined, 'text/plain', 'application/x-www-form-urlencoded', 'application/yaml', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset=latin1', 'application/jsonx', 'application/merge-patch+json', 'text/json', ''])
    return { ...base(`content type ${JSON.stringify(contentType)}`, pathFor(r, obj), jsonBody(reviewOf(r, obj, uid))), contentType }
  }
  if (roll < 940) {
    const method = r.pick(['GET', 'PUT', 'POST'] as const)
    const path = r.pick(method === 'POST' ? [...unservedPaths, ...probePaths] : [...unservedPaths, ...admissionPaths])
    return { ...base(`${method} elsewhere`, path, jsonBody(reviewOf(r, obj, uid))), method }
  }
  if (roll < 997) {
    // huge arrays and deep nesting where the rules look: spec and metadata
    const target = structuredClone(obj)
    const at = r.pick(['spec', 'metadata', 'root'])
    const value = r.chance(0.5) ? hugeArray(r) : deepNesting(r)
    if (at === 'root') target[r.pick(['items', 'x'])] = value
    else ((target[at] ??= {}) as JsonObject)[r.pick(['ips', 'excludeIPs', 'routes', 'hijackCIDR', 'annotations', 'labels', 'finalizers', 'master', 'nodeName'])] = value
    return base('huge or deep', pathFor(r, obj), jsonBody(reviewOf(r, target, uid)))
  }
  // just over the limit: refused whole, without being parsed
  const padding = 'a'.repeat(bodyLimit + 1)
  return base('oversized body', pathFor(r, obj), jsonBody({ ...reviewOf(r, obj, uid), padding }))
}
