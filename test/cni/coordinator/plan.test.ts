// The worked examples of cni-coordinator.md §B.11 (underlay) and §B.12 (overlay), planned from
// the namespaces as they are before each ADD, then the plan played on those namespaces the way
// the kernel would (route and rule semantics, rule priorities), compared with the listed tables.
import t from 'tap'
import { CniError } from '../../../cni/errors.ts'
import { resolveConfig } from '../../../cni/coordinator/config.ts'
import type { ResolvedConfig } from '../../../cni/coordinator/config.ts'
import { defaultDst, mainTable } from '../../../cni/coordinator/facts.ts'
import type { Family, HostFacts, Link, NetnsFacts, Route, Rule } from '../../../cni/coordinator/facts.ts'
import { macFromPrefix, opText, pendingChanges, planAdd, planDel } from '../../../cni/coordinator/plan.ts'
import type { AddPlan, Op, RouteSpec } from '../../../cni/coordinator/plan.ts'

const containerId = '3f6a1c9d2b7e4a5f9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b'
const hostVeth = 'veth3f6a1c9d2b7'
const podNetns = '/var/run/netns/pod'
const vethMacs = { pod: '0e:00:00:00:00:01', host: '0e:00:00:00:00:02' }

const baseRules = (): Rule[] => [
  { family: 4, priority: 0, table: 255 },
  { family: 4, priority: 32766, table: 254 },
  { family: 4, priority: 32767, table: 253 },
  { family: 6, priority: 0, table: 255 },
  { family: 6, priority: 32766, table: 254 },
]

const link = (name: string, index: number, addrs: string[], more: Partial<Link> = {}): Link => ({
  name,
  index,
  flags: name === 'lo' ? ['LOOPBACK', 'UP', 'LOWER_UP'] : ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
  mac: `02:00:00:00:00:${index.toString(16).padStart(2, '0')}`,
  addrs: addrs.map((a) => {
    const [ip, prefix] = a.split('/')
    const family: Family = ip.includes(':') ? 6 : 4
    return { family, ip, prefix: Number(prefix), linkLocal: ip.startsWith('fe80') || ip.startsWith('169.254'), tentative: false, dadFailed: false }
  }),
  ...more,
})

const route = (family: Family, dst: string, more: Partial<Route> = {}): Route => ({ family, table: mainTable, type: 'unicast', dst, metric: family === 6 ? 1024 : 0, ...more })

const config = (coordinator: Record<string, unknown>, netconf: Record<string, unknown> = {}, annotations: Record<string, string> = {}): ResolvedConfig =>
  resolveConfig(
    { name: 'net', type: 'coordinator', ...netconf },
    { coordinator: { metadata: { name: 'default' }, spec: { podCIDRType: 'cluster', ...(coordinator.spec as object) }, status: { phase: 'Synced', ...(coordinator.status as object) } } as never, podAnnotations: annotations },
    { requireCoordinator: true },
  )

/** What the kernel does with the ops: the namespace after them. */
function play<T extends NetnsFacts>(facts: T, ops: Op[], where: 'pod' | 'host'): T {
  const f = structuredClone(facts)
  const sameRoute = (r: Route, s: RouteSpec) => r.table === s.table && r.dst === s.dst && (!s.dev || r.dev === s.dev) && (!s.gw || r.gw === s.gw)
  for (const op of ops.filter((o) => o.where === where)) {
    switch (op.op) {
      case 'veth-add':
        f.links.push(link(op.name, 90, [], { mac: op.mac }))
        break
      case 'link-up':
        if (!f.links.some((l) => l.name === op.dev)) f.links.push(link(op.dev, 91, [], { mac: vethMacs.pod }))
        break
      case 'route-add': {
        const r = op.route
        if (f.routes.some((x) => x.table === r.table && x.dst === r.dst && x.family === r.family && x.metric === (r.family === 6 ? 1024 : 0))) throw new Error(`File exists: ${opText(op)}`)
        f.routes.push(route(r.family, r.dst, { table: r.table, gw: r.gw, dev: r.dev, src: r.src, scope: r.scope }))
        break
      }
      case 'route-del': {
        const i = f.routes.findIndex((x) => sameRoute(x, op.route))
        if (i < 0) throw new Error(`No such process: ${opText(op)}`)
        f.routes.splice(i, 1)
        break
      }
      case 'rule-add': {
        const family = f.rules.filter((r) => r.family === op.rule.family).sort((a, b) => a.priority - b.priority)
        // The kernel's choice without a priority: the second rule's priority minus one.
        const priority = op.rule.priority ?? (family.length > 1 && family[1].priority ? family[1].priority - 1 : 0)
        f.rules.push({ family: op.rule.family, priority, from: op.rule.from, fwmark: op.rule.fwmark, table: op.rule.table })
        break
      }
      case 'neigh-replace':
        f.neighbours = [...f.neighbours.filter((n) => !(n.dst === op.dst && n.dev === op.dev)), { family: op.family, dst: op.dst, dev: op.dev, mac: op.mac, permanent: true }]
        break
      case 'neigh-del':
        f.neighbours = f.neighbours.filter((n) => !(n.dst === op.dst && n.dev === op.dev))
        break
    }
  }
  return f
}

