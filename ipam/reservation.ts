// The pod annotation `ipam.spidernet.io/reservation`: what the admission webhook reserved for
// the pod and the CNI plugin claims. The webhook writes it in the same mutation that reserves,
// so "is this reservation referenced?" is a question a pod informer can answer.
//
//   { "token": "r-5f1c2e0a…",                       the token of every pool record reserved for the pod
//     "ips": [ { "interface": "eth0",
//                "ipv4": "10.6.212.100/16", "ipv4Pool": "10-6-v4", "ipv4Gateway": "10.6.0.1",
//                "ipv6": "fd00::64/64", "ipv6Pool": "10-6-v6", "ipv6Gateway": "fd00::1",
//                "vlan": 0, "cleanGateway": false,
//                "routes": [ { "dst": "10.7.0.0/16", "gw": "10.6.0.1" } ] } ],
//     "defaultRouteNIC": "net1" }                   optional: ipam.spidernet.io/default-route-nic
//
// One entry per NIC, both families merged as in a SpiderEndpoint's `status.current.ips`.
// The annotation is untrusted input (a copied manifest may carry one): decoding checks every
// field and answers with an error, never an exception.
import { randomBytes } from 'node:crypto'
import { parseCIDR, parseIPOfFamily, type Family } from './ip.ts'
import { isObject } from './json.ts'

export const reservationAnnotation = 'ipam.spidernet.io/reservation'

export interface ReservedRoute {
  dst: string
  gw: string
}

export interface ReservedInterface {
  interface: string
  ipv4?: string
  ipv4Pool?: string
  ipv4Gateway?: string
  ipv6?: string
  ipv6Pool?: string
  ipv6Gateway?: string
  vlan: number
  cleanGateway: boolean
  routes: ReservedRoute[]
}

/** The addresses of a NIC entry (without their prefix length), pool by pool; a pool serving both families lists both. */
export function addressesByPool(entry: ReservedInterface): Map<string, { family: Family; address: string }[]> {
  const byPool = new Map<string, { family: Family; address: string }[]>()
  for (const [family, address, pool] of [[4, entry.ipv4, entry.ipv4Pool], [6, entry.ipv6, entry.ipv6Pool]] as const) {
    if (!address || !pool) continue
    byPool.set(pool, [...(byPool.get(pool) ?? []), { family, address: address.split('/')[0] }])
  }
  return byPool
}

export interface Reservation {
  token: string
  ips: ReservedInterface[]
  defaultRouteNIC?: string
}

const tokenPattern = /^r-[0-9a-f]{8,64}$/

/** `r-` and 32 random hex digits. */
export const newReservationToken = (): string => `r-${randomBytes(16).toString('hex')}`

export const isReservationToken = (v: unknown): v is string => typeof v === 'string' && tokenPattern.test(v)

/** The annotation value, fields in a fixed order. */
export function encodeReservation(r: Reservation): string {
  const ips = r.ips.map((nic) => {
    const out: Record<string, unknown> = { interface: nic.interface }
    for (const key of ['ipv4', 'ipv4Pool', 'ipv4Gateway', 'ipv6', 'ipv6Pool', 'ipv6Gateway'] as const) if (nic[key] !== undefined) out[key] = nic[key]
    out.vlan = nic.vlan
    out.cleanGateway = nic.cleanGateway
    out.routes = nic.routes.map((route) => ({ dst: route.dst, gw: route.gw }))
    return out
  })
  const doc: Record<string, unknown> = { token: r.token, ips }
  if (r.defaultRouteNIC !== undefined) doc.defaultRouteNIC = r.defaultRouteNIC
  return JSON.stringify(doc)
}

export type ReservationDecode = { reservation: Reservation; error?: undefined } | { reservation?: undefined; error: string }

const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0

class Invalid extends Error {}

const fail = (at: string, what: string): never => {
  throw new Invalid(`${at}: ${what}`)
}

/** The reservation in an annotation value, or what is wrong with it (named by its JSON path). */
export function decodeReservation(text: unknown): ReservationDecode {
  const prefix = `invalid annotation '${reservationAnnotation}'`
  if (typeof text !== 'string') return { error: `${prefix}: not a string` }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    return { error: `${prefix}: not JSON: ${(e as Error).message}` }
  }
  try {
    return { reservation: readReservation(doc) }
  } catch (e) {
    if (e instanceof Invalid) return { error: `${prefix}: ${e.message}` }
    throw e
  }
}

