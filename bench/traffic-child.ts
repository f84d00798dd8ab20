// Open-loop admission traffic for bench/memory.ts and bench/soak.ts, in its own process so that
// neither the control plane nor the measured server takes its event loop. Requests are sent at a
// fixed rate whether or not earlier ones were answered (an answer's latency counts from the moment
// it was due, so a stalled server shows as latency, not as a lower rate): AdmissionReviews of the
// five Spiderpool kinds posted straight to the webhook, and pods created through the control plane
// (which asks the pod webhook, which reserves) and deleted again after a while so that the
// collector gives their addresses back. Reports one window of figures over IPC every windowSeconds.
import { Agent, request } from 'node:https'
import { randomUUID } from 'node:crypto'
import { loadKubeconfig } from '../kube/kubeconfig.ts'
import { createTransport } from '../kube/transport.ts'
import { createStore } from '../kube/store.ts'
import { resources } from '../kube/resources.ts'

export interface TrafficPlan {
  webhookURL: string
  caPem: string
  kubeconfig: string
  /** admission requests per second the webhook should receive, pod admissions included */
  rate: number
  /** of those, pods per second created through the control plane */
  podRate: number
  /** how long a pod lives before it is deleted */
  podHoldMs: number
  namespace: string
  /** the NetworkAttachmentDefinition (in namespace) whose NIC asks our IPAM */
  nad: string
  /** each pod asks one of these pools, in turn */
  pools: string[]
  /** which reviews to post straight to the webhook: names of `reviewKinds` */
  reviews: string[]
  seconds: number
  windowSeconds: number
  /** requests in flight beyond this are not sent (counted as shed): the generator's own memory stays bounded */
  maxInFlight: number
}

export interface Window {
  /** seconds since the traffic began, at the window's end */
  at: number
  seconds: number
  due: number
  sent: number
  shed: number
  answered: number
  /** a review answered allowed: false, or a pod create refused */
  denied: number
  errors: number
  errorSamples: string[]
  p50Ms: number
  p99Ms: number
  maxMs: number
  pods: { created: number; deleted: number; refused: number; errors: number; p50Ms: number; p99Ms: number }
  inFlight: number
}

export type TrafficMessage = { type: 'window'; window: Window } | { type: 'done' } | { type: 'failed'; error: string }

const apiVersion = 'spiderpool.spidernet.io/v2beta1'
const spider = <S extends object>(kind: string, name: string, spec: S, namespace?: string) => ({ apiVersion, kind, metadata: { name, ...(namespace && { namespace }) }, spec })

// as the mutating webhook leaves them: the validating webhook is asked about defaulted objects
const ippool = spider('SpiderIPPool', 'traffic-v4', {
  ipVersion: 4,
  subnet: '10.250.0.0/16',
  ips: ['10.250.1.1-10.250.1.200', '10.250.2.1'],
  gateway: '10.250.0.1',
  excludeIPs: ['10.250.1.100'],
  routes: [{ dst: '172.16.0.0/12', gw: '10.250.0.254' }],
  podAffinity: { matchLabels: { app: 'web' } },
})
const ippoolV6 = spider('SpiderIPPool', 'traffic-v6', { ipVersion: 6, subnet: 'fd00:250::/64', ips: ['fd00:250::10-fd00:250::ff'], gateway: 'fd00:250::1' })
const subnet = spider('SpiderSubnet', 'traffic-subnet', { ipVersion: 4, subnet: '10.251.0.0/16', ips: ['10.251.0.10-10.251.3.250'], gateway: '10.251.0.1', excludeIPs: ['10.251.0.100'] })
const reservedIP = spider('SpiderReservedIP', 'traffic-reserved', { ipVersion: 4, ips: ['10.250.3.10-10.250.3.20', '10.250.3.30'] })
const coordinator = spider('SpiderCoordinator', 'default', { mode: 'auto', podCIDRType: 'cluster', hijackCIDR: ['169.254.0.0/16'], hostRuleTable: 500, podRPFilter: 0 })
const multusConfig = (namespace: string) =>
  spider('SpiderMultusConfig', 'traffic-macvlan', { cniType: 'macvlan', macvlan: { master: ['eth0'], vlanID: 100, ippools: { ipv4: ['traffic-v4'] } }, coordinator: { mode: 'underlay' } }, namespace)

