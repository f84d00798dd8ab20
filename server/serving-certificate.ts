// Where the serving certificate comes from and how it stays fresh. `files`: a directory, either ours
// (generated and renewed there, ca.key included) or issued by someone else — cert-manager's Secret,
// mounted read-only, whose cainjector fills the caBundle — which is served as it is and never written.
// `secret`: a Secret shared by every replica; each replica checks it periodically, issues a new pair
// when it is missing, expiring or for other names (one write wins), reloads a pair another replica
// wrote, and puts the CA into the webhook configurations.
import { join } from 'node:path'
import {
  checkIssuedPair,
  ensureServingCertificate,
  isIssuedElsewhere,
  isWholePair,
  issueCertificateFiles,
  pairFingerprint,
  servingCertificateOf,
  startCertificateRenewal,
  watchCertificateFiles,
  type CertificateFiles,
  type PairFinding,
  type ServingCertificate,
  type ServingFiles,
} from '../certs/index.ts'
import { readCertificateFiles } from '../certs/store.ts'
import { updateCertificateSecret, type CertificateSecretRef } from '../kube/certificate-secret.ts'
import { injectCaBundle, type WebhookConfigurationNames } from '../kube/ca-bundle.ts'
import type { Store } from '../kube/store.ts'

export type CertificateSource =
  | {
      kind: 'files'
      dir: string
      /** with a pair issued elsewhere: how often it is looked at again (expiry, a pair not usable yet); default 60 s */
      checkEveryMs?: number
    }
  | {
      kind: 'secret'
      store: Store
      secret: CertificateSecretRef
      webhookConfigurations: WebhookConfigurationNames
      /** how often the Secret is read again (renewal due, another replica's renewal); default 10 s */
      checkEveryMs?: number
    }

export interface ServingCertificateOptions {
  source: CertificateSource
  service: string
  namespace: string
  /** names besides the Service's own; every replica sharing a Secret must be given the same */
  dnsNames: readonly string[]
  ipAddresses: readonly string[]
  log: CertificateLog
  /** a pair to serve from now on (not called for the first one) */
  onChange: (pair: ServingCertificate, why: string) => void
  now?: () => Date
}

/** The two levels used; a logger may be handed over before the server's own exists (it is called only after start()). */
export interface CertificateLog {
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
}

export interface ServingCertificateKeeper {
  /** the pair served, once loaded */
  current(): ServingCertificate | undefined
  /** the first pair: a directory of ours is read (or filled) at once; a pair issued elsewhere once it is usable; with `secret` it keeps trying, from start(), until the API answers */
  loaded: Promise<ServingCertificate>
  /** what to serve from the first handshake: the first pair when it needs no one else, undefined while it does (a provisional pair then lets probes in) */
  initial: Promise<ServingCertificate | undefined>
  /** begins renewing, watching, reading the Secret */
  start(): void
  stop(): void
}

export function keepServingCertificate(o: ServingCertificateOptions): ServingCertificateKeeper {
  if (o.source.kind === 'secret') return keepSecret(o, o.source)
  let files: CertificateFiles = {}
  try {
    files = readCertificateFiles(o.source.dir)
  } catch {
    // unreadable: a read-only mount is reported (and waited on) below; our own directory fails as it always did
  }
  return isIssuedElsewhere(o.source.dir, files) ? keepFilesIssuedElsewhere(o, o.source) : keepOwnFiles(o, o.source.dir)
}

