// Reuse the certificates in the directory while they serve what is asked; otherwise issue new ones,
// keeping the CA when it outlives the new serving certificate so that caBundles already registered stay valid.

import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import {
  buildCertificateAuthority,
  buildServingCertificate,
  canonicalIp,
  createPrivateKeyPem,
  serviceDnsNames,
  type CertificateAuthority,
} from './generate.ts'
import { readCertificateFiles, restrictKeyFiles, writeCertificateFiles, type CertificateFiles } from './store.ts'

const day = 24 * 60 * 60 * 1000
export const defaultCaValidityMs = 3650 * day
export const defaultLeafValidityMs = 365 * day
export const defaultRenewBeforeMs = 30 * day
// a client whose clock runs a little behind must still accept a certificate issued this second
const clockSkewMs = 5 * 60 * 1000

export interface ServingCertificateOptions {
  /** directory holding ca.crt, ca.key, tls.crt, tls.key */
  dir: string
  service: string
  namespace: string
  /** names besides the Service's own, e.g. `localhost` */
  dnsNames?: readonly string[]
  ipAddresses?: readonly string[]
  caValidityMs?: number
  leafValidityMs?: number
  /** a serving certificate expiring sooner than this is replaced */
  renewBeforeMs?: number
  now?: Date
}

export interface ServingCertificate {
  caPem: string
  certPem: string
  keyPem: string
  /** when the serving certificate expires */
  notAfter: Date
  /** false when the files in the directory were used as they were */
  renewed: boolean
}

/** What the serving certificate must carry and how long it must last. */
export interface WantedCertificate {
  dnsNames: readonly string[]
  ipAddresses: readonly string[]
  leafValidityMs: number
  renewBeforeMs: number
}

/** `issue-leaf` keeps the CA and replaces only tls.crt and tls.key. */
export type CertificateWork = 'reuse' | 'issue-leaf' | 'issue-all'

export async function ensureServingCertificate(options: ServingCertificateOptions): Promise<ServingCertificate> {
  const now = options.now ?? new Date()
  const files = readCertificateFiles(options.dir)
  const issued = await issueCertificateFiles(files, options, now)
  if (issued.work === 'reuse') await restrictKeyFiles(options.dir)
  else {
    const { caPem, caKeyPem, certPem, keyPem } = issued.files
    await writeCertificateFiles(options.dir, issued.work === 'issue-all' ? { caPem, caKeyPem, certPem, keyPem } : { certPem, keyPem })
  }
  return servingCertificateOf(issued.files, issued.work !== 'reuse')
}

/** The files of a usable pair: ca.key may be absent when someone else (cert-manager) issues them. */
export type ServingFiles = Required<Omit<CertificateFiles, 'caKeyPem'>> & Pick<CertificateFiles, 'caKeyPem'>

export interface IssuedCertificateFiles {
  /** ca.key included when this process issued them */
  files: ServingFiles
  work: CertificateWork
}

/** What `files` should become so that they serve what `options` asks; the files given are returned as they are when they do. */
export async function issueCertificateFiles(files: CertificateFiles, options: Omit<ServingCertificateOptions, 'dir'>, now: Date = options.now ?? new Date()): Promise<IssuedCertificateFiles> {
  const wanted = wantedCertificate(options)
  const work = decideCertificateWork(files, wanted, now)
  if (work === 'reuse') return { files: files as ServingFiles, work }

  const notBefore = new Date(now.getTime() - clockSkewMs)
  let ca: CertificateAuthority
  if (work === 'issue-all') {
    const keyPem = await createPrivateKeyPem()
    const notAfter = new Date(now.getTime() + (options.caValidityMs ?? defaultCaValidityMs))
    const commonName = `${options.service}.${options.namespace} CA`
    ca = { keyPem, certPem: buildCertificateAuthority(keyPem, commonName, { notBefore, notAfter }) }
  } else {
    ca = { certPem: files.caPem!, keyPem: files.caKeyPem! }
  }
  const caNotAfter = new X509Certificate(ca.certPem).validToDate.getTime()
  const keyPem = await createPrivateKeyPem()
  const certPem = buildServingCertificate(keyPem, ca, {
    commonName: `${options.service}.${options.namespace}.svc`,
    dnsNames: wanted.dnsNames,
    ipAddresses: wanted.ipAddresses,
    notBefore,
    notAfter: new Date(Math.min(now.getTime() + wanted.leafValidityMs, caNotAfter)),
  })
  return { files: { caPem: ca.certPem, caKeyPem: ca.keyPem, certPem, keyPem }, work }
}

