// Which requests reach which webhook: rules, scopes and label selectors as kube-apiserver reads them.

import t from 'tap'
import type { AdmissionAttributes } from '../../../kube/controlplane/admission.ts'
import { matchWebhook, ruleMatches } from '../../../kube/controlplane/admission/match.ts'
import { labelRequirements, requirementsMatch } from '../../../kube/controlplane/admission/selector.ts'
import type { LabelSelector, RuleWithOperations, ValidatingWebhook } from '../../../kube/controlplane/admission/types.ts'

function request(more: Partial<AdmissionAttributes> = {}): AdmissionAttributes {
  return {
    operation: 'UPDATE',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'default',
    name: 'web-0',
    object: { metadata: { name: 'web-0' } },
    dryRun: false,
    userInfo: { username: 'alice', groups: [] },
    ...more,
  }
}

const rule = (resources: string[], more: Partial<RuleWithOperations> = {}): RuleWithOperations => ({
  operations: ['*'],
  apiGroups: ['*'],
  apiVersions: ['*'],
  resources,
  ...more,
})

t.test('resources: "pods" is the main resource only, "pods/status" one subresource, "pods/*" pods with any subresource, "*/*" everything', async (t) => {
  const main = request()
  const status = request({ subResource: 'status' })
  const cases: [string, boolean, boolean][] = [
    ['pods', true, false],
    ['pods/status', false, true],
    ['pods/*', true, true],
    ['*', true, false],
    ['*/status', false, true],
    ['*/*', true, true],
    ['services', false, false],
  ]
  for (const [resource, onMain, onStatus] of cases) {
    t.equal(ruleMatches(rule([resource]), main), onMain, `${resource} on pods`)
    t.equal(ruleMatches(rule([resource]), status), onStatus, `${resource} on pods/status`)
  }
  t.equal(ruleMatches(rule(['pods/*']), request({ subResource: 'exec' })), true, 'pods/* on pods/exec')
})

t.test('operations, groups and versions match exactly or by "*"', async (t) => {
  t.ok(ruleMatches(rule(['pods'], { operations: ['UPDATE'] }), request()))
  t.notOk(ruleMatches(rule(['pods'], { operations: ['CREATE', 'DELETE'] }), request()))
  t.ok(ruleMatches(rule(['pods'], { apiGroups: [''], apiVersions: ['v1'] }), request()))
  t.notOk(ruleMatches(rule(['pods'], { apiGroups: ['apps'] }), request()))
  t.notOk(ruleMatches(rule(['pods'], { apiVersions: ['v2'] }), request()))
  t.notOk(ruleMatches(rule(['pods'], { operations: [] }), request()), 'no operations match nothing')
})

t.test('scope: Namespaced matches namespaced objects, Cluster cluster-scoped ones and Namespaces, "*" and unset both', async (t) => {
  const namespaced = request()
  const clusterScoped = request({ namespace: '', kind: { group: '', version: 'v1', kind: 'Node' }, resource: { group: '', version: 'v1', resource: 'nodes' } })
  // a Namespace carries its own name as namespace, yet is cluster-scoped
  const namespace = request({ namespace: 'team', name: 'team', kind: { group: '', version: 'v1', kind: 'Namespace' }, resource: { group: '', version: 'v1', resource: 'namespaces' } })
  const cases: [RuleWithOperations['scope'], boolean, boolean, boolean][] = [
    ['Namespaced', true, false, false],
    ['Cluster', false, true, true],
    ['*', true, true, true],
    [undefined, true, true, true],
  ]
  for (const [scope, onNamespaced, onCluster, onNamespace] of cases) {
    const r = rule(['*'], scope ? { scope } : {})
    t.equal(ruleMatches(r, namespaced), onNamespaced, `${scope} on a pod`)
    t.equal(ruleMatches(r, clusterScoped), onCluster, `${scope} on a node`)
    t.equal(ruleMatches(r, namespace), onNamespace, `${scope} on a namespace`)
  }
})

t.test('label selectors: matchLabels and In, NotIn, Exists, DoesNotExist must all hold', async (t) => {
  const matches = (selector: LabelSelector, labels: Record<string, string>) => requirementsMatch(labelRequirements(selector), labels)
  t.ok(matches({}, { any: 'thing' }), 'the empty selector selects everything')
  t.ok(matches({ matchLabels: { app: 'web' } }, { app: 'web', tier: 'front' }))
  t.notOk(matches({ matchLabels: { app: 'web' } }, { app: 'db' }))
  t.ok(matches({ matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'stage'] }] }, { env: 'stage' }))
  t.notOk(matches({ matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] }, {}))
  t.ok(matches({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, {}), 'NotIn holds when the label is absent')
  t.notOk(matches({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, { env: 'prod' }))
  t.ok(matches({ matchExpressions: [{ key: 'env', operator: 'Exists' }] }, { env: '' }))
  t.notOk(matches({ matchExpressions: [{ key: 'env', operator: 'Exists' }] }, {}))
  t.ok(matches({ matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, {}))
  t.notOk(
    matches({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, { app: 'web', env: 'x' }),
    'every requirement must hold',
  )
})

t.test('a selector the API server cannot read refuses a matching request with 500', async (t) => {
  const hook = (objectSelector: LabelSelector): ValidatingWebhook => ({ name: 'v.example.com', clientConfig: { url: 'https://127.0.0.1/' }, rules: [rule(['pods'])], objectSelector })
  const noNamespaces = () => undefined
  t.match(matchWebhook(hook({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), request(), noNamespaces), {
    code: 500,
    message: `Internal error occurred: for 'in', 'notin' operators, values set can't be empty`,
  })
  t.match(matchWebhook(hook({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }), request(), noNamespaces), { code: 500 })
  const badOperator = { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] } as unknown as LabelSelector
  t.match(matchWebhook(hook(badOperator), request(), noNamespaces), { code: 500, message: /"Equals" is not a valid label selector operator/ })
  t.equal(matchWebhook(hook(badOperator), request({ resource: { group: '', version: 'v1', resource: 'services' } }), noNamespaces), 'skip', 'unless its rules do not match')
})
