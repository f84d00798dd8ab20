// What each admission step costs bench/webhook's review in a warm tight loop, no HTTP: the least
// our server's own work can cost per review, with every cache warm. bench/webhook sets it beside
// the budget its calibration gives; run alone (`node bench/admission-steps.ts`) it prints the steps.
import { admissionReviewSchema } from '../schemas/admissionreview.ts'
import { openAPIValidator } from '../schemas/validate.ts'
import { reviewAjv } from '../server/admission.ts'
import { createWebhookMetrics } from '../server/metrics.ts'
import { kindMismatch, reviewResponse, tooDeeplyNested, type AdmissionReview } from '../server/review.ts'
import { validationDecision } from '../server/validator.ts'
import { clusterFromObjects } from '../webhooks/cluster.ts'
import type { AdmissionContext, KindWebhook } from '../webhooks/kind.ts'
import { spiderIPPoolWebhook } from '../webhooks/spiderippool/index.ts'
import { defaultSettings } from '../webhooks/settings.ts'
import { body } from './spiderippool-review.ts'

export interface Step {
  step: string
  microseconds: number
}

/** µs per call of each step, over `calls` calls after as many again to warm up; distinct parsed copies of the review, as the server gets. */
export function measureAdmissionSteps(calls = 200_000): { steps: Step[]; admissionWork: number } {
  const kind = spiderIPPoolWebhook as unknown as KindWebhook
  const typeCheck = openAPIValidator(kind.schema)
  const reviewCheck = reviewAjv().compile(admissionReviewSchema)
  const ctx: AdmissionContext = { operation: 'CREATE', settings: defaultSettings(), cluster: clusterFromObjects(), dryRun: false }
  const metrics = createWebhookMetrics()
  const duration = metrics.duration.labels(kind.kind)
  const reviews: AdmissionReview[] = Array.from({ length: 1000 }, () => JSON.parse(body))
  // results go to a variable outside the loop, so that the calls cannot be optimised away
  let sink: unknown
  const time = (step: string, f: (review: AdmissionReview) => unknown): Step => {
    for (let i = 0; i < calls; i++) sink = f(reviews[i % reviews.length])
    const started = performance.now()
    for (let i = 0; i < calls; i++) sink = f(reviews[i % reviews.length])
    return { step, microseconds: ((performance.now() - started) * 1000) / calls }
  }
  const parse = time('JSON.parse of the body (the bare server does it too)', () => JSON.parse(body))
  const steps = [
    time('AdmissionReview check (the route schema)', (r) => reviewCheck(r)),
    time('depth guard', (r) => tooDeeplyNested(r.request)),
    time('kind check', (r) => kindMismatch(kind, r.request)),
    time('SpiderIPPool type check (CRD schema)', (r) => typeCheck(r.request.object)),
    time('SpiderIPPool rules (validateCreate)', (r) => kind.validateCreate(r.request.object as never, ctx)),
    time('answer: the response review, serialised', (r) => JSON.stringify(reviewResponse(r.request.uid, { allowed: true }))),
    time('metrics: request counter and latency histogram', () => {
      metrics.requests.inc({ kind: kind.kind, operation: 'CREATE', verdict: 'allowed' })
      duration.observe(0.0004)
    }),
  ]
  // the decision as the route makes it, to check that the steps above are the whole of it
  const decision = time('(whole validation decision: type check + rules)', (r) => validationDecision(kind, typeCheck, r.request, ctx))
  return { steps: [parse, ...steps, decision], admissionWork: steps.reduce((sum, s) => sum + s.microseconds, 0) }
}

if (import.meta.main) {
  const { steps, admissionWork } = measureAdmissionSteps()
  for (const s of steps) console.log(`${s.microseconds.toFixed(2).padStart(6)} µs  ${s.step}`)
  console.log(`${admissionWork.toFixed(2).padStart(6)} µs  admission work in all (without the JSON.parse and the whole-decision line)`)
}