export function servingCertificateOf(files: ServingFiles, renewed: boolean): ServingCertificate {
  return { caPem: files.caPem, certPem: files.certPem, keyPem: files.keyPem, notAfter: new X509Certificate(files.certPem).validToDate, renewed }
}

export function wantedCertificate(options: Omit<ServingCertificateOptions, 'dir'>): WantedCertificate {
  return {
    dnsNames: [...new Set([...serviceDnsNames(options.service, options.namespace), ...(options.dnsNames ?? [])])],
    ipAddresses: [...new Set((options.ipAddresses ?? []).map(canonicalIp))],
    leafValidityMs: options.leafValidityMs ?? defaultLeafValidityMs,
    renewBeforeMs: options.renewBeforeMs ?? defaultRenewBeforeMs,
  }
}

export function decideCertificateWork(files: CertificateFiles, wanted: WantedCertificate, now: Date): CertificateWork {
  const ca = parseCertificate(files.caPem)
  if (ca && servesWhatIsWanted(ca, files, wanted, now)) return 'reuse'
  return ca && canIssueUntil(ca, files.caKeyPem, now.getTime() + wanted.leafValidityMs, now) ? 'issue-leaf' : 'issue-all'
}

// Foreign or damaged files may make OpenSSL throw instead of answering false; either way they are not usable.
function servesWhatIsWanted(ca: X509Certificate, files: CertificateFiles, wanted: WantedCertificate, now: Date): boolean {
  const leaf = parseCertificate(files.certPem)
  const key = parsePrivateKey(files.keyPem)
  if (!leaf || !key) return false
  try {
    return (
      ca.ca &&
      leaf.checkIssued(ca) &&
      leaf.verify(ca.publicKey) &&
      leaf.checkPrivateKey(key) &&
      isValidAt(ca, now) &&
      isValidAt(leaf, now) &&
      leaf.validToDate.getTime() - wanted.renewBeforeMs > now.getTime() &&
      ca.validToDate.getTime() >= leaf.validToDate.getTime() &&
      coversNames(leaf, wanted)
    )
  } catch {
    return false
  }
}

// checkIssued on itself also checks that keyUsage allows certificate signing; forge signs with RSA keys only.
function canIssueUntil(ca: X509Certificate, caKeyPem: string | undefined, until: number, now: Date): boolean {
  const key = parsePrivateKey(caKeyPem)
  if (!key || key.asymmetricKeyType !== 'rsa') return false
  try {
    return (
      ca.ca &&
      ca.checkPrivateKey(key) &&
      ca.checkIssued(ca) &&
      ca.verify(ca.publicKey) &&
      isValidAt(ca, now) &&
      ca.validToDate.getTime() >= until
    )
  } catch {
    return false
  }
}

function coversNames(leaf: X509Certificate, wanted: WantedCertificate): boolean {
  const dnsNames = new Set<string>()
  const ipAddresses = new Set<string>()
  for (const entry of (leaf.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) dnsNames.add(entry.slice(4).toLowerCase())
    else if (entry.startsWith('IP Address:')) ipAddresses.add(canonicalIp(entry.slice(11)))
  }
  return (
    wanted.dnsNames.every((name) => dnsNames.has(name.toLowerCase())) &&
    wanted.ipAddresses.every((ip) => ipAddresses.has(ip))
  )
}

const isValidAt = (cert: X509Certificate, now: Date): boolean =>
  cert.validFromDate.getTime() <= now.getTime() && now.getTime() < cert.validToDate.getTime()

function parseCertificate(pem: string | undefined): X509Certificate | undefined {
  if (pem === undefined) return undefined
  try {
    return new X509Certificate(pem)
  } catch {
    return undefined
  }
}

function parsePrivateKey(pem: string | undefined): KeyObject | undefined {
  if (pem === undefined) return undefined
  try {
    return createPrivateKey(pem)
  } catch {
    return undefined
  }
}
