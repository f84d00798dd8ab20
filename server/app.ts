// The webhook server: one Fastify app built from encapsulated plugins (health, metrics,
// admission) over shared decorations (settings, cluster snapshot, metrics).
import fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { STATUS_CODES } from 'node:http'
import type { TlsOptions } from 'node:tls'
import type { KindWebhook } from '../webhooks/kind.ts'
import type { Settings } from '../webhooks/settings.ts'
import type { ClusterSnapshot } from '../webhooks/cluster.ts'
import { admissionRoutes, type ReviewHandler } from './admission.ts'
import { healthRoutes } from './health.ts'
import { lazyChild } from './lazy-logger.ts'
import { createWebhookMetrics, metricsRoutes } from './metrics.ts'

declare module 'fastify' {
  interface FastifyInstance {
    settings: Settings
    /** the cluster snapshot of the moment */
    cluster: () => ClusterSnapshot
  }
}

/** etcd's default request limit: no stored object can be larger */
export const bodyLimit = 3 * 1024 * 1024

export interface AppOptions {
  kinds: readonly KindWebhook[]
  settings: Settings
  cluster: () => ClusterSnapshot
  /** /readyz answers 200 only while this returns true; absent: always ready */
  ready?: () => boolean
  /** PEM key and certificate, and any other https.createServer option (server/tls.ts); absent: plain HTTP (tests with inject) */
  https?: TlsOptions & { key: string | Buffer; cert: string | Buffer; maxHeaderSize?: number }
  logger?: FastifyServerOptions['logger']
  /** the pod webhook's handler (/mutate--v1-pod); absent: the route is not served */
  pods?: ReviewHandler
  /** the endpoint webhook's handler (/mutate-spiderpool-spidernet-io-v2beta1-spiderendpoint); absent: not served */
  endpoints?: ReviewHandler
}

export function buildApp(options: AppOptions): FastifyInstance {
  const serverOptions: FastifyServerOptions & { https?: object } = {
    logger: options.logger ?? false,
    // probes every few seconds would drown the one line each admission review logs
    logController: new LogController({ disableRequestLogging: true }),
    // request loggers bind the request id only when they write a line
    ...(options.logger && { childLoggerFactory: lazyChild }),
    bodyLimit,
    ...(options.https && { https: { minVersion: 'TLSv1.2', ...options.https } }),
  }
  const app = fastify(serverOptions) as unknown as FastifyInstance

  app.decorate('settings', options.settings)
  app.decorate('cluster', options.cluster)
  app.decorate('webhookMetrics', createWebhookMetrics())

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: STATUS_CODES[404], message: `no route for ${request.method} ${request.url}` })
  })
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const code = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
    if (code >= 500) request.log.error({ err: error }, 'request failed')
    else request.log.info({ code, errorCode: error.code }, error.message)
    const message =
      error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? `content type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted: send application/json`
        : error.message
    reply.code(code).send({ error: STATUS_CODES[code] ?? 'Error', message })
  })

  app.register(healthRoutes, { ready: options.ready })
  app.register(metricsRoutes)
  app.register(admissionRoutes, { kinds: options.kinds, pods: options.pods, endpoints: options.endpoints })
  return app
}
