// CNI ADD start-to-exit time, as a runtime pays it on a node: the `spiderpool` IPAM claiming a
// reservation the webhook made, the `coordinator` after macvlan, Debian's host-local run the same
// way, and `node -e 0` as the floor — every one started through `ip netns exec` in the node's
// namespace, each run with a fresh pod namespace and a DEL after it. The kinds take turns run by
// run, so that other work on the machine lands on all of them alike. BENCH_RUNS sets the runs per
// kind (default 50). Needs root; uses the single executables when `npm run build:cni` is current.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { resources } from '../kube/resources.ts'
import { missingRequirements, routerIPv4 } from '../test/cni/harness/cluster.ts'
import type { Pod } from '../test/cni/harness/cluster.ts'
import { macvlanNetwork } from '../test/cni/harness/networks.ts'
import { addNetworkList, delNetworkList } from '../test/cni/harness/runtime.ts'
import { builtDir, builtIsCurrent, createNad, createPod, createPool, root, spiderpoolIpam, startSpiderpoolEnv } from '../test/cni/spiderpool-env.ts'

const runs = Number(process.env.BENCH_RUNS ?? 50)
const targets = { spiderpool: 25, coordinator: 40 }

const missing = missingRequirements(['ip', 'nsenter', 'iptables'])
if (missing) {
  process.stderr.write(`bench:cni: ${missing}\n`)
  process.exit(1)
}

/** Wall time of one program run in the namespace, from spawn to exit (ms); fails on a non-zero exit. */
function timed(netns: string, argv: string[], env: Record<string, string>, stdin: string): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint()
    const child = spawn('ip', ['netns', 'exec', netns, ...argv], { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.once('error', reject)
    child.once('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6
      if (code !== 0) reject(new Error(`${argv.join(' ')}: exit ${code}: ${stdout}${stderr}`))
      else resolve({ ms, stdout })
    })
    child.stdin.on('error', () => {})
    child.stdin.end(stdin)
  })
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]

