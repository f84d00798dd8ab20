import t from 'tap'
import { canonicalIP, ipv4Form, cidrBounds, cidrContains, cidrsOverlap, formatCIDR, parseCIDR, parseIP, parseIPOfFamily } from '../../ipam/ip.ts'

t.test('IPv4 literals follow Go net.ParseIP: dotted quad, octets ≤ 255, no leading zeros', async (t) => {
  t.same(parseIP('10.6.0.1'), { family: 4, value: 0x0a060001n })
  t.same(parseIP('0.0.0.0'), { family: 4, value: 0n })
  for (const bad of ['010.1.1.1', '256.1.1.1', '1.2.3', '1.2.3.4.5', '1.2.3.4 ', ' 1.2.3.4', '1..2.3', '', 'a.b.c.d', '1.2.3.-1']) {
    t.equal(parseIP(bad), undefined, `refuses ${JSON.stringify(bad)}`)
  }
})

t.test('IPv6 literals: every RFC 4291 form, embedded IPv4, no zone or brackets', async (t) => {
  t.equal(parseIP('::')?.value, 0n)
  t.equal(parseIP('::1')?.value, 1n)
  t.equal(parseIP('fd00::1')?.value, 0xfd00n << 112n | 1n)
  t.equal(parseIP('FD00:0:0:0:0:0:0:1')?.value, parseIP('fd00::1')?.value)
  t.equal(parseIP('::ffff:1.2.3.4')?.value, 0xffff01020304n)
  t.equal(parseIP('1:2:3:4:5:6:1.2.3.4')?.family, 6)
  for (const bad of ['fe80::1%eth0', '[::1]', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', ':::', '1:2:3:4:5:6:7', 'g::1', '::1.2.3']) {
    t.equal(parseIP(bad), undefined, `refuses ${JSON.stringify(bad)}`)
  }
})

t.test('canonical IPv6 text is RFC 5952: lowercase, longest zero run compressed, leftmost on ties', async (t) => {
  t.equal(canonicalIP('ABCD:1234:0:0:0:0:0:A'), 'abcd:1234::a')
  t.equal(canonicalIP('1:0:0:2:0:0:0:3'), '1:0:0:2::3')
  t.equal(canonicalIP('1:0:0:2:0:0:3:4'), '1::2:0:0:3:4')
  t.equal(canonicalIP('1:0:2:3:4:5:6:7'), '1:0:2:3:4:5:6:7', 'a single zero group is not compressed')
  t.equal(canonicalIP('0:0:0:0:0:0:0:0'), '::')
  t.equal(canonicalIP('fd00:0000:0000::0001'), 'fd00::1')
})

t.test('family is textual, as Spiderpool tests it', async (t) => {
  t.ok(parseIPOfFamily('10.0.0.1', 4))
  t.notOk(parseIPOfFamily('10.0.0.1', 6))
  t.notOk(parseIPOfFamily('fd00::1', 4))
  t.ok(parseIPOfFamily('fd00::1', 6))
})

t.test('CIDRs: Go net.ParseCIDR, host bits allowed, containment and overlap by prefix', async (t) => {
  const c = parseCIDR('172.18.40.1/24')!
  t.equal(formatCIDR(c), '172.18.40.0/24')
  t.equal(parseCIDR('10.0.0.0/33'), undefined)
  t.equal(parseCIDR('fd00::/129'), undefined)
  t.equal(parseCIDR('10.0.0.0'), undefined)
  t.equal(parseCIDR('10.0.0.0/8/8'), undefined)
  t.equal(formatCIDR(parseCIDR('fd00:0:0::/64')!), 'fd00::/64')
  t.ok(cidrContains(parseCIDR('10.6.0.0/16')!, parseIP('10.6.255.255')!))
  t.notOk(cidrContains(parseCIDR('10.6.0.0/16')!, parseIP('10.7.0.0')!))
  t.notOk(cidrContains(parseCIDR('10.6.0.0/16')!, parseIP('fd00::1')!))
  t.ok(cidrsOverlap(parseCIDR('10.0.0.0/8')!, parseCIDR('10.6.0.0/16')!))
  t.ok(cidrsOverlap(parseCIDR('10.6.0.0/16')!, parseCIDR('10.0.0.0/8')!))
  t.notOk(cidrsOverlap(parseCIDR('10.6.0.0/16')!, parseCIDR('10.7.0.0/16')!))
  t.same(cidrBounds(parseCIDR('10.6.0.0/16')!), { first: 0x0a060000n, last: 0x0a06ffffn })
  t.same(cidrBounds(parseCIDR('0.0.0.0/0')!), { first: 0n, last: 0xffffffffn })
})

t.test('ipv4Form is Go To4: IPv4 and IPv4-mapped IPv6 have one, other IPv6 does not', async (t) => {
  t.same(ipv4Form(parseIP('10.0.0.1')!), { family: 4, value: 0x0a000001n })
  t.same(ipv4Form(parseIP('::ffff:10.0.0.1')!), { family: 4, value: 0x0a000001n })
  t.same(ipv4Form(parseIP('::ffff:a00:1')!), { family: 4, value: 0x0a000001n })
  t.equal(ipv4Form(parseIP('::10.0.0.1')!), undefined, 'IPv4-compatible is not IPv4-mapped')
  t.equal(ipv4Form(parseIP('fd00::ffff:a00:1')!), undefined)
})

t.test('IPv4 octets are 1 to 3 digits without a leading zero, at most 255, four of them and nothing else', async (t) => {
  t.same(parseIP('255.255.255.255'), { family: 4, value: 0xffffffffn })
  t.same(parseIP('1.20.255.0'), { family: 4, value: 0x0114ff00n })
  for (const bad of ['1.2.3.0255', '1.2.3.1000', '1.2.3.00', '1.2.3.', '.1.2.3', '1.2.3.4.', '1.2.3.4/8', '1,2,3,4', '1.2.3.٤', '1.2.3.+4']) {
    t.equal(parseIP(bad), undefined, `refuses ${JSON.stringify(bad)}`)
  }
  t.equal(parseIP('::ffff:1.2.3.04'), undefined, 'an embedded IPv4 tail follows the same rules')
})

t.test('a prefix length is 1 to 3 decimal digits within the family, as Go net.ParseCIDR reads it', async (t) => {
  t.equal(parseCIDR('10.0.0.0/008')?.prefix, 8)
  t.equal(parseCIDR('10.0.0.0/0')?.network, 0n)
  t.equal(parseCIDR('fd00::/128')?.prefix, 128)
  for (const bad of ['10.0.0.0/', '10.0.0.0/0008', '10.0.0.0/+8', '10.0.0.0/-1', '10.0.0.0/8 ', 'fd00::/1000']) t.equal(parseCIDR(bad), undefined, `refuses ${bad}`)
})

t.test('every prefix length masks and bounds its network exactly', async (t) => {
  for (const [family, bits, address] of [[4, 32, 0xffffffffn], [6, 128, (1n << 128n) - 1n]] as const) {
    for (let prefix = 0; prefix <= bits; prefix++) {
      const hostBits = BigInt(bits - prefix)
      const network = (address >> hostBits) << hostBits
      const text = `${family === 4 ? '255.255.255.255' : 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'}/${prefix}`
      const c = parseCIDR(text)!
      t.equal(c.network, network, `network of ${text}`)
      t.same(cidrBounds(c), { first: network, last: address }, `bounds of ${text}`)
    }
  }
  t.equal(formatCIDR(parseCIDR('10.6.255.7/13')!), '10.0.0.0/13')
})
