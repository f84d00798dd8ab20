import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import t from 'tap'
import { decideCertificateWork, ensureServingCertificate, wantedCertificate, type ServingCertificateOptions } from '../../certs/ensure.ts'

const day = 86_400_000
const base = { service: 'svc', namespace: 'ns', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }
const daysBefore = (date: Date, days: number): Date => new Date(date.getTime() - days * day)
const read = (dir: string, name: string): string => readFileSync(join(dir, name), 'utf8')
const issuedBy = (certPem: string, caPem: string): boolean =>
  new X509Certificate(certPem).verify(new X509Certificate(caPem).publicKey)

async function ensureIn(dir: string, more: Partial<ServingCertificateOptions> = {}) {
  return ensureServingCertificate({ dir, ...base, ...more })
}

t.test('a first call creates the CA and the serving certificate and writes them to the directory', async (t) => {
  const dir = t.testdir()
  const first = await ensureIn(dir)
  t.equal(first.renewed, true)
  t.equal(read(dir, 'ca.crt'), first.caPem)
  t.equal(read(dir, 'tls.crt'), first.certPem)
  t.equal(read(dir, 'tls.key'), first.keyPem)
  t.ok(issuedBy(first.certPem, first.caPem))
  t.equal(first.notAfter.getTime(), new X509Certificate(first.certPem).validToDate.getTime())
  t.equal(statSync(join(dir, 'ca.key')).mode & 0o777, 0o600)
  t.equal(statSync(join(dir, 'tls.key')).mode & 0o777, 0o600)
})

t.test('the default validity is one year for the serving certificate and ten for the CA', async (t) => {
  const now = new Date()
  const first = await ensureIn(t.testdir(), { now })
  const nearly = (date: Date, days: number) => Math.abs(date.getTime() - now.getTime() - days * day) < 2000
  t.ok(nearly(first.notAfter, 365), `${first.notAfter.toISOString()} is a year after ${now.toISOString()}`)
  t.ok(nearly(new X509Certificate(first.caPem).validToDate, 3650))
})

t.test('a second call reuses the files unchanged', async (t) => {
  const dir = t.testdir()
  const first = await ensureIn(dir)
  const modified = statSync(join(dir, 'tls.crt')).mtimeMs
  const second = await ensureIn(dir)
  t.equal(second.renewed, false)
  t.equal(second.caPem, first.caPem)
  t.equal(second.certPem, first.certPem)
  t.equal(second.keyPem, first.keyPem)
  t.equal(statSync(join(dir, 'tls.crt')).mtimeMs, modified, 'tls.crt was not rewritten')
})

t.test('a serving certificate expiring in 31 days is kept; in 29 days it is renewed under the same CA', async (t) => {
  const dir = t.testdir()
  const first = await ensureIn(dir)
  const caKey = read(dir, 'ca.key')

  const at31 = await ensureIn(dir, { now: daysBefore(first.notAfter, 31) })
  t.equal(at31.renewed, false)
  t.equal(at31.certPem, first.certPem)

  const at29 = await ensureIn(dir, { now: daysBefore(first.notAfter, 29) })
  t.equal(at29.renewed, true)
  t.not(at29.certPem, first.certPem)
  t.not(at29.keyPem, first.keyPem)
  t.equal(at29.caPem, first.caPem, 'the CA is kept')
  t.equal(read(dir, 'ca.key'), caKey)
  t.ok(issuedBy(at29.certPem, first.caPem))
  t.ok(at29.notAfter > first.notAfter)
})

t.test('renewBeforeMs moves the renewal point', async (t) => {
  const dir = t.testdir()
  const first = await ensureIn(dir)
  const renewed = await ensureIn(dir, { now: daysBefore(first.notAfter, 59), renewBeforeMs: 60 * day })
  t.equal(renewed.renewed, true)
})

t.test('a name the serving certificate lacks gets a new one, under the same CA', async (t) => {
  const dir = t.testdir()
  const first = await ensureIn(dir)
  const more = await ensureIn(dir, { dnsNames: ['localhost', 'webhook.example.org'], ipAddresses: ['127.0.0.1', '::1'] })
  t.equal(more.renewed, true)
  t.equal(more.caPem, first.caPem)
  t.match(new X509Certificate(more.certPem).subjectAltName, /DNS:webhook\.example\.org/)
  t.ok(issuedBy(more.certPem, first.caPem))
})

t.test('a serving certificate covering more than is asked is kept', async (t) => {
  const dir = t.testdir()
  const first = await ensureIn(dir)
  const fewer = await ensureIn(dir, { dnsNames: [], ipAddresses: [] })
  t.equal(fewer.renewed, false)
  t.equal(fewer.certPem, first.certPem)
})

t.test('an IPv6 address asked for in another spelling is recognised as present', async (t) => {
  const dir = t.testdir()
  const first = await ensureIn(dir, { ipAddresses: ['::1'] })
  const again = await ensureIn(dir, { ipAddresses: ['0:0:0:0:0:0:0:1'] })
  t.equal(again.renewed, false)
  t.equal(again.certPem, first.certPem)
})

