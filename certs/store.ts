// The certificate directory, laid out like a Kubernetes TLS Secret mounted as files.
// Each file is replaced atomically (temp file + rename); private keys are readable by the owner only.

import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { chmod, mkdir, open, rename, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'

export interface CertificateFiles {
  caPem?: string
  caKeyPem?: string
  certPem?: string
  keyPem?: string
}

export const certificateFileNames = {
  caPem: 'ca.crt',
  caKeyPem: 'ca.key',
  certPem: 'tls.crt',
  keyPem: 'tls.key',
} as const satisfies Record<keyof CertificateFiles, string>

const privateFiles: ReadonlySet<keyof CertificateFiles> = new Set(['caKeyPem', 'keyPem'])
const privateMode = 0o600
const publicMode = 0o644

const fileKeys = Object.keys(certificateFileNames) as (keyof CertificateFiles)[]

// Synchronous on purpose: four small files, and the file watcher needs its baseline before it returns.
/** What the directory holds; a missing file (or directory) is `undefined`, any other read error throws. */
export function readCertificateFiles(dir: string): CertificateFiles {
  const files: CertificateFiles = {}
  for (const key of fileKeys) {
    try {
      files[key] = readFileSync(join(dir, certificateFileNames[key]), 'utf8')
    } catch (err) {
      if (!isMissing(err)) throw err
    }
  }
  return files
}

/** Writes the files given (others stay as they are), creating the directory if needed. */
export async function writeCertificateFiles(dir: string, files: CertificateFiles): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  for (const key of fileKeys) {
    const content = files[key]
    if (content !== undefined) {
      await replaceFile(join(dir, certificateFileNames[key]), content, privateFiles.has(key) ? privateMode : publicMode)
    }
  }
}

/** Narrows key files that others can read to 0600; a read-only mount is left as it is. */
export async function restrictKeyFiles(dir: string): Promise<void> {
  for (const key of privateFiles) {
    const path = join(dir, certificateFileNames[key])
    let mode: number
    try {
      mode = (await stat(path)).mode & 0o777
    } catch (err) {
      if (isMissing(err)) continue
      throw err
    }
    if (mode === privateMode) continue
    try {
      await chmod(path, privateMode)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EROFS') throw err
    }
  }
}

async function replaceFile(path: string, content: string, mode: number): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    const file = await open(temp, 'wx', mode)
    try {
      await file.writeFile(content)
      // the mode given to open() is reduced by the umask
      await file.chmod(mode)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temp, path)
  } catch (err) {
    await unlink(temp).catch(() => {})
    throw err
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ENOTDIR'
}
