// A request's one abort signal, shared by both transports: the caller's signal and the request's
// deadline, so that either tears the exchange down, and the error a caller sees for each.

export function timeoutError(what: string, ms: number): Error {
  return Object.assign(new Error(`${what}: no answer within ${ms} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' })
}

export interface Deadline {
  signal: AbortSignal
  /** What to throw for `err`: the abort's reason (the caller's, or the timeout) once aborted, else `err`. */
  failure(err: unknown): unknown
  /** Stops the clock and lets go of the caller's signal. */
  dispose(): void
}

/** Starts the clock now: `ms` from this call (0: no deadline), `label` naming the request in the timeout. */
export function requestDeadline(callerSignal: AbortSignal | undefined, ms: number, label: string): Deadline {
  const ac = new AbortController()
  const forward = () => ac.abort(callerSignal?.reason)
  if (callerSignal?.aborted) forward()
  callerSignal?.addEventListener('abort', forward, { once: true })
  const timer = ms > 0 ? setTimeout(() => ac.abort(timeoutError(label, ms)), ms) : undefined
  return {
    signal: ac.signal,
    failure: (err) => (ac.signal.aborted ? ac.signal.reason : err),
    dispose: () => {
      clearTimeout(timer)
      callerSignal?.removeEventListener('abort', forward)
    },
  }
}
