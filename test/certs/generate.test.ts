import { createPrivateKey, X509Certificate } from 'node:crypto'
import forge from 'node-forge'
import t from 'tap'
import {
  buildCertificateAuthority,
  buildServingCertificate,
  canonicalIp,
  createPrivateKeyPem,
  serviceDnsNames,
  type CertificateAuthority,
} from '../../certs/generate.ts'

const now = new Date()
const inDays = (days: number): Date => new Date(now.getTime() + days * 86_400_000)

async function newCa(commonName = 'svc.ns CA'): Promise<CertificateAuthority> {
  const keyPem = await createPrivateKeyPem()
  return { keyPem, certPem: buildCertificateAuthority(keyPem, commonName, { notBefore: now, notAfter: inDays(3650) }) }
}

async function newLeaf(ca: CertificateAuthority): Promise<string> {
  return buildServingCertificate(await createPrivateKeyPem(), ca, {
    commonName: 'svc.ns.svc',
    dnsNames: [...serviceDnsNames('svc', 'ns'), 'localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
    notBefore: now,
    notAfter: inDays(365),
  })
}

const ca = await newCa()
const leafPem = await newLeaf(ca)
const leaf = new X509Certificate(leafPem)
const caCert = new X509Certificate(ca.certPem)

t.test('the Service names are the four forms a client in the cluster may use', async (t) => {
  t.same(serviceDnsNames('svc', 'ns'), ['svc', 'svc.ns', 'svc.ns.svc', 'svc.ns.svc.cluster.local'])
})

t.test('the serving certificate carries the Service names, the extra names and the IP addresses as SANs', async (t) => {
  // OpenSSL prints IPv6 uncompressed, and may not always
  const sans = leaf.subjectAltName!.split(', ').map((san) => san.replace(/^IP Address:(.*)$/, (_, ip) => `IP:${canonicalIp(ip)}`))
  t.same(sans, [
    'DNS:svc',
    'DNS:svc.ns',
    'DNS:svc.ns.svc',
    'DNS:svc.ns.svc.cluster.local',
    'DNS:localhost',
    'IP:127.0.0.1',
    'IP:::1',
  ])
})

t.test('the serving certificate is signed by the CA and by no other', async (t) => {
  t.ok(leaf.checkIssued(caCert))
  t.ok(leaf.verify(caCert.publicKey))
  const other = new X509Certificate((await newCa('other CA')).certPem)
  t.notOk(leaf.verify(other.publicKey))
})

t.test('the CA is self-signed and may sign certificates', async (t) => {
  t.ok(caCert.ca)
  t.ok(caCert.checkIssued(caCert))
  t.ok(caCert.verify(caCert.publicKey))
  const parsed = forge.pki.certificateFromPem(ca.certPem)
  t.match(parsed.getExtension('basicConstraints'), { cA: true, critical: true })
  t.match(parsed.getExtension('keyUsage'), { keyCertSign: true, critical: true })
})

t.test('the serving certificate may serve TLS and nothing more', async (t) => {
  t.notOk(leaf.ca)
  t.same(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extKeyUsage is serverAuth only')
  const usage = forge.pki.certificateFromPem(leafPem).getExtension('keyUsage')
  t.match(usage, { digitalSignature: true, keyEncipherment: true, keyCertSign: false })
})

t.test('both certificates are signed with SHA-256 and RSA', async (t) => {
  for (const pem of [ca.certPem, leafPem]) {
    t.equal(forge.pki.certificateFromPem(pem).siginfo.algorithmOid, forge.pki.oids.sha256WithRSAEncryption)
  }
})

t.test('the certificates are valid for the period asked', async (t) => {
  // X.509 times have whole seconds
  t.equal(leaf.validFromDate.getTime(), Math.floor(now.getTime() / 1000) * 1000)
  t.equal(leaf.validToDate.getTime(), Math.floor(inDays(365).getTime() / 1000) * 1000)
  t.equal(caCert.validToDate.getTime(), Math.floor(inDays(3650).getTime() / 1000) * 1000)
})

t.test('keys are 2048-bit RSA in PKCS#1 PEM', async (t) => {
  const pem = await createPrivateKeyPem()
  t.match(pem, /^-----BEGIN RSA PRIVATE KEY-----\n/)
  const key = createPrivateKey(pem)
  t.equal(key.asymmetricKeyType, 'rsa')
  t.equal(key.asymmetricKeyDetails?.modulusLength, 2048)
})

t.test('every certificate gets its own positive serial number', async (t) => {
  const second = new X509Certificate(await newLeaf(ca))
  t.not(second.serialNumber, leaf.serialNumber)
  for (const serial of [leaf.serialNumber, second.serialNumber, caCert.serialNumber]) {
    t.match(serial, /^[4-7][0-9A-F]{31}$/)
  }
})

t.test('IP addresses compare equal however they are written', async (t) => {
  t.equal(canonicalIp('0:0:0:0:0:0:0:1'), '::1')
  t.equal(canonicalIp('FE80:0:0:0:0:0:1:2'), 'fe80::1:2')
  t.equal(canonicalIp('10.0.0.1'), '10.0.0.1')
  t.throws(() => canonicalIp('localhost'), /not an IP address/)
})