/** `ip route show table N` lines (IPv4), in a stable order. */
function table(f: NetnsFacts, n: number): string[] {
  return f.routes
    .filter((r) => r.table === n && r.family === 4)
    .map((r) =>
      [
        r.dst === defaultDst(4) ? 'default' : r.dst.replace(/\/32$/, ''),
        r.gw ? `via ${r.gw}` : '',
        `dev ${r.dev}`,
        r.protocol && r.protocol !== 'boot' ? `proto ${r.protocol}` : '',
        r.scope ? `scope ${r.scope}` : '',
        r.src ? `src ${r.src}` : '',
      ]
        .filter(Boolean)
        .join(' '),
    )
    .sort()
}

function rules(f: NetnsFacts): string[] {
  return f.rules
    .filter((r) => r.family === 4)
    .sort((a, b) => a.priority - b.priority)
    .map((r) => `${r.priority}: from ${r.from?.replace(/\/32$/, '') ?? 'all'}${r.fwmark ? ` fwmark ${r.fwmark}` : ''} lookup ${({ 253: 'default', 254: 'main', 255: 'local' } as Record<number, string>)[r.table] ?? r.table}`)
}

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
const listing = (text: string) => lines(text).sort()

const steps = (plan: AddPlan) => plan.ops.map((o) => `${o.where}: ${opText(o)}`)

// §B.11 setup
const underlayCoordinator = { spec: { hijackCIDR: ['169.254.0.0/16'], hostRuleTable: 500, podRPFilter: 0 }, status: { serviceCIDR: ['10.233.0.0/18'], overlayPodCIDR: ['10.233.64.0/18'] } }
const node = (extra: Link[] = [], routeSources: Record<string, string> = {}): HostFacts => ({
  links: [
    link('lo', 1, ['127.0.0.1/8']),
    link('ens192', 2, ['10.6.212.132/16', 'fe80::1/64']),
    link('docker0', 3, ['172.17.0.1/16']),
    link('kube-ipvs0', 4, ['10.233.0.1/32', '10.233.0.3/32']),
    ...extra,
  ],
  routes: [route(4, '10.6.0.0/16', { dev: 'ens192', protocol: 'kernel', scope: 'link', src: '10.6.212.132' })],
  rules: baseRules(),
  neighbours: [],
  routeSources: Object.fromEntries(Object.entries(routeSources).map(([ip, src]) => [ip, { src }])),
})

const underlayPodBeforeEth0 = (): NetnsFacts => ({
  links: [link('lo', 1, ['127.0.0.1/8']), link('eth0', 2, ['10.6.212.145/16', 'fe80::2/64'])],
  routes: [
    route(4, '0.0.0.0/0', { gw: '10.6.0.1', dev: 'eth0' }),
    route(4, '10.6.0.0/16', { dev: 'eth0', protocol: 'kernel', scope: 'link', src: '10.6.212.145' }),
  ],
  rules: baseRules(),
  neighbours: [],
})