function keepOwnFiles(o: ServingCertificateOptions, dir: string): ServingCertificateKeeper {
  const names = { dir, service: o.service, namespace: o.namespace, dnsNames: o.dnsNames, ipAddresses: o.ipAddresses }
  let current: ServingCertificate | undefined
  let stops: (() => void)[] = []
  const onError = (err: unknown): void => o.log.warn({ err }, 'serving certificate check failed')
  let stopped = false
  const loaded = ensureServingCertificate({ ...names, now: o.now?.() }).then((first) => {
    current = first
    return first
  })
  const start = (): void => {
    if (stopped || stops.length > 0 || !current) return
    const renewal = startCertificateRenewal({
      ...names,
      now: o.now,
      onError,
      onRenewed: (b) => {
        current = b
        o.onChange(b, 'serving certificate renewed')
      },
    })
    const watcher = watchCertificateFiles(
      dir,
      (p) => {
        current = servingCertificateOf({ caPem: p.caPem ?? current!.caPem, certPem: p.certPem, keyPem: p.keyPem }, false)
        o.onChange(current, 'serving certificate files replaced')
      },
      { onError },
    )
    stops = [() => renewal.stop(), () => watcher.close()]
  }
  const stop = (): void => {
    stopped = true
    stops.forEach((s) => s())
  }
  return { current: () => current, loaded, initial: loaded, start, stop }
}

// Findings are told once per pair and reason: the directory is looked at every minute, the operator needs to read it once.
function keepFilesIssuedElsewhere(o: ServingCertificateOptions, source: Extract<CertificateSource, { kind: 'files' }>): ServingCertificateKeeper {
  const { dir } = source
  const checkEveryMs = source.checkEveryMs ?? 60_000
  let current: ServingCertificate | undefined
  let started = false
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let watcher: { close(): void } | undefined
  let onFirst: (pair: ServingCertificate) => void
  const loaded = new Promise<ServingCertificate>((resolve) => (onFirst = resolve))
  // the server's logger exists from start(): what is found before waits for it
  const held: (() => void)[] = []
  const log = (level: 'info' | 'warn', fields: object, message: string): void => {
    const say = () => o.log[level](fields, message)
    if (started) say()
    else held.push(say)
  }
  const told = new Set<string>()
  const once = (key: string, say: () => void): void => {
    if (told.has(key)) return
    told.add(key)
    say()
  }
  const tell = (pair: string, findings: PairFinding[], what: string): void => {
    for (const { file, reason } of findings) {
      const path = join(dir, file)
      once(`${pair}\0${file}\0${reason}`, () => log('warn', { file: path, reason }, `${what}: ${path} ${reason}`))
    }
  }
  const read = (): CertificateFiles | undefined => {
    try {
      return readCertificateFiles(dir)
    } catch (err) {
      once(`read\0${(err as Error).message}`, () => log('warn', { err }, `serving certificate files not readable, not ready until they are: ${(err as Error).message}`))
      return undefined
    }
  }
  const consider = (files: CertificateFiles, why: string): void => {
    if (stopped) return
    const id = pairFingerprint({ certPem: files.certPem ?? '', keyPem: files.keyPem ?? '' })
    const served = current !== undefined && pairFingerprint(current) === id
    const report = checkIssuedPair(files, { service: o.service, namespace: o.namespace, now: o.now?.() ?? new Date() })
    if (!report.pair) {
      const what = served
        ? 'the serving certificate is no longer usable and nothing has replaced it'
        : current
          ? 'replacement serving certificate not usable, the previous one is still served'
          : 'no usable serving certificate yet, not ready until it is replaced'
      tell(id, report.problems, what)
      return
    }
    tell(id, report.warnings, 'serving certificate served with a warning')
    const first = current === undefined
    current = report.pair
    if (served) return
    if (first) onFirst(current)
    else o.onChange(current, why)
  }
  // for a pair that was not usable yet (not valid before a time now past) or a replacement the watcher
  // missed; one half written (a certificate without its key, by a writer less careful than kubelet) waits
  const lookAtDir = (): void => {
    const files = read()
    if (files && (!current || isWholePair(files))) consider(files, 'serving certificate files replaced')
  }
  const check = (): void => {
    // the pair served too, for what time does to it
    if (current) consider({ caPem: current.caPem || undefined, certPem: current.certPem, keyPem: current.keyPem }, 'serving certificate files replaced')
    lookAtDir()
    if (stopped) return
    timer = setTimeout(check, checkEveryMs)
    timer.unref()
  }

  const first = read()
  if (first) consider(first, 'serving certificate files loaded')
  return {
    current: () => current,
    loaded,
    initial: Promise.resolve(current),
    start() {
      if (started || stopped) return
      started = true
      o.log.info({ dir }, 'serving certificate files issued elsewhere (no ca.key here, or read-only): served as they are and never written; replacements are picked up live')
      held.splice(0).forEach((say) => say())
      watcher = watchCertificateFiles(dir, (p) => consider(p, 'serving certificate files replaced'), {
        onError: (err) => o.log.warn({ err }, 'watching the serving certificate files failed'),
      })
      // what changed between the first read and the watcher's own first look
      lookAtDir()
      timer = setTimeout(check, checkEveryMs)
      timer.unref()
    },
    stop() {
      stopped = true
      clearTimeout(timer)
      watcher?.close()
    },
  }
}

