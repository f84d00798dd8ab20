// The local default as a user meets it: `up`, then real kubectl against it, with the webhooks
// judging every Spiderpool object on the control plane's real state.
import { readdirSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { runKubectl } from '../kube/controlplane/fixtures/controlplane.ts'
import { startLocalDefault, type LocalDefault } from '../../server/up.ts'
import { defaultSettings } from '../../webhooks/settings.ts'

const examplesDir = path.join(import.meta.dirname, '../../../shared/reference/examples')

async function up(t: import('tap').Test, dataDir = t.testdir()) {
  let local: LocalDefault | undefined = await startLocalDefault({ dataDir, apiPort: 0, settings: defaultSettings(), logLevel: 'silent' })
  t.teardown(() => local?.close())
  const kubectl = (args: string[], input?: string) => runKubectl(local!.controlPlane.kubeconfigPath, path.join(dataDir, 'kubectl-cache'), args, input)
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input)
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  return {
    dataDir,
    kubectl,
    ok,
    stop: async () => {
      await local?.close()
      local = undefined
    },
  }
}

const pool = (name: string, subnet: string, ips: string[], extra: object = {}) =>
  JSON.stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec: { subnet, ips, ...extra } })

t.test('every quick-start manifest applies through the webhooks and comes back defaulted', { timeout: 120_000 }, async (t) => {
  const k = await up(t)
  for (const file of readdirSync(examplesDir).filter((f) => f.endsWith('.yaml'))) {
    await k.ok(['apply', '-f', path.join(examplesDir, file)])
  }
  const pools = JSON.parse(await k.ok(['get', 'sp', '-o', 'json'])).items
  t.same(pools.map((p: any) => p.metadata.name).sort(), ['10-6-v4', 'ippool-test', 'v4-pool'])
  for (const p of pools) {
    t.equal(p.spec.ipVersion, 4, `${p.metadata.name}: ipVersion derived by the mutating webhook`)
    t.same(p.metadata.finalizers, ['spiderpool.spidernet.io'], `${p.metadata.name}: finalizer added by the webhook`)
    t.match(p.metadata.labels, { 'ipam.spidernet.io/ippool-cidr': /^\d+-\d+-\d+-\d+-\d+$/ })
  }
  const smc = JSON.parse(await k.ok(['get', 'smc', '-n', 'default', 'macvlan-ens192', '-o', 'json']))
  t.same(smc.spec.chainCNIJsonData, [], 'SMC-M-12 default from the webhook')
  t.match(smc.spec.coordinator, { mode: 'auto', tunePodRoutes: true, hostRuleTable: 500, podRPFilter: 0 })
  t.match(smc.spec.macvlan, { master: ['ens192'], vlanID: 0, mtu: 0, rdmaResourceName: '', ippools: { ipv4: ['10-6-v4'] } })
  const header = (await k.ok(['get', 'sp'])).split('\n')[0].trim().split(/\s+/)
  t.same(header, ['NAME', 'VERSION', 'SUBNET', 'ALLOCATED-IP-COUNT', 'TOTAL-IP-COUNT', 'DEFAULT'])
})

t.test('an invalid pool is refused by kubectl with the webhook message naming every bad field', { timeout: 60_000 }, async (t) => {
  const k = await up(t)
  const r = await k.kubectl(['apply', '-f', '-'], pool('bad', '10.6.0.0/16', ['10.6.0.10-10.6.0.20'], { gateway: '10.9.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.6.0.1' }] }))
  t.not(r.code, 0)
  // kubectl prints an Invalid status as a list of its causes, as it does for kube-apiserver
  t.match(r.stderr, 'The SpiderIPPool "bad" is invalid')
  t.match(r.stderr, `* spec.gateway: Invalid value: "10.9.0.1": not pertains to the 'spec.subnet' 10.6.0.0/16 of IPPool`)
  t.match(r.stderr, `* spec.routes[0].dst: Invalid value: "0.0.0.0/0": please specify 'spec.gateway' to configure the default route`)
  t.equal((await k.kubectl(['get', 'sp', 'bad'])).code, 1, 'nothing stored')
})