t.test('§B.11 underlay ADD on eth0: veth pair, host and hijack routes in main, the fwmark reply path, table 500 on the host', async (t) => {
  const pod = underlayPodBeforeEth0()
  const host = node([], { '10.6.212.145': '10.6.212.132' })
  const plan = planAdd({ config: config(underlayCoordinator), containerId, ifName: 'eth0', netns: podNetns, pod, host, vethMacs })
  t.strictSame([plan.mode, plan.firstInvoke, plan.table, plan.hostIPs], ['underlay', true, 101, ['10.6.212.132']])
  t.strictSame(steps(plan), [
    `host: link add ${hostVeth} mtu 1500 address 0e:00:00:00:00:02 type veth peer name veth0 mtu 1500 address 0e:00:00:00:00:01 netns ${podNetns}`,
    `host: link set ${hostVeth} up`,
    `host: sysctl net.ipv6.conf.${hostVeth}.accept_ra=0`,
    'pod: link set veth0 up',
    'pod: sysctl net.ipv4.conf.all.rp_filter=0',
    `host: neigh replace 10.6.212.145 lladdr 0e:00:00:00:00:01 dev ${hostVeth} nud permanent`,
    'pod: neigh replace 10.6.212.132 lladdr 0e:00:00:00:00:02 dev veth0 nud permanent',
    'pod: route add 10.6.212.132/32 dev veth0 scope link src 10.6.212.145 table 101',
    'pod: route add 10.6.212.132/32 dev veth0 scope link src 10.6.212.145',
    'host: rule add lookup 500 pref 1000',
    `host: route add 10.6.212.145/32 dev ${hostVeth} scope link table 500`,
    'pod: route add 10.233.64.0/18 via 10.6.212.132 dev veth0 src 10.6.212.145',
    'pod: route add 10.233.0.0/18 via 10.6.212.132 dev veth0 src 10.6.212.145',
    'pod: route add 169.254.0.0/16 via 10.6.212.132 dev veth0 src 10.6.212.145',
    'pod: iptables -t mangle -A PREROUTING -i veth0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff',
    'pod: iptables -t mangle -A PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark',
    'pod: iptables -t mangle -A OUTPUT -j CONNMARK --restore-mark',
    'pod: rule add fwmark 0x1 lookup 100 pref 1000',
    'pod: route add 0.0.0.0/0 via 10.6.212.132 dev veth0 src 10.6.212.145 table 100',
  ])

  const after = play(pod, plan.ops, 'pod')
  t.strictSame(rules(after), lines(`0: from all lookup local
    1000: from all fwmark 0x1 lookup 100
    32766: from all lookup main
    32767: from all lookup default`))
  t.strictSame(table(after, mainTable), listing(`default via 10.6.0.1 dev eth0
    10.6.0.0/16 dev eth0 proto kernel scope link src 10.6.212.145
    10.6.212.132 dev veth0 scope link src 10.6.212.145
    10.233.64.0/18 via 10.6.212.132 dev veth0 src 10.6.212.145
    10.233.0.0/18 via 10.6.212.132 dev veth0 src 10.6.212.145
    169.254.0.0/16 via 10.6.212.132 dev veth0 src 10.6.212.145`))
  t.strictSame(table(after, 100), ['default via 10.6.212.132 dev veth0 src 10.6.212.145'])
  t.strictSame(table(after, 101), ['10.6.212.132 dev veth0 scope link src 10.6.212.145'])
  const hostAfter = play(host, plan.ops, 'host')
  t.strictSame(table(hostAfter, 500), [`10.6.212.145 dev ${hostVeth} scope link`])
  t.strictSame(rules(hostAfter), ['0: from all lookup local', '1000: from all lookup 500', '32766: from all lookup main', '32767: from all lookup default'])
})

/** The pod and node of §B.11 after the eth0 ADD, with macvlan's net1 added. */
function underlayWithNet1() {
  const pod0 = underlayPodBeforeEth0()
  const host0 = node([], { '10.6.212.145': '10.6.212.132' })
  const first = planAdd({ config: config(underlayCoordinator), containerId, ifName: 'eth0', netns: podNetns, pod: pod0, host: host0, vethMacs })
  const pod = play(pod0, first.ops, 'pod')
  pod.links.find((l) => l.name === 'veth0')!.peerIndex = 90
  pod.links.push(link('net1', 5, ['172.200.0.201/16']))
  pod.routes.push(route(4, '172.200.0.0/16', { dev: 'net1', protocol: 'kernel', scope: 'link', src: '172.200.0.201' }), route(4, '0.0.0.0/0', { gw: '172.200.0.1', dev: 'net1' }))
  const host = play(host0, first.ops, 'host')
  host.routeSources = { '10.6.212.145': { src: '10.6.212.132' }, '172.200.0.201': { src: '10.6.212.132' } }
  return { pod, host }
}

