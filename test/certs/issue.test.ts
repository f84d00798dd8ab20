// The pure decision behind a shared Secret: given the pair it holds, keep it, re-issue the serving
// certificate under the same CA, or issue everything anew.
import { X509Certificate } from 'node:crypto'
import t from 'tap'
import { issueCertificateFiles } from '../../certs/index.ts'

const day = 86_400_000
const names = { service: 'spiderpool-controller', namespace: 'kube-system' }

t.test('no files: a CA and a serving certificate for the Service are issued, ca.key included', async (t) => {
  const issued = await issueCertificateFiles({}, names)
  t.equal(issued.work, 'issue-all')
  t.ok(issued.files.caKeyPem)
  t.match(new X509Certificate(issued.files.certPem).subjectAltName, 'DNS:spiderpool-controller.kube-system.svc')
})

t.test('a pair that serves the names for more than 30 days is returned as it is', async (t) => {
  const first = await issueCertificateFiles({}, names)
  const again = await issueCertificateFiles(first.files, names)
  t.equal(again.work, 'reuse')
  t.same(again.files, first.files)
})

t.test('a pair for other names gets a new serving certificate under the same CA', async (t) => {
  const other = await issueCertificateFiles({}, { service: 'other', namespace: 'elsewhere' })
  const fixed = await issueCertificateFiles(other.files, names)
  t.equal(fixed.work, 'issue-leaf')
  t.equal(fixed.files.caPem, other.files.caPem)
  t.not(fixed.files.certPem, other.files.certPem)
})

t.test('a serving certificate within 30 days of expiry is renewed; a CA expiring before the new one would is replaced too', async (t) => {
  const shortLeaf = await issueCertificateFiles({}, { ...names, leafValidityMs: 20 * day })
  t.equal((await issueCertificateFiles(shortLeaf.files, names)).work, 'issue-leaf')
  const shortCa = await issueCertificateFiles({}, { ...names, caValidityMs: 20 * day, leafValidityMs: 20 * day })
  const renewed = await issueCertificateFiles(shortCa.files, names)
  t.equal(renewed.work, 'issue-all')
  t.not(renewed.files.caPem, shortCa.files.caPem)
})
