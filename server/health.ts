// Liveness and readiness probes: /healthz answers while the process serves at all,
// /readyz only once the caller's `ready()` says the server can judge requests.
import type { FastifyPluginAsync } from 'fastify'

export interface HealthOptions {
  ready?: () => boolean
}

export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, options) => {
  const ready = options.ready ?? (() => true)
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    if (ready()) return { status: 'ok' }
    return reply.code(503).send({ status: 'not ready' })
  })
}
