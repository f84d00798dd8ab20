// --cert-source=files on a directory laid out as kubelet mounts cert-manager's Secret: tls.crt, tls.key
// and ca.crt behind a `..data` symlink, read-only, no ca.key. The server serves that pair as it is,
// never writes there, follows kubelet's swap to a renewed pair, and waits (503) for a pair it cannot
// use instead of crashing. Real openssl-issued ECDSA pairs (cert-manager's kind), the real command
// line, the local control plane calling the webhooks through the caBundle cainjector would inject.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Test } from 'tap'
import t from 'tap'
import { buildCertificateAuthority, buildServingCertificate, createPrivateKeyPem, serviceDnsNames } from '../../certs/generate.ts'
import { keepServingCertificate } from '../../server/serving-certificate.ts'
import type { ServingCertificate } from '../../certs/index.ts'
import { webhookConfigurations } from '../../server/webhook-configurations.ts'
import { allKinds } from '../../webhooks/registry.ts'
import { servedFingerprint as verifiedFingerprint } from '../certs/fixtures/tls.ts'
import { startTestControlPlane } from '../kube/controlplane/fixtures/controlplane.ts'
import { hostAndPort, probe, servedFingerprint, until } from './fixtures/tls-probe.ts'

const repo = resolve(import.meta.dirname, '../..')
const env = { ...process.env, PATH: `${join(repo, 'node_modules/.bin')}:${process.env.PATH}` }
const service = 'spiderpool-controller'
const namespace = 'kube-system'
const svcName = `${service}.${namespace}.svc`
const day = 86_400_000
const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256

interface Pair {
  caPem: string
  certPem: string
  keyPem: string
}

// ---- what cert-manager issues: ECDSA P-256, SEC1 keys, a CA Issuer's ca.crt -------------------------------------

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** A CA as the chart's CA Certificate makes it (isCA, its own key). */
function issueCa(work: string, name: string): { certPem: string; keyPem: string; dir: string } {
  const dir = join(work, name)
  mkdirSync(dir)
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650',
    '-subj', `/CN=${service}.${namespace} CA`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir)
  return { dir, certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'ca.key'), 'utf8') }
}

