// Starts the webhook server: settings, serving certificate (a directory or a shared Secret, renewed
// and reloaded live), the cluster snapshot from informers when a Kubernetes API is given, the app
// over HTTPS, and the orderly stop that lets in-flight admissions finish.
import { isIP } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Server as HttpsServer } from 'node:https'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import { createProvisionalPair, type ServingCertificate } from '../certs/index.ts'
import { clusterFromObjects, type ClusterSnapshot } from '../webhooks/cluster.ts'
import { allKinds } from '../webhooks/registry.ts'
import type { Settings } from '../webhooks/settings.ts'
import { createServerTransport, type ConfigSource } from '../kube/config.ts'
import { createStore, type Store } from '../kube/store.ts'
import { getOrUndefined } from '../kube/get-or-undefined.ts'
import { createClusterSnapshot, type InformedCluster } from '../kube/snapshot.ts'
import { startControllers, type Controllers } from './controllers/index.ts'
import { createPoolWriter, type PoolWriter } from '../kube/pool-writer.ts'
import { resources } from '../kube/resources.ts'
import { podReviewHandler } from './pod.ts'
import { startIdleMemoryTrim, type IdleTrim } from './memory-trim.ts'
import { endpointClaimHandler } from './endpoint-claim.ts'
import type { StoredPod } from '../webhooks/cluster.ts'
import { httpsServerOptions, secureContextOptions } from './tls.ts'
import { requireClientCertificate } from './client-certificate.ts'
import { keepServingCertificate, type CertificateLog, type ServingCertificateKeeper } from './serving-certificate.ts'
import { webhookConfigurationName } from './webhook-configurations.ts'

export const defaultTlsSecretName = 'spiderpool-controller-server-certs'

/** `files`: --tls-dir (generated there, or mounted by cert-manager). `secret`: a Secret every replica shares, caBundle injected. */
export type CertificateOptions =
  | { source: 'files'; dir: string }
  | {
      source: 'secret'
      /** default spiderpool-controller-server-certs, in `namespace` */
      secretName?: string
      mutatingWebhookConfiguration?: string
      validatingWebhookConfiguration?: string
      /** default 10 s */
      checkEveryMs?: number
    }

export interface WebhookServerOptions {
  host: string
  port: number
  /** the certificate directory (shorthand for `certificate: { source: 'files', dir }`) */
  tlsDir?: string
  certificate?: CertificateOptions
  /** names the serving certificate carries besides the Service's; default `localhost` and the loopback and listen addresses with `files`, none with `secret` */
  dnsNames?: readonly string[]
  ipAddresses?: readonly string[]
  /** PEM: admission requests must present a client certificate signed by it */
  clientCaPem?: string
  settings: Settings
  /** the Kubernetes API to judge against; absent: an empty cluster (standalone, benchmarks) */
  kube?: ConfigSource
  serviceName: string
  namespace: string
  logLevel: string
  /** on close, how long /readyz says 503 while still serving, so endpoints drop this replica first; default 0 */
  shutdownDelayMs?: number
  /** on close, how long in-flight requests may take before their connections are cut; default 10 s */
  drainTimeoutMs?: number
  /** after a burst of requests, once quiet this long, give V8's freed pages back (server/memory-trim.ts); default 30 s, 0: never */
  idleTrimMs?: number
}

export interface WebhookServer {
  app: FastifyInstance
  /** https://host:port */
  url: string
  /** the CA of the pair served ('' until loaded) */
  readonly caPem: string
  /** the pair served, once loaded */
  certificate(): ServingCertificate | undefined
  /** resolves with the first real pair (at once with a directory of ours; with files issued elsewhere once they are usable; with `secret` once the Secret could be read or written) */
  certificateLoaded: Promise<ServingCertificate>
  store?: Store
  cluster?: InformedCluster
  writer?: PoolWriter
  /** present with a Kubernetes API: reconcilers that run while this replica holds the lease */
  controllers?: Controllers
  /** memory-reducing GCs run after bursts so far */
  readonly memoryTrims: number
  /** The orderly stop: /readyz 503, no new connections, in-flight requests finish (bounded), pool writes flushed, controllers stopped and the lease released. */
  close(): Promise<void>
}

const unspecified = new Set(['0.0.0.0', '::'])