const resourceOf: Record<string, string> = {
  SpiderIPPool: 'spiderippools',
  SpiderSubnet: 'spidersubnets',
  SpiderReservedIP: 'spiderreservedips',
  SpiderCoordinator: 'spidercoordinators',
  SpiderMultusConfig: 'spidermultusconfigs',
}

interface ReviewTemplate {
  path: string
  /** the review's text split at its uid */
  head: string
  tail: string
}

const uidMark = '00000000-0000-0000-0000-0000000000uid'

function review(side: 'mutate' | 'validate', obj: { kind: string; metadata: { name: string; namespace?: string } }, old?: object): ReviewTemplate {
  const text = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: uidMark,
      kind: { group: 'spiderpool.spidernet.io', version: 'v2beta1', kind: obj.kind },
      resource: { group: 'spiderpool.spidernet.io', version: 'v2beta1', resource: resourceOf[obj.kind] },
      name: obj.metadata.name,
      ...(obj.metadata.namespace && { namespace: obj.metadata.namespace }),
      operation: old ? 'UPDATE' : 'CREATE',
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters'] },
      object: obj,
      ...(old && { oldObject: old }),
    },
  })
  const [head, tail] = text.split(uidMark)
  return { path: `/${side}-spiderpool-spidernet-io-v2beta1-${obj.kind.toLowerCase()}`, head, tail }
}

/** Every review the generator can post, by name; each is answered allowed by a correct server. */
export function reviewKinds(namespace: string): Record<string, ReviewTemplate> {
  const updatedPool = { ...ippool, spec: { ...ippool.spec, ips: [...ippool.spec.ips, '10.250.2.2-10.250.2.50'] } }
  return {
    'ippool-mutate': review('mutate', ippool),
    'ippool-validate': review('validate', ippool),
    'ippool-validate-v6': review('validate', ippoolV6),
    'ippool-validate-update': review('validate', updatedPool, ippool),
    'subnet-mutate': review('mutate', subnet),
    'subnet-validate': review('validate', subnet),
    'reservedip-mutate': review('mutate', reservedIP),
    'reservedip-validate': review('validate', reservedIP),
    'coordinator-mutate': review('mutate', coordinator),
    'coordinator-validate': review('validate', coordinator),
    'multusconfig-mutate': review('mutate', multusConfig(namespace)),
    'multusconfig-validate': review('validate', multusConfig(namespace)),
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))])

