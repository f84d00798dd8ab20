// The webhook's CA and serving pair kept in a Secret (ca.crt, ca.key, tls.crt, tls.key), so every
// replica serves the same pair. Writes are a create or an update conditional on the version read:
// of two replicas issuing at once one write lands, the other re-reads and takes the winner's pair.
import { isAlreadyExists, isConflict, isNotFound } from './errors.ts'
import { resources, type Secret } from './resources.ts'
import type { Store } from './store.ts'

/** The pair as PEM text; the same shape as certs/' CertificateFiles. */
export interface SecretCertificateFiles {
  caPem?: string
  caKeyPem?: string
  certPem?: string
  keyPem?: string
}

export interface CertificateSecretRef {
  namespace: string
  name: string
}

export const certificateSecretKeys = {
  caPem: 'ca.crt',
  caKeyPem: 'ca.key',
  certPem: 'tls.crt',
  keyPem: 'tls.key',
} as const satisfies Record<keyof SecretCertificateFiles, string>

const fileKeys = Object.keys(certificateSecretKeys) as (keyof SecretCertificateFiles)[]

export function filesOfSecret(secret: Secret | undefined): SecretCertificateFiles {
  const files: SecretCertificateFiles = {}
  for (const key of fileKeys) {
    const value = secret?.data?.[certificateSecretKeys[key]]
    if (value) files[key] = Buffer.from(value, 'base64').toString('utf8')
  }
  return files
}

export async function readCertificateSecret(store: Store, ref: CertificateSecretRef): Promise<{ files: SecretCertificateFiles; secret?: Secret }> {
  try {
    const secret = await store.get(resources.secrets, ref.name, { namespace: ref.namespace })
    return { files: filesOfSecret(secret), secret }
  } catch (err) {
    if (isNotFound(err)) return { files: {} }
    throw err
  }
}

export interface CertificateSecretOutcome<F extends SecretCertificateFiles> {
  /** what the Secret holds now */
  files: F
  /** true when this call wrote them */
  written: boolean
}

/**
 * Reads the Secret and asks `decide` what it should hold: `{ files, changed: false }` keeps it as it is,
 * `changed: true` writes the files. A lost race re-reads and asks again, so the caller ends with
 * whatever pair is in the Secret, its own or the winner's.
 */
export async function updateCertificateSecret<F extends SecretCertificateFiles>(
  store: Store,
  ref: CertificateSecretRef,
  decide: (current: SecretCertificateFiles) => Promise<{ files: F; changed: boolean }>,
  options: { attempts?: number } = {},
): Promise<CertificateSecretOutcome<F>> {
  const attempts = options.attempts ?? 5
  for (let attempt = 1; ; attempt++) {
    const { files, secret } = await readCertificateSecret(store, ref)
    const decided = await decide(files)
    if (!decided.changed) return { files: decided.files, written: false }
    try {
      await writeCertificateSecret(store, ref, secret, decided.files)
      return { files: decided.files, written: true }
    } catch (err) {
      if (!(isConflict(err) || isAlreadyExists(err)) || attempt >= attempts) throw err
    }
  }
}

async function writeCertificateSecret(store: Store, ref: CertificateSecretRef, current: Secret | undefined, files: SecretCertificateFiles): Promise<void> {
  const data: Record<string, string> = {}
  for (const key of fileKeys) {
    const value = files[key]
    if (value !== undefined) data[certificateSecretKeys[key]] = Buffer.from(value).toString('base64')
  }
  if (!current) {
    await store.create(resources.secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: ref.name, namespace: ref.namespace, labels: { 'app.kubernetes.io/managed-by': 'spiderpool-ts' } },
      type: 'kubernetes.io/tls',
      data,
    })
    return
  }
  // the type of a Secret cannot change: one made empty by an installer keeps its own
  await store.update(resources.secrets, { ...current, data: { ...current.data, ...data } })
}
