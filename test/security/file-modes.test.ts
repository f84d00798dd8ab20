// Files that hold a private key, a token or a kubeconfig are written 0600, whatever the umask and
// whatever mode an older copy of the file had.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { ensureServingCertificate } from '../../certs/index.ts'
import { installCni } from '../../cni/install.ts'
import { startLocalDefault } from '../../server/up.ts'
import { defaultSettings } from '../../webhooks/settings.ts'

const modeOf = (file: string) => statSync(file).mode & 0o777
const octal = (mode: number) => `0${mode.toString(8)}`

/** Runs `body` with a umask that would leave new files world-readable and writable. */
async function underOpenUmask<T>(body: () => Promise<T>): Promise<T> {
  const previous = process.umask(0o000)
  try {
    return await body()
  } finally {
    process.umask(previous)
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
}

t.test('the CA key and the serving key are 0600, also when an older key file was world-readable', async (t) => {
  const dir = path.join(t.testdir(), 'tls')
  await underOpenUmask(() => ensureServingCertificate({ dir, service: 'spiderpool-controller', namespace: 'kube-system', ipAddresses: ['127.0.0.1'] }))
  const files = readdirSync(dir)
  const keys = files.filter((f) => f.endsWith('.key'))
  t.same(keys.sort(), ['ca.key', 'tls.key'])
  for (const f of keys) t.equal(octal(modeOf(path.join(dir, f))), '0600', `${f} is 0600`)
  for (const f of keys) chmodSync(path.join(dir, f), 0o644)
  await underOpenUmask(() => ensureServingCertificate({ dir, service: 'spiderpool-controller', namespace: 'kube-system', ipAddresses: ['127.0.0.1'] }))
  for (const f of keys) t.equal(octal(modeOf(path.join(dir, f))), '0600', `${f} is 0600 again after the next start`)
})

t.test('install-cni writes the plugins\' kubeconfig (it carries the token) 0600, replacing a world-readable one', async (t) => {
  const dir = t.testdir()
  const from = path.join(dir, 'dist')
  mkdirSync(from)
  writeFileSync(path.join(from, 'spiderpool'), 'ipam binary')
  writeFileSync(path.join(from, 'coordinator'), 'coordinator binary')
  writeFileSync(path.join(dir, 'ca.crt'), 'CA PEM\n')
  writeFileSync(path.join(dir, 'token'), 'secret-token\n')
  const kubeconfigOut = path.join(dir, 'net.d/spiderpool.d/spiderpool.kubeconfig')
  const install = () => underOpenUmask(async () => installCni({ from, binDir: path.join(dir, 'bin'), kubeconfigOut, server: 'https://10.96.0.1:443', caFile: path.join(dir, 'ca.crt'), tokenFile: path.join(dir, 'token') }))
  await install()
  t.equal(octal(modeOf(kubeconfigOut)), '0600')
  chmodSync(kubeconfigOut, 0o666)
  await install()
  t.equal(octal(modeOf(kubeconfigOut)), '0600', 'a reinstall tightens it again')
})

t.test('up writes its kubeconfig, token, state and every key 0600', { timeout: 60_000 }, async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'modes-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const local = await underOpenUmask(() => startLocalDefault({ dataDir, apiPort: 0, settings: defaultSettings(), logLevel: 'silent' }))
  try {
    t.equal(local.controlPlane.kubeconfigPath, path.join(dataDir, 'kubeconfig'))
    const secretFiles = filesUnder(dataDir).filter((f) => /(\.key|kubeconfig|token|state\.json)$/.test(path.basename(f)))
    t.ok(secretFiles.includes(path.join(dataDir, 'kubeconfig')), 'the kubeconfig is there')
    t.ok(secretFiles.some((f) => f.endsWith('tls.key')), 'a serving key is there')
    for (const f of secretFiles) t.equal(octal(modeOf(f)), '0600', `${path.relative(dataDir, f)} is 0600`)
  } finally {
    await local.close()
  }
  // a second start over a loosened kubeconfig: it is rewritten 0600
  chmodSync(path.join(dataDir, 'kubeconfig'), 0o644)
  const again = await underOpenUmask(() => startLocalDefault({ dataDir, apiPort: 0, settings: defaultSettings(), logLevel: 'silent' }))
  try {
    t.equal(octal(modeOf(path.join(dataDir, 'kubeconfig'))), '0600', 'the kubeconfig is 0600 after a restart')
  } finally {
    await again.close()
  }
})
