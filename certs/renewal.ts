// Keeping a running server's certificate fresh: renewing it on a timer, or noticing that someone else
// (cert-manager updating a mounted Secret) replaced the files. Both hand over PEMs for `server.setSecureContext()`.

import { createHash, createPrivateKey, X509Certificate } from 'node:crypto'
import { watch, type FSWatcher } from 'node:fs'
import { ensureServingCertificate, type ServingCertificate, type ServingCertificateOptions } from './ensure.ts'
import { readCertificateFiles } from './store.ts'

export interface CertificateRenewalOptions extends Omit<ServingCertificateOptions, 'now'> {
  /** default one hour */
  checkEveryMs?: number
  onRenewed: (bundle: ServingCertificate) => void
  /** a failed check is retried at the next one; default: a process warning */
  onError?: (err: unknown) => void
  now?: () => Date
}

export interface ServingPair {
  certPem: string
  keyPem: string
  /** present when the directory holds ca.crt */
  caPem?: string
}

export interface CertificateWatchOptions {
  /** a Secret update arrives as several events; they are read once, this long after the last one */
  debounceMs?: number
  /** re-read this often as well, for file systems where watching misses changes */
  pollEveryMs?: number
  onError?: (err: unknown) => void
}

const warn = (err: unknown): void => process.emitWarning(err instanceof Error ? err : new Error(String(err)))

export function startCertificateRenewal(options: CertificateRenewalOptions): { stop(): void } {
  const { checkEveryMs = 60 * 60 * 1000, onRenewed, onError = warn, now, ...ensureOptions } = options
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  // chained timeouts rather than an interval: a slow check never overlaps the next one
  const schedule = (): void => {
    timer = setTimeout(check, checkEveryMs)
    timer.unref()
  }
  const check = async (): Promise<void> => {
    try {
      const bundle = await ensureServingCertificate({ ...ensureOptions, now: now?.() })
      if (bundle.renewed && !stopped) onRenewed(bundle)
    } catch (err) {
      if (!stopped) onError(err)
    }
    if (!stopped) schedule()
  }
  schedule()
  return {
    stop() {
      stopped = true
      clearTimeout(timer)
    },
  }
}

export function watchCertificateFiles(
  dir: string,
  onChange: (pair: ServingPair) => void,
  options: CertificateWatchOptions = {},
): { close(): void } {
  const { debounceMs = 200, pollEveryMs = 30_000, onError = warn } = options
  let closed = false
  let lastSeen = currentPair(dir)?.fingerprint
  let debounce: NodeJS.Timeout | undefined

  const check = (): void => {
    if (closed) return
    try {
      const current = currentPair(dir)
      if (!current || current.fingerprint === lastSeen) return
      lastSeen = current.fingerprint
      onChange(current.pair)
    } catch (err) {
      onError(err)
    }
  }
  const checkSoon = (): void => {
    clearTimeout(debounce)
    debounce = setTimeout(check, debounceMs)
    debounce.unref()
  }

  // the directory, not the files: Kubernetes swaps a `..data` symlink, so the file paths never see an event
  let watcher: FSWatcher | undefined
  try {
    watcher = watch(dir, { persistent: false }, checkSoon)
    watcher.on('error', onError)
  } catch (err) {
    onError(err)
  }
  const poll = setInterval(check, pollEveryMs)
  poll.unref()

  return {
    close() {
      closed = true
      watcher?.close()
      clearTimeout(debounce)
      clearInterval(poll)
    },
  }
}

/** Whether the certificate and the key are there and belong together: not a replacement still half written. */
export function isWholePair<T extends { certPem?: string; keyPem?: string }>(files: T): files is T & { certPem: string; keyPem: string } {
  if (files.certPem === undefined || files.keyPem === undefined) return false
  try {
    return new X509Certificate(files.certPem).checkPrivateKey(createPrivateKey(files.keyPem))
  } catch {
    return false
  }
}

/** Tells one pair from another: the certificate and the key, hashed together. */
export const pairFingerprint = (pair: { certPem: string; keyPem: string }): string =>
  createHash('sha256').update(pair.certPem).update('\0').update(pair.keyPem).digest('hex')

// A certificate without its matching key is a replacement still half written: wait for the next event.
function currentPair(dir: string): { pair: ServingPair; fingerprint: string } | undefined {
  const files = readCertificateFiles(dir)
  if (!isWholePair(files)) return undefined
  const { caPem, certPem, keyPem } = files
  return { pair: caPem === undefined ? { certPem, keyPem } : { certPem, keyPem, caPem }, fingerprint: pairFingerprint(files) }
}
