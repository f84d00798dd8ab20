// A pair someone else issues into the directory — cert-manager, whose Secret kubelet mounts read-only —
// is served as it is and never written here: replacing it is its issuer's job, and a write would fail
// on the mount anyway. What decides is whether kube-apiserver can use it now; the rest is advice.

import { accessSync, constants } from 'node:fs'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import type { ServingCertificate } from './ensure.ts'
import { certificateFileNames, type CertificateFiles } from './store.ts'

const day = 24 * 60 * 60 * 1000

/** A finding about one file of the pair: `file` is its name in the directory (tls.crt, tls.key, ca.crt). */
export interface PairFinding {
  file: string
  reason: string
}

export interface IssuedPairReport {
  /** the pair to serve; absent when `problems` says why it cannot be */
  pair?: ServingCertificate
  problems: PairFinding[]
  /** served anyway, but whoever runs the cluster should know */
  warnings: PairFinding[]
}

/**
 * Whether this process must leave the directory alone: it holds no CA key of ours (ca.key) but some of
 * the pair's files, or it cannot be written at all (a mounted Secret, where a ca.key left over from the
 * server's own Secret mode may still be). An empty, writable (or absent) directory is ours to fill.
 */
export function isIssuedElsewhere(dir: string, files: CertificateFiles): boolean {
  if (files.caKeyPem === undefined && (files.certPem !== undefined || files.keyPem !== undefined || files.caPem !== undefined)) return true
  try {
    accessSync(dir, constants.W_OK)
    return false
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'EROFS' || code === 'EACCES' || code === 'EPERM'
  }
}

/**
 * Warn within this much of the end, or within the last sixth of its lifetime when that is shorter:
 * cert-manager renews a third of the lifetime before the end unless told otherwise, so by then it is late.
 */
export const issuedElsewhereWarnWithinMs = 15 * day

/**
 * Whether a pair issued elsewhere can be served at `now`: tls.crt and tls.key present, parsed, matching,
 * valid now, and naming `service.namespace.svc` (what kube-apiserver checks when it calls the Service).
 * ca.crt is not needed to serve; it is checked against tls.crt only to warn.
 */
export function checkIssuedPair(files: CertificateFiles, o: { service: string; namespace: string; now: Date }): IssuedPairReport {
  const problems: PairFinding[] = []
  const warnings: PairFinding[] = []
  const tlsCrt = certificateFileNames.certPem
  const tlsKey = certificateFileNames.keyPem
  const caCrt = certificateFileNames.caPem
  const now = o.now.getTime()

  const chain = files.certPem === undefined ? undefined : parseChain(files.certPem)
  if (files.certPem === undefined) problems.push({ file: tlsCrt, reason: 'missing' })
  else if (!chain) problems.push({ file: tlsCrt, reason: 'not a PEM certificate' })
  let key: ReturnType<typeof createPrivateKey> | undefined
  if (files.keyPem === undefined) problems.push({ file: tlsKey, reason: 'missing' })
  else {
    try {
      key = createPrivateKey(files.keyPem)
    } catch {
      problems.push({ file: tlsKey, reason: 'not a PEM private key' })
    }
  }
  const leaf = chain?.[0]
  if (leaf && key && !leaf.checkPrivateKey(key)) problems.push({ file: tlsKey, reason: `not the key of ${tlsCrt}` })
  if (leaf) {
    if (now < leaf.validFromDate.getTime()) problems.push({ file: tlsCrt, reason: `not valid before ${leaf.validFromDate.toISOString()}` })
    else if (now >= leaf.validToDate.getTime()) problems.push({ file: tlsCrt, reason: `expired at ${leaf.validToDate.toISOString()}` })
    const name = `${o.service}.${o.namespace}.svc`
    // kube-apiserver, like Go, ignores the subject's CN: only the SANs count
    if (leaf.checkHost(name, { subject: 'never' }) === undefined) {
      problems.push({ file: tlsCrt, reason: `does not name ${name}, the name kube-apiserver verifies (it names ${leaf.subjectAltName ?? 'nothing'})` })
    }
  }
  if (problems.length > 0 || !leaf) return { problems, warnings }

  const lifetime = leaf.validToDate.getTime() - leaf.validFromDate.getTime()
  if (leaf.validToDate.getTime() - now < Math.min(issuedElsewhereWarnWithinMs, lifetime / 6)) {
    warnings.push({ file: tlsCrt, reason: `expires at ${leaf.validToDate.toISOString()} and has not been replaced yet: served until then, but its issuer (cert-manager) is late` })
  }
  const ca = files.caPem === undefined ? undefined : parseChain(files.caPem)?.[0]
  if (files.caPem === undefined) warnings.push({ file: caCrt, reason: `missing: nothing to check ${tlsCrt} against, and nothing for cainjector to put in the caBundle` })
  else if (!ca) warnings.push({ file: caCrt, reason: 'not a PEM certificate' })
  else if (ca.fingerprint256 === leaf.fingerprint256 || !ca.ca) {
    // what a selfSigned Issuer gives: renewing it (a new key with rotationPolicy Always) moves the trust anchor
    // while kubelet has yet to bring the new pair, so admissions are refused in between
    const what = ca.fingerprint256 === leaf.fingerprint256 ? `is ${tlsCrt} itself` : 'is not a CA certificate'
    warnings.push({ file: caCrt, reason: `${what}: every renewal changes what kube-apiserver must trust; issue ${tlsCrt} from a CA Issuer` })
  } else {
    if (!reachesCa(chain!, ca)) warnings.push({ file: tlsCrt, reason: `not signed by ${caCrt}: kube-apiserver, trusting ${caCrt}, refuses it` })
    if (now >= ca.validToDate.getTime()) warnings.push({ file: caCrt, reason: `expired at ${ca.validToDate.toISOString()}: kube-apiserver, trusting it, refuses ${tlsCrt}` })
  }
  const pair: ServingCertificate = { caPem: files.caPem ?? '', certPem: files.certPem!, keyPem: files.keyPem!, notAfter: leaf.validToDate, renewed: false }
  return { pair, problems, warnings }
}

// tls.crt may carry intermediates after the serving certificate; each must be signed by the next, one of them by ca.crt.
function reachesCa(chain: X509Certificate[], ca: X509Certificate): boolean {
  try {
    for (let i = 0; i < chain.length; i++) {
      if (chain[i].checkIssued(ca) && chain[i].verify(ca.publicKey)) return true
      const next = chain[i + 1]
      if (!next || !chain[i].checkIssued(next) || !chain[i].verify(next.publicKey)) return false
    }
  } catch {}
  return false
}

function parseChain(pem: string): X509Certificate[] | undefined {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)
  if (!blocks) return undefined
  try {
    return blocks.map((b) => new X509Certificate(b))
  } catch {
    return undefined
  }
}
