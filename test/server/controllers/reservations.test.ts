// The collector's judgement of one pool record, from what the caches say (ipam-semantics §1, §5.4,
// §6.3, §10.2). The controller around it is exercised with kubectl in test/server/pod-release.test.ts.
import t from 'tap'
import { judgeRecord, statefulSetHolds, type RecordView } from '../../../server/controllers/reservations.ts'
import type { PoolRecord } from '../../../ipam/records.ts'
import type { StoredPod } from '../../../webhooks/cluster.ts'
import type { AnyObject } from '../../../kube/resources.ts'
import type { SpiderEndpoint } from '../../../schemas/types.ts'

const now = Date.parse('2026-07-08T12:00:00Z')
const at = (seconds: number) => new Date(now + seconds * 1000).toISOString()
const token = 'r-0123456789abcdef0123456789abcdef'

const reserved = (more: Partial<PoolRecord> = {}): PoolRecord => ({
  ip: '10.6.0.10',
  pod: 'default/',
  podUid: '',
  state: 'reserved',
  token,
  nic: 'eth0',
  reservedAt: at(-60),
  expiresAt: at(60),
  ...more,
})
const claimed = (more: Partial<PoolRecord> = {}): PoolRecord => ({ ip: '10.6.0.11', pod: 'default/web-0', podUid: 'uid-1', state: 'claimed', token, nic: 'eth0', node: 'node-1', ...more })

const stsRef = (name = 'web') => [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name, uid: 'sts-uid', controller: true }]

function pod(name: string, more: { namespace?: string; uid?: string; token?: string; phase?: string; reason?: string; restartPolicy?: string; deletionTimestamp?: string; grace?: number; sts?: string } = {}): StoredPod {
  return {
    metadata: {
      name,
      namespace: more.namespace ?? 'default',
      uid: more.uid ?? 'uid-1',
      annotations: more.token ? { 'ipam.spidernet.io/reservation': JSON.stringify({ token: more.token, ips: [{ interface: 'eth0', ipv4: '10.6.0.10/24', ipv4Pool: 'p' }] }) } : {},
      ...(more.deletionTimestamp && { deletionTimestamp: more.deletionTimestamp, deletionGracePeriodSeconds: more.grace ?? 0 }),
      ...(more.sts && { ownerReferences: stsRef(more.sts) }),
    },
    spec: { restartPolicy: more.restartPolicy ?? 'Always', containers: [] },
    status: { phase: more.phase ?? 'Pending', ...(more.reason && { reason: more.reason }) },
  }
}

const sts = (name: string, replicas?: number, start?: number): AnyObject => ({
  metadata: { name, namespace: 'default' },
  spec: { ...(replicas !== undefined && { replicas }), ...(start !== undefined && { ordinals: { start } }) },
})

interface World {
  pods?: StoredPod[]
  deleted?: StoredPod[]
  nodes?: string[]
  statefulSets?: AnyObject[]
  endpoints?: SpiderEndpoint[]
  enableStatefulSet?: boolean
}

function view(w: World = {}): RecordView {
  const pods = w.pods ?? []
  const tokenOf = (p: StoredPod) => {
    const text = p.metadata.annotations?.['ipam.spidernet.io/reservation']
    return text ? JSON.parse(text).token : undefined
  }
  return {
    now,
    ttlMs: 120_000,
    enableStatefulSet: w.enableStatefulSet ?? true,
    podsWithToken: (ns, tk) => pods.filter((p) => p.metadata.namespace === ns && tokenOf(p) === tk),
    pod: (ns, name) => pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name),
    deletedPod: (uid) => (w.deleted ?? []).find((p) => p.metadata.uid === uid),
    deletedToken: (ns, tk) => (w.deleted ?? []).some((p) => p.metadata.namespace === ns && tokenOf(p) === tk),
    nodeExists: (name) => (w.nodes ?? ['node-1']).includes(name),
    statefulSet: (ns, name) => (w.statefulSets ?? []).find((s) => s.metadata.namespace === ns && s.metadata.name === name),
    endpoint: (ns, name) => (w.endpoints ?? []).find((e) => e.metadata?.namespace === ns && e.metadata?.name === name),
  }
}

const released = (v: ReturnType<typeof judgeRecord>) => ('release' in v ? v.release : undefined)

