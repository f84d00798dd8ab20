// The coordinator's decisions, pure: resolved config + prevResult + what the pod and host
// namespaces look like → the ordered changes to make in each (cni-coordinator.md §B.3, §B.6,
// §B.7, §B.10). Every change is checked against a model of the namespace first, so that a
// repeated ADD changes nothing and CHECK is "the plan is empty".
import { parseIP } from '../../ipam/ip.ts'
import { CniError, errorCode } from '../errors.ts'
import type { ResolvedConfig } from './config.ts'
import { canonical, defaultDst, familyOf, hostBits, isLinkLocal, isMulticast, mainTable } from './facts.ts'
import type { Family, HostFacts, Link, NetnsFacts, Nexthop, Route, Rule } from './facts.ts'

export type Where = 'pod' | 'host'

export interface RouteSpec {
  family: Family
  dst: string
  gw?: string
  dev: string
  src?: string
  scope?: 'link'
  table: number
  /** the metric of the route as it is (deletes); adds take the kernel's default */
  metric?: number
  mtu?: number
  nexthops?: Nexthop[]
}

export interface RuleSpec {
  family: Family
  from?: string
  fwmark?: string
  table: number
  priority?: number
}

export type Op =
  | { where: Where; op: 'link-up'; dev: string }
  | { where: 'host'; op: 'veth-add'; name: string; mac: string; peer: string; peerMac: string; mtu: number; peerNetns: string }
  | { where: Where; op: 'link-del'; dev: string }
  | { where: Where; op: 'link-mac'; dev: string; mac: string }
  | { where: Where; op: 'link-txqueuelen'; dev: string; txqueuelen: number }
  | { where: Where; op: 'addr-add'; dev: string; address: string }
  | { where: Where; op: 'sysctl'; key: string; value: string; ifExists?: boolean }
  | { where: Where; op: 'neigh-replace'; family: Family; dst: string; mac: string; dev: string }
  | { where: Where; op: 'neigh-del'; family: Family; dst: string; dev: string }
  | { where: Where; op: 'route-add' | 'route-del' | 'route-replace'; route: RouteSpec }
  /** `shared`: other pods' ADDs add the same rule, so "already there" is success */
  | { where: Where; op: 'rule-add'; rule: RuleSpec; shared?: boolean }
  | { where: Where; op: 'iptables'; family: Family; table: 'mangle'; chain: string; rule: string[] }

export interface AddPlan {
  mode: 'underlay' | 'overlay'
  firstInvoke: boolean
  table: number
  hostIPs: string[]
  ops: Op[]
  /** Things skipped that the user may want to know about (logged). */
  warnings: string[]
  /** The MAC podMACPrefix gives the interface, when it changes. */
  newMac?: string
}

export interface AddInput {
  config: ResolvedConfig
  containerId: string
  ifName: string
  /** CNI_NETNS: where the underlay veth's pod end is created */
  netns: string
  pod: NetnsFacts
  host: HostFacts
  /** MACs for a veth pair that has to be created (random in production, fixed in tests) */
  vethMacs: { pod: string; host: string }
}

/** Spiderpool's reply table (underlay: marked replies via veth0; overlay: copy of eth0's default route). */
export const replyTable = 100
export const podVethName = 'veth0'
const replyMark = '0x1'
const replyRulePriority = 1000
const hostRulePriority = 1000
// Host links whose addresses are not the node's (container bridges, CNI devices, ...), as Spiderpool skips them.
const notNodeLinks = [/^docker/, /^cbr/, /^dummy/, /^virbr/, /^lxcbr/, /^veth/, /^lo$/, /^cali/, /^flannel/, /^kube-ipvs/, /^cni/, /^vx-submariner/, /^cilium/]

/** The host end of the underlay veth: `veth` + the first 11 characters of the container id (15, the kernel's limit). */
export const hostVethName = (containerId: string) => `veth${containerId.slice(0, 11)}`

const fail = (msg: string, details = '') => new CniError(errorCode.invalidNetworkConfig, msg, details)

