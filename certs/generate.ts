// Building the CA and the serving certificate with node-forge. Keys come from node's native RSA:
// forge's key generation in JavaScript takes seconds per key.

import { generateKeyPair, randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import { promisify } from 'node:util'
import forge from 'node-forge'

const generateRsaKeyPair = promisify(generateKeyPair)

export interface CertificateAuthority {
  certPem: string
  keyPem: string
}

export interface Validity {
  notBefore: Date
  notAfter: Date
}

export interface ServingCertificateRequest extends Validity {
  commonName: string
  dnsNames: readonly string[]
  ipAddresses: readonly string[]
}

/** The names a client inside the cluster may use for the Service `service` in `namespace`. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`]
}

/** A new 2048-bit RSA private key as PKCS#1 PEM (`RSA PRIVATE KEY`), generated natively off the event loop. */
export async function createPrivateKeyPem(): Promise<string> {
  const { privateKey } = await generateRsaKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  })
  return privateKey
}

/** The same address written one way, so SANs can be compared as strings (`0:0::1` → `::1`). */
export function canonicalIp(ip: string): string {
  const family = isIP(ip)
  if (family === 0) throw new Error(`not an IP address: ${JSON.stringify(ip)}`)
  return family === 4 ? ip : new URL(`http://[${ip}]/`).hostname.slice(1, -1)
}

export function buildCertificateAuthority(keyPem: string, commonName: string, validity: Validity): string {
  const cert = certificateFor(keyPem, commonName, validity)
  cert.setIssuer(cert.subject.attributes)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ])
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create())
  return forge.pki.certificateToPem(cert)
}

export function buildServingCertificate(keyPem: string, ca: CertificateAuthority, request: ServingCertificateRequest): string {
  const caCert = forge.pki.certificateFromPem(ca.certPem)
  const cert = certificateFor(keyPem, request.commonName, request)
  cert.setIssuer(caCert.subject.attributes)
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...request.dnsNames.map((value) => ({ type: 2, value })),
        ...request.ipAddresses.map((ip) => ({ type: 7, ip: canonicalIp(ip) })),
      ],
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ])
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create())
  return forge.pki.certificateToPem(cert)
}

function certificateFor(keyPem: string, commonName: string, validity: Validity): forge.pki.Certificate {
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey
  const cert = forge.pki.createCertificate()
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e)
  cert.serialNumber = serialNumber()
  cert.validity.notBefore = validity.notBefore
  cert.validity.notAfter = validity.notAfter
  cert.setSubject([{ name: 'commonName', value: commonName }])
  return cert
}

// 0x40..0x7f in the first byte: positive and minimal in DER, which forge does not ensure itself.
function serialNumber(): string {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0] & 0x3f) | 0x40
  return bytes.toString('hex')
}
