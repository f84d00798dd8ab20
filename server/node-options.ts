// The Node.js flags the webhook server runs with: the chart's Deployment sets them as NODE_OPTIONS,
// and bench/memory.ts and bench/webhook.ts start the server with them, so what is measured is what
// is deployed. Without them V8 lets its heap grow under admission traffic to several times what
// stays live and never gives it back (bench/memory.ts: 339 MiB RSS after traffic with 35 MiB live,
// 186 MiB with these). A 2 MiB semi-space costs no measurable requests/s (1 MiB does); the old
// space cap leaves room for clusters many times the benchmark's 50 000 addresses.
export const serverNodeOptions = '--max-semi-space-size=2 --max-old-space-size=256'

/** The flags as a list, for `execArgv`. */
export const serverNodeFlags = (options = serverNodeOptions): string[] => options.split(/\s+/).filter(Boolean)
