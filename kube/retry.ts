// Optimistic concurrency, the client-go way: when a conditional write loses the race (409
// Conflict), wait a jittered, growing while and run the whole read-modify-write again.
import { isConflict } from './errors.ts'

export interface RetryOptions {
  /** Most runs of fn in all, the first included. */
  steps?: number
  /** Wait before the second run. */
  baseMs?: number
  /** Each wait is this many times the one before. */
  factor?: number
  /** Each wait is stretched by a random share of itself, up to this fraction, so racing writers spread out. */
  jitter?: number
  /** No single wait is longer than this. */
  capMs?: number
  signal?: AbortSignal
}

export interface Retried<T> {
  value: T
  /** Runs of fn it took (1 when the first write landed). */
  attempts: number
}

export const defaultRetry = { steps: 5, baseMs: 10, factor: 2, jitter: 0.5, capMs: 2_000 } as const

function sleep(ms: number, signal?: AbortSignal) {
  return new Promise<void>((resolve, reject) => {
    signal?.throwIfAborted()
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Runs fn until it does not fail with a Conflict. fn must read the object afresh each run:
 * re-sending the write it lost with would only lose again. Any other error propagates at
 * once; after `steps` conflicts the last one propagates.
 */
export async function retryOnConflict<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<Retried<T>> {
  const { steps, baseMs, factor, jitter, capMs } = { ...defaultRetry, ...options }
  let wait = baseMs
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted()
    try {
      return { value: await fn(attempt), attempts: attempt }
    } catch (err) {
      if (!isConflict(err) || attempt >= steps) throw err
    }
    await sleep(Math.min(capMs, wait * (1 + jitter * Math.random())), options.signal)
    wait *= factor
  }
}
