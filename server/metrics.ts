// Prometheus metrics of the admission webhooks, in a registry of their own (never prom-client's
// global one, so that several apps in one process do not share counters), and the /metrics route.
import { Counter, Histogram, Registry } from 'prom-client'
import type { FastifyPluginAsync } from 'fastify'

export type Verdict = 'allowed' | 'denied' | 'error'

export interface WebhookMetrics {
  registry: Registry
  requests: Counter<'kind' | 'operation' | 'verdict'>
  duration: Histogram<'kind'>
  /** reviews answered, as a plain number (the idle memory trim reads it every few seconds) */
  answered: number
}

export function createWebhookMetrics(): WebhookMetrics {
  const registry = new Registry()
  const requests = new Counter({
    name: 'spiderpool_webhook_requests_total',
    help: 'Admission reviews answered, by kind, operation and verdict',
    labelNames: ['kind', 'operation', 'verdict'] as const,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'spiderpool_webhook_request_duration_seconds',
    help: 'Time from receiving an admission review to answering it',
    labelNames: ['kind'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })
  return { registry, requests, duration, answered: 0 }
}

declare module 'fastify' {
  interface FastifyInstance {
    webhookMetrics: WebhookMetrics
  }
}

/** GET /metrics from the decorated `webhookMetrics` registry. */
export const metricsRoutes: FastifyPluginAsync = async (app) => {
  app.get('/metrics', async (_request, reply) => {
    const { registry } = app.webhookMetrics
    reply.type(registry.contentType)
    return registry.metrics()
  })
}
