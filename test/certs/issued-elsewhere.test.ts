// A pair issued elsewhere (cert-manager): when the directory is someone else's, and what of such a pair
// can be served — judged as kube-apiserver would meet it — and what only deserves a warning.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { checkIssuedPair, ensureServingCertificate, isIssuedElsewhere } from '../../certs/index.ts'
import { buildCertificateAuthority, buildServingCertificate, createPrivateKeyPem, serviceDnsNames } from '../../certs/generate.ts'
import { readCertificateFiles } from '../../certs/store.ts'

const day = 86_400_000
const now = new Date()
const names = { service: 'spiderpool-controller', namespace: 'kube-system' }
const svc = 'spiderpool-controller.kube-system.svc'

const caKey = await createPrivateKeyPem()
const ca = { keyPem: caKey, certPem: buildCertificateAuthority(caKey, 'elsewhere CA', { notBefore: new Date(now.getTime() - 400 * day), notAfter: new Date(now.getTime() + 3650 * day) }) }
const leafKey = await createPrivateKeyPem()
const leaf = (o: { dnsNames?: string[]; from?: number; to?: number; by?: typeof ca } = {}) =>
  buildServingCertificate(leafKey, o.by ?? ca, {
    commonName: svc,
    dnsNames: o.dnsNames ?? serviceDnsNames(names.service, names.namespace),
    ipAddresses: [],
    notBefore: new Date(now.getTime() + (o.from ?? -day)),
    notAfter: new Date(now.getTime() + (o.to ?? 90 * day)),
  })
const check = (files: { caPem?: string; certPem?: string; keyPem?: string }) => checkIssuedPair(files, { ...names, now })

t.test('a directory is ours when it holds ca.key, or nothing and can be written; otherwise it is left alone', async (t) => {
  const root = t.testdir({ empty: {}, theirs: { 'tls.crt': 'x' } })
  t.equal(isIssuedElsewhere(join(root, 'empty'), {}), false, 'empty and writable: generated there')
  t.equal(isIssuedElsewhere(join(root, 'absent'), {}), false, 'absent: created')
  t.equal(isIssuedElsewhere(join(root, 'theirs'), readCertificateFiles(join(root, 'theirs'))), true, 'a pair file without ca.key')
  const ours = join(root, 'ours')
  await ensureServingCertificate({ dir: ours, ...names })
  t.equal(isIssuedElsewhere(ours, readCertificateFiles(ours)), false, 'what the server generated (ca.key included)')
})

t.test('a usable pair from a CA: served, no warning', async (t) => {
  const files = { caPem: ca.certPem, certPem: leaf(), keyPem: leafKey }
  const report = check(files)
  t.same(report.problems, [])
  t.same(report.warnings, [])
  t.same(report.pair, { caPem: ca.certPem, certPem: files.certPem, keyPem: leafKey, notAfter: report.pair!.notAfter, renewed: false })
})

t.test('only the name kube-apiserver verifies is required; a wildcard covering it will do; the subject CN does not count', async (t) => {
  t.ok(check({ caPem: ca.certPem, certPem: leaf({ dnsNames: [svc] }), keyPem: leafKey }).pair, 'service.namespace.svc alone')
  t.ok(check({ caPem: ca.certPem, certPem: leaf({ dnsNames: ['*.kube-system.svc'] }), keyPem: leafKey }).pair, 'a wildcard')
  const other = check({ caPem: ca.certPem, certPem: leaf({ dnsNames: ['spiderpool-controller', 'localhost'] }), keyPem: leafKey })
  t.equal(other.pair, undefined, 'the CN is the Service name but no SAN is')
  t.match(other.problems, [{ file: 'tls.crt', reason: `does not name ${svc}, the name kube-apiserver verifies (it names DNS:spiderpool-controller, DNS:localhost)` }])
})

t.test('what cannot be served: missing, not PEM, a key of another certificate, not valid yet, expired', async (t) => {
  t.same(check({ caPem: ca.certPem }).problems, [{ file: 'tls.crt', reason: 'missing' }, { file: 'tls.key', reason: 'missing' }])
  t.same(check({ certPem: 'garbage', keyPem: 'garbage' }).problems, [{ file: 'tls.crt', reason: 'not a PEM certificate' }, { file: 'tls.key', reason: 'not a PEM private key' }])
  t.same(check({ certPem: leaf(), keyPem: caKey }).problems, [{ file: 'tls.key', reason: 'not the key of tls.crt' }])
  t.match(check({ certPem: leaf({ from: day }), keyPem: leafKey }).problems, [{ file: 'tls.crt', reason: /^not valid before / }])
  t.match(check({ certPem: leaf({ from: -100 * day, to: -day }), keyPem: leafKey }).problems, [{ file: 'tls.crt', reason: /^expired at / }])
})

