// A keyed work queue after client-go's: a key queued many times is reconciled once, never by two
// workers at once, and a failed reconcile comes back after a growing delay.
export interface WorkQueue {
  add(key: string): void
  /** Stops taking work and waits for the running reconcile to end. */
  stop(): Promise<void>
  /** Resolves when nothing is queued, waiting or running (tests). */
  idle(): Promise<void>
}

export interface WorkQueueOptions {
  reconcile(key: string, signal: AbortSignal): Promise<void>
  onError?(key: string, err: unknown): void
  baseDelayMs?: number
  maxDelayMs?: number
}

export function createWorkQueue(o: WorkQueueOptions): WorkQueue {
  const queued = new Set<string>()
  const failures = new Map<string, number>()
  const timers = new Map<string, NodeJS.Timeout>()
  const abort = new AbortController()
  let running: Promise<void> | undefined
  let idleWaiters: (() => void)[] = []

  const settle = () => {
    if (!running && queued.size === 0 && timers.size === 0) {
      for (const w of idleWaiters) w()
      idleWaiters = []
    }
  }
  const pump = () => {
    if (running || abort.signal.aborted) return settle()
    const key = queued.values().next().value
    if (key === undefined) return settle()
    queued.delete(key)
    running = o.reconcile(key, abort.signal).then(
      () => {
        failures.delete(key)
      },
      (err) => {
        if (abort.signal.aborted) return
        o.onError?.(key, err)
        const n = (failures.get(key) ?? 0) + 1
        failures.set(key, n)
        const delay = Math.min((o.baseDelayMs ?? 50) * 2 ** (n - 1), o.maxDelayMs ?? 30_000)
        timers.set(
          key,
          setTimeout(() => {
            timers.delete(key)
            add(key)
          }, delay),
        )
      },
    )
    running.finally(() => {
      running = undefined
      pump()
    })
  }
  const add = (key: string) => {
    if (abort.signal.aborted) return
    queued.add(key)
    queueMicrotask(pump)
  }
  return {
    add,
    stop: async () => {
      abort.abort()
      for (const t of timers.values()) clearTimeout(t)
      timers.clear()
      queued.clear()
      await running
    },
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve)
        settle()
      }),
  }
}