const usable = (l: Link, families: Set<Family>) => l.addrs.filter((a) => !a.linkLocal && !isMulticast(a.ip) && families.has(a.family))

/** The families in use: those of the non-link-local addresses on the interface. */
export function familiesOf(pod: NetnsFacts, ifName: string): Set<Family> {
  const link = pod.links.find((l) => l.name === ifName)
  if (!link) throw new CniError(errorCode.invalidNetworkConfig, `interface ${ifName} not found in the pod`)
  const families = new Set(link.addrs.filter((a) => !a.linkLocal).map((a) => a.family))
  if (!families.size) throw new CniError(errorCode.invalidNetworkConfig, `no usable IP addresses on ${ifName}`)
  return families
}

/** Every address of the pod (but the underlay veth's own) whose route from the host decides the node IPs. */
export function podIPsToResolve(pod: NetnsFacts, ifName: string): string[] {
  const families = familiesOf(pod, ifName)
  return pod.links.filter((l) => l.name !== 'lo' && l.name !== podVethName).flatMap((l) => usable(l, families).map((a) => a.ip))
}

/** A namespace's links, routes, rules and neighbours as they will be once the planned ops ran. */
class Model {
  readonly facts: NetnsFacts
  constructor(facts: NetnsFacts) {
    this.facts = structuredClone(facts)
  }
  link(name: string) {
    return this.facts.links.find((l) => l.name === name)
  }
  routes(table: number) {
    return this.facts.routes.filter((r) => r.table === table && r.type === 'unicast')
  }
  /** The kernel refuses a second route with the same destination and metric in a table. */
  findRoute(spec: RouteSpec) {
    const metric = spec.metric ?? (spec.family === 6 ? 1024 : 0)
    return this.facts.routes.find((r) => r.table === spec.table && r.family === spec.family && r.dst === spec.dst && r.metric === metric)
  }
  findRule(spec: RuleSpec) {
    return this.facts.rules.find(
      (r) => r.family === spec.family && r.table === spec.table && r.from === spec.from && r.fwmark === spec.fwmark && r.to === undefined && (spec.priority === undefined || r.priority === spec.priority),
    )
  }
}

class Planner {
  readonly ops: Op[] = []
  readonly warnings: string[] = []
  readonly pod: Model
  readonly host: Model

  constructor(pod: NetnsFacts, host: NetnsFacts) {
    this.pod = new Model(pod)
    this.host = new Model(host)
  }

  model(where: Where) {
    return where === 'pod' ? this.pod : this.host
  }

  /** `ip route add`, skipped when the kernel would answer "File exists" (Spiderpool ignores that answer). */
  addRoute(where: Where, spec: RouteSpec) {
    const m = this.model(where)
    if (m.findRoute(spec)) return
    this.ops.push({ where, op: 'route-add', route: spec })
    m.facts.routes.push({
      family: spec.family,
      table: spec.table,
      type: 'unicast',
      dst: spec.dst,
      gw: spec.gw,
      dev: spec.dev,
      src: spec.src,
      scope: spec.scope,
      metric: spec.family === 6 ? 1024 : 0,
      mtu: spec.mtu,
    })
  }

  deleteRoute(where: Where, route: Route) {
    const m = this.model(where)
    this.ops.push({ where, op: 'route-del', route: specOf(route) })
    m.facts.routes = m.facts.routes.filter((r) => r !== route)
  }

  addRule(where: Where, spec: RuleSpec, shared = false) {
    const m = this.model(where)
    if (m.findRule(spec)) return
    this.ops.push(shared ? { where, op: 'rule-add', rule: spec, shared } : { where, op: 'rule-add', rule: spec })
    m.facts.rules.push({ family: spec.family, priority: spec.priority ?? -1, from: spec.from, fwmark: spec.fwmark, table: spec.table })
  }