async function run(plan: TrafficPlan, send: (m: TrafficMessage) => void): Promise<void> {
  const templates = reviewKinds(plan.namespace)
  const chosen = plan.reviews.map((name) => {
    const t = templates[name]
    if (!t) throw new Error(`unknown review ${name}`)
    return t
  })
  const url = new URL(plan.webhookURL)
  const agent = new Agent({ keepAlive: true, maxSockets: 64, ca: plan.caPem })
  const store = createStore(createTransport(await loadKubeconfig(plan.kubeconfig), { timeoutMs: 30_000, userAgent: 'bench-traffic' }))

  let w = freshWindow()
  function freshWindow() {
    return { due: 0, sent: 0, shed: 0, answered: 0, denied: 0, errors: 0, errorSamples: [] as string[], latencies: [] as number[], pods: { created: 0, deleted: 0, refused: 0, errors: 0, latencies: [] as number[] } }
  }
  const error = (what: string) => {
    w.errors++
    if (w.errorSamples.length < 5) w.errorSamples.push(what)
  }
  let inFlight = 0

  const postReview = (t: ReviewTemplate, dueAt: number) => {
    const uid = randomUUID()
    const body = t.head + uid + t.tail
    inFlight++
    let finished = false
    const finish = (failure?: string) => {
      if (finished) return
      finished = true
      inFlight--
      if (failure !== undefined) error(`${t.path}: ${failure}`)
    }
    const req = request(
      { host: url.hostname, port: url.port, path: t.path, method: 'POST', agent, servername: 'localhost', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', (err) => finish(err.message))
        res.on('end', () => {
          if (finished) return
          finish()
          w.latencies.push(performance.now() - dueAt)
          w.answered++
          if (res.statusCode !== 200) return error(`${t.path}: HTTP ${res.statusCode}`)
          try {
            const answer = JSON.parse(Buffer.concat(chunks).toString()) as { response?: { uid?: string; allowed?: boolean; status?: { message?: string } } }
            if (answer.response?.uid !== uid) return error(`${t.path}: uid not echoed`)
            if (answer.response.allowed !== true) {
              w.denied++
              if (w.errorSamples.length < 5) w.errorSamples.push(`${t.path}: denied: ${answer.response.status?.message}`)
            }
          } catch (err) {
            error(`${t.path}: ${(err as Error).message}`)
          }
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error('timed out after 30 s')))
    req.on('error', (err) => finish(err.message))
    req.end(body)
  }

  let podSeq = 0
  const createPod = async (dueAt: number) => {
    const pool = plan.pools[podSeq++ % plan.pools.length]
    inFlight++
    try {
      const pod = await store.create(resources.pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          generateName: 'soak-',
          namespace: plan.namespace,
          annotations: { 'k8s.v1.cni.cncf.io/networks': plan.nad, 'ipam.spidernet.io/ippools': JSON.stringify([{ interface: 'net1', ipv4: [pool] }]) },
        },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      } as never)
      w.pods.latencies.push(performance.now() - dueAt)
      w.pods.created++
      setTimeout(() => {
        store
          .delete(resources.pods, pod.metadata!.name!, { namespace: plan.namespace })
          .then(() => w.pods.deleted++)
          .catch((err: Error) => {
            w.pods.errors++
            error(`delete pod: ${err.message}`)
          })
      }, plan.podHoldMs)
    } catch (err) {
      const message = (err as Error).message
      if (/ 403 /.test(message)) {
        w.pods.refused++
        w.denied++
        if (w.errorSamples.length < 5) w.errorSamples.push(`create pod: ${message}`)
      } else {
        w.pods.errors++
        error(`create pod: ${message}`)
      }
    } finally {
      inFlight--
    }
  }

  const reviewRate = plan.rate - plan.podRate
  const start = performance.now()
  let windowStart = start
  let reviewsDue = 0
  let podsDue = 0
  let next = 0
  const end = start + plan.seconds * 1000
  for (;;) {
    const now = performance.now()
    const elapsed = (Math.min(now, end) - start) / 1000
    // the moments requests were due, spread evenly: each one's latency counts from its own
    const wantReviews = Math.floor(elapsed * reviewRate)
    const wantPods = Math.floor(elapsed * plan.podRate)
    for (; reviewsDue < wantReviews; reviewsDue++) {
      w.due++
      if (inFlight >= plan.maxInFlight) {
        w.shed++
        continue
      }
      w.sent++
      postReview(chosen[next++ % chosen.length], start + (reviewsDue / reviewRate) * 1000)
    }
    for (; podsDue < wantPods; podsDue++) {
      w.due++
      if (inFlight >= plan.maxInFlight) {
        w.shed++
        continue
      }
      w.sent++
      void createPod(start + (podsDue / plan.podRate) * 1000)
    }
    if (now - windowStart >= plan.windowSeconds * 1000 || now >= end) {
      const latencies = w.latencies.sort((a, b) => a - b)
      const podLatencies = w.pods.latencies.sort((a, b) => a - b)
      send({
        type: 'window',
        window: {
          at: (now - start) / 1000,
          seconds: (now - windowStart) / 1000,
          due: w.due,
          sent: w.sent,
          shed: w.shed,
          answered: w.answered + w.pods.created + w.pods.refused,
          denied: w.denied,
          errors: w.errors,
          errorSamples: w.errorSamples,
          p50Ms: percentile(latencies, 0.5),
          p99Ms: percentile(latencies, 0.99),
          maxMs: latencies.at(-1) ?? 0,
          pods: { created: w.pods.created, deleted: w.pods.deleted, refused: w.pods.refused, errors: w.pods.errors, p50Ms: percentile(podLatencies, 0.5), p99Ms: percentile(podLatencies, 0.99) },
          inFlight,
        },
      })
      w = freshWindow()
      windowStart = now
      if (now >= end) break
    }
    await sleep(1)
  }
  // the pods still alive are deleted when their hold ends; wait for that and for the answers
  const drainUntil = performance.now() + plan.podHoldMs + 10_000
  while (inFlight > 0 && performance.now() < drainUntil) await sleep(50)
  await sleep(plan.podHoldMs + 500)
  agent.destroy()
  store.transport.close()
}

if (process.send) {
  const send = (m: TrafficMessage) => process.send!(m)
  process.once('message', (plan: TrafficPlan) => {
    run(plan, send).then(
      () => {
        send({ type: 'done' })
        process.disconnect()
      },
      (err: Error) => {
        send({ type: 'failed', error: err.stack ?? err.message })
        process.disconnect()
      },
    )
  })
  process.on('disconnect', () => process.exit(0))
}
