import t from 'tap'
import { parseCIDR } from '../../ipam/ip.ts'
import { cidrLabelValue } from '../../webhooks/common/cidr-label.ts'
import { parsePoolRange, rangeCollision, strictRangeOfEntry, type PoolRange } from '../../webhooks/common/pool-ranges.ts'
import { checkGateway, type EntryRanges } from '../../webhooks/common/gateway.ts'
import { parseStrictRange } from '../../ipam/range.ts'
import { checkStrictRanges } from '../../webhooks/common/strict-ranges.ts'
import { totalIPSet } from '../../webhooks/common/total-ips.ts'

t.test('the CIDR label replaces the first 3 dots, 7 colons and the slash with dashes', async (t) => {
  t.equal(cidrLabelValue('172.18.40.0/24', 4), '172-18-40-0-24')
  t.equal(cidrLabelValue('abcd:1234::/120', 6), 'abcd-1234---120')
  t.equal(cidrLabelValue('fd00:10::/120', 6), 'fd00-10---120')
  t.equal(cidrLabelValue('1:2:3:4:5:6:7:0/112', 6), '1-2-3-4-5-6-7-0-112')
  t.equal(cidrLabelValue('172.18.40.0/24', 6), undefined, 'not a CIDR of that family')
  t.equal(cidrLabelValue('172.18.40.0', 4), undefined)
  t.equal(cidrLabelValue('172.18.40.0/24', 5), undefined)
})

t.test('pool ranges are read leniently: ends inside the subnet, reversed ends flagged', async (t) => {
  const v4 = parseCIDR('10.0.0.0/24')!
  t.match(parsePoolRange('10.0.0.1-10.0.0.9', v4), { range: { start: 0x0a000001n, end: 0x0a000009n, reversed: false } })
  t.match(parsePoolRange('10.0.0.9-10.0.0.1', v4), { range: { start: 0x0a000001n, end: 0x0a000009n, reversed: true } })
  t.match(parsePoolRange('::ffff:10.0.0.7', v4), { range: { start: 0x0a000007n } }, 'an IPv4-mapped address has an IPv4 form')
  t.same(parsePoolRange('10.0.0.1/32', v4), { error: 'invalid range: 10.0.0.1/32' })
  t.same(parsePoolRange('10.0.1.1', v4), { error: 'not match base subnet: 10.0.1.1' })
  const v6 = parseCIDR('fd00::/64')!
  t.match(parsePoolRange('fd00::1-FD00::ffff', v6), { range: { start: (0xfd00n << 112n) | 1n, end: (0xfd00n << 112n) | 0xffffn } })
  t.same(parsePoolRange('::ffff:10.0.0.7', parseCIDR('::/0')!), { error: 'not match base subnet: ::ffff:10.0.0.7' }, 'IPv4-mapped is not IPv6 here')
  t.same(parsePoolRange('10.0.0.1', v6), { error: 'not match base subnet: 10.0.0.1' })
})

t.test('range collisions are worded from the later entry', async (t) => {
  const r = (raw: string, start: bigint, end: bigint): PoolRange => ({ raw, start, end, reversed: false })
  t.equal(rangeCollision(r('b', 2n, 3n), r('a', 1n, 5n)), 'range b is already covered by a')
  t.equal(rangeCollision(r('b', 1n, 5n), r('a', 1n, 5n)), 'range b is already covered by a', 'equal ranges')
  t.equal(rangeCollision(r('b', 0n, 9n), r('a', 1n, 5n)), 'range b covers a')
  t.equal(rangeCollision(r('b', 4n, 9n), r('a', 1n, 5n)), 'range b overlaps with a')
  t.equal(rangeCollision(r('b', 0n, 1n), r('a', 1n, 5n)), 'range b overlaps with a')
  t.equal(rangeCollision(r('b', 6n, 9n), r('a', 1n, 5n)), undefined)
})