  setNeighbour(where: Where, family: Family, dst: string, mac: string, dev: string) {
    const m = this.model(where)
    const same = m.facts.neighbours.find((n) => n.dst === dst && n.dev === dev)
    if (same?.permanent && same.mac === mac) return
    this.ops.push({ where, op: 'neigh-replace', family, dst, mac, dev })
    m.facts.neighbours = [...m.facts.neighbours.filter((n) => n !== same), { family, dst, dev, mac, permanent: true }]
  }
}

function specOf(r: Route): RouteSpec {
  const spec: RouteSpec = { family: r.family, dst: r.dst, dev: r.dev ?? '', table: r.table, metric: r.metric }
  if (r.gw) spec.gw = r.gw
  if (r.nexthops) spec.nexthops = r.nexthops
  return spec
}

const hostPrefix = (ip: string) => `${ip}/${hostBits(familyOf(ip)!)}`

/** The MAC podMACPrefix gives: the prefix, then the last 4 bytes of the address (IPv6 too, unlike Spiderpool's big-integer dump). */
export function macFromPrefix(prefix: string, ip: string): string {
  const parsed = parseIP(ip)!
  const tail = parsed.value & 0xffffffffn
  const bytes = [24n, 16n, 8n, 0n].map((s) => ((tail >> s) & 0xffn).toString(16).padStart(2, '0'))
  return [prefix, ...bytes].join(':')
}

