import http from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { podRefOf, readCoordinatorInputs } from '../../../cni/coordinator/inputs.ts'

interface Seen {
  path: string
  authorization?: string
}

async function apiServer(t: Test, objects: Record<string, unknown>, delayMs = 0) {
  const seen: Seen[] = []
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization })
    const found = objects[req.url ?? '']
    setTimeout(() => {
      res.setHeader('Content-Type', 'application/json')
      if (found === undefined) {
        res.statusCode = 404
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' }))
      } else res.end(JSON.stringify(found))
    }, delayMs)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const port = (server.address() as { port: number }).port
  return { seen, kubeconfig: kubeconfigFile(t, `http://127.0.0.1:${port}`) }
}

function kubeconfigFile(t: Test, server: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'coordinator-inputs-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'cni.kubeconfig')
  writeFileSync(
    file,
    JSON.stringify({
      clusters: [{ name: 'c', cluster: { server } }],
      users: [{ name: 'u', user: { token: 'cni-token' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  )
  return file
}

const sc = { metadata: { name: 'default' }, spec: { mode: 'auto' }, status: { phase: 'Synced', serviceCIDR: ['10.233.0.0/18'] } }
const scPath = '/apis/spiderpool.spidernet.io/v2beta1/spidercoordinators/default'
const podPath = '/api/v1/namespaces/team-a/pods/web-0'

t.test('the pod comes from CNI_ARGS K8S_POD_NAMESPACE and K8S_POD_NAME', async (t) => {
  t.strictSame(podRefOf({ K8S_POD_NAMESPACE: 'team-a', K8S_POD_NAME: 'web-0', IgnoreUnknown: '1' }), { namespace: 'team-a', name: 'web-0' })
  t.equal(podRefOf({ K8S_POD_NAME: 'web-0' }), undefined)
})

t.test('reads the SpiderCoordinator default and the pod annotations with the kubeconfig token', async (t) => {
  const api = await apiServer(t, { [scPath]: sc, [podPath]: { metadata: { name: 'web-0', annotations: { 'ipam.spidernet.io/default-route-nic': 'net1' } } } })
  const inputs = await readCoordinatorInputs(api.kubeconfig, { namespace: 'team-a', name: 'web-0' })
  t.strictSame(inputs, { coordinator: sc, podAnnotations: { 'ipam.spidernet.io/default-route-nic': 'net1' } })
  t.strictSame(api.seen.map((s) => s.path).sort(), [podPath, scPath].sort())
  t.ok(api.seen.every((s) => s.authorization === 'Bearer cni-token'))
})

t.test('a SpiderCoordinator or pod that does not exist is absent, not an error', async (t) => {
  const api = await apiServer(t, {})
  t.strictSame(await readCoordinatorInputs(api.kubeconfig, { namespace: 'team-a', name: 'web-0' }), { coordinator: undefined, podAnnotations: {} })
  t.strictSame(await readCoordinatorInputs(api.kubeconfig, undefined), { coordinator: undefined, podAnnotations: {} }, 'no pod named: only the SpiderCoordinator is read')
  t.equal(api.seen.length, 3)
})

t.test('an API that does not answer in time is code 11, try again later', async (t) => {
  const api = await apiServer(t, { [scPath]: sc }, 2_000)
  const err = await readCoordinatorInputs(api.kubeconfig, undefined, 200).catch((e) => e)
  t.match(err, { code: 11, message: 'cannot read from the Kubernetes API', details: /no answer within 200 ms/ })
})

t.test('an API that cannot be reached is code 11; a kubeconfig that cannot be read is code 7', async (t) => {
  const closed = kubeconfigFile(t, 'http://127.0.0.1:1')
  t.match(await readCoordinatorInputs(closed, undefined).catch((e) => e), { code: 11, details: /ECONNREFUSED/ })
  t.match(await readCoordinatorInputs('/nonexistent/cni.kubeconfig', undefined).catch((e) => e), { code: 7, message: /cannot use the kubeconfig \/nonexistent\/cni.kubeconfig/ })
})
