// IP addresses and CIDRs as big integers, parsed and printed the way Go's net package does,
// so that what Spiderpool accepts, refuses and prints, we accept, refuse and print.

export type Family = 4 | 6

export interface IP {
  family: Family
  /** 32-bit value for IPv4, 128-bit for IPv6 */
  value: bigint
}

export interface CIDR {
  family: Family
  /** the address as written (host bits may be set) */
  address: bigint
  prefix: number
  /** address with the host bits cleared */
  network: bigint
}

export const bitsOf = (family: Family): number => (family === 4 ? 32 : 128)

const hexGroup = /^[0-9a-fA-F]{1,4}$/

/** Octets without leading zeros, each ≤ 255, read in one pass: the address is built as a number and made a bigint once. */
function parseIPv4Value(text: string): bigint | undefined {
  let value = 0
  let octet = 0
  let digits = 0
  let dots = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return undefined
      octet = octet * 10 + (c - 48)
      if (octet > 255) return undefined
      digits++
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + octet
      octet = 0
      digits = 0
      dots++
    } else {
      return undefined
    }
  }
  if (digits === 0 || dots !== 3) return undefined
  return BigInt(value * 256 + octet)
}

function parseIPv6Value(text: string): bigint | undefined {
  let head = text
  let tail4: bigint | undefined
  const lastColon = text.lastIndexOf(':')
  if (lastColon >= 0 && text.indexOf('.', lastColon) > 0) {
    tail4 = parseIPv4Value(text.slice(lastColon + 1))
    if (tail4 === undefined) return undefined
    head = text.slice(0, lastColon + 1) + '0:0'
  }
  const halves = head.split('::')
  if (halves.length > 2) return undefined
  const groupsOf = (s: string) => (s === '' ? [] : s.split(':'))
  const left = groupsOf(halves[0])
  const right = halves.length === 2 ? groupsOf(halves[1]) : []
  if ([...left, ...right].some((g) => !hexGroup.test(g))) return undefined
  const count = left.length + right.length
  if (halves.length === 2 ? count > 7 : count !== 8) return undefined
  const groups = [...left, ...Array(8 - count).fill('0'), ...right]
  let v = 0n
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16))
  if (tail4 !== undefined) v = (v & ~0xffffffffn) | tail4
  return v
}

/** Go's net.ParseIP: dotted quad without leading zeros, or RFC 4291 IPv6; no zone, no brackets. */
export function parseIP(text: string): IP | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 45) return undefined
  if (text.includes(':')) {
    const value = parseIPv6Value(text)
    return value === undefined ? undefined : { family: 6, value }
  }
  const value = parseIPv4Value(text)
  return value === undefined ? undefined : { family: 4, value }
}

/** Spiderpool's family tests are textual: an IPv4 address contains `.`, an IPv6 one `:`. */
export function parseIPOfFamily(text: string, family: Family): IP | undefined {
  const ip = parseIP(text)
  if (!ip) return undefined
  if (family === 4 ? !text.includes('.') : !text.includes(':')) return undefined
  return family === 4 && ip.family === 6 ? { family: 4, value: ip.value & 0xffffffffn } : ip
}