t.test('§B.11 underlay ADD on net1: table 101 (3 links + 98), its source rule at 999, its default route moved out of main', async (t) => {
  const { pod, host } = underlayWithNet1()
  const plan = planAdd({ config: config(underlayCoordinator), containerId, ifName: 'net1', netns: podNetns, pod, host, vethMacs })
  t.strictSame([plan.mode, plan.firstInvoke, plan.table], ['underlay', false, 101])
  t.notOk(plan.ops.some((o) => o.op === 'veth-add' || o.op === 'iptables'), 'no second veth, no second reply path')
  const after = play(pod, plan.ops, 'pod')
  t.strictSame(rules(after), lines(`0: from all lookup local
    999: from 172.200.0.201 lookup 101
    1000: from all fwmark 0x1 lookup 100
    32766: from all lookup main
    32767: from all lookup default`))
  t.strictSame(table(after, mainTable), listing(`default via 10.6.0.1 dev eth0
    10.6.0.0/16 dev eth0 proto kernel scope link src 10.6.212.145
    10.6.212.132 dev veth0 scope link src 10.6.212.145
    10.233.64.0/18 via 10.6.212.132 dev veth0 src 10.6.212.145
    10.233.0.0/18 via 10.6.212.132 dev veth0 src 10.6.212.145
    169.254.0.0/16 via 10.6.212.132 dev veth0 src 10.6.212.145
    172.200.0.0/16 dev net1 proto kernel scope link src 172.200.0.201`))
  t.strictSame(table(after, 101), listing(`10.6.212.132 dev veth0 scope link src 10.6.212.145
    10.233.64.0/18 via 10.6.212.132 dev veth0 src 10.6.212.145
    10.233.0.0/18 via 10.6.212.132 dev veth0 src 10.6.212.145
    169.254.0.0/16 via 10.6.212.132 dev veth0 src 10.6.212.145
    default via 172.200.0.1 dev net1
    172.200.0.0/16 dev net1 scope link src 172.200.0.201`))
  const hostAfter = play(host, plan.ops, 'host')
  t.strictSame(table(hostAfter, 500), listing(`10.6.212.145 dev ${hostVeth} scope link
    172.200.0.201 dev ${hostVeth} scope link`))
  t.ok(hostAfter.neighbours.some((n) => n.dst === '172.200.0.201' && n.dev === hostVeth && n.mac === vethMacs.pod && n.permanent), 'net1 address gets a permanent neighbour on the host veth')
})

t.test('§B.11 with default-route-nic net1: the rule keys on eth0, eth0 default route and a copy of its connected route go to 101', async (t) => {
  const { pod, host } = underlayWithNet1()
  const plan = planAdd({ config: config(underlayCoordinator, {}, { 'ipam.spidernet.io/default-route-nic': 'net1' }), containerId, ifName: 'net1', netns: podNetns, pod, host, vethMacs })
  const after = play(pod, plan.ops, 'pod')
  t.ok(rules(after).includes('999: from 10.6.212.145 lookup 101'))
  t.notOk(rules(after).some((r) => r.includes('172.200.0.201')))
  t.ok(table(after, mainTable).includes('default via 172.200.0.1 dev net1'), "net1's default route stays in main")
  t.notOk(table(after, mainTable).includes('default via 10.6.0.1 dev eth0'))
  t.ok(table(after, 101).includes('default via 10.6.0.1 dev eth0'))
  t.ok(table(after, 101).includes('10.6.0.0/16 dev eth0 scope link src 10.6.212.145'))
  t.ok(table(after, mainTable).includes('10.6.0.0/16 dev eth0 proto kernel scope link src 10.6.212.145'), 'the connected route is copied, not moved')
})

// §B.12 setup
const calicoHost = (): HostFacts =>
  node([link('calia1b2c3d4e5f', 7, [], { mac: 'ee:ee:ee:ee:ee:ee' })], { '10.233.73.210': '10.6.212.132', '10.6.212.145': '10.6.212.132' })
const overlayCoordinator = { spec: { hijackCIDR: [], hostRuleTable: 500, podRPFilter: 0 }, status: { serviceCIDR: ['10.233.0.0/18'], overlayPodCIDR: ['10.233.64.0/18'] } }
const calicoPod = (): NetnsFacts => ({
  links: [
    link('lo', 1, ['127.0.0.1/8']),
    link('eth0', 3, ['10.233.73.210/32', 'fe80::3/64'], { mac: 'a2:99:9d:04:01:80', peerIndex: 7 }),
    link('net1', 4, ['10.6.212.145/16']),
  ],
  routes: [
    route(4, '0.0.0.0/0', { gw: '169.254.1.1', dev: 'eth0' }),
    route(4, '10.6.0.0/16', { dev: 'net1', protocol: 'kernel', scope: 'link', src: '10.6.212.145' }),
    route(4, '169.254.1.1/32', { dev: 'eth0', scope: 'link' }),
    route(4, '0.0.0.0/0', { gw: '10.6.0.1', dev: 'net1' }),
  ],
  rules: baseRules(),
  neighbours: [],
})

