// Giving memory back after a burst of admissions. V8 keeps the pages its heap grew into during the
// burst in a pool of its own, resident, long after the objects on them died: ~47 MiB of the
// server's RSS after the memory benchmark's traffic, which neither a regular GC nor V8's memory
// reducer returns. A memory-reducing ("last resort") GC does. It costs a pause of some tens of
// milliseconds, and V8 needs a while to warm up again afterwards (bench:webhook: the first 30 s of
// traffic after a trim cost 68 µs of CPU per review instead of 62), so it runs only once the
// server has been quiet for half a minute after a burst.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

type Gc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void

export interface IdleTrimOptions {
  /** requests answered so far */
  served: () => number
  /** no request for this long: the burst is over (default 30 s) */
  quietMs?: number
  /** a burst is at least this many requests since the last trim (default 500) */
  minRequests?: number
  /** told after each trim, with what it gave back */
  onTrim?: (trim: { requests: number; ms: number; rssBefore: number; rssAfter: number }) => void
}

export interface IdleTrim {
  readonly trims: number
  stop(): void
}

let exposedGc: Gc | undefined

/** V8's gc function: the global one when node runs with --expose-gc, else exposed now. */
function memoryReducingGc(): Gc {
  const global = (globalThis as { gc?: Gc }).gc
  if (global) return global
  if (!exposedGc) {
    setFlagsFromString('--expose-gc')
    exposedGc = runInNewContext('gc') as Gc
  }
  return exposedGc
}

export function startIdleMemoryTrim(o: IdleTrimOptions): IdleTrim {
  const quietMs = o.quietMs ?? 30_000
  const minRequests = o.minRequests ?? 500
  let trims = 0
  let seen = o.served()
  let atLastTrim = seen
  const timer = setInterval(() => {
    const now = o.served()
    const quiet = now === seen
    seen = now
    if (!quiet || now - atLastTrim < minRequests) return
    atLastTrim = now
    const rssBefore = process.memoryUsage.rss()
    const started = performance.now()
    // looked up at the first trim: a server that never trims never exposes gc
    memoryReducingGc()({ type: 'major', execution: 'sync', flavor: 'last-resort' })
    trims++
    o.onTrim?.({ requests: now, ms: performance.now() - started, rssBefore, rssAfter: process.memoryUsage.rss() })
  }, quietMs)
  timer.unref()
  return {
    get trims() {
      return trims
    },
    stop: () => clearInterval(timer),
  }
}
