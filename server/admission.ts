// The admission routes: /mutate-… and /validate-… for every kind. Everything below the
// per-kind rules happens here once: body check, uid echo, context, logging, metrics, and a
// rule that throws turned into a 500 answer instead of a crash.
import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { Ajv, type ErrorObject } from 'ajv'
import type { AdmissionContext, KindWebhook } from '../webhooks/kind.ts'
import { admissionReviewSchema } from '../schemas/admissionreview.ts'
import { openAPIValidator } from '../schemas/validate.ts'
import { defaultingDecision } from './defaulter.ts'
import { validationDecision } from './validator.ts'
import { kindMismatch, reviewResponse, tooDeeplyNested, version, type AdmissionRequest, type AdmissionReview, type Decision } from './review.ts'
import { internalErrorStatus } from './status.ts'
import type { Verdict } from './metrics.ts'
import { writesAt } from './lazy-logger.ts'

export interface AdmissionOptions {
  kinds: readonly KindWebhook[]
  pods?: ReviewHandler
  /** the endpoint webhook's handler (claims at the SpiderEndpoint write) */
  endpoints?: ReviewHandler
}

declare module 'fastify' {
  interface FastifyRequest {
    admission: { operation: string; verdict: Verdict } | null
  }
}

const pathPrefix = `spiderpool-spidernet-io-${version}`

/** Decides one review; may be async (the pod webhook will reserve IPs). Throwing means the server is broken. */
export type ReviewHandler = (request: AdmissionRequest, log: FastifyBaseLogger) => Decision | Promise<Decision>

export const admissionRoutes: FastifyPluginAsync<AdmissionOptions> = async (app, { kinds, pods, endpoints }) => {
  const ajv = reviewAjv()
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema))
  app.setSchemaErrorFormatter((errors) => new Error(`not an AdmissionReview v1: ${errors.map(reviewErrorText).join('; ')}`))
  // AdmissionReviews are JSON; anything else is 415, not parsed as text
  app.removeContentTypeParser('text/plain')
  // Fastify's JSON parser (secure-json-parse) runs two regular expressions over every body; it is
  // kept for the bodies that could carry a __proto__ or constructor key, the rest need JSON.parse only
  const guardedJsonParser = app.getDefaultJsonParser(app.initialConfig.onProtoPoisoning ?? 'error', app.initialConfig.onConstructorPoisoning ?? 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string
    let review: unknown
    if (text.length === 0 || mayPoisonPrototypes(text)) return guardedJsonParser(req, text, done)
    try {
      review = JSON.parse(text)
    } catch {
      // the guarded parser words the error as for any other bad body
      return guardedJsonParser(req, text, done)
    }
    done(null, review)
  })
  app.decorateRequest('admission', null)

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
  if (endpoints) serveReview(app, `/mutate-${pathPrefix}-spiderendpoint`, 'SpiderEndpoint', endpoints)
}

/** The Ajv the routes compile the AdmissionReview schema with: strict about the review's own fields (no coercion, no defaults), every problem named. */
export const reviewAjv = (): Ajv => new Ajv({ allErrors: true, allowUnionTypes: true })

/**
 * Whether a key of the parsed text could be `__proto__` or `constructor`: only such a body needs
 * the guarded parser's walk (secure-json-parse). Spelled otherwise than literally, a key needs a `\u` escape.
 */
function mayPoisonPrototypes(text: string): boolean {
  return text.includes('__proto__') || text.includes('constructor') || text.includes('\\u')
}

/** One admission route: the review is checked against the AdmissionReview schema before `handle` sees it. */
export function serveReview(app: FastifyInstance, path: string, metricsKind: string, handle: ReviewHandler): void {
  const metrics = app.webhookMetrics
  const { requests, duration } = metrics
  const durationOfKind = duration.labels(metricsKind)
  // a body that is not a review is answered before the handler runs: it counts as an error
  const recordReview = (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const { operation, verdict } = req.admission ?? { operation: '', verdict: 'error' as const }
    requests.inc({ kind: metricsKind, operation, verdict })
    durationOfKind.observe(reply.elapsedTime / 1000)
    metrics.answered++
    done()
  }
  const failure = (log: FastifyBaseLogger, request: AdmissionRequest, err: unknown): Decision => {
    log.error({ err, kind: metricsKind, operation: request.operation }, 'admission handler failed')
    return { allowed: false, status: internalErrorStatus(`internal error while reviewing ${metricsKind}: ${(err as Error)?.message ?? err}`) }
  }
  app.post(path, { schema: { body: admissionReviewSchema }, onResponse: recordReview }, (req: FastifyRequest, reply: FastifyReply) => {
    const request = (req.body as AdmissionReview).request
    const log = req.log.child({ uid: request.uid })
    const answer = (decision: Decision) => answerReview(req, log, metricsKind, request, decision)
    let decided: Decision | Promise<Decision>
    try {
      decided = tooDeeplyNested(request) ?? handle(request, log)
    } catch (err) {
      decided = failure(log, request, err)
    }
    // validation is synchronous: answering at once spares it the promise machinery of an async handler
    if (decided instanceof Promise) return decided.then(answer, (err: unknown) => answer(failure(log, request, err)))
    reply.send(answer(decided))
  })
}

/** Logs the decision and turns it into the response review. */
function answerReview(req: FastifyRequest, log: FastifyBaseLogger, kind: string, request: AdmissionRequest, decision: Decision) {
  const verdict: Verdict = decision.allowed ? 'allowed' : decision.status.code >= 500 ? 'error' : 'denied'
  req.admission = { operation: request.operation, verdict }
  // an admitted object is routine (debug); a refusal is what an operator looks for (info)
  const level = decision.allowed ? 'debug' : 'info'
  if (writesAt(log, level)) {
    log[level](
      {
        kind,
        operation: request.operation,
        name: request.name,
        namespace: request.namespace,
        dryRun: request.dryRun === true,
        verdict,
        ...(decision.allowed
          ? { patchOperations: decision.patch?.length ?? 0 }
          : { code: decision.status.code, reason: decision.status.reason, denial: clipped(decision.status.message) }),
      },
      'admission reviewed',
    )
  }
  if (decision.allowed && decision.patch?.length) log.debug({ patch: decision.patch }, 'patch')
  return reviewResponse(request.uid, decision)
}

// an object with thousands of bad entries is refused with every error named: its log line must not grow with it
const loggedDenialLength = 2000

function clipped(message: string | undefined): string | undefined {
  return message === undefined || message.length <= loggedDenialLength ? message : `${message.slice(0, loggedDenialLength)}… (${message.length - loggedDenialLength} more characters)`
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