t.test('§B.12 overlay ADD on net1: table 100 for eth0, table 101 for net1, routes to the node and CIDRs via eth0', async (t) => {
  const pod = calicoPod()
  const host = calicoHost()
  const plan = planAdd({ config: config(overlayCoordinator), containerId, ifName: 'net1', netns: podNetns, pod, host, vethMacs })
  t.strictSame([plan.mode, plan.firstInvoke, plan.table], ['overlay', true, 101])
  t.strictSame(steps(plan), [
    'pod: sysctl net.ipv4.conf.all.rp_filter=0',
    'host: neigh replace 10.6.212.145 lladdr a2:99:9d:04:01:80 dev calia1b2c3d4e5f nud permanent',
    'pod: neigh replace 10.6.212.132 lladdr ee:ee:ee:ee:ee:ee dev eth0 nud permanent',
    'pod: route add 10.6.212.132/32 dev eth0 scope link src 10.233.73.210 table 101',
    'pod: route add 10.6.212.132/32 dev eth0 scope link src 10.233.73.210',
    'host: rule add lookup 500 pref 1000',
    'host: route add 10.6.212.145/32 dev calia1b2c3d4e5f scope link table 500',
    'pod: route add 10.233.64.0/18 via 10.6.212.132 dev eth0 src 10.233.73.210',
    'pod: route add 10.233.0.0/18 via 10.6.212.132 dev eth0 src 10.233.73.210',
    'pod: rule add from 10.6.212.145/32 lookup 101',
    'pod: rule add from 10.233.73.210/32 lookup 100',
    'pod: route add 0.0.0.0/0 via 169.254.1.1 dev eth0 table 100',
    'pod: route add 10.6.0.0/16 dev net1 scope link src 10.6.212.145 table 101',
    'pod: route add 0.0.0.0/0 via 10.6.0.1 dev net1 table 101',
    'pod: route del 0.0.0.0/0 via 10.6.0.1 dev net1',
  ])
  t.notOk(plan.ops.some((o) => o.op === 'veth-add' || o.op === 'iptables' || (o.op === 'rule-add' && o.rule.fwmark)), 'no veth, no iptables, no fwmark')
  const after = play(pod, plan.ops, 'pod')
  t.strictSame(rules(after), lines(`0: from all lookup local
    32764: from 10.233.73.210 lookup 100
    32765: from 10.6.212.145 lookup 101
    32766: from all lookup main
    32767: from all lookup default`))
  t.strictSame(table(after, mainTable), listing(`default via 169.254.1.1 dev eth0
    10.6.0.0/16 dev net1 proto kernel scope link src 10.6.212.145
    10.6.212.132 dev eth0 scope link src 10.233.73.210
    10.233.64.0/18 via 10.6.212.132 dev eth0 src 10.233.73.210
    10.233.0.0/18 via 10.6.212.132 dev eth0 src 10.233.73.210
    169.254.1.1 dev eth0 scope link`))
  t.strictSame(table(after, 100), ['default via 169.254.1.1 dev eth0'])
  t.strictSame(table(after, 101), listing(`10.6.212.132 dev eth0 scope link src 10.233.73.210
    default via 10.6.0.1 dev net1
    10.6.0.0/16 dev net1 scope link src 10.6.212.145`))
  t.strictSame(after.neighbours, [{ family: 4, dst: '10.6.212.132', dev: 'eth0', mac: 'ee:ee:ee:ee:ee:ee', permanent: true }])
  const hostAfter = play(host, plan.ops, 'host')
  t.strictSame(table(hostAfter, 500), ['10.6.212.145 dev calia1b2c3d4e5f scope link'])
  t.strictSame(hostAfter.neighbours, [{ family: 4, dst: '10.6.212.145', dev: 'calia1b2c3d4e5f', mac: 'a2:99:9d:04:01:80', permanent: true }])
})