t.test('reserved records', async (t) => {
  t.test('a reservation its pod carries is kept, even past its expiry (the pod is Pending, not gone)', async (t) => {
    const v = judgeRecord(reserved({ expiresAt: at(-1) }), view({ pods: [pod('a', { token })] }))
    t.match(v, { keep: 'reserved for Pod default/a' })
    t.equal(released(v), undefined)
  })
  t.test('a reservation no pod carries is kept until it expires, and looked at again then', async (t) => {
    t.same(judgeRecord(reserved(), view()), { keep: 'reserved: its Pod may still be on its way', recheckAt: now + 60_000 })
  })
  t.test('a reservation no pod carries is released once expired (its pod was refused after admission or never created)', async (t) => {
    t.match(released(judgeRecord(reserved({ expiresAt: at(-1) }), view())), /never claimed, and no Pod carries its token r-0123/)
    t.match(released(judgeRecord(reserved({ expiresAt: at(0) }), view())), /past its expiry/, 'expiry is inclusive')
  })
  t.test('without expiresAt, the reservation expires the TTL after reservedAt', async (t) => {
    t.match(judgeRecord(reserved({ expiresAt: undefined, reservedAt: at(-60) }), view()), { keep: /on its way/, recheckAt: now + 60_000 })
    t.ok(released(judgeRecord(reserved({ expiresAt: undefined, reservedAt: at(-121) }), view())))
  })
  t.test('the token on a pod of another namespace does not keep a reservation (a copied annotation)', async (t) => {
    t.ok(released(judgeRecord(reserved({ expiresAt: at(-1) }), view({ pods: [pod('a', { namespace: 'other', token })] }))))
  })
  t.test('the reservation of a deleted pod is released at once, before its expiry', async (t) => {
    t.equal(released(judgeRecord(reserved(), view({ deleted: [pod('a', { token })] }))), 'reserved, never claimed: its Pod was deleted')
  })
  t.test('a deleted pod whose token another existing pod also carries releases nothing', async (t) => {
    t.match(judgeRecord(reserved(), view({ deleted: [pod('a', { token })], pods: [pod('b', { token, uid: 'uid-2' })] })), { keep: 'reserved for Pod default/b' })
  })
  t.test('the reservation of a finished pod is released (§1 alive)', async (t) => {
    t.match(released(judgeRecord(reserved(), view({ pods: [pod('a', { token, phase: 'Succeeded', restartPolicy: 'OnFailure' })] }))), /Pod default\/a Succeeded \(restartPolicy OnFailure\)/)
    t.match(released(judgeRecord(reserved(), view({ pods: [pod('a', { token, phase: 'Failed', restartPolicy: 'Never' })] }))), /Failed \(restartPolicy Never\)/)
    t.match(released(judgeRecord(reserved(), view({ pods: [pod('a', { token, phase: 'Failed', reason: 'Evicted' })] }))), /was evicted/)
  })
  t.test('a pod that is Failed with restartPolicy OnFailure, or Succeeded with Always, is alive: kept', async (t) => {
    t.match(judgeRecord(reserved(), view({ pods: [pod('a', { token, phase: 'Failed', restartPolicy: 'OnFailure' })] })), { keep: 'reserved for Pod default/a' })
    t.match(judgeRecord(reserved(), view({ pods: [pod('a', { token, phase: 'Succeeded', restartPolicy: 'Always' })] })), { keep: 'reserved for Pod default/a' })
  })
  t.test('a terminating pod keeps its reservation through its grace period, then releases it', async (t) => {
    t.same(judgeRecord(reserved(), view({ pods: [pod('a', { token, deletionTimestamp: at(-10), grace: 30 })] })), { keep: 'reserved for a terminating Pod', recheckAt: now + 20_000 })
    t.match(released(judgeRecord(reserved(), view({ pods: [pod('a', { token, deletionTimestamp: at(-31), grace: 30 })] }))), /terminating past its grace period/)
  })
})

t.test('claimed records', async (t) => {
  t.test('a running pod keeps what it claimed', async (t) => {
    t.same(judgeRecord(claimed(), view({ pods: [pod('web-0', { phase: 'Running' })] })), { keep: 'claimed by Pod default/web-0' })
  })
  t.test('a finished pod releases what it claimed', async (t) => {
    t.same(judgeRecord(claimed(), view({ pods: [pod('web-0', { phase: 'Failed', restartPolicy: 'Never' })] })), { release: 'Pod default/web-0 Failed (restartPolicy Never)' })
  })
  t.test("a deleted pod's record is released; the cache's word is checked against the API unless the deletion was seen", async (t) => {
    t.same(judgeRecord(claimed(), view()), { release: 'Pod default/web-0 is gone', confirmGone: { namespace: 'default', name: 'web-0', uid: 'uid-1' } })
    t.same(judgeRecord(claimed(), view({ deleted: [pod('web-0')] })), { release: 'Pod default/web-0 is gone' })
  })
  t.test('a record on a node that no longer exists, whose pod no longer exists, is released', async (t) => {
    t.match(released(judgeRecord(claimed({ node: 'node-9' }), view({ nodes: ['node-1'] }))), 'Pod default/web-0 is gone, and so is its node node-9')
    t.match(judgeRecord(claimed({ node: 'node-9' }), view({ nodes: ['node-1'], pods: [pod('web-0', { phase: 'Running' })] })), { keep: /claimed by/ }, 'the pod still exists: kept')
  })
  t.test('a stateless pod re-created under the same name does not keep its predecessor\'s record', async (t) => {
    t.same(judgeRecord(claimed(), view({ pods: [pod('web-0', { uid: 'uid-2' })] })), {
      release: 'Pod default/web-0 was re-created (uid uid-2); uid uid-1 is gone',
      confirmGone: { namespace: 'default', name: 'web-0', uid: 'uid-1' },
    })
  })
  t.test('a claimed record that names no pod is left alone', async (t) => {
    t.match(judgeRecord(claimed({ pod: 'default/' }), view()), { keep: /names no Pod/ })
  })
})

