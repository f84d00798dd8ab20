// The admission routes: /mutate-… and /validate-… for every kind. Everything below the
// per-kind rules happens here once: body check, uid echo, context, logging, metrics, and a
// rule that throws turned into a 500 answer instead of a crash.
import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import { Ajv, type ErrorObject } from 'ajv'
import type { AdmissionContext, KindWebhook } from '../webhooks/kind.ts'
import { admissionReviewSchema } from '../schemas/admissionreview.ts'
import { openAPIValidator } from '../schemas/validate.ts'
import { defaultingDecision } from './defaulter.ts'
import { validationDecision } from './validator.ts'
import { kindMismatch, reviewResponse, version, type AdmissionRequest, type AdmissionReview, type Decision } from './review.ts'
import { internalErrorStatus } from './status.ts'
import type { Verdict } from './metrics.ts'

export interface AdmissionOptions {
  kinds: readonly KindWebhook[]
  pods?: ReviewHandler
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the kind label of the admission metrics */
    admissionKind?: string
  }
  interface FastifyRequest {
    admission: { operation: string; verdict: Verdict } | null
  }
}

const pathPrefix = `spiderpool-spidernet-io-${version}`

/** Decides one review; may be async (the pod webhook will reserve IPs). Throwing means the server is broken. */
export type ReviewHandler = (request: AdmissionRequest, log: FastifyBaseLogger) => Decision | Promise<Decision>

export const admissionRoutes: FastifyPluginAsync<AdmissionOptions> = async (app, { kinds, pods }) => {
  // strict about the review's own fields: no coercion, no defaults, every problem named
  const ajv = new Ajv({ allErrors: true, allowUnionTypes: true })
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema))
  app.setSchemaErrorFormatter((errors) => new Error(`not an AdmissionReview v1: ${errors.map(reviewErrorText).join('; ')}`))
  // AdmissionReviews are JSON; anything else is 415, not parsed as text
  app.removeContentTypeParser('text/plain')
  app.decorateRequest('admission', null)
  app.addHook('onResponse', async (request, reply) => {
    const kind = request.routeOptions.config.admissionKind
    if (kind === undefined) return
    const { operation, verdict } = request.admission ?? { operation: '', verdict: 'error' as const }
    app.webhookMetrics.requests.inc({ kind, operation, verdict })
    app.webhookMetrics.duration.observe({ kind }, reply.elapsedTime / 1000)
  })

  for (const kind of kinds) {
    const typeCheck = openAPIValidator(kind.schema)
    const context = (request: AdmissionRequest): AdmissionContext => ({
      operation: request.operation,
      settings: app.settings,
      cluster: app.cluster(),
      dryRun: request.dryRun === true,
    })
    const serveKind = (decide: typeof defaultingDecision): ReviewHandler => (request) =>
      kindMismatch(kind, request) ?? decide(kind, typeCheck, request, context(request))
    serveReview(app, `/mutate-${pathPrefix}-${kind.pathName}`, kind.kind, serveKind(defaultingDecision))
    serveReview(app, `/validate-${pathPrefix}-${kind.pathName}`, kind.kind, serveKind(validationDecision))
  }
  if (pods) serveReview(app, '/mutate--v1-pod', 'Pod', pods)
}

/** One admission route: the review is checked against the AdmissionReview schema before `handle` sees it. */
export function serveReview(app: FastifyInstance, path: string, metricsKind: string, handle: ReviewHandler): void {
  app.post(path, { schema: { body: admissionReviewSchema }, config: { admissionKind: metricsKind } }, async (req: FastifyRequest) => {
    const request = (req.body as AdmissionReview).request
    const log = req.log.child({ uid: request.uid })
    let decision: Decision
    try {
      decision = await handle(request, log)
    } catch (err) {
      log.error({ err, kind: metricsKind, operation: request.operation }, 'admission handler failed')
      decision = { allowed: false, status: internalErrorStatus(`internal error while reviewing ${metricsKind}: ${(err as Error)?.message ?? err}`) }
    }
    const verdict: Verdict = decision.allowed ? 'allowed' : decision.status.code >= 500 ? 'error' : 'denied'
    req.admission = { operation: request.operation, verdict }
    // an admitted object is routine (debug); a refusal is what an operator looks for (info)
    const level = decision.allowed ? 'debug' : 'info'
    log[level](
      {
        kind: metricsKind,
        operation: request.operation,
        name: request.name,
        namespace: request.namespace,
        dryRun: request.dryRun === true,
        verdict,
        ...(decision.allowed
          ? { patchOperations: decision.patch?.length ?? 0 }
          : { code: decision.status.code, reason: decision.status.reason, denial: decision.status.message }),
      },
      'admission reviewed',
    )
    if (decision.allowed && decision.patch?.length) log.debug({ patch: decision.patch }, 'patch')
    return reviewResponse(request.uid, decision)
  })
}

/** `request.uid must be string` / `request.kind is required`, from ajv's pointer paths. */
function reviewErrorText(e: ErrorObject): string {
  const at = e.instancePath.slice(1).split('/').filter(Boolean).join('.')
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty
    return `${at ? `${at}.` : ''}${missing} is required`
  }
  if (e.keyword === 'const' || e.keyword === 'enum') {
    const allowed = e.keyword === 'const' ? [(e.params as { allowedValue: unknown }).allowedValue] : (e.params as { allowedValues: unknown[] }).allowedValues
    return `${at || 'the body'} must be ${allowed.map((v) => JSON.stringify(v)).join(' or ')}`
  }
  return `${at || 'the body'} ${e.message ?? `fails ${e.keyword}`}`
}
