import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startControlPlane } from '../../kube/controlplane/index.ts'
import { isConflict } from '../../kube/errors.ts'
import { claimLease, createLeaderElector, microTime } from '../../kube/leader.ts'
import type { LeaderElector } from '../../kube/leader.ts'
import { resources } from '../../kube/resources.ts'
import { createStore } from '../../kube/store.ts'
import type { Store } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'

// Every directory a test makes lives under one scratch directory, removed when the process exits.
const scratch = mkdtempSync(path.join(tmpdir(), 'kube-leader-'))
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }))

async function until(what: string, check: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

// Fast timings: lease 2 s, renew deadline 1 s, retry every 200 ms.
const timing = { leaseDurationSeconds: 2, renewDeadlineMs: 1000, retryPeriodMs: 200 }

interface Candidate {
  identity: string
  elector: LeaderElector
  events: string[]
  /** Leadership as the candidate's own work sees it: from onStartedLeading until its signal aborts. */
  working: () => boolean
}

function candidate(store: Store, lease: string, identity: string, extra: { releaseOnStop?: boolean } = {}): Candidate {
  const events: string[] = []
  let working = false
  const elector = createLeaderElector(store, {
    namespace: 'kube-system',
    name: lease,
    identity,
    ...timing,
    ...extra,
    onStartedLeading(signal) {
      working = true
      events.push('started')
      signal.addEventListener('abort', () => {
        working = false
        events.push('signal aborted')
      })
    },
    onStoppedLeading: () => events.push('stopped'),
  })
  return { identity, elector, events, working: () => working }
}

t.test('MicroTime has six fractional digits', async (t) => {
  t.equal(microTime(new Date('2024-05-06T07:08:09.123Z')), '2024-05-06T07:08:09.123000Z')
})

t.test('leader election on a Lease in the control plane', async (t) => {
  const cp = await startControlPlane({ dataDir: mkdtempSync(path.join(scratch, 'plane-')), port: 0 })
  const transport = createTransport({ server: cp.url, ca: cp.caPem, token: cp.token })
  const store = createStore(transport)
  t.teardown(async () => {
    transport.close()
    await cp.close()
  })

  // Samples both candidates every 10 ms while `during` runs; counts the moments with two leaders.
  async function samplesWithTwoLeaders(a: Candidate, b: Candidate, during: () => Promise<void>) {
    let both = 0
    let samples = 0
    const timer = setInterval(() => {
      samples++
      if ((a.elector.isLeader() || a.working()) && (b.elector.isLeader() || b.working())) both++
    }, 10)
    try {
      await during()
    } finally {
      clearInterval(timer)
    }
    return { both, samples }
  }

  t.test('two candidates on one lease: exactly one leads, and the lease names it', async (t) => {
    const a = candidate(store, 'two-candidates', 'candidate-a')
    const b = candidate(store, 'two-candidates', 'candidate-b')
    t.teardown(async () => {
      await a.elector.stop()
      await b.elector.stop()
    })
    const sampled = await samplesWithTwoLeaders(a, b, async () => {
      a.elector.start()
      b.elector.start()
      await until('a leader', () => a.elector.isLeader() || b.elector.isLeader())
      await new Promise((r) => setTimeout(r, 2500))
    })
    t.ok(sampled.both === 0 && sampled.samples > 0, `never two leaders (${sampled.both} of ${sampled.samples} samples)`)
    const leader = a.elector.isLeader() ? a : b
    const follower = leader === a ? b : a
    t.ok(leader.elector.isLeader() && !follower.elector.isLeader())
    t.same(follower.events, [], 'the other never started')
    const lease = await store.get(resources.leases, 'two-candidates', { namespace: 'kube-system' })
    t.equal(lease.spec?.holderIdentity, leader.identity)
    t.equal(lease.spec?.leaseDurationSeconds, 2)
    t.match(lease.spec?.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
    t.ok(Date.now() - Date.parse(lease.spec!.renewTime!) < 1500, 'the leader keeps renewing')
    t.equal(follower.elector.leader(), leader.identity, 'the follower knows who leads')
  })

  t.test('stopping the leader releases the lease and the other takes over within the lease duration', async (t) => {
    const a = candidate(store, 'handover', 'candidate-a')
    const b = candidate(store, 'handover', 'candidate-b')
    t.teardown(async () => {
      await a.elector.stop()
      await b.elector.stop()
    })
    a.elector.start()
    await until('a to lead', () => a.elector.isLeader())
    b.elector.start()
    await new Promise((r) => setTimeout(r, 500))
    t.notOk(b.elector.isLeader(), 'b waits while a renews')

    const sampled = await samplesWithTwoLeaders(a, b, async () => {
      const stoppedAt = Date.now()
      await a.elector.stop()
      t.same(a.events, ['started', 'signal aborted', 'stopped'])
      await until('b to take over', () => b.elector.isLeader(), 4000)
      t.ok(Date.now() - stoppedAt < 2000, `took over ${Date.now() - stoppedAt} ms after the stop`)
    })
    t.ok(sampled.both === 0 && sampled.samples > 0, `never two leaders (${sampled.both} of ${sampled.samples} samples)`)
    const lease = await store.get(resources.leases, 'handover', { namespace: 'kube-system' })
    t.equal(lease.spec?.holderIdentity, 'candidate-b')
    t.equal(lease.spec?.leaseTransitions, 1, 'a change of holder counts as a transition, as client-go counts it')
  })

  t.test('a leader that vanishes without releasing is replaced only once its lease has expired', async (t) => {
    const a = candidate(store, 'expiry', 'candidate-a', { releaseOnStop: false })
    const b = candidate(store, 'expiry', 'candidate-b')
    t.teardown(async () => {
      await a.elector.stop()
      await b.elector.stop()
    })
    a.elector.start()
    await until('a to lead', () => a.elector.isLeader())
    b.elector.start()
    await new Promise((r) => setTimeout(r, 300))
    const lastRenew = Date.parse((await store.get(resources.leases, 'expiry', { namespace: 'kube-system' })).spec!.renewTime!)
    await a.elector.stop()
    await until('b to take over', () => b.elector.isLeader(), 5000)
    const waited = Date.now() - lastRenew
    t.ok(waited >= 2000 - 50, `b waited ${waited} ms after the last renewal (lease is 2 s)`)
    const lease = await store.get(resources.leases, 'expiry', { namespace: 'kube-system' })
    t.equal(lease.spec?.holderIdentity, 'candidate-b')
    t.equal(lease.spec?.leaseTransitions, 1, 'taking over an expired lease counts a transition')
  })

  t.test('a follower takes an expired lease at the moment it expires, not a retry period later', async (t) => {
    // a retry period long against the lease: without waking at the expiry, the takeover would come at the second retry, ≥ 3 s
    const slow = { leaseDurationSeconds: 2, renewDeadlineMs: 1900, retryPeriodMs: 1500 }
    const a = createLeaderElector(store, { namespace: 'kube-system', name: 'wake-at-expiry', identity: 'candidate-a', ...slow, releaseOnStop: false, onStartedLeading: () => {} })
    const b = createLeaderElector(store, { namespace: 'kube-system', name: 'wake-at-expiry', identity: 'candidate-b', ...slow, onStartedLeading: () => {} })
    t.teardown(async () => {
      await a.stop()
      await b.stop()
    })
    a.start()
    await until('a to lead', () => a.isLeader())
    await a.stop()
    const startedAt = Date.now()
    b.start()
    await until('b to take over', () => b.isLeader(), 6000)
    const waited = Date.now() - startedAt
    t.ok(waited >= 2000 - 50, `b waited a whole lease from its first sight of it (${waited} ms)`)
    t.ok(waited < 2000 + 400, `and took it ${waited - 2000} ms after it expired (retry period 1500 ms)`)
    t.equal(b.identity, 'candidate-b', 'the elector tells its identity')
  })

  t.test('a follower counts the lease from the renewal it watched land, not from its next poll', async (t) => {
    // The holder here is the test itself, renewing by hand between the follower's polls (every ≥ 1.5 s):
    // a follower that learnt of the renewal only at its next poll would take over ≥ 2.5 s after it.
    const slow = { leaseDurationSeconds: 2, renewDeadlineMs: 1900, retryPeriodMs: 1500 }
    const ref = { namespace: 'kube-system', name: 'watched-renewal' }
    let lease = await claimLease(store, ref, undefined, 'by-hand', 2)
    const b = createLeaderElector(store, { ...ref, identity: 'candidate-b', ...slow, onStartedLeading: () => {} })
    t.teardown(() => b.stop())
    b.start()
    await until('b to see the holder', () => b.leader() === 'by-hand')
    await new Promise((r) => setTimeout(r, 1000))
    lease = await claimLease(store, ref, lease, 'by-hand', 2)
    const renewedAt = Date.parse(lease.spec!.renewTime!)
    await until('b to take over', () => b.isLeader(), 6000)
    const waited = Date.now() - renewedAt
    t.ok(waited >= 2000 - 50, `b waited the whole lease after the renewal (${waited} ms)`)
    t.ok(waited < 2000 + 300, `and took it ${waited - 2000} ms after it expired, though its next poll came after the renewal`)
  })

  t.test('every lease write is conditional: a claim based on a stale read is a Conflict and changes nothing', async (t) => {
    const ref = { namespace: 'kube-system', name: 'preconditions' }
    const created = await claimLease(store, ref, undefined, 'first', 15)
    t.equal(created.spec?.holderIdentity, 'first')
    // Lease times are in milliseconds: a renewal in the same millisecond would be a no-op update, which keeps the resourceVersion
    await new Promise((r) => setTimeout(r, 3))
    const renewed = await claimLease(store, ref, created, 'first', 15)
    t.equal(renewed.spec?.acquireTime, created.spec?.acquireTime, 'renewing keeps the acquire time')
    t.not(renewed.metadata.resourceVersion, created.metadata.resourceVersion)

    let err: unknown
    await claimLease(store, ref, created, 'intruder', 15).catch((e) => (err = e))
    t.ok(isConflict(err), 'the stale read lost')
    let exists: unknown
    await claimLease(store, ref, undefined, 'intruder', 15).catch((e) => (exists = e))
    t.match(exists, { reason: 'AlreadyExists' }, 'creating a lease that exists fails too')
    const lease = await store.get(resources.leases, 'preconditions', { namespace: 'kube-system' })
    t.equal(lease.spec?.holderIdentity, 'first')
    t.equal(lease.metadata.resourceVersion, renewed.metadata.resourceVersion)
  })

  t.test('with every second write refused as a conflict there is still never more than one leader', async (t) => {
    cp.faults.conflictEveryNthWrite = 2
    const a = candidate(store, 'conflicts', 'candidate-a')
    const b = candidate(store, 'conflicts', 'candidate-b')
    t.teardown(async () => {
      cp.faults.conflictEveryNthWrite = 0
      await a.elector.stop()
      await b.elector.stop()
    })
    const sampled = await samplesWithTwoLeaders(a, b, async () => {
      a.elector.start()
      b.elector.start()
      await until('a leader', () => a.elector.isLeader() || b.elector.isLeader())
      await new Promise((r) => setTimeout(r, 2000))
    })
    t.ok(sampled.both === 0 && sampled.samples > 0, `never two leaders (${sampled.both} of ${sampled.samples} samples)`)
    t.ok(a.elector.isLeader() !== b.elector.isLeader(), 'one of them leads')
  })

  t.test('options that would allow two leaders are refused', async (t) => {
    const base = { namespace: 'kube-system', name: 'x', identity: 'y', onStartedLeading: () => {} }
    t.throws(() => createLeaderElector(store, { ...base, leaseDurationSeconds: 2, renewDeadlineMs: 2000 }), /renewDeadlineMs must be shorter/)
    t.throws(() => createLeaderElector(store, { ...base, leaseDurationSeconds: 2, renewDeadlineMs: 1000, retryPeriodMs: 900 }), /retryPeriodMs/)
    t.throws(() => createLeaderElector(store, { ...base, leaseDurationSeconds: 1.5 }), /whole number/)
  })
})