t.test('§B.12 with default-route-nic net1: one rule from eth0 to 101, eth0 routes copied to 101, its default moved', async (t) => {
  const pod = calicoPod()
  const plan = planAdd({ config: config(overlayCoordinator, {}, { 'ipam.spidernet.io/default-route-nic': 'net1' }), containerId, ifName: 'net1', netns: podNetns, pod, host: calicoHost(), vethMacs })
  const after = play(pod, plan.ops, 'pod')
  t.strictSame(rules(after), lines(`0: from all lookup local
    32765: from 10.233.73.210 lookup 101
    32766: from all lookup main
    32767: from all lookup default`))
  t.strictSame(table(after, mainTable), listing(`default via 10.6.0.1 dev net1
    10.6.0.0/16 dev net1 proto kernel scope link src 10.6.212.145
    10.6.212.132 dev eth0 scope link src 10.233.73.210
    10.233.64.0/18 via 10.6.212.132 dev eth0 src 10.233.73.210
    10.233.0.0/18 via 10.6.212.132 dev eth0 src 10.233.73.210
    169.254.1.1 dev eth0 scope link`))
  t.strictSame(table(after, 101), listing(`10.6.212.132 dev eth0 scope link src 10.233.73.210
    default via 169.254.1.1 dev eth0
    10.233.64.0/18 via 10.6.212.132 dev eth0 src 10.233.73.210
    10.233.0.0/18 via 10.6.212.132 dev eth0 src 10.233.73.210
    169.254.1.1 dev eth0 scope link`))
  t.strictSame(table(after, 100), [], 'no table 100 in that branch')
})

t.test('§B.12 third NIC net2: table 102, rule at 32763, host and hijack routes only in 102, no new pod neighbours', async (t) => {
  const pod0 = calicoPod()
  const host0 = calicoHost()
  const first = planAdd({ config: config(overlayCoordinator), containerId, ifName: 'net1', netns: podNetns, pod: pod0, host: host0, vethMacs })
  const pod = play(pod0, first.ops, 'pod')
  pod.links.push(link('net2', 5, ['172.16.1.10/24']))
  pod.routes.push(route(4, '172.16.1.0/24', { dev: 'net2', protocol: 'kernel', scope: 'link', src: '172.16.1.10' }))
  const host = play(host0, first.ops, 'host')
  host.routeSources = { '10.233.73.210': { src: '10.6.212.132' }, '10.6.212.145': { src: '10.6.212.132' }, '172.16.1.10': { src: '10.6.212.132' } }
  const plan = planAdd({ config: config(overlayCoordinator), containerId, ifName: 'net2', netns: podNetns, pod, host, vethMacs })
  t.strictSame([plan.firstInvoke, plan.table], [false, 102])
  const after = play(pod, plan.ops, 'pod')
  t.ok(rules(after).includes('32763: from 172.16.1.10 lookup 102'))
  t.strictSame(table(after, mainTable), table(pod, mainTable), 'main is unchanged')
  t.ok(table(after, 102).includes('10.6.212.132 dev eth0 scope link src 10.233.73.210'))
  t.ok(table(after, 102).includes('10.233.0.0/18 via 10.6.212.132 dev eth0 src 10.233.73.210'))
  t.notOk(plan.ops.some((o) => o.where === 'pod' && o.op === 'neigh-replace'))
})

t.test('a repeated ADD plans nothing but the sysctl and iptables writes it always re-applies', async (t) => {
  const pod = calicoPod()
  const host = calicoHost()
  const c = config(overlayCoordinator)
  const first = planAdd({ config: c, containerId, ifName: 'net1', netns: podNetns, pod, host, vethMacs })
  const again = planAdd({ config: c, containerId, ifName: 'net1', netns: podNetns, pod: play(pod, first.ops, 'pod'), host: { ...play(host, first.ops, 'host'), routeSources: host.routeSources }, vethMacs })
  t.strictSame(pendingChanges(again).map(opText), [])
  t.ok(pendingChanges(first).length > 0)
})

t.test('mode errors: overlay on the first NIC, overlay after underlay, underlay without the first NIC veth, an unknown default-route NIC', async (t) => {
  const pod = calicoPod()
  const plan = (c: ResolvedConfig, ifName: string, p: NetnsFacts = pod) => () => planAdd({ config: c, containerId, ifName, netns: podNetns, pod: p, host: calicoHost(), vethMacs })
  t.throws(plan(config(overlayCoordinator, { mode: 'overlay' }), 'eth0'), { message: /overlay mode the coordinator works on the NICs after eth0/ })
  t.throws(plan(config(overlayCoordinator, { mode: 'underlay' }), 'net1'), { message: /auxiliary interface veth0 of the first interface eth0 does not exist/ })
  const withVeth = structuredClone(pod)
  withVeth.links.push(link('veth0', 9, []))
  t.throws(plan(config(overlayCoordinator, { mode: 'overlay' }), 'net1', withVeth), { message: /veth0 of underlay mode exists/ })
  t.throws(plan(config(overlayCoordinator, {}, { 'ipam.spidernet.io/default-route-nic': 'net9' }), 'net1'), { message: 'podDefaultRouteNIC: net9 does not exist in the pod' })
  const bare = structuredClone(pod)
  bare.links[2].addrs = []
  t.throws(plan(config(overlayCoordinator), 'net1', bare), CniError, 'no usable IP addresses on net1')
})