t.test('near its end (15 days, or a sixth of a short lifetime) it is served with a warning', async (t) => {
  const expiring = check({ caPem: ca.certPem, certPem: leaf({ from: -88 * day, to: 2 * day }), keyPem: leafKey })
  t.ok(expiring.pair)
  t.match(expiring.warnings, [{ file: 'tls.crt', reason: /^expires at .* its issuer \(cert-manager\) is late/ }])
  t.same(check({ caPem: ca.certPem, certPem: leaf({ from: -60 * day, to: 20 * day }), keyPem: leafKey }).warnings, [], '20 days left of 80')
  const hour = day / 24
  t.same(check({ caPem: ca.certPem, certPem: leaf({ from: -16 * hour, to: 8 * hour }), keyPem: leafKey }).warnings, [], 'a day-long certificate with a third left')
  t.equal(check({ caPem: ca.certPem, certPem: leaf({ from: -22 * hour, to: 2 * hour }), keyPem: leafKey }).warnings.length, 1, 'and with a twelfth left')
})

t.test('ca.crt only warns: missing, another CA, or the serving certificate itself', async (t) => {
  t.match(check({ certPem: leaf(), keyPem: leafKey }), { pair: {}, warnings: [{ file: 'ca.crt', reason: /^missing/ }] })
  const otherKey = await createPrivateKeyPem()
  const other = buildCertificateAuthority(otherKey, 'other CA', { notBefore: new Date(now.getTime() - day), notAfter: new Date(now.getTime() + 365 * day) })
  t.match(check({ caPem: other, certPem: leaf(), keyPem: leafKey }), { pair: {}, warnings: [{ file: 'tls.crt', reason: 'not signed by ca.crt: kube-apiserver, trusting ca.crt, refuses it' }] })
  const selfKey = await createPrivateKeyPem()
  const self = buildServingCertificate(selfKey, { certPem: buildCertificateAuthority(selfKey, svc, { notBefore: new Date(now.getTime() - day), notAfter: new Date(now.getTime() + 90 * day) }), keyPem: selfKey }, {
    commonName: svc, dnsNames: [svc], ipAddresses: [], notBefore: new Date(now.getTime() - day), notAfter: new Date(now.getTime() + 90 * day),
  })
  // a selfSigned Issuer's serving certificate: tls.crt is its own ca.crt
  t.match(check({ caPem: self, certPem: self, keyPem: selfKey }), { pair: {}, warnings: [{ file: 'ca.crt', reason: /^is tls\.crt itself: every renewal changes what kube-apiserver must trust/ }] })
})

t.test('tls.crt carrying an intermediate is checked through it to ca.crt', async (t) => {
  const dir = t.testdir()
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  run('req', '-x509', ...ec, '-keyout', 'root.key', '-out', 'root.crt', '-days', '30', '-subj', '/CN=root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign')
  writeFileSync(join(dir, 'int.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n')
  run('req', '-new', ...ec, '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/CN=intermediate')
  run('x509', '-req', '-in', 'int.csr', '-CA', 'root.crt', '-CAkey', 'root.key', '-set_serial', '2', '-days', '30', '-extfile', 'int.ext', '-out', 'int.crt')
  writeFileSync(join(dir, 'leaf.ext'), `subjectAltName=DNS:${svc}\nbasicConstraints=critical,CA:FALSE\n`)
  run('req', '-new', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${svc}`)
  run('x509', '-req', '-in', 'leaf.csr', '-CA', 'int.crt', '-CAkey', 'int.key', '-set_serial', '3', '-days', '30', '-extfile', 'leaf.ext', '-out', 'leaf.crt')
  const read = (f: string) => readFileSync(join(dir, f), 'utf8')
  // openssl's certificates start this second, after the module's `now`
  const check = (files: { caPem?: string; certPem?: string; keyPem?: string }) => checkIssuedPair(files, { ...names, now: new Date(Date.now() + 1000) })
  const chained = check({ caPem: read('root.crt'), certPem: read('leaf.crt') + read('int.crt'), keyPem: read('leaf.key') })
  t.ok(chained.pair, JSON.stringify(chained.problems))
  t.same(chained.warnings, [], 'leaf → intermediate → ca.crt')
  t.match(check({ caPem: read('root.crt'), certPem: read('leaf.crt'), keyPem: read('leaf.key') }).warnings, [{ file: 'tls.crt', reason: /^not signed by ca\.crt/ }], 'without the intermediate the chain does not reach ca.crt')
})
