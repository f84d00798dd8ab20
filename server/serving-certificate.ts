// Where the serving certificate comes from and how it stays fresh. `files`: a directory (generated
// there, or mounted from cert-manager's Secret, whose cainjector fills the caBundle). `secret`: a
// Secret shared by every replica; each replica checks it periodically, issues a new pair when it is
// missing, expiring or for other names (one write wins), reloads a pair another replica wrote, and
// puts the CA into the webhook configurations.
import { createHash } from 'node:crypto'
import {
  ensureServingCertificate,
  issueCertificateFiles,
  servingCertificateOf,
  startCertificateRenewal,
  watchCertificateFiles,
  type ServingCertificate,
  type ServingFiles,
} from '../certs/index.ts'
import { updateCertificateSecret, type CertificateSecretRef } from '../kube/certificate-secret.ts'
import { injectCaBundle, type WebhookConfigurationNames } from '../kube/ca-bundle.ts'
import type { Store } from '../kube/store.ts'

export type CertificateSource =
  | { kind: 'files'; dir: string }
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
  /** the first pair: a directory is read at once; with `secret` it keeps trying, from start(), until the API answers */
  loaded: Promise<ServingCertificate>
  /** begins renewing, watching, reading the Secret */
  start(): void
  stop(): void
}

const fingerprint = (pair: { certPem: string; keyPem: string }) => createHash('sha256').update(pair.certPem).update('\0').update(pair.keyPem).digest('hex')

export function keepServingCertificate(o: ServingCertificateOptions): ServingCertificateKeeper {
  return o.source.kind === 'files' ? keepFiles(o, o.source.dir) : keepSecret(o, o.source)
}

function keepFiles(o: ServingCertificateOptions, dir: string): ServingCertificateKeeper {
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
  return { current: () => current, loaded, start, stop }
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
    const seen = fingerprint(files)
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