t.test('podMACPrefix, txQueueLen (in the pod), rp_filter and policy routes', async (t) => {
  const c = config(
    { ...overlayCoordinator, spec: { ...overlayCoordinator.spec, podMACPrefix: '0a:1b', txQueueLen: 2000, podRPFilter: 2, policyRoutes: [{ dst: '10.7.0.0/16', gw: '10.6.0.1' }, { dst: 'fd00:7::/64', gw: 'fd00:6::1' }] } },
  )
  const plan = planAdd({ config: c, containerId, ifName: 'net1', netns: podNetns, pod: calicoPod(), host: calicoHost(), vethMacs })
  const text = steps(plan)
  t.equal(macFromPrefix('0a:1b', '10.6.212.145'), '0a:1b:0a:06:d4:91', 'the example of §B.3 step 9')
  t.equal(macFromPrefix('0a:1b', '::ffff:1'), '0a:1b:ff:ff:00:01', 'IPv6 takes its last 4 bytes')
  t.equal(plan.newMac, '0a:1b:0a:06:d4:91')
  t.ok(text.indexOf('pod: sysctl net.ipv4.conf.net1.arp_notify=1') < text.indexOf('pod: link set net1 address 0a:1b:0a:06:d4:91'), 'the kernel announces the new MAC')
  t.ok(text.includes('pod: link set net1 txqueuelen 2000'))
  t.ok(text.includes('pod: sysctl net.ipv4.conf.all.rp_filter=2'))
  t.ok(text.includes('pod: route add 10.7.0.0/16 via 10.6.0.1 dev net1 table 101'), 'overlay first NIC: policy routes into its table')
  t.notOk(text.some((s) => s.includes('fd00:7::')), 'an IPv6 policy route is not for an IPv4-only NIC')
  const off = planAdd({ config: config({ ...overlayCoordinator, spec: { ...overlayCoordinator.spec, podRPFilter: -1 } }), containerId, ifName: 'net1', netns: podNetns, pod: calicoPod(), host: calicoHost(), vethMacs })
  t.notOk(steps(off).some((s) => s.includes('rp_filter')), '-1 leaves rp_filter alone')
})

t.test('dual stack underlay: IPv6 host, hijack and reply routes carry a src, rules and iptables per family', async (t) => {
  const pod: NetnsFacts = {
    links: [link('lo', 1, ['127.0.0.1/8']), link('eth0', 2, ['10.6.1.10/16', 'fd00:6::1:10/64', 'fe80::2/64'])],
    routes: [route(4, '0.0.0.0/0', { gw: '10.6.0.1', dev: 'eth0' }), route(6, '::/0', { gw: 'fd00:6::1', dev: 'eth0' })],
    rules: baseRules(),
    neighbours: [],
  }
  const host = node([], { '10.6.1.10': '10.6.212.132', 'fd00:6::1:10': 'fd00:6::11' })
  host.links[1].addrs.push({ family: 6, ip: 'fd00:6::11', prefix: 64, linkLocal: false, tentative: false, dadFailed: false })
  const c = config({ spec: { hijackCIDR: [], hostRuleTable: 500 }, status: { serviceCIDR: ['10.233.0.0/18', 'fd00:233::/112'], overlayPodCIDR: [] } })
  const text = steps(planAdd({ config: c, containerId, ifName: 'eth0', netns: podNetns, pod, host, vethMacs }))
  for (const line of [
    'pod: sysctl net.ipv6.conf.all.disable_ipv6=0',
    'pod: route add fd00:6::11/128 dev veth0 src fd00:6::1:10',
    'pod: route add fd00:233::/112 via fd00:6::11 dev veth0 src fd00:6::1:10',
    'pod: ip6tables -t mangle -A OUTPUT -j CONNMARK --restore-mark',
    'pod: -6 rule add fwmark 0x1 lookup 100 pref 1000',
    'pod: route add ::/0 via fd00:6::11 dev veth0 src fd00:6::1:10 table 100',
    'host: -6 rule add lookup 500 pref 1000',
    `host: route add fd00:6::1:10/128 dev ${hostVeth} table 500`,
    `host: neigh replace fd00:6::1:10 lladdr 0e:00:00:00:00:01 dev ${hostVeth} nud permanent`,
  ]) t.ok(text.includes(line), line)
})

