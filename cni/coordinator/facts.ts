// What a network namespace looks like, as the planner needs it: links with their addresses,
// routes of every table, rules and neighbours of both families. Read with one `ip -json` script,
// normalised here (pure) so that the planner never sees iproute2's spelling.
import { formatIP, parseIP } from '../../ipam/ip.ts'
import { startIpRead } from '../iproute.ts'
import type { IpLinkAddrs, IpNeigh, IpRoute, IpRule, Query } from '../iproute.ts'

export type Family = 4 | 6

export interface Addr {
  family: Family
  ip: string
  prefix: number
  linkLocal: boolean
  /** IPv6 duplicate address detection still running, or failed */
  tentative: boolean
  dadFailed: boolean
}

export interface Link {
  name: string
  index: number
  flags: string[]
  mac: string
  /** veth: the peer's ifindex in its namespace */
  peerIndex?: number
  txqlen?: number
  addrs: Addr[]
}

export interface Nexthop {
  gw?: string
  dev: string
}

export interface Route {
  family: Family
  table: number
  /** unicast, local, broadcast, ... */
  type: string
  /** `network/prefix`, also for default routes (0.0.0.0/0, ::/0) */
  dst: string
  gw?: string
  dev?: string
  src?: string
  /** as iproute2 names it (link, host); undefined for global */
  scope?: string
  protocol?: string
  metric: number
  mtu?: number
  nexthops?: Nexthop[]
}

export interface Rule {
  family: Family
  priority: number
  /** `network/prefix`, undefined for "all" */
  from?: string
  to?: string
  fwmark?: string
  table: number
}

export interface Neigh {
  family: Family
  dst: string
  dev: string
  mac?: string
  permanent: boolean
}

export interface NetnsFacts {
  links: Link[]
  routes: Route[]
  rules: Rule[]
  neighbours: Neigh[]
}

export interface RouteSource {
  /** the source address the namespace would use to reach the address */
  src?: string
  error?: string
}

export interface HostFacts extends NetnsFacts {
  /** `ip route get <pod IP>` for each pod IP asked about */
  routeSources: Record<string, RouteSource>
}

export const mainTable = 254
const namedTables: Record<string, number> = { default: 253, main: 254, local: 255 }

export const familyOf = (ip: string): Family | undefined => parseIP(ip)?.family
export const hostBits = (family: Family) => (family === 4 ? 32 : 128)
export const defaultDst = (family: Family) => (family === 4 ? '0.0.0.0/0' : '::/0')

/** Canonical text of an address (lower case, compressed IPv6), so that facts and config compare. */
export function canonical(ip: string): string {
  const parsed = parseIP(ip)
  return parsed ? formatIP(parsed) : ip
}

export function isLinkLocal(ip: string): boolean {
  const parsed = parseIP(ip)
  if (!parsed) return false
  return parsed.family === 4 ? parsed.value >> 16n === 0xa9fen : parsed.value >> 118n === 0x3fan
}

export function isMulticast(ip: string): boolean {
  const parsed = parseIP(ip)
  if (!parsed) return false
  return parsed.family === 4 ? parsed.value >> 28n === 0xen : parsed.value >> 120n === 0xffn
}

function tableNumber(table: string | undefined): number {
  if (table === undefined) return mainTable
  return namedTables[table] ?? Number(table)
}

function prefixOf(text: string, family: Family, length?: number): string {
  if (text === 'default' || text === 'all') return defaultDst(family)
  const [ip, len] = text.split('/')
  return `${canonical(ip)}/${len ?? length ?? hostBits(family)}`
}

export function linksFromIp(raw: IpLinkAddrs[]): Link[] {
  return raw.map((l) => {
    const link: Link = {
      name: l.ifname,
      index: l.ifindex,
      flags: l.flags ?? [],
      mac: (l.address ?? '').toLowerCase(),
      addrs: (l.addr_info ?? [])
        .filter((a) => a.family === 'inet' || a.family === 'inet6')
        .map((a) => ({
          family: a.family === 'inet' ? 4 : 6,
          ip: canonical(a.local),
          prefix: a.prefixlen,
          linkLocal: isLinkLocal(a.local),
          tentative: a.tentative === true,
          dadFailed: a.dadfailed === true,
        })),
    }
    if (l.link_index !== undefined && l.link_netnsid !== undefined) link.peerIndex = l.link_index
    if (l.txqlen !== undefined) link.txqlen = l.txqlen
    return link
  })
}