export async function startWebhookServer(o: WebhookServerOptions): Promise<WebhookServer> {
  const certificateOptions: CertificateOptions = o.certificate ?? (o.tlsDir !== undefined ? { source: 'files', dir: o.tlsDir } : undefined)!
  if (!certificateOptions) throw new Error('give the certificate directory (tlsDir) or a certificate source')
  if (certificateOptions.source === 'secret' && !o.kube) throw new Error('the certificate Secret needs a Kubernetes API (--kubeconfig or in-cluster)')

  let store: Store | undefined
  let cluster: InformedCluster | undefined
  let snapshot: () => ClusterSnapshot
  let writer: PoolWriter | undefined
  if (o.kube) {
    const api = createStore(await createServerTransport(o.kube))
    store = api
    const informed = createClusterSnapshot(api)
    cluster = informed
    informed.start()
    snapshot = () => informed.snapshot
    writer = createPoolWriter({ store: api, reservedIPs: () => informed.snapshot.reservedIPs(), cachedPool: (name) => informed.snapshot.ippool(name) })
  } else {
    const empty = clusterFromObjects()
    snapshot = () => empty
  }

  let closing = false
  let log: CertificateLog | undefined
  let useCertificate: (pair: ServingCertificate, why: string) => void = () => {}
  const local = certificateOptions.source === 'files'
  const keeper: ServingCertificateKeeper = keepServingCertificate({
    source: local
      ? { kind: 'files', dir: certificateOptions.dir }
      : {
          kind: 'secret',
          store: store!,
          secret: { namespace: o.namespace, name: certificateOptions.secretName ?? defaultTlsSecretName },
          webhookConfigurations: {
            mutating: certificateOptions.mutatingWebhookConfiguration ?? webhookConfigurationName,
            validating: certificateOptions.validatingWebhookConfiguration ?? webhookConfigurationName,
          },
          checkEveryMs: certificateOptions.checkEveryMs,
        },
    service: o.serviceName,
    namespace: o.namespace,
    dnsNames: o.dnsNames ?? (local ? ['localhost'] : []),
    ipAddresses: o.ipAddresses ?? (local ? ['127.0.0.1', '::1', ...(isIP(o.host) && !unspecified.has(o.host) ? [o.host] : [])] : []),
    log: { info: (fields, message) => log?.info(fields, message), warn: (fields, message) => log?.warn(fields, message) },
    onChange: (pair, why) => useCertificate(pair, why),
  })
  // a directory of ours answers at once; a Secret may wait on the API, and files issued elsewhere on their
  // issuer: meanwhile a provisional pair lets probes in and /readyz says 503
  let first: ServingCertificate | undefined
  let initial: { certPem: string; keyPem: string }
  try {
    first = await keeper.initial
    initial = first ?? (await createProvisionalPair())
  } catch (err) {
    await cluster?.stop()
    throw err
  }

  const app = buildApp({
    kinds: allKinds,
    settings: o.settings,
    cluster: snapshot,
    // decisions against a half-filled cache or with a pair the API server does not trust would be wrong
    ready: () => !closing && keeper.current() !== undefined && (cluster?.hasSynced() ?? true),
    https: httpsServerOptions(initial, o.clientCaPem),
    logger: { level: o.logLevel },
    pods: podReviewHandler({
      settings: o.settings,
      cluster: snapshot,
      writer,
      reservationTTLSeconds: o.settings.reservationTTLSeconds,
      readPool: store && ((name) => getOrUndefined(store!, resources.ippools, name)),
    }),
    endpoints: endpointClaimHandler({
      cluster: snapshot,
      writer,
      readPod: store && ((namespace, name) => getOrUndefined(store!, resources.pods, name, namespace) as Promise<StoredPod | undefined>),
    }),
  })
  if (o.clientCaPem !== undefined) app.addHook('onRequest', requireClientCertificate)
  const server = app.server as unknown as HttpsServer
  const certificateLog = app.log.child({ certificate: local ? certificateOptions.dir : `secret ${o.namespace}/${certificateOptions.secretName ?? defaultTlsSecretName}` })
  log = certificateLog
  useCertificate = (pair, why) => {
    server.setSecureContext(secureContextOptions(pair, o.clientCaPem))
    certificateLog.info({ notAfter: pair.notAfter.toISOString() }, why)
  }
  if (!first) void keeper.loaded.then((pair) => useCertificate(pair, local ? 'serving the certificate files' : 'serving the certificate from the Secret'))
  keeper.start()

  // admissions are what come in bursts; a 'request' listener on the server would count probes too, and cost every request ~10 µs
  const trim: IdleTrim | undefined =
    o.idleTrimMs === 0
      ? undefined
      : startIdleMemoryTrim({
          served: () => app.webhookMetrics.answered,
          quietMs: o.idleTrimMs,
          onTrim: ({ requests, ms, rssBefore, rssAfter }) =>
            app.log.debug({ requests, ms: Math.round(ms), rssBeforeMiB: Math.round(rssBefore / 2 ** 20), rssAfterMiB: Math.round(rssAfter / 2 ** 20) }, 'quiet after a burst: memory given back'),
        })

  const controllers = store && cluster ? startControllers({ store, cluster, log: app.log, namespace: o.namespace, writer, settings: o.settings }) : undefined

  let closed: Promise<void> | undefined
  const close = () => (closed ??= shutDown())
  async function shutDown(): Promise<void> {
    closing = true
    trim?.stop()
    if (o.shutdownDelayMs) await new Promise((r) => setTimeout(r, o.shutdownDelayMs))
    keeper.stop()
    // fastify stops listening, answers 503 to requests arriving on open connections, and waits for those in flight
    const drainTimeoutMs = o.drainTimeoutMs ?? 10_000
    const cut = setTimeout(() => {
      app.log.warn({ drainTimeoutMs }, 'requests still in flight: closing their connections')
      server.closeAllConnections()
    }, drainTimeoutMs)
    try {
      await app.close()
    } finally {
      clearTimeout(cut)
    }
    await writer?.flush()
    await controllers?.stop()
    await cluster?.stop()
  }

  try {
    await app.listen({ host: o.host, port: o.port })
  } catch (err) {
    await close()
    throw err
  }
  const address = app.server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    app,
    url: `https://${host}:${address.port}`,
    get caPem() {
      return keeper.current()?.caPem ?? ''
    },
    certificate: keeper.current,
    certificateLoaded: keeper.loaded,
    store,
    cluster,
    writer,
    controllers,
    get memoryTrims() {
      return trim?.trims ?? 0
    },
    close,
  }
}
