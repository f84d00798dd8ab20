// SpiderIPPool validation over HTTPS with keep-alive, against a bare node:https server answering a
// fixed review in the same run. Each server runs in its own process; the load generator in this one.
// Prints requests/s of both, the ratio, and latencies. BENCH_SECONDS sets the measured duration of one
// round, BENCH_ROUNDS the number of rounds; each round loads both servers back to back and the
// medians over the rounds are reported, so that a burst of other work on the machine moves one
// round, not the result. Each round also shows how much CPU other processes took meanwhile (a
// loaded machine lowers both sides, and not by the same factor), and the CPU each server spent per
// request, which other work on the machine moves far less than requests/s.
// Two calibration servers run in the same rounds and are reported beside the ratio, not in it:
// Fastify with one route answering the fixed review (the framework alone), and the bare server
// busy-waiting BENCH_BUSY_MICROSECONDS (default 15) per request (a handler's own work, no
// framework). On a machine where waking the idle load generator is dear, a server slower than
// the generator pays for a wake-up at nearly every answer, so each microsecond of work lowers
// requests/s by more than its share; the calibrations show by how much here.
// The busy-wait calibration also turns ratios into µs of per-request work: how much a ratio of 0.8
// leaves above the bare server, and how much of it Fastify's one route and our validation take;
// bench/admission-steps.ts adds what our admission steps cost with every cache warm.
// Our server runs with the node flags and malloc settings the chart deploys it with (server/node-options.ts);
// BENCH_SERVER_NODE_FLAGS replaces them (an empty value: none).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { ensureServingCertificate } from '../certs/index.ts'
import { serverMallocEnvironment, serverNodeFlags, serverNodeOptions } from '../server/node-options.ts'
import { body } from './spiderippool-review.ts'
import { measureAdmissionSteps } from './admission-steps.ts'

const root = join(import.meta.dirname, '..')
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const connections = 16
const busyMicroseconds = Number(process.env.BENCH_BUSY_MICROSECONDS ?? 15)
const ourNodeFlags = serverNodeFlags(process.env.BENCH_SERVER_NODE_FLAGS ?? serverNodeOptions)

function start(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')}: no listening line within 20 s`)), 20_000)
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on (https:\/\/[^\s"]+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        child.stdout!.resume()
        resolve({ child, url: m[1] })
      }
    })
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${out}`)))
  })
}

/** CPU time in µs from /proc (Linux, 100 ticks a second): the machine's without idle, or one process's; undefined elsewhere. */
function cpuTime(pid?: number): number | undefined {
  try {
    if (pid === undefined) {
      const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number)
      return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 10_000
    }
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) * 10_000
  } catch {
    return undefined
  }
}

/** Loads `url`; `others` is the CPU (in cores) that processes other than the server and this one used meanwhile. */
async function load(url: string, ca: string, duration: number, serverPid?: number) {
  const before = { machine: cpuTime(), server: cpuTime(serverPid), self: process.cpuUsage(), at: performance.now() }
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    pipelining: 1,
    duration,
    tlsOptions: { ca },
    servername: 'localhost',
  } as autocannon.Options)
  if (result.non2xx || result.errors || result.timeouts) {
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`)
  }
  const [machine, server] = [cpuTime(), cpuTime(serverPid)]
  const self = process.cpuUsage(before.self)
  const others =
    machine !== undefined && server !== undefined && before.machine !== undefined && before.server !== undefined
      ? Math.max(0, machine - before.machine - (server - before.server) - self.user - self.system) / ((performance.now() - before.at) * 1000)
      : undefined
  const cpuPerRequest = server !== undefined && before.server !== undefined && result.requests.total > 0 ? (server - before.server) / result.requests.total : undefined
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, total: result.requests.total, others, cpuPerRequest }
}

/**
 * Per-request work, in µs of busy-wait above the bare server, that a ratio to bare stands for. The
 * calibration gives the slope: on this machine 1/requests-per-second grows in step with the work
 * each request costs, so a server at ratio ρ does as much as the bare server plus
 * (1/ρ − 1) / (1/r − 1) · B µs, where r is the ratio of the bare server busy-waiting B µs.
 */
const workAboveBare = (busyRatio: number) => (ratio: number) => ((1 / ratio - 1) / (1 / busyRatio - 1)) * busyMicroseconds

