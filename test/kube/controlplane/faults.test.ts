// The test-only fault knobs: injected 409 Conflicts, a 503 outage, added write latency.
import t from 'tap'
import { startTestControlPlane } from './fixtures/controlplane.ts'

const plane = await startTestControlPlane(t)
const { cp, api } = plane
const lease = '/apis/coordination.k8s.io/v1/namespaces/default/leases'
const merge = 'application/merge-patch+json'

await api('POST', lease, { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' }, spec: { holderIdentity: 'a' } } })

t.test('conflictEveryNthWrite: every Nth write of an object gets the standard 409 Conflict', async (t) => {
  cp.faults.conflictEveryNthWrite = 3
  t.teardown(() => void (cp.faults.conflictEveryNthWrite = 0))
  const codes: number[] = []
  for (let i = 0; i < 6; i++) {
    const response = await api('PATCH', `${lease}/l`, { body: { spec: { holderIdentity: `h${i}` } }, contentType: merge })
    codes.push(response.status)
    if (response.status === 409) {
      t.match(response.json, { reason: 'Conflict', message: 'Operation cannot be fulfilled on leases.coordination.k8s.io "l": the object has been modified; please apply your changes to the latest version and try again' })
    }
  }
  t.same(codes, [200, 200, 409, 200, 200, 409])
  t.equal((await api('GET', `${lease}/l`)).json.spec.holderIdentity, 'h4', 'the refused writes changed nothing')
})

t.test('outage: every request gets 503, health checks included, until it is lifted', async (t) => {
  cp.faults.outage = true
  const down = await Promise.all([api('GET', `${lease}/l`), api('GET', '/healthz', { token: null }), api('POST', lease, { body: {} })])
  t.same(down.map((r) => r.status), [503, 503, 503])
  t.match(down[0].json, { kind: 'Status', code: 503, reason: 'ServiceUnavailable' })
  const kubectl = await plane.kubectl(['get', 'leases', '--request-timeout=5s'])
  t.not(kubectl.code, 0, 'kubectl fails too')
  cp.faults.outage = false
  t.equal((await api('GET', `${lease}/l`)).status, 200)
})

t.test('writeLatencyMs delays writes, not reads', async (t) => {
  const timed = async (fn: () => Promise<unknown>) => {
    const start = performance.now()
    await fn()
    return performance.now() - start
  }
  cp.faults.writeLatencyMs = 300
  t.teardown(() => void (cp.faults.writeLatencyMs = 0))
  const write = await timed(() => api('PATCH', `${lease}/l`, { body: { spec: { holderIdentity: 'slow' } }, contentType: merge }))
  const read = await timed(() => api('GET', `${lease}/l`))
  t.ok(write >= 300, `a write took ${write.toFixed(0)}ms`)
  t.ok(read < 250, `a read took ${read.toFixed(0)}ms`)
})
