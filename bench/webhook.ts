// SpiderIPPool validation over HTTPS with keep-alive, against a bare node:https server answering a
// fixed review in the same run. Each server runs in its own process; the load generator in this one.
// Prints requests/s of both, the ratio, and latencies. BENCH_SECONDS sets the measured duration.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { ensureServingCertificate } from '../certs/index.ts'

const root = join(import.meta.dirname, '..')
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = 16

const pool = {
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderIPPool',
  metadata: { name: 'bench-pool', finalizers: ['spiderpool.spidernet.io'], labels: { 'ipam.spidernet.io/ippool-cidr': '10-6-0-0-16' } },
  spec: {
    ipVersion: 4,
    subnet: '10.6.0.0/16',
    gateway: '10.6.0.1',
    ips: ['10.6.212.100-10.6.212.200', '10.6.213.1-10.6.213.250'],
    excludeIPs: ['10.6.212.150'],
    routes: [{ dst: '172.16.0.0/12', gw: '10.6.0.254' }],
    podAffinity: { matchLabels: { app: 'nginx' } },
    default: false,
    disable: false,
  },
}
const body = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: '0b3c1b52-5b7e-4d0e-9d64-3f1f6b0c7a11',
    kind: { group: 'spiderpool.spidernet.io', version: 'v2beta1', kind: 'SpiderIPPool' },
    resource: { group: 'spiderpool.spidernet.io', version: 'v2beta1', resource: 'spiderippools' },
    name: 'bench-pool',
    operation: 'CREATE',
    userInfo: { username: 'kubernetes-admin', groups: ['system:masters'] },
    object: pool,
  },
})

function start(cmd: string, args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
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

async function load(url: string, ca: string, duration: number) {
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
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, total: result.requests.total }
}

async function measure(name: string, cmd: string, args: string[], path: string, ca: string) {
  const { child, url } = await start(cmd, args)
  try {
    await load(url + path, ca, 2) // warm-up: JIT, TLS sessions, keep-alive sockets
    return { name, ...(await load(url + path, ca, seconds)) }
  } finally {
    child.kill('SIGTERM')
  }
}

const dir = mkdtempSync(join(tmpdir(), 'bench-webhook-'))
try {
  const tls = await ensureServingCertificate({ dir, service: 'spiderpool-controller', namespace: 'kube-system', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
  const node = process.execPath
  const baseline = await measure('bare node:https, fixed review', node, ['bench/bare-https-server.ts', dir], '/', tls.caPem)
  const ours = await measure(
    'spiderpool-ts SpiderIPPool validation',
    node,
    ['bin/spiderpool-ts', 'webhook', '--listen', '127.0.0.1:0', '--tls-dir', dir, ...(process.env.BENCH_LOG_LEVEL ? ['--log-level', process.env.BENCH_LOG_LEVEL] : [])],
    '/validate-spiderpool-spidernet-io-v2beta1-spiderippool',
    tls.caPem,
  )
  const ratio = ours.rps / baseline.rps
  const rows = [baseline, ours]
  console.log(`\nbench/webhook: ${connections} keep-alive HTTPS connections, ${seconds} s each, 2 s warm-up\n`)
  console.log('| server | requests/s | p50 ms | p99 ms |')
  console.log('|---|---:|---:|---:|')
  for (const r of rows) console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} |`)
  console.log(`\nratio ours/baseline: ${ratio.toFixed(2)} (target ≥ 0.80); our p99: ${ours.p99} ms (target ≤ 5 ms)`)
  mkdirSync(join(root, 'bench/results'), { recursive: true })
  writeFileSync(join(root, 'bench/results/webhook.json'), JSON.stringify({ when: new Date().toISOString(), seconds, connections, baseline, ours, ratio }, null, 2))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
