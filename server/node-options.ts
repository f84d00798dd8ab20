// The Node.js flags the webhook server runs with: the chart's Deployment sets them as NODE_OPTIONS,
// and bench/memory.ts and bench/webhook.ts start the server with them, so what is measured is what
// is deployed. Without them V8 lets its heap grow under admission traffic to several times what
// stays live and never gives it back (bench/memory.ts: 339 MiB RSS after traffic with 35 MiB live,
// 186 MiB with these). A 2 MiB semi-space costs no measurable requests/s (1 MiB does); the old
// space cap leaves room for clusters many times the benchmark's 50 000 addresses.
// NODE_OPTIONS takes only a few V8 flags (not --optimize-for-size, not --heap-growing-percent).
export const serverNodeOptions = '--max-semi-space-size=2 --max-old-space-size=256'

/** The flags as a list, for `execArgv`. */
export const serverNodeFlags = (options = serverNodeOptions): string[] => options.split(/\s+/).filter(Boolean)

// glibc gives each thread that mallocs (libuv's pool, V8's compiler and GC workers) an arena of its
// own, and keeps what is freed in them: 20 MiB of the server's RSS after traffic, 3–7 MiB with two
// arenas (bench/memory.ts). A fixed trim threshold stops glibc from raising it after each large free,
// so the top of the main heap is given back. Ignored where the C library is not glibc.
export const serverMallocEnvironment: Record<string, string> = { MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '131072' }

/** The environment the chart's Deployment gives the server, besides its own settings: the node flags and the malloc settings. */
export const serverEnvironment: Record<string, string> = { NODE_OPTIONS: serverNodeOptions, ...serverMallocEnvironment }
