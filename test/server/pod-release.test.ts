// The collector on the local default (ipam-semantics §6, §10.2), driven with kubectl: reservations
// whose pod never came are released after their TTL, addresses of deleted and finished pods at
// once, StatefulSet addresses once the StatefulSet no longer has the ordinal; counters stay exact.
// The CNI claim is simulated by rewriting the record as the claim leaves it.
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { ensureServingCertificate } from '../../certs/index.ts'
import type { PoolRecord } from '../../ipam/records.ts'
import { ippool, nad, node, podCluster, podObject, reservationOf, until, type PodCluster } from './fixtures/pod-cluster.ts'

/** A validating webhook that refuses pods labelled refuse=yes: it runs after ours has reserved. */
async function startRefuser(t: Test) {
  const dir = mkdtempSync(path.join(tmpdir(), 'refuser-'))
  const tls = await ensureServingCertificate({ dir, service: 'refuser', namespace: 'default', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
  const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const review = JSON.parse(body)
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: false, status: { code: 403, message: 'refused by a later webhook' } } }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`, caBundle: Buffer.from(tls.caPem).toString('base64') }
}

/** The pool record of the pod's reservation, rewritten as the CNI claim leaves it. */
async function claim(k: PodCluster, pool: string, pod: any, nodeName: string) {
  const token = reservationOf(pod).token
  await k.writeRecords(pool, (records) =>
    records.map((r) => (r.token === token ? { ...r, state: 'claimed', pod: `${pod.metadata.namespace}/${pod.metadata.name}`, podUid: pod.metadata.uid, node: nodeName } : r)),
  )
}

/** The SpiderEndpoint the claim creates: owned by the pod, or (StatefulSet) by nobody. */
const endpointOf = (pod: any, pool: string, statefulSet?: string) => ({
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderEndpoint',
  metadata: {
    name: pod.metadata.name,
    namespace: pod.metadata.namespace,
    finalizers: ['spiderpool.spidernet.io'],
    ...(!statefulSet && { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid }] }),
  },
  status: {
    current: { uid: pod.metadata.uid, node: 'n1', ips: [{ interface: 'net1', ipv4: reservationOf(pod).ips[0].ipv4, ipv4Pool: pool, vlan: 0 }] },
    ownerControllerType: statefulSet ? 'StatefulSet' : 'Pod',
    ownerControllerName: statefulSet ?? pod.metadata.name,
  },
})

const ips = (records: PoolRecord[]) => records.map((r) => r.ip)
const recordOf = async (k: PodCluster, pool: string, pod: any) => (await k.records(pool)).find((r) => r.ip === reservationOf(pod).ips[0].ipv4!.split('/')[0])

/** Every pool's ALLOCATED-IP-COUNT equals its records. */
async function countersExact(t: Test, k: PodCluster, pools: string[]) {
  for (const pool of pools) {
    const records = await k.records(pool)
    await until(`${pool}'s counter`, async () => (await k.counters(pool)).allocated === records.length)
    t.equal((await k.counters(pool)).allocated, records.length, `${pool}: ALLOCATED-IP-COUNT ${records.length}`)
  }
}

t.test('reservations whose pod never came, with a 4 s TTL', async (t) => {
  const k = await podCluster(t, { reservationTTLSeconds: 4, gcScanIntervalSeconds: 1 })
  await k.create(nad('default', 'mv', { default_ipv4_ippool: ['ttl'] }))
  await k.create(ippool('ttl', '10.70.0.0/24', ['10.70.0.10-10.70.0.19']))

  t.test('a pod refused by a later validating webhook leaves a reservation, released once it expires', async (t) => {
    const refuser = await startRefuser(t)
    await k.create({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'refuser' },
      webhooks: [
        {
          name: 'refuser.example.com',
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          clientConfig: { url: refuser.url, caBundle: refuser.caBundle },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
          objectSelector: { matchLabels: { refuse: 'yes' } },
        },
      ],
    })
    const r = await k.tryCreate(podObject({ networks: 'mv', labels: { refuse: 'yes' } }))
    t.not(r.code, 0)
    t.match(r.stderr, 'refused by a later webhook')
    const left = await k.records('ttl')
    t.match(left, [{ ip: '10.70.0.10', state: 'reserved', pod: 'default/' }], 'our webhook had reserved before the refusal')
    await until('the orphan to be released', async () => (await k.records('ttl')).length === 0, 15_000)
    t.ok(Date.now() >= Date.parse(left[0].expiresAt!), 'not before it expired')
    await k.ok(['delete', 'validatingwebhookconfiguration', 'refuser'])
  })

  t.test('a name conflict leaves an orphan reservation; the stored pod keeps its own past the TTL', async (t) => {
    const dup = await k.create(podObject({ name: 'dup', networks: 'mv' }))
    const again = await k.tryCreate(podObject({ name: 'dup', networks: 'mv' }))
    t.match(again.stderr, 'AlreadyExists')
    t.equal((await k.records('ttl')).length, 2, 'the second create reserved before it failed')
    await until('the orphan to be released', async () => (await k.records('ttl')).length === 1, 15_000)
    const [kept] = await k.records('ttl')
    t.equal(kept.token, reservationOf(dup).token, "the stored pod's reservation stays")
    await until('its expiry to pass', () => Date.now() > Date.parse(kept.expiresAt!) + 2_000, 10_000)
    t.same(ips(await k.records('ttl')), [kept.ip], 'kept past its expiry: its pod exists (Pending, not gone)')
    await k.ok(['delete', 'pod', 'dup'])
    await until('release on delete', async () => (await k.records('ttl')).length === 0)
    await countersExact(t, k, ['ttl'])
  })
})