export function routesFromIp(raw: IpRoute[], family: Family): Route[] {
  return raw.map((r) => {
    const route: Route = {
      family,
      table: tableNumber(r.table),
      type: r.type ?? 'unicast',
      dst: prefixOf(r.dst, family),
      metric: r.metric ?? 0,
    }
    if (r.gateway) route.gw = canonical(r.gateway)
    if (r.dev) route.dev = r.dev
    if (r.prefsrc) route.src = canonical(r.prefsrc)
    if (r.scope && r.scope !== 'global' && r.scope !== 'universe') route.scope = r.scope
    if (r.protocol) route.protocol = r.protocol
    if (r.mtu !== undefined) route.mtu = r.mtu
    if (r.nexthops) route.nexthops = r.nexthops.map((h) => (h.gateway ? { gw: canonical(h.gateway), dev: h.dev } : { dev: h.dev }))
    return route
  })
}

export function rulesFromIp(raw: IpRule[], family: Family): Rule[] {
  return raw.map((r) => {
    const rule: Rule = { family, priority: r.priority, table: tableNumber(r.table) }
    if (r.src && r.src !== 'all') rule.from = prefixOf(r.src, family, r.srclen)
    if (r.dst && r.dst !== 'all') rule.to = prefixOf(r.dst, family, r.dstlen)
    if (r.fwmark) rule.fwmark = r.fwmark
    return rule
  })
}

export function neighboursFromIp(raw: IpNeigh[]): Neigh[] {
  return raw.flatMap((n) => {
    const family = familyOf(n.dst)
    if (!family) return []
    const neigh: Neigh = { family, dst: canonical(n.dst), dev: n.dev, permanent: (n.state ?? []).includes('PERMANENT') }
    if (n.lladdr) neigh.mac = n.lladdr.toLowerCase()
    return [neigh]
  })
}

const netnsQueries: Query[] = [
  { args: 'addr show' },
  { args: 'route show table all', family: 4 },
  { args: 'route show table all', family: 6 },
  { args: 'rule show', family: 4 },
  { args: 'rule show', family: 6 },
  { args: 'neigh show' },
]

function answer<T>(a: unknown[] | { error: string }, what: string): T[] {
  if (!Array.isArray(a)) throw new Error(`${what}: ${a.error}`)
  return a as T[]
}

/**
 * The namespace at `netns` (here when undefined), and the source address it would use for each of
 * `routeGets`; when those are still being worked out, the read starts now and asks them once known.
 * Only the rules of `ruleFamilies` are read (the IPv6 ones take a program of their own).
 */
export async function readNetnsFacts(netns: string | undefined, routeGetsLater: string[] | Promise<string[]> = [], ruleFamilies: Family[] = [4, 6]): Promise<HostFacts> {
  const queries = netnsQueries.map((q) => (q.args === 'rule show' && !ruleFamilies.includes(q.family!) ? undefined : q))
  const read = startIpRead(netns, queries.filter((q) => q !== undefined))
  let routeGets: string[]
  try {
    routeGets = await routeGetsLater
  } catch (err) {
    void read.answers().catch(() => {})
    throw err
  }
  read.ask(routeGets.map((ip) => ({ args: `route get ${ip}` })))
  const asked = await read.answers()
  let next = 0
  // a skipped listing answers as an empty one
  const answers = [...queries.map((q) => (q ? asked[next++] : [])), ...asked.slice(next)]
  const where = netns ?? 'the host'
  const facts: HostFacts = {
    links: linksFromIp(answer<IpLinkAddrs>(answers[0], `ip addr in ${where}`)),
    routes: [...routesFromIp(answer<IpRoute>(answers[1], `ip route in ${where}`), 4), ...routesFromIp(answer<IpRoute>(answers[2], `ip -6 route in ${where}`), 6)],
    rules: [...rulesFromIp(answer<IpRule>(answers[3], `ip rule in ${where}`), 4), ...rulesFromIp(answer<IpRule>(answers[4], `ip -6 rule in ${where}`), 6)],
    neighbours: neighboursFromIp(answer<IpNeigh>(answers[5], `ip neigh in ${where}`)),
    routeSources: {},
  }
  routeGets.forEach((ip, i) => {
    const a = answers[netnsQueries.length + i]
    const src = Array.isArray(a) ? (a[0] as IpRoute | undefined)?.prefsrc : undefined
    facts.routeSources[ip] = src ? { src: canonical(src) } : { error: Array.isArray(a) ? 'no source address' : a.error }
  })
  return facts
}