function formatIPv4(v: bigint): string {
  const n = Number(v & 0xffffffffn)
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

function formatIPv6(v: bigint): string {
  const groups: number[] = []
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn))
  // RFC 5952: compress the longest run (≥ 2) of zero groups, the leftmost on ties
  let bestStart = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':')
  if (bestStart < 0) return hex(groups)
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`
}

/** Canonical text: dotted decimal, or lowercase IPv6 with RFC 5952 compression. */
export function formatIP(ip: IP): string {
  return ip.family === 4 ? formatIPv4(ip.value) : formatIPv6(ip.value)
}

export const canonicalIP = (text: string): string | undefined => {
  const ip = parseIP(text)
  return ip && formatIP(ip)
}

const maskTable = (bits: number): readonly bigint[] => {
  const all = (1n << BigInt(bits)) - 1n
  return Array.from({ length: bits + 1 }, (_, prefix) => (prefix === 0 ? 0n : (all >> BigInt(bits - prefix)) << BigInt(bits - prefix)))
}
const masks = { 4: maskTable(32), 6: maskTable(128) }
const allOnes = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n }

const maskOf = (family: Family, prefix: number): bigint => masks[family][prefix]

/** A prefix length: 1 to 3 decimal digits (leading zeros allowed, as in Go's net.ParseCIDR), NaN otherwise. */
function prefixLength(text: string): number {
  if (text.length === 0 || text.length > 3) return NaN
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 48 || c > 57) return NaN
    n = n * 10 + (c - 48)
  }
  return n
}

/** Go's net.ParseCIDR: `address/length`, length within the family's bits; host bits may be set. */
export function parseCIDR(text: string): CIDR | undefined {
  if (typeof text !== 'string') return undefined
  const slash = text.indexOf('/')
  if (slash < 0 || slash !== text.lastIndexOf('/')) return undefined
  const ip = parseIP(text.slice(0, slash))
  const prefix = prefixLength(text.slice(slash + 1))
  if (!ip || !(prefix <= bitsOf(ip.family))) return undefined
  return { family: ip.family, address: ip.value, prefix, network: ip.value & maskOf(ip.family, prefix) }
}

/** Spiderpool's "CIDR of that family": IPv4 needs `.` in the text, IPv6 needs `:`. */
export function parseCIDROfFamily(text: string, family: Family): CIDR | undefined {
  const c = parseCIDR(text)
  if (!c || c.family !== family) return undefined
  return c
}

export const formatCIDR = (c: Pick<CIDR, 'family' | 'network' | 'prefix'>): string =>
  `${formatIP({ family: c.family, value: c.network })}/${c.prefix}`

/** The first and last address of the CIDR. */
export function cidrBounds(c: CIDR): { first: bigint; last: bigint } {
  const hostMask = allOnes[c.family] ^ maskOf(c.family, c.prefix)
  return { first: c.network, last: c.network | hostMask }
}

export function cidrContains(c: CIDR, ip: IP): boolean {
  if (ip.family !== c.family) return false
  return (ip.value & maskOf(c.family, c.prefix)) === c.network
}

/** Two CIDRs overlap iff one contains the other. */
export function cidrsOverlap(a: CIDR, b: CIDR): boolean {
  if (a.family !== b.family) return false
  const shorter = Math.min(a.prefix, b.prefix)
  const mask = maskOf(a.family, shorter)
  return (a.network & mask) === (b.network & mask)
}

// Go's net/netip, which Spiderpool's coordinator rules use instead of net: an IPv6 address may
// carry a `%zone`, an IPv4-mapped IPv6 address stays IPv6, and parse errors carry Go's text.

/** Go's netip.Addr: `zone` is '' when there is none (IPv4 addresses never have one). */
export interface ZonedIP extends IP {
  zone: string
}

/** Go's netip.Prefix: the address as written (host bits kept) and the prefix length. */
export interface Prefix {
  ip: IP
  bits: number
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string }

const failed = (error: string): { ok: false; error: string } => ({ ok: false, error })

/** Why Go's parseIPv4 refuses `text`, in its words. */
function ipv4Complaint(text: string): { msg: string; at?: string } {
  let pos = 0
  let digits = 0
  let value = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c >= '0' && c <= '9') {
      if (digits === 1 && value === 0) return { msg: 'IPv4 field has octet with leading zero' }
      value = value * 10 + Number(c)
      digits++
      if (value > 255) return { msg: 'IPv4 field has value >255' }
    } else if (c === '.') {
      if (i === 0 || i === text.length - 1 || text[i - 1] === '.') return { msg: 'IPv4 field must have at least one digit', at: text.slice(i) }
      if (pos === 3) return { msg: 'IPv4 address too long' }
      pos++
      value = 0
      digits = 0
    } else {
      return { msg: 'unexpected character', at: text.slice(i) }
    }
  }
  return { msg: 'IPv4 address too short' }
}

const addrError = (text: string, msg: string, at?: string) =>
  `ParseAddr(${JSON.stringify(text)}): ${msg}${at ? ` (at ${JSON.stringify(at)})` : ''}`

/** Go's netip.ParseAddr: net.ParseIP's syntax, plus an optional non-empty `%zone` on IPv6. */
export function parseAddr(text: string): Parsed<ZonedIP> {
  if (typeof text !== 'string') return failed(addrError(String(text), 'unable to parse IP'))
  const kind = /[.:%]/.exec(text)?.[0]
  if (kind === undefined) return failed(addrError(text, 'unable to parse IP'))
  if (kind === '%') return failed(addrError(text, 'missing IPv6 address'))
  if (kind === '.') {
    const ip = parseIP(text)
    if (ip?.family === 4) return { ok: true, value: { ...ip, zone: '' } }
    const why = ipv4Complaint(text)
    return failed(addrError(text, why.msg, why.at))
  }
  const percent = text.indexOf('%')
  const address = percent < 0 ? text : text.slice(0, percent)
  const zone = percent < 0 ? '' : text.slice(percent + 1)
  if (percent >= 0 && zone === '') return failed(addrError(text, 'zone must be a non-empty string'))
  const ip = parseIP(address)
  if (ip?.family !== 6) return failed(addrError(text, 'unable to parse IPv6 address'))
  return { ok: true, value: { ...ip, zone } }
}

const prefixError = (text: string, msg: string) => `netip.ParsePrefix(${JSON.stringify(text)}): ${msg}`

/** Go's netip.ParsePrefix: `address/bits`, no zone, bits in range and without sign or leading zeros; host bits allowed. */
export function parsePrefix(text: string): Parsed<Prefix> {
  if (typeof text !== 'string') return failed(prefixError(String(text), "no '/'"))
  const slash = text.lastIndexOf('/')
  if (slash < 0) return failed(prefixError(text, "no '/'"))
  const addr = parseAddr(text.slice(0, slash))
  if (!addr.ok) return failed(prefixError(text, addr.error))
  if (addr.value.zone !== '') return failed(prefixError(text, 'IPv6 zones cannot be present in a prefix'))
  const bitsText = text.slice(slash + 1)
  if (!/^(0|[1-9][0-9]*)$/.test(bitsText)) return failed(prefixError(text, `bad bits after slash: ${JSON.stringify(bitsText)}`))
  const bits = Number(bitsText)
  if (bits > bitsOf(addr.value.family)) return failed(prefixError(text, 'prefix length out of range'))
  return { ok: true, value: { ip: { family: addr.value.family, value: addr.value.value }, bits } }
}

/** Spiderpool's ip.ParseIPOrCIDR: a bare address becomes its /32 or /128 (a zone is dropped), anything with `/` is a prefix. */
export function parseIPOrPrefix(text: string): Parsed<Prefix> {
  if (typeof text === 'string' && text.includes('/')) return parsePrefix(text)
  const addr = parseAddr(text)
  if (!addr.ok) return addr
  const { family, value } = addr.value
  return { ok: true, value: { ip: { family, value }, bits: bitsOf(family) } }
}

/** Go's netip Addr.String(): like formatIP, but an IPv4-mapped IPv6 address prints as `::ffff:a.b.c.d`, and the zone follows `%`. */
export function formatAddr(ip: IP & { zone?: string }): string {
  const zone = ip.zone ? `%${ip.zone}` : ''
  if (ip.family === 6 && ip.value >> 32n === 0xffffn) return `::ffff:${formatIP({ family: 4, value: ip.value & 0xffffffffn })}${zone}`
  return formatIP(ip) + zone
}

/** Go's netip Prefix.String(): the address as written (host bits kept), then the length. */
export const formatPrefix = (p: Prefix): string => `${formatAddr(p.ip)}/${p.bits}`

/** Go's IP.To4: the IPv4 form of an IPv4 or IPv4-mapped IPv6 (`::ffff:a.b.c.d`) address; undefined otherwise. */
export function ipv4Form(ip: IP): IP | undefined {
  if (ip.family === 4) return ip
  return ip.value >> 32n === 0xffffn ? { family: 4, value: ip.value & 0xffffffffn } : undefined
}