t.test('strict ranges report every bad entry, containment only when a subnet is given', async (t) => {
  t.same(checkStrictRanges(['10.0.0.2-10.0.0.1', '10.1.0.1'], 'spec.ips', 4).map((e) => e.field), ['spec.ips[0]'])
  t.same(
    checkStrictRanges(['10.0.0.2-10.0.0.1', '10.1.0.1'], 'spec.ips', 4, { text: '10.0.0.0/16', cidr: parseCIDR('10.0.0.0/16') }).map((e) => e.detail),
    ["invalid IP range format in IPv4 '10.0.0.2-10.0.0.1'", "not pertains to the 'spec.subnet' 10.0.0.0/16 of IPPool"],
  )
  t.same(checkStrictRanges(['fd00::1-fd00::2'], 'spec.ips', 6, { text: 'fd00::/120', cidr: parseCIDR('fd00::/120') }), [])
})

t.test('total IPs name the first entry that is not a strict range', async (t) => {
  t.same(totalIPSet(['10.0.0.1-10.0.0.9'], ['10.0.0.5'], 4).set?.toRangeTexts(), ['10.0.0.1-10.0.0.4', '10.0.0.6-10.0.0.9'])
  t.same(totalIPSet(['10.0.0.1'], ['fd00::1'], 4), { error: "invalid IP range format in IPv4 'fd00::1'" })
})

const entryTexts = {
  4: ['10.0.0.1-10.0.0.9', '10.0.0.9-10.0.0.1', '10.0.0.7', '::ffff:10.0.0.7', '::ffff:a00:7', '::ffff:10.0.0.1-::ffff:10.0.0.3', '::10.0.0.7', '10.0.1.1', '9.255.255.255-10.0.0.5', '10.0.0.1/32', '10.0.0.1-10.0.0.2-10.0.0.3', 'fd00::1', '', 'x'],
  6: ['fd00::1-fd00::ff', 'fd00::ff-fd00::1', 'FD00::10', '::ffff:10.0.0.7', 'fd00::1.2.3.4', 'fcff::1-fd00::5', 'fd01::1', '10.0.0.1', 'fd00::1/128', ''],
} as const

t.test('an entry read for the pool reads as a strict range exactly as parseStrictRange reads it', async (t) => {
  for (const [family, subnet] of [[4, parseCIDR('10.0.0.0/24')!], [6, parseCIDR('fd00::/64')!]] as const) {
    for (const text of [...entryTexts[family], 42, null]) {
      const strict = typeof text === 'string' ? parseStrictRange(text, family) : undefined
      const derived = strictRangeOfEntry(text, parsePoolRange(text, subnet), family)
      t.same(derived && { start: derived.start, end: derived.end }, strict && { start: strict.start, end: strict.end }, `${JSON.stringify(text)} as IPv${family}`)
    }
  }
})

t.test('IPPOOL-V-14 finds the same conflicts from entries the pool has read as from their texts', async (t) => {
  const subnet = parseCIDR('10.0.0.0/24')!
  const ips = ['10.0.0.1-10.0.0.9', '::ffff:10.0.0.5', '10.0.0.9-10.0.0.1', '10.0.0.4-10.0.0.6', '9.255.255.255-10.0.0.5']
  const read = (texts: readonly string[]) => texts.map((text) => strictRangeOfEntry(text, parsePoolRange(text, subnet), 4))
  for (const excludeIPs of [[], ['10.0.0.5'], ['10.0.0.1-10.0.0.2']]) {
    const entryRanges: EntryRanges = { ips: read(ips), excludeIPs: read(excludeIPs) }
    const fromTexts = checkGateway('10.0.0.5', 4, '10.0.0.0/24', subnet, ips, excludeIPs)
    t.same(checkGateway('10.0.0.5', 4, '10.0.0.0/24', subnet, ips, excludeIPs, entryRanges), fromTexts, `excludeIPs ${JSON.stringify(excludeIPs)}`)
    if (excludeIPs.length === 0) t.same(fromTexts.map((e) => e.field), ['spec.ips[0]', 'spec.ips[1]', 'spec.ips[3]', 'spec.ips[4]'])
  }
})
