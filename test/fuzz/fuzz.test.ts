// The fuzz suite, small: generated and mutated AdmissionReviews against the real server (a child
// process, HTTPS) are all answered well-formed, and hostile pod annotations reserve nothing when
// refused. `npm run fuzz` runs the full 100 000; a failure names the seed and case to replay.
import t from 'tap'
import { describeFailures, runFuzz } from '../../fuzz/run.ts'
import { runPodFuzz } from '../../fuzz/pods.ts'
import { generateCase } from '../../fuzz/generate.ts'
import { checkAnswer } from '../../fuzz/check.ts'

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const mib = 1024 * 1024

t.test('the generator is deterministic: one seed, one case', async (t) => {
  for (const index of [0, 7, 123, 2_999]) {
    const a = generateCase(seed, index)
    const b = generateCase(seed, index)
    t.same([a.path, a.method, a.contentType, a.body.equals(b.body)], [b.path, b.method, b.contentType, true], `case ${index}`)
  }
  t.not(generateCase(seed, 1).body.toString(), generateCase(seed + 1, 1).body.toString(), 'another seed, another case')
})

t.test('the checker refuses what the server must never answer', async (t) => {
  const c = { ...generateCase(1, 0), method: 'POST' as const, path: '/mutate--v1-pod', contentType: 'application/json' }
  const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, operation: 'CREATE', object: {} } }
  const valid = { ...c, body: Buffer.from(JSON.stringify(review)) }
  const answer = (status: number, body: object) => ({ status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body) })
  t.equal(checkAnswer(valid, answer(200, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u1', allowed: true, status: { code: 200 } } })), undefined)
  t.match(checkAnswer(valid, answer(200, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u2', allowed: true, status: { code: 200 } } })), /uid/)
  t.match(checkAnswer(valid, answer(500, { error: 'Internal Server Error', message: 'x' })), /HTTP 500/)
  t.match(checkAnswer(valid, answer(200, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u1', allowed: false, status: { code: 500, reason: 'InternalError', message: 'boom' } } })), /internal error/)
  t.match(checkAnswer(valid, answer(400, { error: 'Bad Request', message: 'x' })), /valid review got HTTP 400/)
  t.equal(checkAnswer({ ...c, body: Buffer.from('{"apiVersion":') }, answer(400, { error: 'Bad Request', message: 'bad JSON' })), undefined)
  t.match(checkAnswer({ ...c, body: Buffer.from('{"apiVersion":') }, answer(400, { oops: 1 })), /without \{error, message\}/)
})

t.test(`3 000 generated and mutated reviews are all answered well-formed; the server stays up, memory bounded (seed ${seed})`, { timeout: 300_000 }, async (t) => {
  const report = await runFuzz({ seed, count: 3_000, concurrency: 4, sampleEvery: 1_000 })
  t.equal(report.crashed, undefined, `the server keeps running (seed ${seed})`)
  t.equal(report.sent, 3_000)
  t.same(report.failures, [], `every answer well-formed (seed ${seed}):\n${describeFailures(report)}`)
  t.same(report.serverErrors, [], 'the server logged no error')
  t.ok(report.verdicts.allowed > 300 && report.verdicts.denied > 300, `both verdicts were reached: ${JSON.stringify(report.verdicts)}`)
  for (const status of ['200', '400', '404', '415']) t.ok(report.statuses[status] > 0, `some answers were HTTP ${status}`)
  const { warm, end } = report.memory
  t.ok(end.heapUsed - warm.heapUsed < 24 * mib, `heap after GC ${(warm.heapUsed / mib).toFixed(1)} → ${(end.heapUsed / mib).toFixed(1)} MiB`)
  t.ok(end.rss < 768 * mib, `rss after GC ${(end.rss / mib).toFixed(1)} MiB`)
})

t.test(`pods with hostile IPAM and Multus annotations: every refusal and dry run leaves the pools as they were (seed ${seed})`, { timeout: 300_000 }, async (t) => {
  const report = await runPodFuzz({ seed, count: 400 })
  t.equal(report.crashed, undefined, 'the server keeps running')
  t.same(report.failures, [], `well-formed, nothing reserved by a refused pod (seed ${seed}):\n${describeFailures({ seed, failures: report.failures })}`)
  t.same(report.serverErrors, [], 'the server logged no error')
  t.ok(report.refused > 50 && report.allowed > 10, `both verdicts were reached: allowed ${report.allowed}, refused ${report.refused}`)
})
