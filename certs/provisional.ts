// A throw-away self-signed pair to serve until the real one is loaded: liveness probes (which do not
// verify) get an answer and /readyz can say "not ready", instead of every handshake failing.
import { buildCertificateAuthority, createPrivateKeyPem } from './generate.ts'

export async function createProvisionalPair(now: Date = new Date()): Promise<{ certPem: string; keyPem: string }> {
  const keyPem = await createPrivateKeyPem()
  const certPem = buildCertificateAuthority(keyPem, 'spiderpool-ts provisional (certificate not loaded yet)', {
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 24 * 60 * 60 * 1000),
  })
  return { certPem, keyPem }
}
