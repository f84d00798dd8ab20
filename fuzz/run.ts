// The admission fuzzer: sends generated and mutated AdmissionReviews to the real server (a child
// process, over HTTPS) and checks every answer; then the pod leg against the local control plane.
//   npm run fuzz [-- --seed N] [--count N] [--pods N] [--concurrency N] [--only INDEX]
import { parseArgs } from 'node:util'
import { checkAnswer } from './check.ts'
import { bodyLimit, generateCase, type FuzzCase } from './generate.ts'
import { startServer, sender } from './client.ts'
import { runPodFuzz, type PodFuzzReport } from './pods.ts'

export interface Failure {
  index: number
  shape: string
  path: string
  problem: string
}

export interface MemoryAt {
  sent: number
  rss: number
  heapUsed: number
}

export interface FuzzReport {
  seed: number
  sent: number
  failures: Failure[]
  /** HTTP status → how many answers had it */
  statuses: Record<string, number>
  /** allowed / denied reviews */
  verdicts: { allowed: number; denied: number }
  crashed?: string
  serverErrors: string[]
  logged: { bytes: number; longestLine: number }
  memory: { warm: MemoryAt; end: MemoryAt; samples: MemoryAt[] }
  seconds: number
}

export interface FuzzOptions {
  seed: number
  count: number
  concurrency?: number
  timeoutMs?: number
  /** replay these cases only */
  only?: number[]
  /** the server's memory is sampled (after a full GC) every this many reviews */
  sampleEvery?: number
  onProgress?: (sample: MemoryAt) => void
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now()
  const server = await startServer()
  const client = sender(server.ready.url, server.ready.caPem, { concurrency: o.concurrency ?? 8, timeoutMs: o.timeoutMs ?? 15_000 })
  const indexes = o.only ?? Array.from({ length: o.count }, (_, i) => i)
  const failures: Failure[] = []
  const statuses: Record<string, number> = {}
  const verdicts = { allowed: 0, denied: 0 }
  const warmAfter = Math.min(2_000, Math.floor(indexes.length / 10))
  const sampleEvery = o.sampleEvery ?? 5_000
  const samples: MemoryAt[] = []
  const sample = async (): Promise<MemoryAt> => {
    const { rss, heapUsed } = await server.memory()
    return { sent, rss, heapUsed }
  }
  let warm: MemoryAt = { sent: 0, rss: 0, heapUsed: 0 }
  let next = 0
  let sent = 0

  const one = async (c: FuzzCase) => {
    try {
      const answer = await client.send(c)
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1
      const problem = checkAnswer(c, answer)
      if (problem) failures.push({ index: c.index, shape: c.shape, path: c.path, problem })
      else if (answer.status === 200) JSON.parse(answer.body).response.allowed ? verdicts.allowed++ : verdicts.denied++
    } catch (err) {
      // the server may close the connection on a body it refused while the rest is still being sent
      const refusedWhole = c.body.length > bodyLimit && /ECONNRESET|EPIPE/.test(String((err as Error).message ?? err) + (err as NodeJS.ErrnoException).code)
      if (!refusedWhole) failures.push({ index: c.index, shape: c.shape, path: c.path, problem: `no answer: ${(err as Error).message}` })
    }
  }
  const worker = async () => {
    while (next < indexes.length && !server.exited) {
      const index = indexes[next++]
      await one(generateCase(o.seed, index))
      sent++
      if (sent === warmAfter) warm = await sample()
      if (sent % sampleEvery === 0) {
        const at = await sample()
        samples.push(at)
        o.onProgress?.(at)
      }
    }
  }
  await Promise.all(Array.from({ length: o.concurrency ?? 8 }, worker))
  client.close()
  const crashed = server.exited ? `the server exited (code ${server.exited.code}, signal ${server.exited.signal}): ${server.stderrTail()}` : undefined
  const end = crashed ? { sent, rss: 0, heapUsed: 0 } : await sample()
  await server.close()
  return { seed: o.seed, sent, failures, statuses, verdicts, crashed, serverErrors: server.errorLines, logged: server.logged, memory: { warm, end, samples }, seconds: (Date.now() - started) / 1000 }
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`

export function describeFailures(report: { seed: number; failures: Failure[] }, limit = 20): string {
  return report.failures
    .slice(0, limit)
    .map((f) => `  case ${f.index} (${f.shape}, ${f.path}): ${f.problem}\n    replay: npm run fuzz -- --seed ${report.seed} --only ${f.index}`)
    .join('\n')
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      count: { type: 'string', default: '100000' },
      pods: { type: 'string', default: '3000' },
      concurrency: { type: 'string', default: '8' },
      only: { type: 'string', multiple: true },
    },
  })
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31)
  const only = values.only?.map(Number)
  process.stdout.write(`fuzz seed ${seed}: ${only ? `cases ${only.join(', ')}` : `${values.count} reviews, ${values.pods} pod reviews against the local control plane`}\n`)
  const report = await runFuzz({ seed, count: Number(values.count), concurrency: Number(values.concurrency), only, onProgress: (m) => process.stdout.write(`  ${m.sent} sent: server rss ${mib(m.rss)}, heap ${mib(m.heapUsed)}\n`) })
  const { warm, end } = report.memory
  process.stdout.write(
    [
      `reviews: ${report.sent} in ${report.seconds.toFixed(1)} s (${Math.round(report.sent / report.seconds)}/s); HTTP ${JSON.stringify(report.statuses)}; allowed ${report.verdicts.allowed}, denied ${report.verdicts.denied}`,
      `server log: ${mib(report.logged.bytes)}, longest line ${report.logged.longestLine} characters`,
      `server memory after GC: warm rss ${mib(warm.rss)} heap ${mib(warm.heapUsed)}; end rss ${mib(end.rss)} heap ${mib(end.heapUsed)}`,
      '',
    ].join('\n'),
  )
  let pods: PodFuzzReport | undefined
  if (!only && Number(values.pods) > 0) {
    pods = await runPodFuzz({ seed, count: Number(values.pods) })
    process.stdout.write(`pod leg: ${pods.sent} pod reviews in ${pods.seconds.toFixed(1)} s; allowed ${pods.allowed} (${pods.reserved} reserved addresses), refused ${pods.refused} (pool status compared after each), dry runs ${pods.dryRuns}\n`)
  }
  const problems = [
    ...(report.crashed ? [`server crashed: ${report.crashed}`] : []),
    ...(report.failures.length ? [`${report.failures.length} malformed answers:\n${describeFailures(report)}`] : []),
    ...(report.serverErrors.length ? [`the server logged ${report.serverErrors.length} errors:\n  ${report.serverErrors.slice(0, 5).join('\n  ')}`] : []),
    ...(pods?.crashed ? [`pod leg: server crashed: ${pods.crashed}`] : []),
    ...(pods?.failures.length ? [`pod leg: ${pods.failures.length} failures:\n${describeFailures({ seed, failures: pods.failures })}`] : []),
  ]
  if (problems.length === 0) {
    process.stdout.write(`fuzz seed ${seed}: no problem found\n`)
    return 0
  }
  process.stdout.write(`fuzz seed ${seed} FAILED\n${problems.join('\n')}\n`)
  return 1
}

if (import.meta.main) process.exitCode = await main()
