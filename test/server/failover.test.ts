// Two webhook replicas (`spiderpool-ts webhook`, each its own process as in two pods) on one local
// control plane: one leads the controllers, the other takes over when the leader is killed or
// stopped, and no piece of controller work is ever done twice.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { startControlPlane } from '../../kube/controlplane/index.ts'
import { isConflict } from '../../kube/errors.ts'
import { resources, type AnyObject, type Lease, type Resource } from '../../kube/resources.ts'
import { createStore, type Store } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'
import { parseRecords } from '../../ipam/records.ts'
import { encodeReservation, newReservationToken, reservationAnnotation } from '../../ipam/reservation.ts'
import type { KubeObject } from '../../schemas/meta.ts'
import type { SpiderMultusConfig } from '../../schemas/types.ts'

const repo = path.resolve(import.meta.dirname, '../..')
const scratch = mkdtempSync(path.join(tmpdir(), 'failover-'))
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }))

// Short lease timings, passed as Spiderpool's deployment passes them.
const leaseMs = 2000
const retryMs = 200
const leaderEnv = { SPIDERPOOL_LEADER_DURATION: '2', SPIDERPOOL_LEADER_RENEW_DEADLINE: '1', SPIDERPOOL_LEADER_RETRY_PERIOD: '0.2' }
// A follower watches the lease, so it counts the lease from the leader's last renewal (before the kill),
// not from its next poll; allowed on top: the watch event's delivery and timers on a loaded 2-core machine.
const eventLagMs = 150

const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 15_000) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface LogLine {
  time: number
  msg: string
  identity?: string
  pool?: string
  ip?: string
}

interface Replica {
  name: string
  child: ChildProcess
  logs: LogLine[]
  output: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function startReplica(name: string, kubeconfig: string): Replica {
  const child = spawn(
    process.execPath,
    [path.join(repo, 'bin/spiderpool-ts'), 'webhook', '--listen', '127.0.0.1:0', '--tls-dir', path.join(scratch, `tls-${name}`), '--kubeconfig', kubeconfig, '--log-level', 'info'],
    { cwd: repo, env: { ...process.env, ...leaderEnv, SPIDERPOOL_POD_NAME: name }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const logs: LogLine[] = []
  let output = ''
  let partial = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk
    const lines = (partial + chunk).split('\n')
    partial = lines.pop()!
    for (const line of lines) {
      if (!line.startsWith('{')) continue
      logs.push(JSON.parse(line))
    }
  })
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })))
  return { name, child, logs, output: () => output, exited }
}

interface Seen {
  at: number
  type: string
  object: AnyObject
}

/** Every write to a resource from now on, as a watch delivers it, with the moment it arrived. */
function record<T extends KubeObject>(store: Store, resource: Resource<T>, namespace: string | undefined, signal: AbortSignal): { events: Seen[]; ready: Promise<void> } {
  const events: Seen[] = []
  let markReady!: () => void
  const ready = new Promise<void>((r) => (markReady = r))
  void (async () => {
    let resourceVersion = (await store.list(resource, { namespace })).resourceVersion
    markReady()
    while (!signal.aborted) {
      try {
        for await (const e of store.watch(resource, { namespace, resourceVersion, signal })) {
          resourceVersion = e.object.metadata?.resourceVersion ?? resourceVersion
          if (e.type !== 'BOOKMARK') events.push({ at: Date.now(), type: e.type, object: e.object as unknown as AnyObject })
        }
      } catch (err) {
        if (!signal.aborted) throw err
      }
    }
  })()
  return { events, ready }
}

const holderOf = (e: Seen) => ((e.object as Lease).spec?.holderIdentity ?? '') as string
const replicaOf = (identity: string) => identity.replace(/_[0-9a-f]{8}$/, '')
/** Leadership as each replica's own log tells it: from 'leading' to 'no longer leading' (or its death). */
const terms = (r: Replica, diedAt?: number) => {
  const out: { from: number; to: number }[] = []
  for (const line of r.logs) {
    if (line.msg === 'leading: controllers started') out.push({ from: line.time, to: Infinity })
    if (line.msg === 'no longer leading: controllers stopped' && out.length > 0) out[out.length - 1].to = line.time
  }
  if (diedAt !== undefined && out.length > 0 && out[out.length - 1].to === Infinity) out[out.length - 1].to = diedAt
  return out
}

const multusConfig = (name: string): SpiderMultusConfig => ({
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderMultusConfig',
  metadata: { name, namespace: 'default' },
  spec: { cniType: 'macvlan', macvlan: { master: ['eth0'] } },
})