t.test('StatefulSet pods keep their address while their ordinal is within the replicas (§5.4)', async (t) => {
  const deletedWeb = (name = 'web-0') => pod(name, { sts: 'web' })
  t.test('a deleted pod of a StatefulSet that still has its ordinal keeps its record', async (t) => {
    t.same(judgeRecord(claimed(), view({ deleted: [deletedWeb()], statefulSets: [sts('web', 1)] })), { keep: 'StatefulSet default/web keeps the address of default/web-0' })
  })
  t.test('scaled down below the ordinal, or deleted, the StatefulSet lets it go', async (t) => {
    t.same(judgeRecord(claimed({ pod: 'default/web-1' }), view({ deleted: [deletedWeb('web-1')], statefulSets: [sts('web', 1)] })), {
      release: 'Pod default/web-1 is gone; StatefulSet default/web no longer has its ordinal',
    })
    t.same(judgeRecord(claimed(), view({ deleted: [deletedWeb()] })), { release: 'Pod default/web-0 is gone; StatefulSet default/web is gone' })
  })
  t.test('replicas default to 1 and spec.ordinals.start shifts the range', async (t) => {
    const world = (name: string) => view({ deleted: [deletedWeb(name)], statefulSets: [sts('web', 2, 5)] })
    const judge = (name: string) => judgeRecord(claimed({ pod: `default/${name}` }), world(name))
    t.match(judge('web-5'), { keep: /keeps/ })
    t.match(judge('web-6'), { keep: /keeps/ })
    t.ok(released(judge('web-4')))
    t.ok(released(judge('web-7')))
    t.ok(statefulSetHolds('web-0', 'web', sts('web')))
    t.notOk(statefulSetHolds('web-1', 'web', sts('web')))
  })
  t.test('the pod name must be the StatefulSet name and an ordinal', async (t) => {
    t.notOk(statefulSetHolds('web-01', 'web', sts('web', 3)), 'no leading zero')
    t.notOk(statefulSetHolds('webx-0', 'web', sts('web', 3)))
    t.notOk(statefulSetHolds('web', 'web', sts('web', 3)))
  })
  t.test('with the pod gone and no deletion seen, the SpiderEndpoint says which StatefulSet it was', async (t) => {
    const endpoint = { metadata: { name: 'web-0', namespace: 'default' }, status: { ownerControllerType: 'StatefulSet', ownerControllerName: 'web' } } as SpiderEndpoint
    t.match(judgeRecord(claimed(), view({ endpoints: [endpoint], statefulSets: [sts('web', 1)] })), { keep: /StatefulSet default\/web keeps/ })
  })
  t.test('the re-created pod (new uid) keeps the old record while the StatefulSet is valid: its claim takes it over', async (t) => {
    t.match(judgeRecord(claimed(), view({ pods: [pod('web-0', { uid: 'uid-2', sts: 'web' })], statefulSets: [sts('web', 1)] })), { keep: /keeps/ })
    t.match(judgeRecord(claimed(), view({ pods: [pod('web-0', { uid: 'uid-2', sts: 'web' })], statefulSets: [sts('web', 0)] })), { release: /re-created/, confirmGone: { uid: 'uid-1' } })
  })
  t.test('an evicted StatefulSet pod keeps its address: the controller re-creates it', async (t) => {
    t.match(judgeRecord(claimed(), view({ pods: [pod('web-0', { sts: 'web', phase: 'Failed', reason: 'Evicted' })], statefulSets: [sts('web', 1)] })), { keep: /was evicted, but StatefulSet default\/web keeps/ })
  })
  t.test('with enableStatefulSet off, a StatefulSet pod is like any other', async (t) => {
    t.same(judgeRecord(claimed(), view({ deleted: [deletedWeb()], statefulSets: [sts('web', 1)], enableStatefulSet: false })), { release: 'Pod default/web-0 is gone' })
  })
})
