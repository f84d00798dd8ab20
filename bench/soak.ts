// Issue 7: the soak. Mixed admission traffic at a constant rate (open loop: requests leave on
// schedule whether or not earlier ones were answered) against the webhook server in its own process,
// registered with the local control plane in this one: validate and mutate reviews of all five
// Spiderpool kinds posted to the server, and pods created through the control plane (the pod webhook
// reserves their addresses) and deleted again, so that the collector gives the addresses back and the
// pools never run out. The server's RSS is sampled every 10 s after a warm-up.
// Criterion: flat when the mean RSS of the last minute ≤ the mean of the first minute × 1.10.
// Flags: --duration 10m (measured, after --warmup 30s), --rate 2000 (requests/s the server receives,
// pod admissions included), --pod-rate 50 (pods/s). Writes bench/results/soak.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { MiB, namespace, rssOf, runTraffic, startAdmissionCluster, until, type PoolPlan } from './admission-cluster.ts'
import { reviewKinds, type Window } from './traffic-child.ts'

const root = join(import.meta.dirname, '..')

/** `600`, `600s`, `10m`, `1h` → seconds */
function seconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim())
  if (!m) throw new Error(`not a duration: ${text} (600, 600s, 10m, 1h)`)
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 's' | 'm' | 'h']
}

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10m' },
    warmup: { type: 'string', default: '30s' },
    rate: { type: 'string', default: '2000' },
    'pod-rate': { type: 'string', default: '50' },
  },
})
const duration = seconds(flags.duration!)
const warmup = seconds(flags.warmup!)
const rate = Number(flags.rate)
const podRate = Number(flags['pod-rate'])
const sampleSeconds = 10
const growthAllowed = 1.1
if (duration < 120) throw new Error('--duration: at least 2 minutes, so that the first and the last minute do not overlap')

const began = performance.now()
const progress = (what: string) => console.error(`[${((performance.now() - began) / 1000).toFixed(1)} s] ${what}`)
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const mx = mean(points.map((p) => p.x))
  const my = mean(points.map((p) => p.y))
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0)
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0)
  return den === 0 ? 0 : num / den
}

const pools: PoolPlan[] = Array.from({ length: 4 }, (_, i) => ({ name: `soak-${i}`, octet: 200 + i, size: 1000 }))

interface Sample {
  /** seconds since the measure began (after the warm-up) */
  t: number
  rssMiB: number
  heapUsedMiB: number
  /** the 10 s window of traffic that ended here */
  answersPerSecond: number
  p50Ms: number
  p99Ms: number
  podsPerSecond: number
  denied: number
  errors: number
  shed: number
  inFlight: number
}