let serial = 0
/** A serving certificate as the chart's serving Certificate asks for it, signed by `ca`; only the Service's names. */
function issueServing(ca: { dir: string; certPem: string }): Pair {
  const n = ++serial
  const dir = ca.dir
  writeFileSync(join(dir, `leaf${n}.ext`), [
    `subjectAltName=${serviceDnsNames(service, namespace).map((d) => `DNS:${d}`).join(',')}`,
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
  ].join('\n'))
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `leaf${n}.pk8`, '-out', `leaf${n}.csr`, '-subj', `/CN=${svcName}`], dir)
  openssl(['x509', '-req', '-in', `leaf${n}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(1000 + n), '-days', '365', '-extfile', `leaf${n}.ext`, '-out', `leaf${n}.crt`], dir)
  // cert-manager's default key encoding for ECDSA: SEC1 ("EC PRIVATE KEY")
  openssl(['ec', '-in', `leaf${n}.pk8`, '-out', `leaf${n}.key`], dir)
  return { caPem: ca.certPem, certPem: readFileSync(join(dir, `leaf${n}.crt`), 'utf8'), keyPem: readFileSync(join(dir, `leaf${n}.key`), 'utf8') }
}

/** A pair valid from `notBefore` to `notAfter`, from the project's own helpers (RSA). */
async function pairValid(notBefore: Date, notAfter: Date): Promise<Pair> {
  const caKey = await createPrivateKeyPem()
  const ca = { keyPem: caKey, certPem: buildCertificateAuthority(caKey, 'elsewhere CA', { notBefore: new Date(notBefore.getTime() - day), notAfter: new Date(Date.now() + 3650 * day) }) }
  const keyPem = await createPrivateKeyPem()
  const certPem = buildServingCertificate(keyPem, ca, { commonName: svcName, dnsNames: serviceDnsNames(service, namespace), ipAddresses: [], notBefore, notAfter })
  return { caPem: ca.certPem, certPem, keyPem }
}

// ---- the Secret volume as kubelet keeps it ------------------------------------------------------------------------

let version = 0
/**
 * Publishes `pair` the way kubelet's atomic writer updates a Secret volume: a new read-only timestamped
 * directory, `..data` swapped to it with one rename, the old one removed; tls.crt, tls.key and ca.crt are
 * symlinks through `..data` made once. The volume directory itself is 0555 (kubelet, as root, writes anyway).
 */
function publish(volume: string, pair: Pair): void {
  chmodSync(volume, 0o755)
  const previous = readdirSync(volume).filter((f) => f.startsWith('..2'))
  const ts = `..2025_01_01_00_00_${String(++version).padStart(2, '0')}.${process.pid}`
  mkdirSync(join(volume, ts))
  for (const [name, pem] of [['tls.crt', pair.certPem], ['tls.key', pair.keyPem], ['ca.crt', pair.caPem]]) {
    writeFileSync(join(volume, ts, name), pem, { mode: 0o444 })
  }
  chmodSync(join(volume, ts), 0o555)
  symlinkSync(ts, join(volume, '..data_tmp'))
  renameSync(join(volume, '..data_tmp'), join(volume, '..data'))
  for (const name of ['tls.crt', 'tls.key', 'ca.crt']) {
    try {
      symlinkSync(join('..data', name), join(volume, name))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
  for (const old of previous) {
    chmodSync(join(volume, old), 0o755)
    rmSync(join(volume, old), { recursive: true })
  }
  chmodSync(volume, 0o555)
}

/** Everything about the directory a write would change: names, link targets, modes, inodes, times, contents. */
function snapshot(dir: string): string {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name)
      const s = lstatSync(p)
      const what = s.isSymbolicLink() ? `-> ${readlinkSync(p)}` : s.isDirectory() ? 'dir' : readFileSync(p, 'utf8')
      out.push(`${p.slice(dir.length)} ${s.mode.toString(8)} ${s.ino} ${s.mtimeMs} ${s.ctimeMs} ${what}`)
      if (s.isDirectory()) walk(p)
    }
  }
  walk(dir)
  return out.join('\n')
}

function volumeDir(t: Test): string {
  // not t.testdir(): its files are made read-only here, and tap removes it before teardowns run
  const dir = mkdtempSync(join(tmpdir(), 'cert-manager-volume-'))
  t.teardown(() => {
    execFileSync('chmod', ['-R', 'u+w', dir])
    rmSync(dir, { recursive: true, force: true })
  })
  return dir
}

// ---- the server, as the chart runs it ---------------------------------------------------------------------------

interface Run {
  child: ChildProcess
  url: string
  logs: () => Record<string, any>[]
  exited: Promise<number | null>
}

async function webhook(t: Test, tlsDir: string, extra: string[] = [], wrap: string[] = []): Promise<Run> {
  const args = ['webhook', '--cert-source=files', `--tls-dir=${tlsDir}`, '--listen=127.0.0.1:0', `--service-name=${service}`, `--namespace=${namespace}`, '--log-level=info', ...extra]
  const child = wrap.length > 0 ? spawn(wrap[0], [...wrap.slice(1), './bin/spiderpool-ts', ...args], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('./bin/spiderpool-ts', args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (c) => (out += c))
  child.stderr!.on('data', (c) => (err += c))
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)))
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await exited
    }
  })
  const deadline = Date.now() + 30_000
  let url: string | undefined
  while (!url) {
    url = /^listening on (https:\/\/\S+)$/m.exec(out)?.[1]
    if (url) break
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no listening line (exit ${child.exitCode}); stdout: ${out} stderr: ${err}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const logs = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
  return { child, url, logs, exited }
}

// the certificate's own lines (the server's logger tags them with the directory)
const warnings = (r: Run) => r.logs().filter((l) => l.level === 40 && l.certificate !== undefined)

// ---- the tests ------------------------------------------------------------------------------------------------

t.test("cert-manager's pair is served as it is, admissions verified with ca.crt succeed, nothing is written, and a renewal is served without a restart", { timeout: 120_000 }, async (t) => {
  const plane = await startTestControlPlane(t, { admission: true })
  const work = t.testdir()
  const ca = issueCa(work, 'ca')
  const first = issueServing(ca)
  const volume = volumeDir(t)
  publish(volume, first)
  const before = snapshot(volume)

  const r = await webhook(t, volume, [`--kubeconfig=${plane.cp.kubeconfigPath}`])
  await until('/readyz 200', async () => (await probe(r.url, '/readyz')) === 200, 30_000)
  t.equal(await servedFingerprint(r.url), fingerprintOf(first.certPem), "cert-manager's serving certificate is the one served")
  t.equal(await verifiedFingerprint(hostAndPort(r.url).port, readFileSync(join(volume, 'ca.crt'), 'utf8'), svcName), fingerprintOf(first.certPem), 'a client trusting only ca.crt, asking for the Service name, verifies it')

  // what cainjector does: the Secret's ca.crt into the caBundle of every webhook of both configurations
  const port = hostAndPort(r.url).port
  const register = async (caPem: string) => {
    const configs = webhookConfigurations(allKinds, { service: { namespace, name: service, port } }, caPem, [namespace])
    for (const config of [configs.mutating, configs.validating]) await plane.ok(['apply', '-f', '-'], JSON.stringify(config))
  }
  await register(readFileSync(join(volume, 'ca.crt'), 'utf8'))
  const pool = (name: string, ips: string) => JSON.stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec: { subnet: '10.7.0.0/24', ips: [ips] } })
  const refused = await plane.kubectl(['create', '-f', '-'], pool('reversed', '10.7.0.9-10.7.0.1'))
  t.not(refused.code, 0)
  // the webhook's own verdict (the schema cannot know a range's order), relayed by the control plane
  t.match(refused.stderr, 'spec.ips[0]: Invalid value: "10.7.0.9-10.7.0.1": invalid range: 10.7.0.9-10.7.0.1, its first IP is greater than its last', 'the control plane reached the webhook over TLS verified with ca.crt, and it judged')
  const created = await plane.kubectl(['create', '-f', '-'], pool('first', '10.7.0.1-10.7.0.10'))
  t.equal(created.code, 0, `a valid pool is admitted: ${created.stderr}`)

  // the control plane really verifies: a caBundle of another CA is refused at the handshake
  await register(issueCa(work, 'stranger').certPem)
  const unverified = await plane.kubectl(['create', '-f', '-'], pool('stranger', '10.7.0.20'))
  t.match(unverified.stderr, /failed calling webhook/, 'another CA in the caBundle: the call fails')
  await register(first.caPem)

  t.equal(snapshot(volume), before, 'nothing in the directory was written, chmod-ed or added')
  t.same(warnings(r), [], 'a pair from a CA Issuer gives no warning')
  t.ok(r.logs().some((l) => /issued elsewhere.*never written/.test(l.msg)), 'the log says the files are served as they are')

  // cert-manager renews (rotationPolicy Always: a new key, same CA) and kubelet swaps ..data
  const renewed = issueServing(ca)
  publish(volume, renewed)
  const after = snapshot(volume)
  await until('the renewed pair served', async () => (await servedFingerprint(r.url)) === fingerprintOf(renewed.certPem), 15_000)
  t.equal(r.child.exitCode, null, 'without a restart')
  const again = await plane.kubectl(['create', '-f', '-'], pool('renewed', '10.7.0.30'))
  t.equal(again.code, 0, `the caBundle did not have to change: ${again.stderr}`)
  t.equal(snapshot(volume), after, 'the renewed pair is not written either')
  t.same(warnings(r), [])
  t.ok(r.logs().some((l) => l.msg === 'serving certificate files replaced'), 'the switch is logged')
})

t.test('a pair near its end is served with a warning naming the file, not replaced', { timeout: 60_000 }, async (t) => {
  const now = Date.now()
  const pair = await pairValid(new Date(now - 88 * day), new Date(now + 2 * day))
  const volume = volumeDir(t)
  publish(volume, pair)
  const before = snapshot(volume)
  const r = await webhook(t, volume)
  await until('/readyz 200', async () => (await probe(r.url, '/readyz')) === 200)
  t.equal(await verifiedFingerprint(hostAndPort(r.url).port, pair.caPem, svcName), fingerprintOf(pair.certPem), 'the expiring pair is what is served, verified with ca.crt')
  await until('the warning', () => warnings(r).length > 0)
  const [warning] = warnings(r)
  t.equal(warning.file, join(volume, 'tls.crt'))
  t.match(warning.msg, `${join(volume, 'tls.crt')} expires at ${new X509Certificate(pair.certPem).validToDate.toISOString()}`)
  t.equal(warnings(r).length, 1, 'told once')
  t.equal(snapshot(volume), before, 'not replaced, nothing written')
})

t.test("the old chart's selfSigned pair (ca.crt is tls.crt) is served, with a warning about the moving trust anchor", { timeout: 60_000 }, async (t) => {
  const work = t.testdir()
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '90', '-subj', `/CN=${svcName}`,
    '-addext', `subjectAltName=DNS:${svcName}`, '-addext', 'basicConstraints=critical,CA:FALSE'], work)
  const certPem = readFileSync(join(work, 'c.pem'), 'utf8')
  const volume = volumeDir(t)
  publish(volume, { caPem: certPem, certPem, keyPem: readFileSync(join(work, 'k.pem'), 'utf8') })
  const before = snapshot(volume)
  const r = await webhook(t, volume)
  await until('/readyz 200', async () => (await probe(r.url, '/readyz')) === 200)
  t.equal(await verifiedFingerprint(hostAndPort(r.url).port, certPem, svcName), fingerprintOf(certPem))
  await until('the warning', () => warnings(r).length > 0)
  t.match(warnings(r)[0].msg, `${join(volume, 'ca.crt')} is tls.crt itself`)
  t.equal(snapshot(volume), before)
})

t.test('an unusable pair at start: listening, /readyz 503 with a log line naming the file and why; the replacement makes it ready', { timeout: 60_000 }, async (t) => {
  const now = Date.now()
  const expired = await pairValid(new Date(now - 100 * day), new Date(now - day))
  const volume = volumeDir(t)
  publish(volume, expired)
  const before = snapshot(volume)
  const r = await webhook(t, volume)
  t.equal(await probe(r.url, '/healthz'), 200, 'alive: no crash loop')
  t.equal(await probe(r.url, '/readyz'), 503, 'not ready')
  await until('the log line', () => warnings(r).length > 0)
  t.match(warnings(r)[0].msg, `not ready until it is replaced: ${join(volume, 'tls.crt')} expired at ${new X509Certificate(expired.certPem).validToDate.toISOString()}`)
  t.equal(snapshot(volume), before, 'nothing written')

  const fresh = await pairValid(new Date(now - day), new Date(now + 90 * day))
  publish(volume, fresh)
  await until('/readyz 200', async () => (await probe(r.url, '/readyz')) === 200)
  t.equal(await verifiedFingerprint(hostAndPort(r.url).port, fresh.caPem, svcName), fingerprintOf(fresh.certPem))
  t.equal(r.child.exitCode, null)
})

t.test('a missing tls.key at start is named, and waited for', { timeout: 60_000 }, async (t) => {
  const volume = volumeDir(t)
  const pair = await pairValid(new Date(Date.now() - day), new Date(Date.now() + 90 * day))
  writeFileSync(join(volume, 'tls.crt'), pair.certPem)
  writeFileSync(join(volume, 'ca.crt'), pair.caPem)
  chmodSync(volume, 0o555)
  const r = await webhook(t, volume)
  t.equal(await probe(r.url, '/readyz'), 503)
  await until('the log line', () => warnings(r).length > 0)
  t.match(warnings(r).map((w) => w.msg), [`${join(volume, 'tls.key')} missing`])
  t.same(readdirSync(volume).sort(), ['ca.crt', 'tls.crt'], 'no ca.key, no pair of its own')
})

// Switching the chart from the server's own Secret to cert-manager keeps the Secret's name: cert-manager
// takes it over and the ca.key the server had written stays. kubelet mounts it read-only, so a server
// that took the directory for its own would crash on writing; here the mount is made read-only in a
// mount namespace of the server's own (nothing leaks when it exits).
t.test('a read-only mount holding a stale ca.key is not taken for our own directory', { timeout: 60_000, skip: process.getuid?.() === 0 ? false : 'needs root for a read-only bind mount' }, async (t) => {
  const work = t.testdir()
  const ca = issueCa(work, 'ca')
  const pair = issueServing(ca)
  const volume = volumeDir(t)
  publish(volume, pair)
  chmodSync(volume, 0o755)
  writeFileSync(join(volume, 'ca.key'), await createPrivateKeyPem(), { mode: 0o444 })
  chmodSync(volume, 0o555)
  const before = snapshot(volume)
  const r = await webhook(t, volume, [], ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind -o ro "$0" "$0" && exec "$@"', volume])
  await until('/readyz 200', async () => (await probe(r.url, '/readyz')) === 200)
  t.equal(await verifiedFingerprint(hostAndPort(r.url).port, ca.certPem, svcName), fingerprintOf(pair.certPem), "cert-manager's pair, not one issued under the stale key")
  t.equal(snapshot(volume), before)
})

// cert-manager stamps notBefore with its own clock; a node whose clock is behind sees a renewal from the
// future. It is not served (kube-apiserver may refuse it too), and not forgotten: once valid, it is.
t.test('a replacement not valid yet keeps the pair served, and is taken once its time comes', async (t) => {
  let clock = Date.now()
  const first = await pairValid(new Date(clock - day), new Date(clock + 90 * day))
  const future = await pairValid(new Date(clock + day), new Date(clock + 91 * day))
  const volume = volumeDir(t)
  publish(volume, first)
  const said: string[] = []
  const changes: ServingCertificate[] = []
  const keeper = keepServingCertificate({
    source: { kind: 'files', dir: volume, checkEveryMs: 50 },
    service,
    namespace,
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    log: { info: (_f, m) => said.push(m), warn: (_f, m) => said.push(`WARN ${m}`) },
    onChange: (pair) => changes.push(pair),
    now: () => new Date(clock),
  })
  t.teardown(() => keeper.stop())
  t.equal((await keeper.initial)?.certPem, first.certPem, 'no localhost or 127.0.0.1 needed in a pair issued elsewhere')
  keeper.start()
  publish(volume, future)
  await until('the warning', () => said.some((m) => m.startsWith('WARN replacement serving certificate not usable, the previous one is still served') && m.includes('not valid before')))
  t.equal(keeper.current()?.certPem, first.certPem)
  t.same(changes, [])
  clock += 2 * day
  await until('the renewal served', () => changes.length > 0)
  t.equal(changes[0].certPem, future.certPem)
  t.equal(keeper.current()?.certPem, future.certPem)
})
