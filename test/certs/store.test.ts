import { chmodSync, linkSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { readCertificateFiles, restrictKeyFiles, writeCertificateFiles } from '../../certs/store.ts'

const files = { caPem: 'CA CERT\n', caKeyPem: 'CA KEY\n', certPem: 'TLS CERT\n', keyPem: 'TLS KEY\n' }
const modeOf = (path: string): number => statSync(path).mode & 0o777

t.test('the files carry the key names of a Kubernetes TLS Secret', async (t) => {
  const dir = t.testdir()
  await writeCertificateFiles(dir, files)
  t.same(readdirSync(dir).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'])
  t.equal(readFileSync(join(dir, 'tls.crt'), 'utf8'), 'TLS CERT\n')
  t.equal(readFileSync(join(dir, 'ca.key'), 'utf8'), 'CA KEY\n')
  t.same(readCertificateFiles(dir), files)
})

t.test('key files are readable by the owner only (0600), certificates by everyone (0644), whatever the umask', async (t) => {
  const dir = t.testdir()
  const umask = process.umask(0o077)
  t.teardown(() => void process.umask(umask))
  await writeCertificateFiles(dir, files)
  t.equal(modeOf(join(dir, 'ca.key')), 0o600)
  t.equal(modeOf(join(dir, 'tls.key')), 0o600)
  t.equal(modeOf(join(dir, 'ca.crt')), 0o644)
  t.equal(modeOf(join(dir, 'tls.crt')), 0o644)
})

t.test('a key file that existed with a wider mode is 0600 after writing', async (t) => {
  const dir = t.testdir({ 'tls.key': 'OLD KEY\n' })
  chmodSync(join(dir, 'tls.key'), 0o666)
  await writeCertificateFiles(dir, { keyPem: 'NEW KEY\n' })
  t.equal(modeOf(join(dir, 'tls.key')), 0o600)
  t.equal(readFileSync(join(dir, 'tls.key'), 'utf8'), 'NEW KEY\n')
})

t.test('a file is replaced by rename, never rewritten in place, and no temp file stays behind', async (t) => {
  const dir = t.testdir({ 'tls.crt': 'OLD CERT\n' })
  // a reader holding the old file (here: a hard link) keeps seeing it whole
  linkSync(join(dir, 'tls.crt'), join(dir, 'held-by-reader'))
  await writeCertificateFiles(dir, { certPem: 'NEW CERT\n' })
  t.equal(readFileSync(join(dir, 'held-by-reader'), 'utf8'), 'OLD CERT\n')
  t.equal(readFileSync(join(dir, 'tls.crt'), 'utf8'), 'NEW CERT\n')
  t.same(readdirSync(dir).sort(), ['held-by-reader', 'tls.crt'])
})

t.test('writing the serving pair leaves the CA files as they are', async (t) => {
  const dir = t.testdir()
  await writeCertificateFiles(dir, files)
  await writeCertificateFiles(dir, { certPem: 'NEW CERT\n', keyPem: 'NEW KEY\n' })
  t.same(readCertificateFiles(dir), { caPem: 'CA CERT\n', caKeyPem: 'CA KEY\n', certPem: 'NEW CERT\n', keyPem: 'NEW KEY\n' })
})

t.test('a directory that does not exist yet is created, owner-only', async (t) => {
  const dir = join(t.testdir(), 'certs', 'webhook')
  t.same(readCertificateFiles(dir), {})
  await writeCertificateFiles(dir, files)
  t.equal(modeOf(dir), 0o700)
  t.same(readCertificateFiles(dir), files)
})

t.test('missing files read as absent, the others as they are', async (t) => {
  const dir = t.testdir({ 'tls.crt': 'TLS CERT\n' })
  t.same(readCertificateFiles(dir), { certPem: 'TLS CERT\n' })
})

t.test('restrictKeyFiles narrows key files others can read, and only key files', async (t) => {
  const dir = t.testdir({ 'tls.key': 'KEY\n', 'tls.crt': 'CERT\n' })
  chmodSync(join(dir, 'tls.key'), 0o644)
  chmodSync(join(dir, 'tls.crt'), 0o644)
  await restrictKeyFiles(dir)
  t.equal(modeOf(join(dir, 'tls.key')), 0o600)
  t.equal(modeOf(join(dir, 'tls.crt')), 0o644)
})
