// No secret reaches the log: the webhook server runs with a kubeconfig carrying a bearer token and
// at trace level, is driven through admissions, client errors and an API outage, and its whole
// output never holds the token, a private key or an Authorization header.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { startControlPlane } from '../../kube/controlplane/index.ts'
import { httpsRequest } from '../server/fixtures/https-client.ts'

const bin = path.join(import.meta.dirname, '../../bin/spiderpool-ts')

/** The distinctive middle of a PEM block: what would show if any part of the key were logged. */
const pemBody = (pem: string) =>
  pem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .slice(1, -1)

t.test('the token, the TLS keys and Authorization headers never appear in the log, even at trace level', { timeout: 90_000 }, async (t) => {
  const controlPlane = await startControlPlane({ dataDir: t.testdir({ cp: {} }) + '/cp', port: 0 })
  t.teardown(() => controlPlane.close())
  const tlsDir = path.join(t.testdirName, 'tls')
  const child = spawn(process.execPath, [bin, 'webhook', '--listen', '127.0.0.1:0', '--tls-dir', tlsDir, '--kubeconfig', controlPlane.kubeconfigPath, '--log-level', 'trace'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c))
  const exited = new Promise((r) => child.once('exit', r))
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const deadline = Date.now() + 30_000
  while (!/listening on (https:\/\/\S+)/.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the server did not start: ${output}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const url = /listening on (https:\/\/\S+)/.exec(output)![1]
  const ca = readFileSync(path.join(tlsDir, 'ca.crt'), 'utf8')
  const keys = [readFileSync(path.join(tlsDir, 'tls.key'), 'utf8'), readFileSync(path.join(tlsDir, 'ca.key'), 'utf8')]
  const token = controlPlane.token

  const group = 'spiderpool.spidernet.io'
  const review = (uid: string, object: object, resource = 'spiderippools', kind = 'SpiderIPPool') =>
    JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, kind: { group, version: 'v2beta1', kind }, resource: { group, version: 'v2beta1', resource }, operation: 'CREATE', userInfo: { username: 'admin' }, object } })
  const pool = (name: string, subnet: string) => ({ apiVersion: `${group}/v2beta1`, kind: 'SpiderIPPool', metadata: { name }, spec: { subnet, ips: [subnet.replace(/0\/24$/, '10')] } })
  const post = (p: string, body: string, contentType?: string) =>
    httpsRequest(`${url}${p}`, { ca, body, contentType }).catch((err: Error) => ({ status: 0, body: err.message }))
  const withAuthorization = (p: string, body: string) =>
    new Promise<number>((resolve) => {
      import('node:https').then(({ request }) => {
        const req = request(`${url}${p}`, { method: 'POST', ca, headers: { authorization: `Bearer ${token}`, cookie: `session=${token}`, 'content-type': 'application/json' } }, (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        })
        req.on('error', () => resolve(0))
        req.end(body)
      })
    })

  const podReview = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'pod', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'default', operation: 'CREATE', object: { metadata: { name: 'p', namespace: 'default', annotations: { 'k8s.v1.cni.cncf.io/networks': 'missing' } }, spec: { containers: [] } } },
  })
  const ippoolPath = `/mutate-${group.replace(/\./g, '-')}-v2beta1-spiderippool`
  const validatePath = `/validate-${group.replace(/\./g, '-')}-v2beta1-spiderippool`
  const answers = [
    await post(ippoolPath, review('ok', pool('a', '10.1.0.0/24'))),
    await post(validatePath, review('bad', { ...pool('b', '10.2.0.0/24'), spec: { subnet: 'nope', ips: ['x'] } })),
    await post(validatePath, '{"apiVersion": "admission.k8s.io/v1", '),
    await post(validatePath, 'plain text', 'text/plain'),
    await post('/no-such-path', '{}'),
    await post('/mutate--v1-pod', podReview),
  ]
  t.same(answers.map((a) => a.status), [200, 200, 400, 415, 404, 200], 'admissions and client errors were answered')
  t.equal(await withAuthorization(ippoolPath, review('auth', pool('c', '10.3.0.0/24'))), 200, 'a request carrying an Authorization header was answered')
  t.equal(await withAuthorization(validatePath, '{not json'), 400)

  // the API down for a while: the informers' failures are logged with their errors
  controlPlane.faults.outage = true
  await new Promise((r) => setTimeout(r, 2_500))
  controlPlane.faults.outage = false
  await new Promise((r) => setTimeout(r, 1_000))

  child.kill('SIGTERM')
  await exited
  t.ok(output.includes('admission reviewed'), 'the log holds the reviews')
  t.ok(output.split('\n').length > 10, 'the log is not empty')
  t.notOk(output.includes(token), 'the bearer token is not in the log')
  t.same(keys.flatMap(pemBody).filter((line) => output.includes(line)), [], 'no line of a private key is in the log')
  t.notOk(output.includes('PRIVATE KEY'), 'no PEM key header is in the log')
  t.notOk(/authorization|bearer/i.test(output), 'no Authorization header is in the log')
  t.notOk(output.includes('session='), 'no cookie is in the log')
})