function readReservation(doc: unknown): Reservation {
  if (!isObject(doc)) fail('value', 'not a JSON object')
  const d = doc as Record<string, unknown>
  if (!isReservationToken(d.token)) fail('token', `${JSON.stringify(d.token)} is not a reservation token (r- and 8 to 64 hex digits)`)
  if (!Array.isArray(d.ips) || d.ips.length === 0) fail('ips', 'must be a non-empty list')
  const seen = new Set<string>()
  const ips = (d.ips as unknown[]).map((raw, i) => {
    const nic = readInterface(raw, `ips[${i}]`)
    if (seen.has(nic.interface)) fail(`ips[${i}].interface`, `duplicate interface ${nic.interface}`)
    seen.add(nic.interface)
    return nic
  })
  const reservation: Reservation = { token: d.token as string, ips }
  if (d.defaultRouteNIC !== undefined) {
    if (!isInterfaceName(d.defaultRouteNIC)) fail('defaultRouteNIC', `${JSON.stringify(d.defaultRouteNIC)} is not an interface name`)
    reservation.defaultRouteNIC = d.defaultRouteNIC as string
  }
  return reservation
}

/** Linux interface names: 1..15 bytes, no `/` and no white space. */
const isInterfaceName = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length < 16 && !/[\s/]/.test(v)

function readInterface(raw: unknown, at: string): ReservedInterface {
  if (!isObject(raw)) fail(at, 'not a JSON object')
  const r = raw as Record<string, unknown>
  if (!isInterfaceName(r.interface)) fail(`${at}.interface`, `${JSON.stringify(r.interface)} is not an interface name`)
  const nic: ReservedInterface = { interface: r.interface as string, vlan: 0, cleanGateway: false, routes: [] }
  for (const family of [4, 6] as const) {
    const ip = r[`ipv${family}`]
    const pool = r[`ipv${family}Pool`]
    const gateway = r[`ipv${family}Gateway`]
    if (ip === undefined) {
      if (pool !== undefined || gateway !== undefined) fail(`${at}.ipv${family}`, `required with ipv${family}Pool and ipv${family}Gateway`)
      continue
    }
    if (!isAddressWithPrefix(ip, family)) fail(`${at}.ipv${family}`, `${JSON.stringify(ip)} is not an IPv${family} address with prefix length`)
    if (!isName(pool)) fail(`${at}.ipv${family}Pool`, `required with ipv${family}`)
    if (gateway !== undefined && !(typeof gateway === 'string' && parseIPOfFamily(gateway, family))) {
      fail(`${at}.ipv${family}Gateway`, `${JSON.stringify(gateway)} is not an IPv${family} address`)
    }
    nic[`ipv${family}`] = ip as string
    nic[`ipv${family}Pool`] = pool as string
    if (gateway !== undefined) nic[`ipv${family}Gateway`] = gateway as string
  }
  if (nic.ipv4 === undefined && nic.ipv6 === undefined) fail(at, 'needs ipv4 or ipv6')
  if (r.vlan !== undefined) {
    if (!Number.isInteger(r.vlan) || (r.vlan as number) < 0 || (r.vlan as number) > 4094) fail(`${at}.vlan`, `${JSON.stringify(r.vlan)} is not a VLAN id in 0..4094`)
    nic.vlan = r.vlan as number
  }
  if (r.cleanGateway !== undefined) {
    if (typeof r.cleanGateway !== 'boolean') fail(`${at}.cleanGateway`, 'must be true or false')
    nic.cleanGateway = r.cleanGateway as boolean
  }
  if (r.routes !== undefined) {
    if (!Array.isArray(r.routes)) fail(`${at}.routes`, 'must be a list')
    nic.routes = (r.routes as unknown[]).map((route, j) => readRoute(route, `${at}.routes[${j}]`))
  }
  return nic
}

function isAddressWithPrefix(v: unknown, family: Family): boolean {
  if (typeof v !== 'string' || !v.includes(family === 4 ? '.' : ':')) return false
  return parseCIDR(v)?.family === family
}

function readRoute(raw: unknown, at: string): ReservedRoute {
  if (!isObject(raw)) fail(at, 'not a JSON object')
  const r = raw as Record<string, unknown>
  const dst = typeof r.dst === 'string' ? parseCIDR(r.dst) : undefined
  if (!dst) fail(`${at}.dst`, `${JSON.stringify(r.dst)} is not a CIDR`)
  const family = dst!.family
  if (!(typeof r.gw === 'string' && parseIPOfFamily(r.gw, family))) fail(`${at}.gw`, `${JSON.stringify(r.gw)} is not an IPv${family} address`)
  return { dst: r.dst as string, gw: r.gw as string }
}
