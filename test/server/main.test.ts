// The command line, run as users run it: ./bin/spiderpool-ts with node_modules/.bin on PATH.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, renameSync } from 'node:fs'
import { join, resolve } from 'node:path'
import t from 'tap'
import { ensureServingCertificate } from '../../certs/index.ts'
import { parseListen, parseWebhookFlags } from '../../server/main.ts'
import { httpsRequest } from './fixtures/https-client.ts'

const repo = resolve(import.meta.dirname, '../..')
const env = { ...process.env, PATH: `${join(repo, 'node_modules/.bin')}:${process.env.PATH}` }

interface Run {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function run(args: string[]): Run {
  const child = spawn('./bin/spiderpool-ts', args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (c) => (out += c))
  child.stderr!.on('data', (c) => (err += c))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('close', (code, signal) => res({ code, signal })))
  return { child, stdout: () => out, stderr: () => err, exited }
}

async function listeningUrl(r: Run, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const m = /^listening on (https:\/\/\S+)$/m.exec(r.stdout())
    if (m) return m[1]
    if (r.child.exitCode !== null) break
    await new Promise((res) => setTimeout(res, 50))
  }
  throw new Error(`no listening line; stdout: ${r.stdout()} stderr: ${r.stderr()}`)
}

t.test('webhook starts, writes the certificate files, answers /healthz over verified HTTPS and exits cleanly on SIGTERM', { timeout: 60_000 }, async (t) => {
  const dir = t.testdir()
  const r = run(['webhook', '--listen', '127.0.0.1:0', '--tls-dir', dir, '--log-level', 'warn'])
  t.teardown(() => r.child.kill('SIGKILL'))
  const url = await listeningUrl(r)
  t.match(url, /^https:\/\/127\.0\.0\.1:\d+$/)
  t.notMatch(url, /:0$/, 'the port actually chosen is printed')
  t.same(readdirSync(dir).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'])
  const res = await httpsRequest(`${url}/healthz`, { ca: readFileSync(join(dir, 'ca.crt'), 'utf8') })
  t.equal(res.status, 200)
  t.same(JSON.parse(res.body), { status: 'ok' })
  r.child.kill('SIGTERM')
  t.same(await r.exited, { code: 0, signal: null })
})

t.test('replaced certificate files are served without a restart', { timeout: 60_000 }, async (t) => {
  const root = t.testdir({ tls: {}, next: {} })
  const dir = join(root, 'tls')
  const r = run(['webhook', '--listen', '127.0.0.1:0', '--tls-dir', dir, '--log-level', 'warn'])
  t.teardown(() => r.child.kill('SIGKILL'))
  const url = await listeningUrl(r)
  const oldCa = readFileSync(join(dir, 'ca.crt'), 'utf8')

  // what cert-manager does to a mounted Secret: a new pair from another CA
  const next = await ensureServingCertificate({ dir: join(root, 'next'), service: 'spiderpool-controller', namespace: 'kube-system', ipAddresses: ['127.0.0.1'] })
  for (const [name, pem] of [['tls.key', next.keyPem], ['tls.crt', next.certPem], ['ca.crt', next.caPem]]) {
    writeFileSync(join(dir, `${name}.new`), pem)
    renameSync(join(dir, `${name}.new`), join(dir, name))
  }
  const deadline = Date.now() + 15_000
  let served = false
  while (!served && Date.now() < deadline) {
    served = await httpsRequest(`${url}/healthz`, { ca: next.caPem }).then(
      (a) => a.status === 200,
      () => false,
    )
    if (!served) await new Promise((res) => setTimeout(res, 100))
  }
  t.ok(served, 'a client trusting only the new CA is answered')
  await t.rejects(httpsRequest(`${url}/healthz`, { ca: oldCa }), 'a client trusting only the old CA is not')
  r.child.kill('SIGTERM')
  t.equal((await r.exited).code, 0)
})

t.test('an unknown flag exits non-zero with a message naming it', { timeout: 30_000 }, async (t) => {
  const r = run(['webhook', '--tls-dir', t.testdir(), '--bogus'])
  const { code } = await r.exited
  t.equal(code, 2)
  t.match(r.stderr(), "Unknown option '--bogus'")
})

t.test('--help prints the usage of both commands', { timeout: 30_000 }, async (t) => {
  const r = run(['webhook', '--help'])
  t.equal((await r.exited).code, 0)
  t.match(r.stdout(), /^Usage: spiderpool-ts/)
  t.match(r.stdout(), /--kubeconfig FILE\s+the cluster to judge against/)
  t.match(r.stdout(), /spiderpool-ts up flags:\n  --data-dir DIR/)
  for (const flag of ['--listen', '--tls-dir', '--config', '--service-name', '--namespace', '--log-level']) t.match(r.stdout(), flag)
})

t.test('a bad --config file stops the start with an error naming the file and the key', { timeout: 30_000 }, async (t) => {
  const dir = t.testdir()
  const config = join(dir, 'conf.yml')
  writeFileSync(config, 'enableIPv4: 1\n')
  const r = run(['webhook', '--listen', '127.0.0.1:0', '--tls-dir', join(dir, 'tls'), '--config', config])
  t.equal((await r.exited).code, 1)
  t.match(r.stderr(), `config ${config}: settings: enableIPv4 must be true or false`)
})

t.test('flags: --tls-dir is required, --listen takes HOST:PORT, [IPv6]:PORT or :PORT', async (t) => {
  t.throws(() => parseWebhookFlags([]), { message: '--tls-dir DIR is required' })
  t.same(parseListen('127.0.0.1:9443'), { host: '127.0.0.1', port: 9443 })
  t.same(parseListen('[::1]:5722'), { host: '::1', port: 5722 })
  t.same(parseListen(':5722'), { host: '0.0.0.0', port: 5722 })
  t.throws(() => parseListen('::1:5722'), { message: /brackets/ })
  t.throws(() => parseListen('localhost'), { message: /HOST:PORT/ })
  t.throws(() => parseListen('localhost:http'), { message: /port must be a number/ })
  t.throws(() => parseListen('localhost:70000'), { message: /port must be a number/ })
  t.throws(() => parseWebhookFlags(['--tls-dir', 'd', '--log-level', 'loud']), { message: /--log-level loud/ })
  t.match(parseWebhookFlags(['--tls-dir', 'd', '--kubeconfig', 'k']), {
    host: '0.0.0.0',
    port: 5722,
    tlsDir: 'd',
    kubeconfig: 'k',
    serviceName: 'spiderpool-controller',
    namespace: 'kube-system',
    logLevel: 'info',
  })
  t.equal(parseWebhookFlags(['-h']), undefined)
})

t.test('up starts the local default, prints how to use kubectl, and Ctrl-C stops everything cleanly', { timeout: 60_000 }, async (t) => {
  const dataDir = t.testdir()
  const r = run(['up', '--data-dir', dataDir, '--listen-api', '127.0.0.1:0', '--log-level', 'warn'])
  t.teardown(() => r.child.kill('SIGKILL'))
  const deadline = Date.now() + 30_000
  while (!/Ctrl-C stops everything/.test(r.stdout()) && r.child.exitCode === null && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50))
  t.match(r.stdout(), /control plane\s+https:\/\/127\.0\.0\.1:\d+/)
  t.match(r.stdout(), `kubeconfig      ${join(dataDir, 'kubeconfig')}`)
  t.match(r.stdout(), `export KUBECONFIG=${join(dataDir, 'kubeconfig')}`)
  const kubectl = spawn('kubectl', ['--kubeconfig', join(dataDir, 'kubeconfig'), 'get', 'mutatingwebhookconfigurations', '-o', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let listed = ''
  kubectl.stdout!.on('data', (c) => (listed += c))
  await new Promise((res) => kubectl.on('close', res))
  t.equal(listed.trim(), 'mutatingwebhookconfiguration.admissionregistration.k8s.io/spiderpool-controller', 'the webhooks are registered')
  r.child.kill('SIGINT')
  const exit = await r.exited
  t.same(exit, { code: 0, signal: null }, 'exits 0 on Ctrl-C')
  t.ok(readdirSync(dataDir).includes('state.json'), 'state is kept in the data directory')
})

t.test('every npm script runs a program on the PATH npm gives it, and a file of the repo — npm links no bin of the project itself, so `spiderpool-ts up` failed on a fresh clone', async (t) => {
  const scripts = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
  const onPath = (program: string) => env.PATH.split(':').some((dir) => statSync(join(dir, program), { throwIfNoEntry: false })?.isFile())
  for (const [name, script] of Object.entries(scripts)) {
    for (const command of script.split('&&')) {
      const [program, first] = command.trim().split(/\s+/)
      t.ok(onPath(program), `${name}: ${program} is on npm's PATH`)
      if (program === 'node') t.ok(existsSync(join(repo, first)), `${name}: ${first} exists`)
    }
  }
  t.ok(scripts.start?.startsWith('node bin/spiderpool-ts up '), 'npm start runs the CLI through node')
})
