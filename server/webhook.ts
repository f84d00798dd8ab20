// Starts the webhook server: settings, serving certificate (generated, renewed, hot-reloaded),
// the cluster snapshot from informers when a Kubernetes API is given, and the app over HTTPS.
import { isIP } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Server as TLSServer } from 'node:tls'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import { ensureServingCertificate, startCertificateRenewal, watchCertificateFiles } from '../certs/index.ts'
import { clusterFromObjects, type ClusterSnapshot } from '../webhooks/cluster.ts'
import { allKinds } from '../webhooks/registry.ts'
import type { Settings } from '../webhooks/settings.ts'
import { createServerTransport, type ConfigSource } from '../kube/config.ts'
import { createStore, type Store } from '../kube/store.ts'
import { createClusterSnapshot, type InformedCluster } from '../kube/snapshot.ts'
import { startControllers, type Controllers } from './controllers/index.ts'
import { createPoolWriter, type PoolWriter } from '../kube/pool-writer.ts'
import { resources } from '../kube/resources.ts'
import { isNotFound } from '../kube/errors.ts'
import { podReviewHandler } from './pod.ts'

export interface WebhookServerOptions {
  host: string
  port: number
  tlsDir: string
  settings: Settings
  /** the Kubernetes API to judge against; absent: an empty cluster (standalone, benchmarks) */
  kube?: ConfigSource
  serviceName: string
  namespace: string
  logLevel: string
}

export interface WebhookServer {
  app: FastifyInstance
  /** https://host:port */
  url: string
  caPem: string
  store?: Store
  cluster?: InformedCluster
  writer?: PoolWriter
  /** present with a Kubernetes API: reconcilers that run while this replica holds the lease */
  controllers?: Controllers
  close(): Promise<void>
}

const unspecified = new Set(['0.0.0.0', '::'])

export async function startWebhookServer(o: WebhookServerOptions): Promise<WebhookServer> {
  const certificate = {
    dir: o.tlsDir,
    service: o.serviceName,
    namespace: o.namespace,
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1', ...(isIP(o.host) && !unspecified.has(o.host) ? [o.host] : [])],
  }
  const tls = await ensureServingCertificate(certificate)

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

  const app = buildApp({
    kinds: allKinds,
    settings: o.settings,
    cluster: snapshot,
    // decisions against a half-filled cache would be wrong: not ready until every informer synced
    ready: () => cluster?.hasSynced() ?? true,
    https: { key: tls.keyPem, cert: tls.certPem },
    logger: { level: o.logLevel },
    pods: podReviewHandler({
      settings: o.settings,
      cluster: snapshot,
      writer,
      reservationTTLSeconds: o.settings.reservationTTLSeconds,
      readPool: store && (async (name) => store!.get(resources.ippools, name).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)))),
    }),
  })
  const server = app.server as unknown as TLSServer
  const useCertificate = (pair: { certPem: string; keyPem: string }, why: string): void => {
    server.setSecureContext({ cert: pair.certPem, key: pair.keyPem, minVersion: 'TLSv1.2' })
    app.log.info({ dir: o.tlsDir }, why)
  }
  const onCertificateError = (err: unknown): void => app.log.warn({ err }, 'serving certificate check failed')
  const renewal = startCertificateRenewal({ ...certificate, onRenewed: (b) => useCertificate(b, 'serving certificate renewed'), onError: onCertificateError })
  const watcher = watchCertificateFiles(o.tlsDir, (p) => useCertificate(p, 'serving certificate files replaced'), { onError: onCertificateError })
  const controllers = store && cluster ? startControllers({ store, cluster, log: app.log, namespace: o.namespace, writer, settings: o.settings }) : undefined
  const close = async () => {
    renewal.stop()
    watcher.close()
    await controllers?.stop()
    await app.close()
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
  return { app, url: `https://${host}:${address.port}`, caPem: tls.caPem, store, cluster, writer, controllers, close }
}
