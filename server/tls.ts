// How the webhook speaks TLS: 1.2 at least, forward-secret AEAD ciphers only, our order first, and
// optionally a client certificate from the API server. Used for the first context and every reload.
import type { SecureContextOptions, TlsOptions } from 'node:tls'

/** TLS 1.3 suites (all AEAD), then for 1.2 only ECDHE key exchange with AES-GCM or ChaCha20-Poly1305. */
export const webhookCiphers = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':')

/** kube-apiserver sends a handful of short headers; anything near this is not an admission review. */
export const maxHeaderSize = 8 * 1024

export interface ServingPair {
  certPem: string
  keyPem: string
}

type ServingPairOptions = { cert: string; key: string }

/** The secure context for `pair`; `clientCaPem` lets the server ask for (and check) client certificates signed by it. */
export function secureContextOptions(pair: ServingPair, clientCaPem?: string): SecureContextOptions & ServingPairOptions {
  return {
    cert: pair.certPem,
    key: pair.keyPem,
    minVersion: 'TLSv1.2',
    ciphers: webhookCiphers,
    honorCipherOrder: true,
    ...(clientCaPem !== undefined && { ca: clientCaPem }),
  }
}

/**
 * Server options: with a client CA the certificate is requested but a handshake without one still
 * completes (rejectUnauthorized false), so kubelet probes and metrics scrapers, which carry no
 * certificate, reach /healthz, /readyz and /metrics; the admission paths refuse them (clientCertificate.ts).
 */
export function httpsServerOptions(pair: ServingPair, clientCaPem?: string): TlsOptions & ServingPairOptions & { maxHeaderSize: number } {
  return {
    ...secureContextOptions(pair, clientCaPem),
    maxHeaderSize,
    ...(clientCaPem !== undefined && { requestCert: true, rejectUnauthorized: false }),
  }
}
