// The pod leg: pods with random and hostile IPAM and Multus annotations sent to the pod webhook of
// the local default (control plane + webhook server). Every answer must be well-formed, and a
// refused pod or a dry run must leave every pool's status as it was: bad input changes nothing.
import { createServerTransport } from '../kube/config.ts'
import { createStore, type Store } from '../kube/store.ts'
import { resources } from '../kube/resources.ts'
import { checkAnswer } from './check.ts'
import { startServer, sender, type Sender } from './client.ts'
import { caseRandom, type Random } from './random.ts'
import { hostileValue, mutateText } from './mutate.ts'
import type { FuzzCase } from './generate.ts'
import type { Json } from './seeds.ts'
import type { Failure } from './run.ts'

export interface PodFuzzReport {
  sent: number
  allowed: number
  refused: number
  dryRuns: number
  /** admitted pods whose reservation changed a pool: the leg reaches the writer */
  reserved: number
  failures: Failure[]
  crashed?: string
  serverErrors: string[]
  seconds: number
}

const namespace = 'fuzz'
const pools = {
  'fz-v4': { subnet: '10.60.0.0/16', ips: ['10.60.0.10-10.60.3.250'], gateway: '10.60.0.1' },
  'fz-v6': { subnet: 'fd00:60::/120', ips: ['fd00:60::10-fd00:60::f0'], gateway: 'fd00:60::1' },
  'fz-tiny': { subnet: '10.61.0.0/24', ips: ['10.61.0.10-10.61.0.12'] },
  'fz-node': { subnet: '10.62.0.0/24', ips: ['10.62.0.10-10.62.0.20'], nodeName: ['node-x'] },
}
const realPools = Object.keys(pools)
const wrongPools = ['nope', '', 'FZ-V4', 'fz-v4 ']

const nad = (name: string) => ({
  apiVersion: 'k8s.cni.cncf.io/v1' as const,
  kind: 'NetworkAttachmentDefinition' as const,
  metadata: { name, namespace },
  spec: { config: JSON.stringify({ cniVersion: '0.3.1', name, plugins: [{ type: 'macvlan', master: 'ens192', mode: 'bridge', ipam: { type: 'spiderpool' } }] }) },
})

const list = (r: Random, n: number) => Array.from({ length: n }, () => r.pick(r.chance(0.8) ? realPools : wrongPools))

/** A value for one annotation: mostly plausible (naming real pools and networks), often broken. */
function annotationValue(r: Random, key: string): Json {
  let plausible: string
  switch (key) {
    case 'ipam.spidernet.io/ippool':
      plausible = JSON.stringify({ ...(r.chance(0.8) && { ipv4: list(r, 1 + r.int(2)) }), ...(r.chance(0.4) && { ipv6: list(r, 1) }) })
      break
    case 'ipam.spidernet.io/ippools':
      plausible = JSON.stringify(Array.from({ length: 1 + r.int(3) }, (_, i) => ({ ...(r.chance(0.8) && { interface: r.pick([`net${i + 1}`, 'eth0', 'net9', '']) }), ipv4: list(r, 1), ...(r.chance(0.3) && { ipv6: list(r, 1) }), ...(r.chance(0.2) && { cleangateway: r.chance(0.5) }) })))
      break
    case 'k8s.v1.cni.cncf.io/networks':
      plausible = r.pick(['mv', 'mv, mv-b', `${namespace}/mv`, 'mv@net5', 'missing', 'kube-system/mv', JSON.stringify([{ name: 'mv', interface: 'net1' }, { name: 'mv-b', namespace }]), JSON.stringify([{ name: 'mv', interface: 'eth0' }]), ',,,', 'mv,mv,mv,mv,mv'])
      break
    case 'v1.multus-cni.io/default-network':
      plausible = r.pick([`${namespace}/mv`, 'mv', 'kube-system/nope', '', '/', `${namespace}/mv-b@eth0`])
      break
    default:
      plausible = r.pick(['net1', 'net2', 'eth0', 'net9', '', 'NET1'])
  }
  const roll = r.int(10)
  if (roll < 7) return plausible
  if (roll < 9) return mutateText(r, plausible).toString('utf8')
  const hostile = hostileValue(r)
  return r.chance(0.8) && typeof hostile !== 'string' ? JSON.stringify(hostile) : hostile
}

const annotationKeys = ['ipam.spidernet.io/ippool', 'ipam.spidernet.io/ippools', 'k8s.v1.cni.cncf.io/networks', 'v1.multus-cni.io/default-network', 'ipam.spidernet.io/default-route-nic']