const dir = mkdtempSync(join(tmpdir(), 'bench-soak-'))
const cluster = await startAdmissionCluster(dir)
try {
  const { webhook } = cluster
  await cluster.createPools(pools)
  await until('the server to cache the pools', async () => (await webhook.cache()).pools === pools.length)
  const reviews = Object.keys(reviewKinds(namespace))
  const loadAtStart = loadavg()[0]
  progress(`traffic: ${rate} req/s (${podRate} pods/s through the control plane, the rest ${reviews.length} kinds of review), ${warmup} s warm-up, then ${duration} s measured`)
  const samples: Sample[] = []
  const warmupWindows: Window[] = []
  const errorSamples = new Set<string>()
  let pending = Promise.resolve()
  await runTraffic(
    cluster,
    {
      rate,
      podRate,
      podHoldMs: 2000,
      pools: pools.map((p) => p.name),
      reviews,
      seconds: warmup + duration,
      windowSeconds: sampleSeconds,
      maxInFlight: 4000,
    },
    (w) => {
      const rss = rssOf(webhook.pid) ?? 0
      for (const e of w.errorSamples) if (errorSamples.size < 20) errorSamples.add(e)
      const line = `${w.at.toFixed(0)} s: ${(w.answered / w.seconds).toFixed(0)} answers/s, p50/p99 ${w.p50Ms.toFixed(1)}/${w.p99Ms.toFixed(1)} ms, ${w.pods.created} pods, ${w.denied} denied, ${w.errors} errors, ${w.shed} shed; server RSS ${MiB(rss).toFixed(1)} MiB`
      if (w.at <= warmup + 1) {
        warmupWindows.push(w)
        progress(`warm-up ${line}`)
        return
      }
      // the heap as the server reports it, without a GC (which would change what is measured)
      pending = pending.then(async () => {
        const heap = await webhook.memory(false).catch(() => undefined)
        samples.push({
          t: w.at - warmup,
          rssMiB: MiB(rss),
          heapUsedMiB: heap ? MiB(heap.heapUsed) : NaN,
          answersPerSecond: w.answered / w.seconds,
          p50Ms: w.p50Ms,
          p99Ms: w.p99Ms,
          podsPerSecond: w.pods.created / w.seconds,
          denied: w.denied,
          errors: w.errors,
          shed: w.shed,
          inFlight: w.inFlight,
        })
        progress(line)
      })
    },
  )
  await pending
  const requests = await webhook.requests()
  const loadAtEnd = loadavg()[0]

  const perMinute = Math.round(60 / sampleSeconds)
  const first = samples.slice(0, perMinute)
  const last = samples.slice(-perMinute)
  const firstMinuteMiB = mean(first.map((s) => s.rssMiB))
  const lastMinuteMiB = mean(last.map((s) => s.rssMiB))
  const slopeMiBPerMinute = slope(samples.map((s) => ({ x: s.t / 60, y: s.rssMiB })))
  const flat = lastMinuteMiB <= firstMinuteMiB * growthAllowed
  const measuredSeconds = samples.length * sampleSeconds
  const answered = samples.reduce((n, s) => n + s.answersPerSecond * sampleSeconds, 0)
  const totals = {
    achievedRate: answered / measuredSeconds,
    denied: samples.reduce((n, s) => n + s.denied, 0),
    errors: samples.reduce((n, s) => n + s.errors, 0),
    shed: samples.reduce((n, s) => n + s.shed, 0),
    p99MsWorstWindow: Math.max(...samples.map((s) => s.p99Ms)),
    p99MsMedianWindow: [...samples.map((s) => s.p99Ms)].sort((a, b) => a - b)[samples.length >> 1],
  }

  console.log(`\nbench/soak: ${rate} req/s open loop (${podRate} pods/s created and deleted through the local control plane, the rest validate/mutate reviews of the 5 kinds), ${warmup} s warm-up, ${duration} s measured, server RSS every ${sampleSeconds} s\n`)
  console.log('| t (s) | RSS MiB | heap used MiB | answers/s | pods/s | p50 / p99 ms | denied | errors | shed |')
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const s of samples) {
    console.log(`| ${s.t.toFixed(0)} | ${s.rssMiB.toFixed(1)} | ${s.heapUsedMiB.toFixed(1)} | ${s.answersPerSecond.toFixed(0)} | ${s.podsPerSecond.toFixed(1)} | ${s.p50Ms.toFixed(1)} / ${s.p99Ms.toFixed(1)} | ${s.denied} | ${s.errors} | ${s.shed} |`)
  }
  console.log(
    `\nload average (1 min, 2 cores): ${loadAtStart.toFixed(1)} at the start, ${loadAtEnd.toFixed(1)} at the end; achieved ${totals.achievedRate.toFixed(0)} of ${rate} req/s; ${totals.denied} denied, ${totals.errors} errors, ${totals.shed} shed`,
  )
  console.log(
    `RSS first minute ${firstMinuteMiB.toFixed(1)} MiB, last minute ${lastMinuteMiB.toFixed(1)} MiB, slope ${slopeMiBPerMinute.toFixed(2)} MiB/min: ${flat ? 'flat' : 'NOT flat'} (criterion: last-minute mean ≤ first-minute mean × ${growthAllowed.toFixed(2)})`,
  )
  if (errorSamples.size > 0) console.log(`\nsome errors and denials:\n${[...errorSamples].map((e) => `- ${e}`).join('\n')}`)
  mkdirSync(join(root, 'bench/results'), { recursive: true })
  writeFileSync(
    join(root, 'bench/results/soak.json'),
    JSON.stringify(
      {
        when: new Date().toISOString(),
        rate,
        podRate,
        warmupSeconds: warmup,
        durationSeconds: duration,
        sampleSeconds,
        criterion: `last-minute mean RSS ≤ first-minute mean × ${growthAllowed}`,
        loadAverage: { start: loadAtStart, end: loadAtEnd },
        firstMinuteMiB,
        lastMinuteMiB,
        slopeMiBPerMinute,
        flat,
        ...totals,
        serverRequests: requests,
        errorSamples: [...errorSamples],
        warmup: warmupWindows,
        samples,
      },
      null,
      2,
    ),
  )
} finally {
  await cluster.close()
  rmSync(dir, { recursive: true, force: true })
}