interface Figures {
  rps: number
  p50: number
  p99: number
  total: number
  others?: number
  /** the server's CPU time (user + system) per request, in µs */
  cpuPerRequest?: number
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const medianOf = (name: string, runs: Figures[]) => ({
  name,
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  cpuPerRequest: runs.every((r) => r.cpuPerRequest !== undefined) ? median(runs.map((r) => r.cpuPerRequest!)) : undefined,
  total: runs.reduce((n, r) => n + r.total, 0),
  rounds: runs,
})

const dir = mkdtempSync(join(tmpdir(), 'bench-webhook-'))
try {
  const tls = await ensureServingCertificate({ dir, service: 'spiderpool-controller', namespace: 'kube-system', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
  const node = process.execPath
  const children: ChildProcess[] = []
  const logLevel = process.env.BENCH_LOG_LEVEL ? ['--log-level', process.env.BENCH_LOG_LEVEL] : []
  const servers = [
    { name: 'bare node:https, fixed review', args: ['bench/bare-https-server.ts', dir], path: '/' },
    { name: 'spiderpool-ts SpiderIPPool validation', args: [...ourNodeFlags, 'bin/spiderpool-ts', 'webhook', '--listen', '127.0.0.1:0', '--tls-dir', dir, ...logLevel], env: serverMallocEnvironment, path: '/validate-spiderpool-spidernet-io-v2beta1-spiderippool' },
    { name: 'calibration: Fastify, one route answering the fixed review', args: ['bench/fastify-minimal-server.ts', dir], path: '/' },
    { name: `calibration: bare node:https + ${busyMicroseconds} µs busy-wait per request`, args: ['bench/bare-https-server.ts', dir, String(busyMicroseconds)], path: '/' },
  ]
  // where the calibrations sit in `servers`
  const [fastifyOneRoute, bareBusyWait] = [2, 3]
  const runs: Figures[][] = servers.map(() => [])
  try {
    const started: { child: ChildProcess; url: string }[] = []
    for (const server of servers) {
      const s = await start(node, server.args, server.env)
      children.push(s.child)
      started.push({ child: s.child, url: s.url + server.path })
    }
    // warm-up: JIT, TLS sessions, keep-alive sockets
    for (const s of started) await load(s.url, tls.caPem, 2)
    for (let i = 0; i < rounds; i++) {
      for (const [k, s] of started.entries()) runs[k].push(await load(s.url, tls.caPem, seconds, s.child.pid))
      const [b, o, f, w] = runs.map((r) => r[i])
      const others = b.others !== undefined && o.others !== undefined ? `; other work on the machine ${b.others.toFixed(2)}/${o.others.toFixed(2)} cores` : ''
      const cpu = b.cpuPerRequest !== undefined && o.cpuPerRequest !== undefined ? `; CPU per request ${b.cpuPerRequest.toFixed(1)}/${o.cpuPerRequest.toFixed(1)} µs` : ''
      console.log(`round ${i + 1}: baseline ${b.rps.toFixed(0)} req/s, ours ${o.rps.toFixed(0)} req/s (${(o.rps / b.rps).toFixed(2)}), our p50/p99 ${o.p50}/${o.p99} ms${cpu}${others}; calibrations ${(f.rps / b.rps).toFixed(2)} (Fastify), ${(w.rps / b.rps).toFixed(2)} (bare + ${busyMicroseconds} µs)`)
    }
  } finally {
    for (const child of children) child.kill('SIGTERM')
  }
  const rows = servers.map((server, k) => medianOf(server.name, runs[k]))
  const [baseline, ours, ...calibrations] = rows
  const ratioOf = (k: number) => median(runs[k].map((r, i) => r.rps / runs[0][i].rps))
  const ratio = ratioOf(1)
  console.log(`\nbench/webhook: ${connections} keep-alive HTTPS connections, ${rounds} rounds of ${seconds} s per server, 2 s warm-up; medians; our server's node flags: ${ourNodeFlags.join(' ') || 'none'}\n`)
  console.log('| server | requests/s | ratio to bare | p50 ms | p99 ms | CPU µs per request |')
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const [k, r] of rows.entries()) console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${k === 0 ? '' : ratioOf(k).toFixed(2)} | ${r.p50} | ${r.p99} | ${r.cpuPerRequest?.toFixed(1) ?? '–'} |`)
  console.log(`\nmedian ratio ours/baseline: ${ratio.toFixed(2)} (target ≥ 0.80); our p99: ${ours.p99} ms (target ≤ 5 ms)`)
  const work = workAboveBare(ratioOf(bareBusyWait))
  const budget = { target: work(0.8), fastifyMinimal: work(ratioOf(fastifyOneRoute)), ours: work(ratio) }
  console.log(
    `in busy-wait µs per request above the bare server (from the ${busyMicroseconds} µs calibration): a ratio of 0.80 leaves ${budget.target.toFixed(1)} µs; ` +
      `Fastify's one route takes ${budget.fastifyMinimal.toFixed(1)} µs of it, our SpiderIPPool validation ${budget.ours.toFixed(1)} µs`,
  )
  const { steps, admissionWork } = measureAdmissionSteps()
  console.log(`our admission steps for the same review in a warm loop, no HTTP: ${admissionWork.toFixed(1)} µs (${steps.map((s) => `${s.step} ${s.microseconds.toFixed(2)}`).join('; ')})`)
  mkdirSync(join(root, 'bench/results'), { recursive: true })
  const calibration = calibrations.map((c, k) => ({ ...c, ratio: ratioOf(k + 2) }))
  writeFileSync(join(root, 'bench/results/webhook.json'), JSON.stringify({ when: new Date().toISOString(), seconds, rounds, connections, busyMicroseconds, serverNodeFlags: ourNodeFlags, serverEnvironment: serverMallocEnvironment, loadAverage: loadavg()[0], baseline, ours, ratio, calibration, budget, warmLoop: { admissionWork, steps } }, null, 2))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