function keepSecret(o: ServingCertificateOptions, source: Extract<CertificateSource, { kind: 'secret' }>): ServingCertificateKeeper {
  const checkEveryMs = source.checkEveryMs ?? 10_000
  const names = { service: o.service, namespace: o.namespace, dnsNames: o.dnsNames, ipAddresses: o.ipAddresses }
  let current: ServingCertificate | undefined
  let servedFingerprint: string | undefined
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let failures = 0
  const reportedMissing = new Set<string>()
  let onFirst: (pair: ServingCertificate) => void
  const loaded = new Promise<ServingCertificate>((resolve) => (onFirst = resolve))

  const check = async (): Promise<void> => {
    const outcome = await updateCertificateSecret(source.store, source.secret, async (files) => {
      const issued = await issueCertificateFiles(files, names, o.now?.() ?? new Date())
      return { files: issued.files, changed: issued.work !== 'reuse' }
    })
    if (stopped) return
    const files: ServingFiles = outcome.files
    const seen = pairFingerprint(files)
    if (seen !== servedFingerprint) {
      const first = servedFingerprint === undefined
      servedFingerprint = seen
      current = servingCertificateOf(files, outcome.written)
      const why = outcome.written ? 'serving certificate issued and stored in the Secret' : first ? 'serving certificate loaded from the Secret' : 'serving certificate renewed by another replica'
      o.log.info({ secret: `${source.secret.namespace}/${source.secret.name}`, notAfter: current.notAfter.toISOString() }, why)
      if (first) onFirst(current)
      else o.onChange(current, why)
    }
    for (const r of await injectCaBundle(source.store, source.webhookConfigurations, files.caPem)) {
      const key = `${r.kind}/${r.name}`
      if (r.outcome === 'updated') o.log.info({ [r.kind]: r.name }, 'CA bundle injected')
      if (r.outcome !== 'missing') reportedMissing.delete(key)
      else if (!reportedMissing.has(key)) {
        reportedMissing.add(key)
        o.log.warn({ [r.kind]: r.name }, 'webhook configuration not found: its CA bundle is injected once it exists')
      }
    }
  }
  const loop = async (): Promise<void> => {
    let wait = checkEveryMs
    try {
      await check()
      failures = 0
    } catch (err) {
      failures++
      o.log.warn({ err, secret: `${source.secret.namespace}/${source.secret.name}` }, 'serving certificate check failed')
      // until a first pair is loaded the server cannot become ready: try again soon, backing off
      if (!current) wait = Math.min(checkEveryMs, 250 * 2 ** Math.min(failures, 6))
    }
    if (stopped) return
    timer = setTimeout(() => void loop(), wait)
    timer.unref()
  }
  let started = false
  return {
    current: () => current,
    loaded,
    initial: Promise.resolve(undefined),
    start() {
      if (started || stopped) return
      started = true
      void loop()
    },
    stop() {
      stopped = true
      clearTimeout(timer)
    },
  }
}
