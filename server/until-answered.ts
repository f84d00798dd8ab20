// One step of a Job that runs while the cluster may still be starting (`init` after install, `clean`
// before uninstall): tried again after each "not ready" answer, with waits doubled each time up to a
// cap (or the server's Retry-After), until a deadline; a real refusal ends it at once.
import { ApiError, isAlreadyExists, isNotFound } from '../kube/errors.ts'

/** A refusal, or the deadline passed: the message says which step and why. */
export class StepFailed extends Error {}

const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED'])

/** Why an answer means "try again later" (the API or its webhook is still starting), or undefined for a real refusal. */
export function notReadyReason(err: unknown): string | undefined {
  if (err instanceof ApiError) {
    // 404: a CRD not established yet, or the release namespace not there yet
    const later = err.code >= 500 || err.code === 429 || isNotFound(err) || (err.code === 409 && !isAlreadyExists(err))
    return later ? `${err.code} ${err.reason}: ${err.status.message ?? ''}` : undefined
  }
  const e = err as { code?: string; name?: string; message?: string }
  if ((e.code && networkCodes.has(e.code)) || e.name === 'TimeoutError') return e.message ?? String(err)
  return undefined
}

const firstWaitMs = 500
const maxWaitMs = 10_000
const lastTryMs = 1_000

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export interface UntilAnsweredOptions {
  /** epoch ms: no new wait begins after it */
  deadline: number
  /** the whole allowance, for the message when it has run out */
  timeoutMs: number
  /** what the step had not done when time ran out: "could not be created", "did not finish" */
  unfinished: string
  log: (line: string) => void
  /** why to wait on this error, beyond notReadyReason's answers; undefined: ask notReadyReason */
  waitReason?: (err: unknown) => string | undefined
}

/** Runs `step` (given the time its API calls may take) until it answers; throws StepFailed on a refusal or at the deadline. */
export async function untilAnswered<T>(label: string, step: (callTimeoutMs: number) => Promise<T>, o: UntilAnsweredOptions): Promise<T> {
  let wait = firstWaitMs
  for (let attempt = 1; ; attempt++) {
    const callTimeoutMs = Math.max(lastTryMs, Math.min(30_000, o.deadline - Date.now()))
    try {
      return await step(callTimeoutMs)
    } catch (err) {
      const reason = o.waitReason?.(err) ?? notReadyReason(err)
      if (reason === undefined) throw new StepFailed(`${label} was refused: ${refusalText(err)}`, { cause: err })
      const left = o.deadline - Date.now()
      // give up only at the deadline; the last try still gets lastTryMs to answer (callTimeoutMs), so it
      // is not cut short and reports the API's answer rather than its own timeout
      if (left <= 0) throw new StepFailed(`${label} ${o.unfinished} within ${Math.round(o.timeoutMs / 1000)} s (${attempt} attempts); last answer: ${reason}`, { cause: err })
      const retryAfterMs = err instanceof ApiError && err.details?.retryAfterSeconds ? err.details.retryAfterSeconds * 1000 : 0
      const pause = Math.min(left, Math.max(wait, retryAfterMs))
      o.log(`${label}: not ready (${reason}); trying again in ${(pause / 1000).toFixed(1)} s`)
      await sleep(pause)
      wait = Math.min(wait * 2, maxWaitMs)
    }
  }
}

function refusalText(err: unknown): string {
  return err instanceof ApiError ? `${err.code} ${err.reason}: ${err.status.message ?? ''}` : ((err as Error).message ?? String(err))
}
