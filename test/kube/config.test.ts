import t from 'tap'
import https from 'node:https'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { buildCertificateAuthority, buildServingCertificate, createPrivateKeyPem } from '../../certs/generate.ts'
import { createServerTransport, resolveConnection } from '../../kube/config.ts'

// Every directory a test makes lives under one scratch directory, removed when the process exits.
const scratch = mkdtempSync(path.join(tmpdir(), 'kube-config-'))
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }))

const b64 = (s: string) => Buffer.from(s).toString('base64')
const validity = () => ({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) })

function yamlKubeconfig(server: string, user: string, cluster: string) {
  return `apiVersion: v1
kind: Config
current-context: main
contexts:
- name: main
  context: {cluster: local, user: me, namespace: spiderpool}
- name: second
  context: {cluster: local, user: other}
clusters:
- name: local
  cluster:
    server: ${server}
${cluster}
users:
- name: me
  user:
${user}
- name: other
  user:
    token: other-token
`
}

t.test('server-side config', async (t) => {
  const [caKey, serverKey] = await Promise.all([createPrivateKeyPem(), createPrivateKeyPem()])
  const caPem = buildCertificateAuthority(caKey, 'config test CA', validity())
  const serverCert = buildServingCertificate(serverKey, { certPem: caPem, keyPem: caKey }, { commonName: 'api', dnsNames: [], ipAddresses: ['127.0.0.1'], ...validity() })
  const auths: string[] = []
  const server = https.createServer({ cert: serverCert, key: serverKey }, (req, res) => {
    auths.push(req.headers.authorization ?? '')
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.end(JSON.stringify({ kind: 'NamespaceList', items: [], metadata: { resourceVersion: '7' } }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  const dir = mkdtempSync(path.join(scratch, 'files-'))
  writeFileSync(path.join(dir, 'ca.crt'), caPem)

  t.test('a kubeconfig with a CA file and a token resolves to them and the transport talks to the server with that token', async (t) => {
    const file = path.join(dir, 'token.yaml')
    writeFileSync(file, yamlKubeconfig(url, '    token: s3cret', '    certificate-authority: ca.crt'))
    const c = await resolveConnection({ kubeconfig: file })
    t.equal(c.server, url)
    t.equal(Buffer.from(c.ca!).toString(), caPem)
    t.equal(c.token, 's3cret')
    t.equal(c.namespace, 'spiderpool')
    const tr = await createServerTransport({ kubeconfig: file })
    t.teardown(() => tr.close())
    auths.length = 0
    t.match(await tr.request({ path: '/api/v1/namespaces' }), { kind: 'NamespaceList' })
    t.same(auths, ['Bearer s3cret'])
  })

  t.test("kubectl's tokenFile field is honoured, relative to the kubeconfig", async (t) => {
    writeFileSync(path.join(dir, 'sa-token'), 'token-from-file\n')
    const file = path.join(dir, 'tokenfile.yaml')
    writeFileSync(file, yamlKubeconfig(url, '    tokenFile: sa-token', `    certificate-authority-data: ${b64(caPem)}`))
    const tr = await createServerTransport({ kubeconfig: file })
    t.teardown(() => tr.close())
    auths.length = 0
    await tr.request({ path: '/api/v1/namespaces' })
    t.same(auths, ['Bearer token-from-file'])
  })

  t.test('client certificate data resolves to the PEM bytes', async (t) => {
    const file = path.join(dir, 'cert.yaml')
    writeFileSync(file, yamlKubeconfig(url, `    client-certificate-data: ${b64('CERT')}\n    client-key-data: ${b64('KEY')}`, '    insecure-skip-tls-verify: true'))
    const c = await resolveConnection({ kubeconfig: file })
    t.equal(Buffer.from(c.cert!).toString(), 'CERT')
    t.equal(Buffer.from(c.key!).toString(), 'KEY')
    t.equal(c.insecureSkipTLSVerify, true)
    t.equal(c.token, undefined)
  })

  t.test('a named context is used instead of current-context; an unknown one is an error naming it', async (t) => {
    const file = path.join(dir, 'contexts.yaml')
    writeFileSync(file, yamlKubeconfig(url, '    token: mine', '    certificate-authority: ca.crt'))
    t.equal((await resolveConnection({ kubeconfig: file, context: 'second' })).token, 'other-token')
    await t.rejects(resolveConnection({ kubeconfig: file, context: 'third' }), { message: `${file}: context "third" is not in contexts` })
  })

  t.test('KUBECONFIG is used when no kubeconfig is given', async (t) => {
    const file = path.join(dir, 'env.yaml')
    writeFileSync(file, yamlKubeconfig(url, '    token: from-env', '    certificate-authority: ca.crt'))
    const saved = process.env.KUBECONFIG
    process.env.KUBECONFIG = file
    t.teardown(() => {
      if (saved === undefined) delete process.env.KUBECONFIG
      else process.env.KUBECONFIG = saved
    })
    t.equal((await resolveConnection()).token, 'from-env')
  })

  t.test('basic auth is refused with the reason', async (t) => {
    const file = path.join(dir, 'basic.yaml')
    writeFileSync(file, yamlKubeconfig(url, '    username: admin\n    password: pw', '    certificate-authority: ca.crt'))
    await t.rejects(resolveConnection({ kubeconfig: file }), { message: `${file}: only bearer tokens and client certificates are supported (basic auth is not)` })
  })

  t.test('in-cluster config outside a pod fails with the reason', async (t) => {
    const saved = process.env.KUBERNETES_SERVICE_HOST
    delete process.env.KUBERNETES_SERVICE_HOST
    t.teardown(() => {
      if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved
    })
    await t.rejects(resolveConnection({ inCluster: true }), { message: /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set/ })
  })
})
