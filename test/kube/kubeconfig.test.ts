import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { KubeconfigError, loadKubeconfig } from '../../kube/kubeconfig.ts'

// Every directory a test makes lives under one scratch directory, removed when the process exits.
const scratch = mkdtempSync(path.join(tmpdir(), 'kubeconfig-'))
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }))

const run = promisify(execFile)
const b64 = (s: string) => Buffer.from(s).toString('base64')

const caPem = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n'
const certPem = '-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n'
const keyPem = '-----BEGIN RSA PRIVATE KEY-----\nKEY\n-----END RSA PRIVATE KEY-----\n'

function dir() {
  return mkdtempSync(path.join(scratch, 'case-'))
}

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = { server: 'https://10.0.0.1:6443', 'certificate-authority-data': b64(caPem) }) {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'cni',
    contexts: [
      { name: 'other', context: { cluster: 'elsewhere', user: 'nobody' } },
      { name: 'cni', context: { cluster: 'local', user: 'spiderpool', namespace: 'kube-system' } },
    ],
    clusters: [
      { name: 'elsewhere', cluster: { server: 'https://192.0.2.1' } },
      { name: 'local', cluster },
    ],
    users: [
      { name: 'nobody', user: {} },
      { name: 'spiderpool', user },
    ],
  }
}

async function failure(p: Promise<unknown>): Promise<KubeconfigError> {
  try {
    await p
  } catch (err) {
    if (err instanceof KubeconfigError) return err
    throw err
  }
  throw new Error('expected a KubeconfigError')
}

t.test('a JSON kubeconfig with a token and CA data gives server, CA, token and namespace of the current context', async (t) => {
  const d = dir()
  const file = path.join(d, 'cni.kubeconfig')
  writeFileSync(file, JSON.stringify(kubeconfig({ token: 'abc.def' })))
  const c = await loadKubeconfig(file)
  t.equal(c.server, 'https://10.0.0.1:6443')
  t.equal(Buffer.from(c.ca!).toString(), caPem)
  t.equal(c.token, 'abc.def')
  t.equal(c.namespace, 'kube-system')
  t.equal(c.insecureSkipTLSVerify, false)
  t.equal(c.cert, undefined)
})