t.test('pods that are gone or finished, with the default TTL (120 s) and scan (30 s)', async (t) => {
  const k = await podCluster(t)
  await k.create(nad('default', 'mv', { default_ipv4_ippool: ['gc'] }))
  await k.create(ippool('gc', '10.71.0.0/24', ['10.71.0.10-10.71.0.39']))
  await k.create(node('n1'))

  t.test('kubectl delete pod releases its reservation at once', async (t) => {
    const pod = await k.create(podObject({ networks: 'mv' }))
    t.ok(await recordOf(k, 'gc', pod))
    const started = Date.now()
    await k.ok(['delete', 'pod', pod.metadata.name])
    await until('the release', async () => (await recordOf(k, 'gc', pod)) === undefined)
    t.ok(Date.now() - started < 10_000, 'well before the TTL or the next scan')
  })

  t.test('a deleted pod releases what it claimed, and its SpiderEndpoint goes', async (t) => {
    const pod = await k.create(podObject({ networks: 'mv' }))
    await claim(k, 'gc', pod, 'n1')
    await k.create(endpointOf(pod, 'gc'))
    await k.local.webhook.controllers!.idle()
    t.match(await recordOf(k, 'gc', pod), { state: 'claimed', podUid: pod.metadata.uid }, 'a running claim is kept')
    await k.ok(['delete', 'pod', pod.metadata.name])
    await until('the release', async () => (await recordOf(k, 'gc', pod)) === undefined)
    await until('the endpoint to go', async () => (await k.kubectl(['get', 'spiderendpoint', pod.metadata.name])).code !== 0)
  })

  t.test('finished pods release their addresses; a pod that may still restart keeps them', async (t) => {
    const failed = await k.create(podObject({ networks: 'mv', spec: { restartPolicy: 'Never' } }))
    await claim(k, 'gc', failed, 'n1')
    const succeeded = await k.create(podObject({ networks: 'mv', spec: { restartPolicy: 'OnFailure' } }))
    const restarting = await k.create(podObject({ networks: 'mv', spec: { restartPolicy: 'OnFailure' } }))
    const phase = (pod: any, p: string) => k.ok(['patch', 'pod', pod.metadata.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: p } })])
    await phase(failed, 'Failed')
    await phase(succeeded, 'Succeeded')
    await phase(restarting, 'Failed')
    await until('the releases', async () => (await recordOf(k, 'gc', failed)) === undefined && (await recordOf(k, 'gc', succeeded)) === undefined)
    await k.local.webhook.controllers!.idle()
    t.match(await recordOf(k, 'gc', restarting), { state: 'reserved' }, 'Failed with restartPolicy OnFailure is alive')
    await k.ok(['delete', 'pod', failed.metadata.name, succeeded.metadata.name, restarting.metadata.name])
  })

  t.test('a record on a node that no longer exists, whose pod no longer exists, is released', async (t) => {
    const live = await k.create(podObject({ networks: 'mv' }))
    await claim(k, 'gc', live, 'n1')
    const ghost: PoolRecord = { ip: '10.71.0.39', pod: 'default/ghost', podUid: 'uid-ghost', state: 'claimed', token: 'r-000000000000000000000000000000ff', nic: 'net1', node: 'gone-node' }
    await k.writeRecords('gc', (records) => [...records, ghost])
    await until('the release', async () => !ips(await k.records('gc')).includes('10.71.0.39'))
    t.match(await recordOf(k, 'gc', live), { state: 'claimed' }, 'the live pod on an existing node keeps its record')
    await k.ok(['delete', 'pod', live.metadata.name])
  })

  t.test('StatefulSet pods keep their addresses until it is scaled below their ordinal or deleted', async (t) => {
    const sts = await k.create({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'default' },
      spec: { replicas: 2, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    })
    const owner = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: sts.metadata.uid, controller: true }]
    const pods = [await k.create(podObject({ name: 'db-0', networks: 'mv', ownerReferences: owner })), await k.create(podObject({ name: 'db-1', networks: 'mv', ownerReferences: owner }))]
    for (const pod of pods) {
      await claim(k, 'gc', pod, 'n1')
      await k.create(endpointOf(pod, 'gc', 'db'))
    }
    const held = async () => (await Promise.all(pods.map((p) => recordOf(k, 'gc', p)))).map((r) => r?.podUid)
    await k.ok(['delete', 'pod', 'db-0', 'db-1'])
    for (const pod of pods) await k.cached(pod, true)
    await k.local.webhook.controllers!.idle()
    t.same(await held(), pods.map((p) => p.metadata.uid), 'both kept while the StatefulSet has 2 replicas')

    await k.ok(['patch', 'statefulset', 'db', '--type=merge', '-p', '{"spec":{"replicas":1}}'])
    await until('db-1 released', async () => (await held())[1] === undefined)
    await until('its endpoint to go', async () => (await k.kubectl(['get', 'spiderendpoint', 'db-1'])).code !== 0)
    t.same(await held(), [pods[0].metadata.uid, undefined], 'db-0 is still within the replicas')

    await k.ok(['delete', 'statefulset', 'db'])
    await until('db-0 released', async () => (await held())[0] === undefined)
    await until('its endpoint to go', async () => (await k.kubectl(['get', 'spiderendpoint', 'db-0'])).code !== 0)
  })

  t.test('after all of it the counters are exact and nothing is left', async (t) => {
    t.same(await k.records('gc'), [])
    await countersExact(t, k, ['gc'])
  })
})