export function podCase(seed: number, index: number): { fuzz: FuzzCase; dryRun: boolean } {
  const r = caseRandom(seed ^ 0x5bd1e995, index)
  const annotations: Record<string, Json> = {}
  for (const key of annotationKeys) if (r.chance(0.4)) annotations[key] = annotationValue(r, key)
  if (r.chance(0.8) && annotations['k8s.v1.cni.cncf.io/networks'] === undefined) annotations['k8s.v1.cni.cncf.io/networks'] = 'mv'
  const ns = r.chance(0.9) ? namespace : r.pick(['kube-system', 'nope', ''])
  const dryRun = r.chance(0.15)
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...(r.chance(0.5) ? { name: `p-${index}` } : { generateName: 'p-' }), namespace: ns, annotations, labels: { app: 'fuzz' } },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...(r.chance(0.1) && { nodeName: r.pick(['node-x', 'node-y']) }) },
  }
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: `pod-${seed}-${index}`, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: ns, operation: 'CREATE', userInfo: { username: 'fuzz' }, object: pod, dryRun },
  }
  return { fuzz: { index, shape: 'pod', method: 'POST', path: '/mutate--v1-pod', contentType: 'application/json', body: Buffer.from(JSON.stringify(review)) }, dryRun }
}

/** What a reservation changes: each pool's records and count. */
async function poolStatus(store: Store): Promise<string> {
  const { items } = await store.list(resources.ippools)
  return JSON.stringify(items.map((p) => [p.metadata?.name, p.status?.allocatedIPs ?? null, p.status?.allocatedIPCount ?? 0]).sort())
}

async function setUp(store: Store, client: Sender): Promise<void> {
  await store.create(resources.namespaces, { metadata: { name: namespace } })
  await store.create(resources.networkAttachmentDefinitions, nad('mv'))
  await store.create(resources.networkAttachmentDefinitions, nad('mv-b'))
  for (const [name, spec] of Object.entries(pools)) await store.create(resources.ippools, { metadata: { name }, spec } as never)
  // the webhook judges from its informers' cache: wait until a dry run can use every pool
  const deadline = Date.now() + 20_000
  for (const name of Object.keys(pools).filter((n) => n !== 'fz-node')) {
    for (;;) {
      const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'probe', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace, operation: 'CREATE', dryRun: true, object: { metadata: { generateName: 'probe-', namespace, annotations: { 'k8s.v1.cni.cncf.io/networks': 'mv', 'ipam.spidernet.io/ippool': JSON.stringify(name.includes('v6') ? { ipv6: [name] } : { ipv4: [name] }) } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } } }
      const answer = await client.send({ method: 'POST', path: '/mutate--v1-pod', contentType: 'application/json', body: Buffer.from(JSON.stringify(review)) })
      if (answer.status === 200 && JSON.parse(answer.body).response.allowed) break
      if (Date.now() > deadline) throw new Error(`pool ${name} never became usable: ${answer.body}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

export async function runPodFuzz(o: { seed: number; count: number; timeoutMs?: number }): Promise<PodFuzzReport> {
  const started = Date.now()
  const server = await startServer({ controlPlane: true })
  const client = sender(server.ready.url, server.ready.caPem, { concurrency: 1, timeoutMs: o.timeoutMs ?? 15_000 })
  const report: PodFuzzReport = { sent: 0, allowed: 0, refused: 0, dryRuns: 0, reserved: 0, failures: [], serverErrors: server.errorLines, seconds: 0 }
  try {
    const store = createStore(await createServerTransport({ kubeconfig: server.ready.kubeconfig }))
    await setUp(store, client)
    let before = await poolStatus(store)
    for (let index = 0; index < o.count && !server.exited; index++) {
      const { fuzz, dryRun } = podCase(o.seed, index)
      const fail = (problem: string) => report.failures.push({ index, shape: `pod${dryRun ? ' (dry run)' : ''}`, path: fuzz.path, problem })
      report.sent++
      let answer
      try {
        answer = await client.send(fuzz)
      } catch (err) {
        fail(`no answer: ${(err as Error).message}`)
        continue
      }
      const problem = checkAnswer(fuzz, answer)
      if (problem) {
        fail(problem)
        before = await poolStatus(store)
        continue
      }
      const { allowed, status } = JSON.parse(answer.body).response
      allowed ? report.allowed++ : report.refused++
      if (dryRun) report.dryRuns++
      const after = await poolStatus(store)
      if (allowed && !dryRun && after !== before) report.reserved++
      if ((!allowed || dryRun) && after !== before) fail(`${allowed ? 'a dry run' : `a refused pod (${status.message})`} changed the pools: ${before} → ${after}`)
      before = after
    }
  } finally {
    client.close()
    if (server.exited) report.crashed = `the server exited (code ${server.exited.code}, signal ${server.exited.signal}): ${server.stderrTail()}`
    await server.close()
  }
  report.seconds = (Date.now() - started) / 1000
  return report
}
