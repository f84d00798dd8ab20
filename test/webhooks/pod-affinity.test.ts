import t from 'tap'
import { mergedNodeSelector, nodeAffinityPatch, type PoolNodeConstraint } from '../../webhooks/pod/affinity.ts'
import type { NodeSelectorTerm, Pod } from '../../webhooks/pod/pod.ts'

const name = (n: string) => ({ key: 'metadata.name', operator: 'In', values: [n] })
const zoneA = { key: 'zone', operator: 'In', values: ['a'] }

t.test('no pool constrains nodes: the pod is left alone', async (t) => {
  const pod: Pod = { metadata: {}, spec: { containers: [{ name: 'c' }] } }
  t.equal(mergedNodeSelector(undefined, [{ pool: 'free' }]), undefined)
  t.notOk(nodeAffinityPatch(pod, []))
  t.same(pod.spec, { containers: [{ name: 'c' }] })
})

t.test("a pool's nodeName list becomes one matchFields term per node (Kubernetes allows one value per field requirement)", async (t) => {
  t.same(mergedNodeSelector(undefined, [{ pool: 'p', nodeName: ['worker-1', 'worker-2'] }]), { nodeSelectorTerms: [{ matchFields: [name('worker-1')] }, { matchFields: [name('worker-2')] }] })
})

t.test("a pool's nodeAffinity becomes matchExpressions: matchLabels as In with one value, expressions as written", async (t) => {
  const c: PoolNodeConstraint = { pool: 'p', nodeAffinity: { matchLabels: { zone: 'a' }, matchExpressions: [{ key: 'gpu', operator: 'Exists' }, { key: 'rack', operator: 'NotIn', values: ['r9'] }] } }
  t.same(mergedNodeSelector(undefined, [c]), {
    nodeSelectorTerms: [{ matchExpressions: [zoneA, { key: 'gpu', operator: 'Exists' }, { key: 'rack', operator: 'NotIn', values: ['r9'] }] }],
  })
})

t.test("merged with the pod's own terms: the constraint is ANDed into every term (terms are ORed)", async (t) => {
  const own: NodeSelectorTerm[] = [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] }, { matchExpressions: [{ key: 'disk', operator: 'In', values: ['nvme'] }] }]
  const pod: Pod = { metadata: {}, spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: own } }, podAntiAffinity: { kept: true } } } }
  t.ok(nodeAffinityPatch(pod, [{ pool: 'p', nodeAffinity: { matchLabels: { zone: 'a' } } }]))
  t.same(pod.spec?.affinity, {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }, zoneA] }, { matchExpressions: [{ key: 'disk', operator: 'In', values: ['nvme'] }, zoneA] }],
      },
    },
    podAntiAffinity: { kept: true },
  })
  t.notOk(nodeAffinityPatch(pod, [{ pool: 'p', nodeAffinity: { matchLabels: { zone: 'a' } } }]), 'applying it again changes nothing')
})

t.test('several pools: nodeName lists meet in their common nodes, selectors add up', async (t) => {
  const merged = mergedNodeSelector({ nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'Exists' }] }] }, [
    { pool: 'eth0-pool', nodeName: ['worker-1', 'worker-2'] },
    { pool: 'net1-pool', nodeName: ['worker-2', 'worker-3'] },
    { pool: 'net2-pool', nodeAffinity: { matchLabels: { zone: 'a' } } },
  ])
  t.same(merged, { nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'Exists' }, zoneA], matchFields: [name('worker-2')] }] })
})

t.test("a DaemonSet pod's pinned term is kept when the pool serves its node, dropped from the OR when not", async (t) => {
  const pinned = { nodeSelectorTerms: [{ matchFields: [name('worker-2')] }] }
  t.same(mergedNodeSelector(pinned, [{ pool: 'p', nodeName: ['worker-1', 'worker-2'] }]), pinned)
  const two = { nodeSelectorTerms: [{ matchFields: [name('worker-3')] }, { matchExpressions: [zoneA] }] }
  t.same(mergedNodeSelector(two, [{ pool: 'p', nodeName: ['worker-1'] }]), { nodeSelectorTerms: [{ matchExpressions: [zoneA], matchFields: [name('worker-1')] }] })
  t.same(mergedNodeSelector({ nodeSelectorTerms: [{ matchFields: [name('worker-3')] }] }, [{ pool: 'p', nodeName: ['worker-1'] }]), {
    nodeSelectorTerms: [{ matchFields: [name('worker-3'), name('worker-1')] }],
  }, 'when every term is pinned elsewhere the terms stay, unsatisfiable, for the scheduler to report')
})

t.test('nodeName wins over nodeAffinity in a pool constraint, as in the pool filter', async (t) => {
  t.same(mergedNodeSelector(undefined, [{ pool: 'p', nodeName: ['worker-1'], nodeAffinity: { matchLabels: { zone: 'b' } } }]), { nodeSelectorTerms: [{ matchFields: [name('worker-1')] }] })
})

t.test('a pod already bound to a node is not patched', async (t) => {
  const pod: Pod = { metadata: {}, spec: { nodeName: 'worker-1' } }
  t.notOk(nodeAffinityPatch(pod, [{ pool: 'p', nodeName: ['worker-1'] }]))
  t.equal(pod.spec?.affinity, undefined)
})
