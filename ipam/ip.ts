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

const decimalOctet = /^(0|[1-9][0-9]{0,2})$/
const hexGroup = /^[0-9a-fA-F]{1,4}$/

function parseIPv4Value(text: string): bigint | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  let v = 0n
  for (const p of parts) {
    if (!decimalOctet.test(p)) return undefined
    const n = Number(p)
    if (n > 255) return undefined
    v = (v << 8n) | BigInt(n)
  }
  return v
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
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.')
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

const maskOf = (family: Family, prefix: number): bigint => {
  const bits = BigInt(bitsOf(family))
  const all = (1n << bits) - 1n
  return prefix === 0 ? 0n : (all >> (bits - BigInt(prefix))) << (bits - BigInt(prefix))
}

/** Go's net.ParseCIDR: `address/length`, length within the family's bits; host bits may be set. */
export function parseCIDR(text: string): CIDR | undefined {
  if (typeof text !== 'string') return undefined
  const slash = text.indexOf('/')
  if (slash < 0 || slash !== text.lastIndexOf('/')) return undefined
  const ip = parseIP(text.slice(0, slash))
  const lengthText = text.slice(slash + 1)
  if (!ip || !/^[0-9]{1,3}$/.test(lengthText)) return undefined
  const prefix = Number(lengthText)
  if (prefix > bitsOf(ip.family)) return undefined
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
  const hostMask = ((1n << BigInt(bitsOf(c.family))) - 1n) ^ maskOf(c.family, c.prefix)
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