export function planAdd(input: AddInput): AddPlan {
  const { config, ifName, containerId } = input
  const p = new Planner(input.pod, input.host)
  const families = familiesOf(input.pod, ifName)
  const inOrder = (fs: Iterable<Family>) => [...fs].sort()
  const cur = p.pod.link(ifName)!

  // Step 4: bring the interface up; it counts as up from here on.
  if (!cur.flags.includes('UP')) {
    p.ops.push({ where: 'pod', op: 'link-up', dev: ifName })
    cur.flags.push('UP')
  }

  // Step 5: mode, first invoke and the policy table (§B.2).
  const upLinks = p.pod.facts.links.filter((l) => ['UP', 'BROADCAST', 'MULTICAST'].every((f) => l.flags.includes(f)))
  const veth0 = p.pod.link(podVethName)
  let mode: 'underlay' | 'overlay'
  if (config.mode === 'underlay' || config.mode === 'overlay') mode = config.mode
  else if (config.mode === 'auto') mode = ifName === config.firstNic || veth0 ? 'underlay' : 'overlay'
  else throw fail(`the coordinator is disabled and has nothing to plan`)
  let firstInvoke: boolean
  let table: number
  if (mode === 'underlay') {
    firstInvoke = ifName === config.firstNic
    table = firstInvoke ? 101 : upLinks.length + 98
    if (!firstInvoke && !veth0) {
      throw fail(
        `when creating interface ${ifName} in underlay mode, the auxiliary interface ${podVethName} of the first interface ${config.firstNic} does not exist`,
        `enable the coordinator in the network of ${config.firstNic} too`,
      )
    }
  } else {
    if (ifName === config.firstNic) {
      throw fail(`in overlay mode the coordinator works on the NICs after ${config.firstNic}, not on ${config.firstNic} itself`, 'remove the coordinator from the network config of the first NIC, or set mode underlay')
    }
    if (veth0) throw fail(`when creating interface ${ifName} in overlay mode, the auxiliary interface ${podVethName} of underlay mode exists`, 'the previous interface works in underlay mode; use mode underlay or auto')
    firstInvoke = upLinks.length === 2
    table = firstInvoke ? 101 : 99 + upLinks.length
  }

  // Step 6: the node's addresses the pod reaches through the host: first the sources the host
  // uses towards each pod address, then every address on the node's own links.
  const hostIPs: string[] = []
  for (const ip of podIPsToResolve(input.pod, ifName)) {
    const route = input.host.routeSources[ip]
    if (!route?.src) throw new CniError(errorCode.internal, `the host has no route to the pod address ${ip}`, route?.error ?? 'not asked')
    if (!hostIPs.includes(route.src)) hostIPs.push(route.src)
  }
  for (const link of input.host.links) {
    if (notNodeLinks.some((re) => re.test(link.name))) continue
    for (const a of usable(link, families)) if (!hostIPs.includes(a.ip)) hostIPs.push(a.ip)
  }
  const hijackGw = (f: Family) => hostIPs.find((ip) => familyOf(ip) === f)

  // Step 7: the link between pod and host.
  let podVeth: string
  let hostVeth: string
  let podVethMac: string
  let hostVethMac: string
  if (mode === 'underlay') {
    podVeth = podVethName
    hostVeth = hostVethName(containerId)
    const hostEnd = p.host.link(hostVeth)
    if (firstInvoke) {
      if (veth0) {
        // A retried ADD: the pair made last time is kept when it is still a pair.
        if (!hostEnd || veth0.peerIndex !== hostEnd.index) throw fail(`${podVethName} already exists in the pod and its peer is not ${hostVeth} on the host`)
        podVethMac = veth0.mac
        hostVethMac = hostEnd.mac
      } else {
        if (hostEnd) p.ops.push({ where: 'host', op: 'link-del', dev: hostVeth })
        podVethMac = input.vethMacs.pod
        hostVethMac = input.vethMacs.host
        p.ops.push({ where: 'host', op: 'veth-add', name: hostVeth, mac: hostVethMac, peer: podVeth, peerMac: podVethMac, mtu: config.vethMTU, peerNetns: input.netns })
        p.ops.push({ where: 'host', op: 'link-up', dev: hostVeth })
        p.ops.push({ where: 'host', op: 'sysctl', key: `net/ipv6/conf/${hostVeth}/accept_ra`, value: '0', ifExists: true })
        p.ops.push({ where: 'pod', op: 'link-up', dev: podVeth })
        p.pod.facts.links.push({ name: podVeth, index: -1, flags: ['BROADCAST', 'MULTICAST', 'UP'], mac: podVethMac, addrs: [] })
      }
      if (config.hostRPFilter !== -1) p.ops.push({ where: 'host', op: 'sysctl', key: `net/ipv4/conf/${hostVeth}/rp_filter`, value: String(config.hostRPFilter) })
      const pv = p.pod.link(podVeth)!
      if (families.has(4) && config.vethLinkAddress && !pv.addrs.some((a) => a.ip === config.vethLinkAddress)) {
        p.ops.push({ where: 'pod', op: 'addr-add', dev: podVeth, address: `${config.vethLinkAddress}/32` })
      }
    } else {
      if (!hostEnd) throw fail(`the host end ${hostVeth} of ${podVethName} is missing`)
      podVethMac = veth0!.mac
      hostVethMac = hostEnd.mac
    }
  } else {
    podVeth = config.firstNic
    const first = p.pod.link(podVeth)
    if (!first) throw fail(`interface ${podVeth} not found in the pod`)
    const hostEnd = first.peerIndex === undefined ? undefined : p.host.facts.links.find((l) => l.index === first.peerIndex)
    if (!hostEnd) throw fail(`cannot find the host end of the pod's ${podVeth}`, `overlay mode needs ${podVeth} to be a veth whose peer is on the host`)
    hostVeth = hostEnd.name
    podVethMac = first.mac
    hostVethMac = hostEnd.mac
  }

  // Step 8: the addresses of this interface.
  const curAddrs = usable(cur, families).map((a) => a.ip)

  // Step 9: MAC from the prefix; the kernel announces the new MAC (arp_notify / ndisc_notify).
  let newMac: string | undefined
  if (config.podMACPrefix) {
    const firstAddr = [...curAddrs.filter((a) => familyOf(a) === 4), ...curAddrs.filter((a) => familyOf(a) === 6)][0]
    const mac = macFromPrefix(config.podMACPrefix, firstAddr)
    if (mac !== cur.mac) {
      if (families.has(4)) p.ops.push({ where: 'pod', op: 'sysctl', key: `net/ipv4/conf/${ifName}/arp_notify`, value: '1' })
      if (families.has(6)) p.ops.push({ where: 'pod', op: 'sysctl', key: `net/ipv6/conf/${ifName}/ndisc_notify`, value: '1' })
      p.ops.push({ where: 'pod', op: 'link-mac', dev: ifName, mac })
      newMac = mac
    }
  }

  // Step 10: in the pod, where the interface is (Spiderpool sets it in the host namespace).
  if (config.txQueueLen > 0 && cur.txqlen !== config.txQueueLen) p.ops.push({ where: 'pod', op: 'link-txqueuelen', dev: ifName, txqueuelen: config.txQueueLen })

  // Steps 11 and 12.
  if (families.has(6)) p.ops.push({ where: 'pod', op: 'sysctl', key: 'net/ipv6/conf/all/disable_ipv6', value: '0' })
  if (config.podRPFilter !== -1) p.ops.push({ where: 'pod', op: 'sysctl', key: 'net/ipv4/conf/all/rp_filter', value: String(config.podRPFilter) })

  // Step 13: neighbours, so that nothing waits for ARP/NDP across the veth.
  for (const a of curAddrs) {
    for (const n of p.host.facts.neighbours.filter((n) => n.dst === a && n.dev !== hostVeth)) {
      p.ops.push({ where: 'host', op: 'neigh-del', family: n.family, dst: n.dst, dev: n.dev })
      p.host.facts.neighbours = p.host.facts.neighbours.filter((x) => x !== n)
    }
    p.setNeighbour('host', familyOf(a)!, a, podVethMac, hostVeth)
  }
  if (firstInvoke) for (const h of hostIPs) p.setNeighbour('pod', familyOf(h)!, h, hostVethMac, podVeth)

  // Step 14: the source address of routes through the pod's first NIC (IPv6 gets one too, unlike Spiderpool).
  const first = p.pod.link(config.firstNic)
  const src = (f: Family) => first?.addrs.find((a) => a.family === f && !a.linkLocal)?.ip

  // Step 15: routes to the node's addresses, in the pod; on the host, the way back to this pod.
  const hostRoute = (h: string, t: number): RouteSpec => {
    const f = familyOf(h)!
    const spec: RouteSpec = { family: f, dst: hostPrefix(h), dev: podVeth, table: t }
    if (f === 4) spec.scope = 'link'
    const s = src(f)
    if (s) spec.src = s
    return spec
  }
  for (const h of hostIPs) {
    p.addRoute('pod', hostRoute(h, table))
    if (firstInvoke) p.addRoute('pod', hostRoute(h, mainTable))
  }
  for (const f of inOrder(families)) p.addRule('host', { family: f, priority: hostRulePriority, table: config.hostRuleTable }, true)
  for (const a of curAddrs) {
    const f = familyOf(a)!
    const want: RouteSpec = { family: f, dst: hostPrefix(a), dev: hostVeth, table: config.hostRuleTable }
    if (f === 4) want.scope = 'link'
    const stale = p.host.routes(config.hostRuleTable).filter((r) => r.dst === want.dst && (r.dev !== hostVeth || r.gw))
    for (const r of stale) p.deleteRoute('host', r)
    p.addRoute('host', want)
  }

  // Step 16: overlay pod, service and extra CIDRs go through the host.
  const hijackTable = firstInvoke ? mainTable : table
  for (const cidr of [...config.overlayPodCIDR, ...config.serviceCIDR, ...config.hijackCIDR]) {
    const f = familyOf(cidr.split('/')[0])!
    if (!families.has(f)) continue
    const gw = hijackGw(f)
    if (!gw) {
      p.warnings.push(`no IPv${f} address on the node to route ${cidr} through; skipped`)
      continue
    }
    const spec: RouteSpec = { family: f, dst: cidr, gw, dev: podVeth, table: hijackTable }
    const s = src(f)
    if (s) spec.src = s
    p.addRoute('pod', spec)
  }

  // Step 17: replies to connections that came in through veth0 go back through it.
  if (mode === 'underlay' && firstInvoke) {
    for (const f of inOrder(families)) {
      const gw = hijackGw(f)
      if (!gw) {
        p.warnings.push(`no IPv${f} address on the node; replies to IPv${f} connections from the node are not routed through ${podVeth}`)
        continue
      }
      const iptables = (chain: string, rule: string[]): Op => ({ where: 'pod', op: 'iptables', family: f, table: 'mangle', chain, rule })
      p.ops.push(iptables('PREROUTING', ['-i', podVeth, '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'MARK', '--set-xmark', `${replyMark}/0xffffffff`]))
      p.ops.push(iptables('PREROUTING', ['-m', 'mark', '--mark', replyMark, '-j', 'CONNMARK', '--save-mark']))
      p.ops.push(iptables('OUTPUT', ['-j', 'CONNMARK', '--restore-mark']))
      p.addRule('pod', { family: f, fwmark: replyMark, table: replyTable, priority: replyRulePriority })
      const spec: RouteSpec = { family: f, dst: defaultDst(f), gw, dev: podVeth, table: replyTable }
      const s = src(f)
      if (s) spec.src = s
      p.addRoute('pod', spec)
    }
  }

  // Step 18 (§B.6): policy routing between this NIC and the one with the default route.
  if (config.tunePodRoutes && (!firstInvoke || mode === 'overlay')) tuneRoutes(p, { config, ifName, table, families, curAddrs, overlayFirst: mode === 'overlay' && firstInvoke })

  // Step 19 (§B.7).
  const policyTable = mode === 'underlay' && firstInvoke ? mainTable : table
  for (const r of config.policyRoutes) if (families.has(r.family)) p.addRoute('pod', { family: r.family, dst: r.dst, gw: r.gw, dev: ifName, table: policyTable })

  return { mode, firstInvoke, table, hostIPs, ops: p.ops, warnings: p.warnings, ...(newMac ? { newMac } : {}) }
}

const isDefault = (r: Route) => r.dst === defaultDst(r.family)

function tuneRoutes(p: Planner, x: { config: ResolvedConfig; ifName: string; table: number; families: Set<Family>; curAddrs: string[]; overlayFirst: boolean }) {
  const { config, ifName, table, families } = x
  const main = () => p.pod.routes(mainTable).filter((r) => families.has(r.family))
  const onLink = (r: Route, dev: string) => r.dev === dev || !!r.nexthops?.some((h) => h.dev === dev)
  const links = [...p.pod.facts.links].filter((l) => l.name !== 'lo' && l.name !== ifName && l.index >= 0).sort((a, b) => a.index - b.index)
  const dfltNic = links.find((l) => main().some((r) => isDefault(r) && onLink(r, l.name)))?.name
  if (!dfltNic) {
    p.warnings.push(`no other NIC has a default route in the main table; routes of ${ifName} are not tuned`)
    return
  }
  const cfgNic = config.podDefaultRouteNic
  let moveNic = ifName
  if (cfgNic && cfgNic !== dfltNic) {
    if (!p.pod.link(cfgNic)) throw fail(`podDefaultRouteNIC: ${cfgNic} does not exist in the pod`)
    moveNic = dfltNic
  }
  const addrsOf = (name: string) => usable(p.pod.link(name)!, families).map((a) => a.ip)
  if (cfgNic === ifName) {
    for (const a of addrsOf(dfltNic)) p.addRule('pod', { family: familyOf(a)!, from: hostPrefix(a), table })
  } else {
    for (const a of x.curAddrs) p.addRule('pod', { family: familyOf(a)!, from: hostPrefix(a), table })
    if (x.overlayFirst) {
      for (const a of addrsOf(dfltNic)) p.addRule('pod', { family: familyOf(a)!, from: hostPrefix(a), table: replyTable })
      for (const r of main().filter(isDefault)) {
        const hop = r.dev === config.firstNic ? r : r.nexthops?.find((h) => h.dev === config.firstNic)
        if (!hop) continue
        const spec: RouteSpec = { family: r.family, dst: r.dst, dev: config.firstNic, table: replyTable }
        if (hop.gw) spec.gw = hop.gw
        if (r.scope === 'link') spec.scope = 'link'
        p.addRoute('pod', spec)
      }
    }
  }

  // Default routes move to the table; every other route is copied and stays in main.
  for (const r of main()) {
    if (!onLink(r, moveNic) || (r.family === 6 && r.dst === 'fe80::/64')) continue
    if (r.nexthops) {
      const hop = r.nexthops.find((h) => h.dev === moveNic)!
      const spec: RouteSpec = { family: r.family, dst: r.dst, dev: moveNic, table }
      if (hop.gw) spec.gw = hop.gw
      if (r.mtu) spec.mtu = r.mtu
      p.addRoute('pod', spec)
      removeHop(p, r, hop)
      continue
    }
    const spec: RouteSpec = { family: r.family, dst: r.dst, dev: moveNic, table }
    if (r.gw) spec.gw = r.gw
    if (r.scope === 'link') spec.scope = 'link'
    if (isDefault(r)) {
      p.addRoute('pod', spec)
      p.deleteRoute('pod', r)
    } else {
      if (r.src) spec.src = r.src
      p.addRoute('pod', spec)
    }
  }
}

/** One hop leaves a multipath route: IPv6 deletes that hop; IPv4 rewrites the route with the others. */
function removeHop(p: Planner, r: Route, hop: Nexthop) {
  const rest = r.nexthops!.filter((h) => h !== hop)
  if (r.family === 6 || rest.length === 0) {
    const spec: RouteSpec = { family: r.family, dst: r.dst, dev: hop.dev, table: r.table, metric: r.metric }
    if (hop.gw) spec.gw = hop.gw
    p.ops.push({ where: 'pod', op: 'route-del', route: spec })
  } else {
    const spec: RouteSpec = { family: r.family, dst: r.dst, dev: rest[0].dev, table: r.table, metric: r.metric }
    if (rest.length === 1) {
      if (rest[0].gw) spec.gw = rest[0].gw
    } else spec.nexthops = rest
    p.ops.push({ where: 'pod', op: 'route-replace', route: spec })
  }
  const i = p.pod.facts.routes.indexOf(r)
  p.pod.facts.routes[i] = rest.length ? { ...r, nexthops: rest } : r
  if (!rest.length) p.pod.facts.routes.splice(i, 1)
}

export interface DelInput {
  /** Only mode, firstNic and hostRuleTable matter for DEL. */
  config: Pick<ResolvedConfig, 'mode' | 'firstNic' | 'hostRuleTable'>
  containerId: string
  ifName: string
  /** undefined when the pod's namespace is gone */
  pod?: NetnsFacts
  host: NetnsFacts
  /** the interface's addresses from prevResult, for when the namespace is gone */
  prevAddrs: string[]
}

/**
 * What DEL removes on the host: the underlay veth (its routes and neighbours go with it) when the
 * first NIC goes, and otherwise the table routes and neighbours of this NIC's addresses on the
 * host end. The rule `pref 1000 lookup <hostRuleTable>` is shared by every pod and stays.
 */
export function planDel(input: DelInput): Op[] {
  if (input.config.mode === 'disabled') return []
  const ops: Op[] = []
  const host = new Model(input.host)
  const underlayEnd = hostVethName(input.containerId)
  const devs = new Set<string>()
  if (host.link(underlayEnd)) {
    if (input.ifName === input.config.firstNic) ops.push({ where: 'host', op: 'link-del', dev: underlayEnd })
    else devs.add(underlayEnd)
  }
  const first = input.pod?.links.find((l) => l.name === input.config.firstNic)
  const overlayEnd = first?.peerIndex === undefined ? undefined : host.facts.links.find((l) => l.index === first.peerIndex)
  if (overlayEnd && overlayEnd.name !== underlayEnd) devs.add(overlayEnd.name)
  if (!devs.size) return ops

  const current = input.pod?.links.find((l) => l.name === input.ifName)?.addrs.filter((a) => !a.linkLocal).map((a) => a.ip) ?? []
  const addrs = [...new Set([...current, ...input.prevAddrs.map(canonical)])]
  for (const a of addrs) {
    const dst = hostPrefix(a)
    for (const r of host.routes(input.config.hostRuleTable)) if (r.dst === dst && r.dev && devs.has(r.dev)) ops.push({ where: 'host', op: 'route-del', route: specOf(r) })
    for (const n of host.facts.neighbours) if (n.dst === a && devs.has(n.dev)) ops.push({ where: 'host', op: 'neigh-del', family: n.family, dst: n.dst, dev: n.dev })
  }
  return ops
}

/** The op as the command that carries it out, for logs, errors and tests. */
export function opText(op: Op): string {
  const tableText = (t: number) => (t === mainTable ? '' : ` table ${t}`)
  const routeText = (r: RouteSpec) => {
    const hops = r.nexthops?.map((h) => ` nexthop${h.gw ? ` via ${h.gw}` : ''} dev ${h.dev}`).join('') ?? ''
    return [
      r.dst,
      hops ? hops.trim() : `${r.gw ? `via ${r.gw} ` : ''}dev ${r.dev}`,
      r.scope ? `scope ${r.scope}` : '',
      r.src ? `src ${r.src}` : '',
      r.mtu ? `mtu ${r.mtu}` : '',
      r.metric !== undefined && r.family === 6 ? `metric ${r.metric}` : '',
    ]
      .filter(Boolean)
      .join(' ') + tableText(r.table)
  }
  switch (op.op) {
    case 'link-up':
      return `link set ${op.dev} up`
    case 'veth-add':
      return `link add ${op.name} mtu ${op.mtu} address ${op.mac} type veth peer name ${op.peer} mtu ${op.mtu} address ${op.peerMac} netns ${op.peerNetns}`
    case 'link-del':
      return `link del ${op.dev}`
    case 'link-mac':
      return `link set ${op.dev} address ${op.mac}`
    case 'link-txqueuelen':
      return `link set ${op.dev} txqueuelen ${op.txqueuelen}`
    case 'addr-add':
      return `addr add ${op.address} dev ${op.dev}`
    case 'sysctl':
      return `sysctl ${op.key.replaceAll('/', '.')}=${op.value}`
    case 'neigh-replace':
      return `neigh replace ${op.dst} lladdr ${op.mac} dev ${op.dev} nud permanent`
    case 'neigh-del':
      return `neigh del ${op.dst} dev ${op.dev}`
    case 'route-add':
      return `route add ${routeText(op.route)}`
    case 'route-del':
      return `route del ${routeText(op.route)}`
    case 'route-replace':
      return `route replace ${routeText(op.route)}`
    case 'rule-add': {
      const r = op.rule
      const sel = [r.from ? `from ${r.from}` : '', r.fwmark ? `fwmark ${r.fwmark}` : ''].filter(Boolean).join(' ')
      return `${r.family === 6 ? '-6 ' : ''}rule add ${sel ? `${sel} ` : ''}lookup ${r.table === mainTable ? 'main' : r.table}${r.priority !== undefined ? ` pref ${r.priority}` : ''}`
    }
    case 'iptables':
      return `${op.family === 6 ? 'ip6tables' : 'iptables'} -t ${op.table} -A ${op.chain} ${op.rule.join(' ')}`
  }
}

/**
 * What CHECK compares: the ops a repeated ADD would make, but the writes it always re-applies
 * (sysctls, iptables) and the removal of neighbour entries the host may have learned since.
 */
export function pendingChanges(plan: AddPlan): Op[] {
  return plan.ops.filter((o) => o.op !== 'sysctl' && o.op !== 'iptables' && o.op !== 'neigh-del')
}