t.test('a YAML kubeconfig with a tokenFile reads the token from that file, relative to the kubeconfig', async (t) => {
  const d = dir()
  writeFileSync(path.join(d, 'token'), 'from-file-token\n')
  writeFileSync(path.join(d, 'ca.crt'), caPem)
  const file = path.join(d, 'config')
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
current-context: cni
contexts:
- name: cni
  context:
    cluster: local
    user: spiderpool
clusters:
- name: local
  cluster:
    server: https://[fd00::1]:6443
    certificate-authority: ca.crt
users:
- name: spiderpool
  user:
    tokenFile: token
`,
  )
  const c = await loadKubeconfig(file)
  t.equal(c.server, 'https://[fd00::1]:6443')
  t.equal(Buffer.from(c.ca!).toString(), caPem)
  t.type(c.token, 'function')
  t.equal(await (c.token as () => string)(), 'from-file-token')
})

t.test('client certificate and key come from their -data fields', async (t) => {
  const d = dir()
  const file = path.join(d, 'config.json')
  writeFileSync(file, JSON.stringify(kubeconfig({ 'client-certificate-data': b64(certPem), 'client-key-data': b64(keyPem) })))
  const c = await loadKubeconfig(file)
  t.equal(Buffer.from(c.cert!).toString(), certPem)
  t.equal(Buffer.from(c.key!).toString(), keyPem)
  t.equal(c.token, undefined)
})

t.test('client certificate and key come from files named relative to the kubeconfig', async (t) => {
  const d = dir()
  writeFileSync(path.join(d, 'client.crt'), certPem)
  writeFileSync(path.join(d, 'client.key'), keyPem)
  const file = path.join(d, 'config.json')
  writeFileSync(file, JSON.stringify(kubeconfig({ 'client-certificate': 'client.crt', 'client-key': 'client.key' })))
  const c = await loadKubeconfig(file)
  t.equal(Buffer.from(c.cert!).toString(), certPem)
  t.equal(Buffer.from(c.key!).toString(), keyPem)
})

t.test('an explicit context wins over current-context', async (t) => {
  const d = dir()
  const file = path.join(d, 'config.json')
  writeFileSync(file, JSON.stringify(kubeconfig({ token: 'x' })))
  const c = await loadKubeconfig(file, { context: 'other' })
  t.equal(c.server, 'https://192.0.2.1')
  t.equal(c.token, undefined)
})

t.test('insecure-skip-tls-verify and tls-server-name are carried over', async (t) => {
  const d = dir()
  const file = path.join(d, 'config.json')
  writeFileSync(file, JSON.stringify(kubeconfig({ token: 'x' }, { server: 'https://10.0.0.1', 'insecure-skip-tls-verify': true, 'tls-server-name': 'kubernetes' })))
  const c = await loadKubeconfig(file)
  t.equal(c.insecureSkipTLSVerify, true)
  t.equal(c.tlsServerName, 'kubernetes')
})

t.test('errors name the file and the field that is missing or wrong', async (t) => {
  const d = dir()
  const write = (name: string, doc: unknown) => {
    const file = path.join(d, name)
    writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc))
    return file
  }

  const noContext = write('no-context.json', { ...kubeconfig({ token: 'x' }), 'current-context': undefined })
  let err = await failure(loadKubeconfig(noContext))
  t.equal(err.file, noContext)
  t.equal(err.field, 'current-context')
  t.match(err.message, `${noContext}: current-context is missing`)

  const noServer = write('no-server.json', kubeconfig({ token: 'x' }, { 'certificate-authority-data': b64(caPem) }))
  err = await failure(loadKubeconfig(noServer))
  t.equal(err.field, 'clusters[name="local"].cluster.server')
  t.match(err.message, noServer)

  const unknownContext = write('unknown-context.json', { ...kubeconfig({ token: 'x' }), 'current-context': 'gone' })
  err = await failure(loadKubeconfig(unknownContext))
  t.equal(err.field, 'contexts[name="gone"]')

  const unknownUser = write('unknown-user.json', { ...kubeconfig({ token: 'x' }), users: [] })
  err = await failure(loadKubeconfig(unknownUser))
  t.equal(err.field, 'users[name="spiderpool"]')

  const certOnly = write('cert-only.json', kubeconfig({ 'client-certificate-data': b64(certPem) }))
  err = await failure(loadKubeconfig(certOnly))
  t.equal(err.field, 'users[name="spiderpool"].user.client-key-data')

  const exec = write('exec.json', kubeconfig({ exec: { command: 'aws' } }))
  err = await failure(loadKubeconfig(exec))
  t.equal(err.field, 'users[name="spiderpool"].user.exec')

  const badData = write('bad-data.json', kubeconfig({ token: 'x' }, { server: 'https://x', 'certificate-authority-data': 'not base64!' }))
  err = await failure(loadKubeconfig(badData))
  t.equal(err.field, 'clusters[name="local"].cluster.certificate-authority-data')

  const missingCa = write('missing-ca.json', kubeconfig({ token: 'x' }, { server: 'https://x', 'certificate-authority': 'nope.crt' }))
  err = await failure(loadKubeconfig(missingCa))
  t.equal(err.field, 'clusters[name="local"].cluster.certificate-authority')
  t.match(err.message, 'nope.crt')

  const garbage = write('garbage', 'clusters: [unclosed')
  err = await failure(loadKubeconfig(garbage))
  t.match(err.message, `${garbage}: (document) is neither JSON nor YAML`)

  const list = write('list.json', '[1, 2]')
  err = await failure(loadKubeconfig(list))
  t.equal(err.field, '(document)')
})

t.test('a missing token file fails at load, naming the kubeconfig field and the token path', async (t) => {
  const d = dir()
  const file = path.join(d, 'config.json')
  writeFileSync(file, JSON.stringify(kubeconfig({ tokenFile: 'absent-token' })))
  await t.rejects(loadKubeconfig(file), { message: new RegExp(`${file}: users\\[name="spiderpool"\\]\\.user\\.tokenFile: cannot read .*absent-token`) })
})

// The CNI binary pays for every module it loads at every pod start.
t.test('loading a JSON kubeconfig through the transport loads neither yaml nor @kubernetes/client-node', async (t) => {
  const d = dir()
  const file = path.join(d, 'config.json')
  writeFileSync(file, JSON.stringify(kubeconfig({ token: 'x' })))
  const yamlFile = path.join(d, 'config.yaml')
  writeFileSync(yamlFile, 'current-context: cni\ncontexts: [{name: cni, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: "https://x"}}]\n')
  const root = path.resolve(import.meta.dirname, '../..')
  const script = `
    import { registerHooks } from 'node:module'
    const seen = []
    registerHooks({ resolve(specifier, context, next) { seen.push(specifier); return next(specifier, context) } })
    const { loadKubeconfig } = await import(${JSON.stringify(path.join(root, 'kube/kubeconfig.ts'))})
    const { createTransport } = await import(${JSON.stringify(path.join(root, 'kube/transport.ts'))})
    createTransport(await loadKubeconfig(process.argv[1])).close()
    const afterJson = seen.filter((s) => s === 'yaml' || s.startsWith('@kubernetes/'))
    await loadKubeconfig(process.argv[2])
    const afterYaml = seen.filter((s) => s === 'yaml' || s.startsWith('@kubernetes/'))
    console.log(JSON.stringify({ afterJson, afterYaml }))
  `
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, file, yamlFile], { cwd: root })
  const { afterJson, afterYaml } = JSON.parse(stdout)
  t.same(afterJson, [], 'nothing heavy for a JSON kubeconfig')
  t.same(afterYaml, ['yaml'], 'yaml only once a YAML kubeconfig is read')
})
