// Label and field selectors as kube-apiserver parses them from the query string.
import t from 'tap'
import { findResource } from '../../../kube/controlplane/resources.ts'
import { parseFieldSelector, parseLabelSelector } from '../../../kube/controlplane/selectors.ts'
import type { StoredObject } from '../../../kube/controlplane/store.ts'

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

const labelled = (labels: Record<string, string>): StoredObject => ({ metadata: { name: 'x', labels } })
const matching = (selector: string, objects: Record<string, Record<string, string>>) =>
  Object.entries(objects)
    .filter(([, labels]) => parseLabelSelector(selector)(labelled(labels)))
    .map(([name]) => name)

const objects = { a: { env: 'prod', tier: 'web' }, b: { env: 'dev' }, c: {}, d: { env: 'prod', n: '7' } }

t.test('label selectors: =, ==, !=, in, notin, exists, !exists, gt, lt, and their conjunction', async (t) => {
  t.same(matching('env=prod', objects), ['a', 'd'])
  t.same(matching('env==prod', objects), ['a', 'd'])
  t.same(matching('env!=prod', objects), ['b', 'c'], '!= also matches objects without the label')
  t.same(matching('env in (prod, dev)', objects), ['a', 'b', 'd'])
  t.same(matching('env notin (prod)', objects), ['b', 'c'])
  t.same(matching('tier', objects), ['a'])
  t.same(matching('!tier', objects), ['b', 'c', 'd'])
  t.same(matching('n>5', objects), ['d'])
  t.same(matching('n<5', objects), [])
  t.same(matching('env=prod,!tier', objects), ['d'])
  t.same(matching('', objects), ['a', 'b', 'c', 'd'])
})

t.test('a malformed label selector is 400', async (t) => {
  for (const bad of ['env in (a', 'a b c', '=x', 'k=v v']) {
    t.match(thrown(() => parseLabelSelector(bad)), { status: { code: 400, reason: 'BadRequest' } }, bad)
  }
})

t.test('field selectors: the fields the resource supports, =, ==, != and escapes', async (t) => {
  const pods = findResource('', 'v1', 'pods')!
  const pod: StoredObject = { metadata: { name: 'p,1', namespace: 'ns' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } }
  t.ok(parseFieldSelector('spec.nodeName=n1,status.phase==Running', pods)(pod))
  t.notOk(parseFieldSelector('status.phase!=Running', pods)(pod))
  t.ok(parseFieldSelector('metadata.name=p\\,1', pods)(pod), 'an escaped comma is part of the value')
  t.ok(parseFieldSelector('spec.hostNetwork=false', pods)(pod), 'an absent boolean reads as false')
  t.match(thrown(() => parseFieldSelector('spec.image=x', pods)), { status: { code: 400, message: 'field label not supported: spec.image' } })
  const events = findResource('', 'v1', 'events')!
  const event: StoredObject = { metadata: { name: 'e' }, involvedObject: { kind: 'SpiderIPPool', name: 'p' }, source: { component: 'ctl' } }
  t.ok(parseFieldSelector('involvedObject.kind=SpiderIPPool,involvedObject.name=p,source=ctl', events)(event))
})