const built = existsSync(path.join(builtDir, 'spiderpool')) && existsSync(path.join(builtDir, 'coordinator'))
const stale = built && !builtIsCurrent()
const env = await startSpiderpoolEnv({ nodes: 1, binaries: built ? 'sea' : 'source' })
try {
  const [node] = env.cluster.nodes
  const cniPath = env.cniPath
  await createPool(env, 'bench-v4', { subnet: '10.6.0.0/16', ips: ['10.6.20.1-10.6.20.250'], gateway: routerIPv4 })
  const list = macvlanNetwork({ name: 'bench', ipam: spiderpoolIpam(env, { v4: ['bench-v4'] }), coordinator: { kubeconfig: env.kubeconfig }, cniVersion: '1.0.0' })
  await createNad(env, 'bench', list)
  const annotations = { 'v1.multus-cni.io/default-network': 'default/bench' }
  const cniEnv = (command: string, pod: Pod, ifName = 'eth0') => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: pod.containerId,
    CNI_NETNS: pod.netns,
    CNI_IFNAME: ifName,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.containerId}`,
    CNI_PATH: cniPath.join(':'),
  })
  const plugin = (type: string) => path.join(type === 'host-local' ? '/usr/lib/cni' : cniPath[0], type)
  const removePodObject = (name: string) => env.store.delete(resources.pods, name, { namespace: 'default' }).catch(() => {})

  const kinds = {
    floor: async (i: number) => {
      const pod = await env.cluster.addPod(node, `floor-${i}`)
      const { ms } = await timed(node.name, [process.execPath, '-e', '0'], {}, '')
      await env.cluster.removePod(pod)
      return ms
    },
    'host-local': async (i: number) => {
      const pod = await env.cluster.addPod(node, `hl-${i}`)
      const config = JSON.stringify({ cniVersion: '1.0.0', name: 'bench-hl', type: 'macvlan', ipam: { type: 'host-local', dataDir: path.join(env.cluster.dir, 'hl'), ranges: [[{ subnet: '10.6.0.0/16', rangeStart: '10.6.21.1', rangeEnd: '10.6.21.250', gateway: routerIPv4 }]] } })
      const { ms } = await timed(node.name, [plugin('host-local')], cniEnv('ADD', pod), config)
      await timed(node.name, [plugin('host-local')], cniEnv('DEL', pod), config)
      await env.cluster.removePod(pod)
      return ms
    },
    spiderpool: async (i: number) => {
      const name = `sp-${i}`
      await createPod(env, node, name, { annotations })
      const pod = await env.cluster.addPod(node, name)
      const config = JSON.stringify({ cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] })
      const { ms } = await timed(node.name, [plugin('spiderpool')], cniEnv('ADD', pod), config)
      await removePodObject(name)
      await timed(node.name, [plugin('spiderpool')], cniEnv('DEL', pod), config)
      await env.cluster.removePod(pod)
      return ms
    },
    coordinator: async (i: number) => {
      const name = `co-${i}`
      await createPod(env, node, name, { annotations })
      const pod = await env.cluster.addPod(node, name)
      const macvlanOnly = { ...list, plugins: [list.plugins[0]] }
      const prevResult = await addNetworkList(macvlanOnly, { pod, ifName: 'eth0' }, { cniPath })
      const config = JSON.stringify({ ...list.plugins[1], cniVersion: list.cniVersion, name: list.name, prevResult })
      const { ms, stdout } = await timed(node.name, [plugin('coordinator')], cniEnv('ADD', pod), config)
      await removePodObject(name)
      await delNetworkList(list, { pod, ifName: 'eth0' }, { cniPath }, JSON.parse(stdout))
      await env.cluster.removePod(pod)
      return ms
    },
  }
  type Kind = keyof typeof kinds
  const samples: Record<Kind, number[]> = { floor: [], 'host-local': [], spiderpool: [], coordinator: [] }
  // one untimed round: page cache, the API's connections, the compile cache of the sources
  for (const k of Object.keys(kinds) as Kind[]) await kinds[k](-1)
  for (let i = 0; i < runs; i++) for (const k of Object.keys(kinds) as Kind[]) samples[k].push(await kinds[k](i))

  const floor = median(samples.floor)
  const rows = (Object.keys(samples) as Kind[]).map((k) => {
    const m = median(samples[k])
    const target = k === 'spiderpool' || k === 'coordinator' ? targets[k] : undefined
    return { kind: k, median: m, p90: percentile(samples[k], 0.9), delta: m - floor, target, met: target === undefined ? undefined : m - floor <= target }
  })
  const which =
    env.binaries === 'sea'
      ? `single executables (dist/cni${stale ? ', built before the last change of the sources' : ''})`
      : 'node on the TypeScript sources (run `npm run build:cni` for the single executables)'
  const load = process.getBuiltinModule('node:os').loadavg()[0]
  const fmt = (x: number) => x.toFixed(1).padStart(7)
  const out = [
    `CNI ADD, ${runs} runs each, every run through \`ip netns exec\` in a node namespace; plugins: ${which}`,
    '',
    `${'what'.padEnd(30)} ${'median'.padStart(7)} ${'p90'.padStart(7)} ${'Δ floor'.padStart(8)}  target`,
    ...rows.map((r) => {
      const label = { floor: 'node -e 0 (floor)', 'host-local': 'host-local ADD (Debian, Go)', spiderpool: 'spiderpool ADD (claim)', coordinator: 'coordinator ADD (underlay)' }[r.kind]
      const target = r.target === undefined ? '' : `≤ floor + ${r.target} ms: ${r.met ? 'met' : 'MISSED'}`
      return `${label.padEnd(30)} ${fmt(r.median)} ${fmt(r.p90)} ${r.kind === 'floor' ? '        ' : `${r.delta >= 0 ? '+' : ''}${r.delta.toFixed(1)}`.padStart(8)}  ${target}`
    }),
    '',
    `spiderpool vs host-local: ${(median(samples.spiderpool) - median(samples['host-local'])).toFixed(1)} ms; times in ms; load average ${load.toFixed(2)} on ${process.getBuiltinModule('node:os').availableParallelism()} CPUs`,
  ]
  process.stdout.write(`${out.join('\n')}\n`)
  mkdirSync(path.join(root, 'bench/results'), { recursive: true })
  writeFileSync(path.join(root, 'bench/results/cni.json'), JSON.stringify({ when: new Date().toISOString(), runs, binaries: env.binaries, stale, load, rows, samples }, null, 2))
} finally {
  await env.stop()
}