t.test('cross-object rules run on real state: a pool overlapping an existing one is refused', { timeout: 60_000 }, async (t) => {
  const k = await up(t)
  await k.ok(['apply', '-f', '-'], pool('a', '10.6.0.0/16', ['10.6.1.1-10.6.1.100']))
  const overlapSubnet = await k.kubectl(['apply', '-f', '-'], pool('b', '10.6.1.0/24', ['10.6.1.200']))
  t.not(overlapSubnet.code, 0)
  t.match(overlapSubnet.stderr, /spec.subnet: Invalid value: "10.6.1.0\/24": overlap with IPPool a/)
  const overlapIPs = await k.kubectl(['apply', '-f', '-'], pool('c', '10.6.0.0/16', ['10.6.1.50-10.6.1.60']))
  t.not(overlapIPs.code, 0)
  t.match(overlapIPs.stderr, /spec.ips: Forbidden: overlap with IPPool a in IP ranges/)
  await k.ok(['apply', '-f', '-'], pool('d', '10.6.0.0/16', ['10.6.1.101-10.6.1.110']))
  t.match(await k.ok(['get', 'sp', 'd', '-o', 'jsonpath={.spec.ipVersion}']), '4')
})

t.test('apply --dry-run=server runs the webhooks and stores nothing', { timeout: 60_000 }, async (t) => {
  const k = await up(t)
  const out = await k.ok(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], pool('dry', '10.7.0.0/16', ['10.7.0.1']))
  t.equal(JSON.parse(out).spec.ipVersion, 4, 'the answer is the defaulted object')
  t.equal((await k.kubectl(['get', 'sp', 'dry'])).code, 1, 'nothing stored')
})

t.test('a restart keeps every object and the webhooks keep judging', { timeout: 90_000 }, async (t) => {
  const dataDir = t.testdir()
  const first = await up(t, dataDir)
  await first.ok(['apply', '-f', path.join(examplesDir, 'calico-overlay.yaml')])
  const before = JSON.parse(await first.ok(['get', 'sp,smc,deploy', '-A', '-o', 'json'])).items
  await first.stop()
  const second = await up(t, dataDir)
  const after = JSON.parse(await second.ok(['get', 'sp,smc,deploy', '-A', '-o', 'json'])).items
  t.same(after, before, 'every object as it was')
  const r = await second.kubectl(['apply', '-f', '-'], pool('overlapping', '10.6.0.0/24', ['10.6.0.10']))
  t.match(r.stderr, 'overlap with IPPool 10-6-v4', 'the restarted webhook sees the restored pools')
})

t.test('kubectl get sp shows exact counters, and a deleted pool without allocations goes away', { timeout: 60_000 }, async (t) => {
  const k = await up(t)
  await k.ok(['apply', '-f', '-'], pool('counted', '10.8.0.0/16', ['10.8.0.1-10.8.0.100', '10.8.1.1'], { excludeIPs: ['10.8.0.50-10.8.0.59'] }))
  let row = ''
  for (let i = 0; i < 100 && !/\s91\s/.test(row); i++) {
    row = (await k.ok(['get', 'sp', 'counted', '--no-headers'])).trim()
    if (!/\s91\s/.test(row)) await new Promise((r) => setTimeout(r, 50))
  }
  t.same(row.split(/\s+/), ['counted', '4', '10.8.0.0/16', '0', '91', 'false'], '101 addresses minus 10 excluded; none allocated')
  await k.ok(['delete', 'sp', 'counted', '--wait=true', '--timeout=20s'])
  t.equal((await k.kubectl(['get', 'sp', 'counted'])).code, 1, 'the finalizer was released and the pool is gone')
})
