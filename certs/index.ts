// The serving certificate of the webhook server: what the rest of the system uses from certs/.
//
// At start:        const tls = await ensureServingCertificate({ dir, service, namespace, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
// Renew in place:  startCertificateRenewal({ dir, service, namespace, onRenewed: (b) => server.setSecureContext({ cert: b.certPem, key: b.keyPem }) })
// Mounted Secret:  watchCertificateFiles(dir, (p) => server.setSecureContext({ cert: p.certPem, key: p.keyPem }))
// Issued there by someone else (no ca.key, or read-only): isIssuedElsewhere(dir, files) → checkIssuedPair(files, { service, namespace, now }), never written
// Kept elsewhere:  issueCertificateFiles(filesReadFromTheSecret, { service, namespace }) → { files, work } to write back unless work is 'reuse'

export { ensureServingCertificate } from './ensure.ts'
export type { ServingCertificate, ServingCertificateOptions } from './ensure.ts'
export { isWholePair, pairFingerprint, startCertificateRenewal, watchCertificateFiles } from './renewal.ts'
export type { CertificateRenewalOptions, CertificateWatchOptions, ServingPair } from './renewal.ts'
export { serviceDnsNames } from './generate.ts'
export { certificateFileNames } from './store.ts'
export { issueCertificateFiles, servingCertificateOf, decideCertificateWork, wantedCertificate } from './ensure.ts'
export type { IssuedCertificateFiles, ServingFiles, CertificateWork } from './ensure.ts'
export type { CertificateFiles } from './store.ts'
export { createProvisionalPair } from './provisional.ts'
export { checkIssuedPair, isIssuedElsewhere, issuedElsewhereWarnWithinMs } from './issued-elsewhere.ts'
export type { IssuedPairReport, PairFinding } from './issued-elsewhere.ts'