t.test('two replicas on one control plane: one leader, failover within the lease duration, no double work', { timeout: 120_000 }, async (t) => {
  const cp = await startControlPlane({ dataDir: path.join(scratch, 'plane'), port: 0 })
  const transport = createTransport({ server: cp.url, ca: cp.caPem, token: cp.token })
  const store = createStore(transport)
  const watching = new AbortController()
  const replicas: Replica[] = []
  t.teardown(async () => {
    for (const r of replicas) r.child.kill('SIGKILL')
    await Promise.all(replicas.map((r) => r.exited))
    watching.abort()
    transport.close()
    await cp.close()
  })

  const lease = record(store, resources.leases, 'kube-system', watching.signal)
  const nads = record(store, resources.networkAttachmentDefinitions, 'default', watching.signal)
  const pools = record(store, resources.ippools, undefined, watching.signal)
  await Promise.all([lease.ready, nads.ready, pools.ready])
  const leaseWrites = () => lease.events.filter((e) => e.object.metadata?.name === 'spiderpool-controller')
  const holder = () => {
    const writes = leaseWrites()
    return writes.length > 0 ? holderOf(writes[writes.length - 1]) : ''
  }
  const nadWrites = (name: string) => nads.events.filter((e) => e.object.metadata?.name === name).map((e) => e.type)
  const byName = (name: string) => replicas.find((r) => r.name === name)!

  const a = startReplica('replica-a', cp.kubeconfigPath)
  const b = startReplica('replica-b', cp.kubeconfigPath)
  replicas.push(a, b)
  await until('both replicas listening', () => /listening on/.test(a.output()) && /listening on/.test(b.output()), 30_000)
  await until('a lease holder', () => holder() !== '')
  await pause(3 * retryMs)

  const first = byName(replicaOf(holder()))
  const second = first === a ? b : a
  await t.test('exactly one replica leads, and the Lease names it', async (t) => {
    t.ok(leaseWrites().every((e) => replicaOf(holderOf(e)) === first.name), `every lease write so far names ${first.name}`)
    t.same(
      first.logs.filter((l) => l.msg === 'leading: controllers started').map((l) => l.identity),
      [holder()],
      'the holder started its controllers once, under the identity on the lease',
    )
    t.same(terms(second), [], `${second.name} never started its controllers`)
  })

  await t.test("only the leader's controllers act: a SpiderMultusConfig gets its NetworkAttachmentDefinition in one write", async (t) => {
    await store.create(resources.multusConfigs, multusConfig('before-kill'))
    await until('the NAD of before-kill', () => nadWrites('before-kill').length > 0)
    await pause(1000)
    t.same(nadWrites('before-kill'), ['ADDED'], 'created once, never rewritten')
  })

  // a pool whose address 10.6.0.10 a pod claimed: the collector must release it once the pod is deleted
  const token = newReservationToken()
  const pod = await store.create(resources.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web',
      namespace: 'default',
      annotations: { [reservationAnnotation]: encodeReservation({ token, ips: [{ interface: 'net1', ipv4: '10.6.0.10/16', ipv4Pool: 'failover-v4', vlan: 0, cleanGateway: false, routes: [] }] }) },
    },
    spec: { containers: [{ name: 'web', image: 'nginx' }] },
  } as AnyObject)
  await store.create(resources.ippools, { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'failover-v4' }, spec: { ipVersion: 4, subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.20'] } })
  await until('the leader to count the pool', async () => (await store.get(resources.ippools, 'failover-v4')).status?.totalIPCount === 11)
  const claimed = { '10.6.0.10': { pod: 'default/web', podUid: pod.metadata.uid, state: 'claimed', token, nic: 'net1', node: 'node-1' } }
  for (;;) {
    const current = await store.get(resources.ippools, 'failover-v4')
    try {
      await store.updateStatus(resources.ippools, { ...current, status: { ...current.status, allocatedIPs: JSON.stringify(claimed), allocatedIPCount: 1 } })
      break
    } catch (err) {
      if (!isConflict(err)) throw err
    }
  }
  const records = async () => parseRecords((await store.get(resources.ippools, 'failover-v4')).status?.allocatedIPs).records?.map((r) => r.ip)
  await pause(500)
  t.same(await records(), ['10.6.0.10'], 'a claimed record of a live pod is kept')

  // ---- the leader dies as a crashed pod does ----
  const renewalsBeforeKill = leaseWrites().length
  const lastRenewal = leaseWrites()[renewalsBeforeKill - 1]
  const killedAt = Date.now()
  first.child.kill('SIGKILL')
  await first.exited
  await until(`${second.name} to take the lease`, () => replicaOf(holder()) === second.name, 10_000)
  const takeover = leaseWrites().find((e) => replicaOf(holderOf(e)) === second.name)!
  // its log line about starting the controllers crosses a pipe after the lease write
  await until(`${second.name} to start its controllers`, () => terms(second).length > 0, 5_000).catch(() => {})

  await t.test('killed with SIGKILL, the leader is replaced within the lease duration', async (t) => {
    const afterKill = takeover.at - killedAt
    t.ok(afterKill <= leaseMs + eventLagMs, `${second.name} held the lease ${afterKill} ms after the kill (lease ${leaseMs} ms, retry ${retryMs} ms)`)
    const afterRenewal = takeover.at - lastRenewal.at
    t.ok(afterRenewal >= leaseMs - 50, `and not before the lease expired: ${afterRenewal} ms after the last renewal`)
    t.ok(afterRenewal <= leaseMs + eventLagMs, 'and at its expiry, not a poll later')
    t.equal((takeover.object as Lease).spec?.leaseTransitions, 1, 'one transition on the lease')
    t.equal(terms(second).length, 1, `${second.name} started its controllers`)
  })

  await t.test("the new leader's controllers do the work: a new SpiderMultusConfig gets its NAD, a deleted pod's IP is released", async (t) => {
    await store.create(resources.multusConfigs, multusConfig('after-kill'))
    await until('the NAD of after-kill', () => nadWrites('after-kill').length > 0)
    await store.delete(resources.pods, 'web', { namespace: 'default', gracePeriodSeconds: 0 })
    await until('10.6.0.10 released', async () => (await records())?.length === 0)
    await until(`${second.name} to log the release`, () => second.logs.some((l) => l.msg.startsWith('released:')), 5_000).catch(() => {})
    const released = second.logs.filter((l) => l.msg.startsWith('released:'))
    t.same(
      released.map((l) => [l.pool, l.ip]),
      [['failover-v4', '10.6.0.10']],
      `${second.name} released it, once`,
    )
    await pause(1000)
    t.same(nadWrites('after-kill'), ['ADDED'], 'the NAD was written once')
    t.same(nadWrites('before-kill'), ['ADDED'], 'the new leader left the NAD made by the old one alone')
  })

  // ---- a third replica joins; then the leader is stopped as Kubernetes stops a pod ----
  const c = startReplica('replica-c', cp.kubeconfigPath)
  replicas.push(c)
  await until('replica-c listening', () => /listening on/.test(c.output()), 30_000)
  await pause(5 * retryMs)
  t.equal(replicaOf(holder()), second.name, 'a newcomer does not take a held lease')
  const termAt = Date.now()
  second.child.kill('SIGTERM')
  await until('replica-c to take the lease', () => replicaOf(holder()) === 'replica-c', 10_000)
  const handover = leaseWrites().find((e) => replicaOf(holderOf(e)) === 'replica-c')!

  await t.test('stopped with SIGTERM, the leader releases the lease and the other takes it at once', async (t) => {
    t.same(await second.exited, { code: 0, signal: null }, `${second.name} exits cleanly`)
    const released = leaseWrites().find((e) => e.at >= termAt && holderOf(e) === '')
    t.ok(released, 'the stopping leader wrote the lease free')
    const afterTerm = handover.at - termAt
    t.ok(afterTerm < leaseMs / 2, `replica-c held the lease ${afterTerm} ms after SIGTERM, without waiting for the lease (${leaseMs} ms) to expire`)
    const stopped = second.logs.find((l) => l.msg === 'no longer leading: controllers stopped')
    t.ok(stopped && released && stopped.time <= released.at, 'its controllers stopped before the lease was given up')
    await until('replica-c to start its controllers', () => terms(c).length === 1)
  })

  await t.test('no double work over the whole run', async (t) => {
    const all = [...terms(first, killedAt), ...terms(second), ...terms(c)].sort((x, y) => x.from - y.from)
    t.equal(all.length, 3, 'three terms: one per leader')
    for (let i = 1; i < all.length; i++) t.ok(all[i].from >= all[i - 1].to, `term ${i + 1} began after term ${i} ended`)
    const holders = leaseWrites().map((e) => replicaOf(holderOf(e)))
    const runs = holders.filter((h, i) => i === 0 || h !== holders[i - 1])
    t.same(runs, [first.name, second.name, '', 'replica-c'], 'the lease changed hands only at the kill and the stop, never back and forth')
    t.same(nadWrites('before-kill'), ['ADDED'], 'the NAD of before-kill: one write in all')
    t.same(nadWrites('after-kill'), ['ADDED'], 'the NAD of after-kill: one write in all')
    const poolWrites = pools.events.filter((e) => e.object.metadata?.name === 'failover-v4')
    const counts = poolWrites.map((e) => `${e.type} ${e.object.status?.allocatedIPCount ?? '-'}/${e.object.status?.totalIPCount ?? '-'}`)
    // created; counted by the first leader; the claim written by this test; the release by the second leader
    t.same(counts, ['ADDED -/-', 'MODIFIED 0/11', 'MODIFIED 1/11', 'MODIFIED 0/11'], 'each change to the pool written once')
  })
})
