// The ADD reads the rules of the families prevResult gives the interface only (the IPv6 listing is
// a program of its own), and plans exactly what a read of every rule would: the namespaces here
// are facts handed in, the ops what the plugin would apply.
import t from 'tap'
import { createCoordinator } from '../../../cni/coordinator/index.ts'
import type { Dependencies } from '../../../cni/coordinator/index.ts'
import type { Family, HostFacts, Link, Rule } from '../../../cni/coordinator/facts.ts'
import type { Op } from '../../../cni/coordinator/plan.ts'
import type { CmdArgs } from '../../../cni/skel.ts'

const link = (name: string, index: number, addrs: string[]): Link => ({
  name,
  index,
  flags: name === 'lo' ? ['LOOPBACK', 'UP', 'LOWER_UP'] : ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
  mac: `02:00:00:00:00:${index.toString(16).padStart(2, '0')}`,
  addrs: addrs.map((a) => {
    const [ip, prefix] = a.split('/')
    return { family: (ip.includes(':') ? 6 : 4) as Family, ip, prefix: Number(prefix), linkLocal: ip.startsWith('fe80'), tentative: false, dadFailed: false }
  }),
})

const rules: Rule[] = [
  { family: 4, priority: 0, table: 255 },
  { family: 4, priority: 32766, table: 254 },
  { family: 4, priority: 32767, table: 253 },
  { family: 6, priority: 0, table: 255 },
  { family: 6, priority: 1000, table: 500 },
  { family: 6, priority: 32766, table: 254 },
]

const podFacts = (eth0: string[]): HostFacts => ({
  links: [link('lo', 1, ['127.0.0.1/8']), link('eth0', 2, eth0)],
  routes: [
    { family: 4, table: 254, type: 'unicast', dst: '0.0.0.0/0', gw: '10.6.0.1', dev: 'eth0', metric: 0 },
    { family: 4, table: 254, type: 'unicast', dst: '10.6.0.0/16', dev: 'eth0', scope: 'link', protocol: 'kernel', src: '10.6.1.10', metric: 0 },
  ],
  rules,
  neighbours: [],
  routeSources: {},
})

const hostFacts: HostFacts = {
  links: [link('lo', 1, ['127.0.0.1/8']), link('ens192', 2, ['10.6.0.2/16', 'fd00:6::2/64'])],
  routes: [{ family: 4, table: 254, type: 'unicast', dst: '10.6.0.0/16', dev: 'ens192', scope: 'link', protocol: 'kernel', src: '10.6.0.2', metric: 0 }],
  rules,
  neighbours: [],
  routeSources: { '10.6.1.10': { src: '10.6.0.2' }, 'fd00:6::99': { src: 'fd00:6::2' } },
}

/** An underlay ADD of eth0 against these namespaces: the rule families each read asked for, and the ops applied. */
async function add(eth0: string[], prevIPs: string[], readsHonourFamilies: boolean) {
  const reads: Array<{ where: string; ruleFamilies: Family[] }> = []
  const applied: Op[] = []
  const deps: Dependencies = {
    readInputs: async () => ({
      coordinator: { metadata: { name: 'default' }, spec: { mode: 'underlay', podCIDRType: 'cluster', tunePodRoutes: true, hostRuleTable: 500, podRPFilter: 0 }, status: { phase: 'Synced', serviceCIDR: ['10.233.0.0/18'], overlayPodCIDR: [] } } as never,
      podAnnotations: {},
    }),
    readFacts: async (netns, routeGets, ruleFamilies = [4, 6]) => {
      reads.push({ where: netns ? 'pod' : 'host', ruleFamilies })
      await routeGets
      const facts = structuredClone(netns ? podFacts(eth0) : hostFacts)
      if (readsHonourFamilies) facts.rules = facts.rules.filter((r) => ruleFamilies.includes(r.family))
      return facts
    },
    apply: async (ops) => void applied.push(...ops),
    randomMac: () => '0e:00:00:00:00:01',
  }
  const args: CmdArgs = {
    command: 'ADD',
    containerId: '3f6a1c9d2b7e4a5f9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b',
    netns: '/proc/self/ns/net',
    ifName: 'eth0',
    args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'p' },
    path: [],
    config: { cniVersion: '1.0.0', name: 'net', type: 'coordinator' },
    cniVersion: '1.0.0',
    prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: '/proc/self/ns/net' }], ips: prevIPs.map((address) => ({ interface: 0, address })) },
    log: () => {},
  }
  await createCoordinator(deps).add(args)
  return { reads, applied }
}

t.test('an interface prevResult gives only IPv4 addresses: only the IPv4 rules are read, and the plan is the one every rule gives', async (t) => {
  const got = await add(['10.6.1.10/16'], ['10.6.1.10/16'], true)
  t.strictSame(got.reads, [
    { where: 'pod', ruleFamilies: [4] },
    { where: 'host', ruleFamilies: [4] },
  ])
  t.strictSame(got.applied, (await add(['10.6.1.10/16'], ['10.6.1.10/16'], false)).applied)
  t.ok(got.applied.some((o) => o.op === 'rule-add'), 'the plan has rules to compare')
})

t.test('an interface with an IPv6 address prevResult does not give (router advertisement): the pod and the node are read again with every rule', async (t) => {
  const eth0 = ['10.6.1.10/16', 'fd00:6::99/64']
  const got = await add(eth0, ['10.6.1.10/16'], true)
  t.strictSame(got.reads, [
    { where: 'pod', ruleFamilies: [4] },
    { where: 'host', ruleFamilies: [4] },
    { where: 'pod', ruleFamilies: [4, 6] },
    { where: 'host', ruleFamilies: [4, 6] },
  ])
  const full = await add(eth0, ['10.6.1.10/16'], false)
  t.strictSame(got.applied, full.applied)
  t.notOk(
    got.applied.some((o) => o.op === 'rule-add' && o.rule.family === 6 && o.rule.table === 500),
    'the IPv6 host rule already there is seen, not added again',
  )
})

t.test('an interface prevResult gives no address for: every rule is read', async (t) => {
  const got = await add(['10.6.1.10/16'], [], true)
  t.strictSame(got.reads, [
    { where: 'pod', ruleFamilies: [4, 6] },
    { where: 'host', ruleFamilies: [4, 6] },
  ])
})
