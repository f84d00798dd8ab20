// The five Spiderpool kinds through the real server over HTTPS: what a user's manifests get.
import type { AddressInfo } from 'node:net'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import YAML from 'yaml'
import { ensureServingCertificate } from '../../certs/index.ts'
import { buildApp } from '../../server/app.ts'
import { allKinds } from '../../webhooks/registry.ts'
import { clusterFromObjects, type ClusterContents } from '../../webhooks/cluster.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import { applyPatch } from './fixtures/json-patch.ts'
import { httpsRequest } from './fixtures/https-client.ts'

const examplesDir = join(import.meta.dirname, '../../../shared/reference/examples')
const group = 'spiderpool.spidernet.io'

async function serve(t: import('tap').Test, contents: ClusterContents = {}) {
  const tls = await ensureServingCertificate({ dir: t.testdir(), service: 'spiderpool-controller', namespace: 'kube-system', ipAddresses: ['127.0.0.1'] })
  const app = buildApp({ kinds: allKinds, settings: defaultSettings(), cluster: () => clusterFromObjects(contents), https: { key: tls.keyPem, cert: tls.certPem } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const { port } = app.server.address() as AddressInfo
  const post = async (path: string, request: object) => {
    const res = await httpsRequest(`https://127.0.0.1:${port}${path}`, {
      ca: tls.caPem,
      body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request }),
    })
    t.equal(res.status, 200, `${path} answers 200`)
    return JSON.parse(res.body).response
  }
  return { post }
}

function reviewRequest(obj: any, operation = 'CREATE', oldObject?: any) {
  const kind = allKinds.find((k) => k.kind === obj.kind)!
  return {
    uid: `uid-${obj.kind}-${obj.metadata.name}`,
    kind: { group, version: 'v2beta1', kind: obj.kind },
    resource: { group, version: 'v2beta1', resource: kind.resource },
    name: obj.metadata.name,
    ...(kind.namespaced && { namespace: obj.metadata.namespace }),
    operation,
    userInfo: { username: 'kubernetes-admin' },
    object: obj,
    ...(oldObject && { oldObject }),
  }
}

const seedObjects = () =>
  readdirSync(examplesDir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => YAML.parseAllDocuments(readFileSync(join(examplesDir, f), 'utf8')).map((d) => ({ file: f, obj: d.toJS() })))
    .filter(({ obj }) => obj?.apiVersion === `${group}/v2beta1`)

t.test('every Spiderpool object of the quick starts is defaulted over HTTPS and then admitted', { timeout: 60_000 }, async (t) => {
  const { post } = await serve(t)
  const seeds = seedObjects()
  t.ok(seeds.length >= 8, 'the quick starts hold pools and multus configs')
  for (const { file, obj } of seeds) {
    const request = reviewRequest(obj)
    const mutated = await post(`/mutate-spiderpool-spidernet-io-v2beta1-${obj.kind.toLowerCase()}`, request)
    t.equal(mutated.uid, request.uid)
    t.equal(mutated.allowed, true, `${file} ${obj.kind}/${obj.metadata.name} mutate allowed`)
    t.equal(mutated.patchType, 'JSONPatch', `${obj.kind}/${obj.metadata.name} gets defaults`)
    const defaulted: any = applyPatch(obj, JSON.parse(Buffer.from(mutated.patch, 'base64').toString()))
    const validated = await post(`/validate-spiderpool-spidernet-io-v2beta1-${obj.kind.toLowerCase()}`, { ...request, object: defaulted })
    t.equal(validated.allowed, true, `${file} ${obj.kind}/${obj.metadata.name} validate allowed: ${validated.status?.message ?? ''}`)
    if (obj.kind === 'SpiderIPPool') {
      t.equal(defaulted.spec.ipVersion, 4)
      t.same(defaulted.metadata.finalizers, ['spiderpool.spidernet.io'])
      t.equal(defaulted.metadata.labels['ipam.spidernet.io/ippool-cidr'], obj.spec.subnet.replace(/[./]/g, '-'))
    }
    if (obj.kind === 'SpiderMultusConfig') {
      t.equal(defaulted.spec.macvlan.vlanID, 0)
      t.equal(defaulted.spec.coordinator.mode, 'auto')
      t.same(defaulted.spec.chainCNIJsonData, [])
    }
  }
})

t.test('a wrong pool is refused with a Kubernetes Invalid status naming every bad field', { timeout: 30_000 }, async (t) => {
  const { post } = await serve(t)
  const pool = {
    apiVersion: `${group}/v2beta1`,
    kind: 'SpiderIPPool',
    metadata: { name: 'bad-pool' },
    spec: { ipVersion: 4, subnet: '10.6.0.0/16', gateway: '10.7.0.1', ips: ['10.6.0.10-10.6.0.20'], routes: [{ dst: '0.0.0.0/0', gw: '10.6.0.1' }] },
  }
  const res = await post('/validate-spiderpool-spidernet-io-v2beta1-spiderippool', reviewRequest(pool))
  t.equal(res.allowed, false)
  t.equal(res.status.code, 422)
  t.equal(res.status.reason, 'Invalid')
  t.match(res.status.message, /^SpiderIPPool\.spiderpool\.spidernet\.io "bad-pool" is invalid: \[/)
  const fields = res.status.details.causes.map((c: { field: string }) => c.field).sort()
  t.same(fields, ['spec.gateway', 'spec.routes[0].dst'])
})

t.test('an IPv6 pool overlapping an existing pool is refused at spec.subnet', { timeout: 30_000 }, async (t) => {
  const existing = {
    apiVersion: `${group}/v2beta1`, kind: 'SpiderIPPool', metadata: { name: 'v6-a' },
    spec: { ipVersion: 6, subnet: 'fd00:10::/64', ips: ['fd00:10::100-fd00:10::1ff'] },
  }
  const { post } = await serve(t, { ippools: [existing as any] })
  const pool = { ...existing, metadata: { name: 'v6-b' }, spec: { ipVersion: 6, subnet: 'fd00:10::/120', ips: ['fd00:10::10'] } }
  const res = await post('/validate-spiderpool-spidernet-io-v2beta1-spiderippool', reviewRequest(pool))
  t.equal(res.allowed, false)
  t.same(res.status.details.causes.map((c: { field: string }) => c.field), ['spec.subnet'])
  t.match(res.status.message, /overlap with IPPool v6-a/)
})