t.test('a corrupted tls.crt is replaced under the same CA', async (t) => {
  const dir = t.testdir()
  const first = await ensureIn(dir)
  writeFileSync(join(dir, 'tls.crt'), '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n')
  const fixed = await ensureIn(dir)
  t.equal(fixed.renewed, true)
  t.equal(fixed.caPem, first.caPem)
  t.equal(read(dir, 'tls.crt'), fixed.certPem)
  t.ok(issuedBy(fixed.certPem, first.caPem))
})

t.test('a tls.key that does not belong to tls.crt is replaced with a matching pair', async (t) => {
  const dir = t.testdir()
  await ensureIn(dir)
  writeFileSync(join(dir, 'tls.key'), read(dir, 'ca.key'))
  const fixed = await ensureIn(dir)
  t.equal(fixed.renewed, true)
  t.ok(new X509Certificate(fixed.certPem).checkPrivateKey(createPrivateKey(fixed.keyPem)))
})

t.test('a corrupted ca.crt makes a new CA and serving certificate', async (t) => {
  const dir = t.testdir()
  const first = await ensureIn(dir)
  writeFileSync(join(dir, 'ca.crt'), 'garbage')
  const fixed = await ensureIn(dir)
  t.equal(fixed.renewed, true)
  t.not(fixed.caPem, first.caPem)
  t.not(read(dir, 'ca.key'), '')
  t.ok(issuedBy(fixed.certPem, fixed.caPem))
  t.equal((await ensureIn(dir)).renewed, false, 'and the repaired files are reused afterwards')
})

t.test('a serving certificate from another CA than ca.crt is replaced', async (t) => {
  const root = t.testdir({ mine: {}, other: {} })
  const dir = join(root, 'mine')
  const other = join(root, 'other')
  await ensureIn(dir)
  await ensureIn(other)
  writeFileSync(join(dir, 'tls.crt'), read(other, 'tls.crt'))
  writeFileSync(join(dir, 'tls.key'), read(other, 'tls.key'))
  const fixed = await ensureIn(dir)
  t.equal(fixed.renewed, true)
  t.ok(issuedBy(fixed.certPem, read(dir, 'ca.crt')))
})

t.test('a CA that would expire before the new serving certificate is replaced too', async (t) => {
  const dir = t.testdir()
  const first = await ensureIn(dir, { caValidityMs: 400 * day })
  const renewed = await ensureIn(dir, { caValidityMs: 400 * day, now: daysBefore(first.notAfter, 29) })
  t.equal(renewed.renewed, true)
  t.not(renewed.caPem, first.caPem)
  t.ok(issuedBy(renewed.certPem, renewed.caPem))
})

t.test('a serving certificate never outlives its CA', async (t) => {
  const first = await ensureIn(t.testdir(), { caValidityMs: 100 * day })
  t.equal(first.notAfter.getTime(), new X509Certificate(first.caPem).validToDate.getTime())
})

t.test('without ca.key a valid pair is still served; its renewal needs a new CA', async (t) => {
  const dir = t.testdir()
  const first = await ensureIn(dir)
  rmSync(join(dir, 'ca.key'))
  const kept = await ensureIn(dir)
  t.equal(kept.renewed, false)
  t.equal(kept.caPem, first.caPem)
  const renewed = await ensureIn(dir, { now: daysBefore(first.notAfter, 29) })
  t.equal(renewed.renewed, true)
  t.not(renewed.caPem, first.caPem)
  t.ok(issuedBy(renewed.certPem, renewed.caPem))
})

t.test('reusing the files narrows a key file that others can read to 0600', async (t) => {
  const dir = t.testdir()
  await ensureIn(dir)
  chmodSync(join(dir, 'tls.key'), 0o644)
  chmodSync(join(dir, 'ca.key'), 0o640)
  t.equal((await ensureIn(dir)).renewed, false)
  t.equal(statSync(join(dir, 'tls.key')).mode & 0o777, 0o600)
  t.equal(statSync(join(dir, 'ca.key')).mode & 0o777, 0o600)
})

t.test('an empty directory means issuing everything', async (t) => {
  t.equal(decideCertificateWork({}, wantedCertificate(base), new Date()), 'issue-all')
})

t.test('a certificate that is not valid yet at `now` is replaced', async (t) => {
  const dir = t.testdir()
  const first = await ensureIn(dir)
  const earlier = daysBefore(new X509Certificate(first.certPem).validFromDate, 1)
  const decided = decideCertificateWork(
    { caPem: first.caPem, caKeyPem: read(dir, 'ca.key'), certPem: first.certPem, keyPem: first.keyPem },
    wantedCertificate(base),
    earlier,
  )
  t.equal(decided, 'issue-all', 'the CA is not valid yet either')
})