t.test('hostRPFilter sets rp_filter on the host end of the underlay veth; vethMTU sizes both ends', async (t) => {
  const plan = planAdd({ config: config(underlayCoordinator, { hostRPFilter: 0, vethMTU: 9000 }), containerId, ifName: 'eth0', netns: podNetns, pod: underlayPodBeforeEth0(), host: node([], { '10.6.212.145': '10.6.212.132' }), vethMacs })
  t.ok(steps(plan).includes(`host: sysctl net.ipv4.conf.${hostVeth}.rp_filter=0`))
  t.match(steps(plan)[0], /^host: link add veth3f6a1c9d2b7 mtu 9000 .* peer name veth0 mtu 9000 /)
})

t.test('a CIDR of a family the node has no address of is skipped with a warning; one of a family the pod does not use, silently', async (t) => {
  const c = config({ spec: { hijackCIDR: [], hostRuleTable: 500 }, status: { serviceCIDR: ['10.233.0.0/18', 'fd00:233::/112'], overlayPodCIDR: [] } })
  const dualPod: NetnsFacts = { ...underlayPodBeforeEth0(), links: [link('lo', 1, ['127.0.0.1/8']), link('eth0', 2, ['10.6.212.145/16', 'fd00:6::1:10/64'])] }
  const v4Node = node([], { '10.6.212.145': '10.6.212.132', 'fd00:6::1:10': '10.6.212.132' })
  const dual = planAdd({ config: c, containerId, ifName: 'eth0', netns: podNetns, pod: dualPod, host: v4Node, vethMacs })
  t.ok(dual.warnings.includes('no IPv6 address on the node to route fd00:233::/112 through; skipped'))
  t.notOk(steps(dual).some((s) => s.includes('fd00:233::')))
  const v4 = planAdd({ config: c, containerId, ifName: 'eth0', netns: podNetns, pod: underlayPodBeforeEth0(), host: node([], { '10.6.212.145': '10.6.212.132' }), vethMacs })
  t.strictSame(v4.warnings, [])
})

t.test('DEL removes the underlay veth with the first NIC; for a later NIC, its table-500 routes and neighbours on the host end', async (t) => {
  const c = { mode: 'auto' as const, firstNic: 'eth0', hostRuleTable: 500 }
  const { pod, host } = underlayWithNet1()
  const withNet1 = play(host, planAdd({ config: config(underlayCoordinator), containerId, ifName: 'net1', netns: podNetns, pod, host, vethMacs }).ops, 'host')
  t.strictSame(planDel({ config: c, containerId, ifName: 'eth0', pod, host: withNet1, prevAddrs: [] }).map(opText), [`link del ${hostVeth}`])
  t.strictSame(planDel({ config: c, containerId, ifName: 'net1', pod, host: withNet1, prevAddrs: ['172.200.0.201'] }).map(opText), [
    `route del 172.200.0.201/32 dev ${hostVeth} table 500`,
    `neigh del 172.200.0.201 dev ${hostVeth}`,
  ])
  t.strictSame(planDel({ config: c, containerId, ifName: 'eth0', pod: undefined, host: node(), prevAddrs: ['10.6.212.145'] }), [], 'nothing left: nothing to do')
  t.strictSame(planDel({ config: { ...c, mode: 'disabled' }, containerId, ifName: 'eth0', pod, host: withNet1, prevAddrs: [] }), [])
})

t.test('DEL in overlay removes the table-500 route and neighbour of the NIC on the overlay veth', async (t) => {
  const pod = calicoPod()
  const host0 = calicoHost()
  const host = play(host0, planAdd({ config: config(overlayCoordinator), containerId, ifName: 'net1', netns: podNetns, pod, host: host0, vethMacs }).ops, 'host')
  t.strictSame(planDel({ config: { mode: 'auto', firstNic: 'eth0', hostRuleTable: 500 }, containerId, ifName: 'net1', pod, host, prevAddrs: [] }).map(opText), [
    'route del 10.6.212.145/32 dev calia1b2c3d4e5f table 500',
    'neigh del 10.6.212.145 dev calia1b2c3d4e5f',
  ])
})
