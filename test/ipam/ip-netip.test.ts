import t from 'tap'
import { formatAddr, formatPrefix, parseAddr, parseIPOrPrefix, parsePrefix } from '../../ipam/ip.ts'

t.test('parseAddr is Go netip.ParseAddr: net.ParseIP syntax plus an IPv6 zone', async (t) => {
  t.same(parseAddr('10.6.0.1'), { ok: true, value: { family: 4, value: 0x0a060001n, zone: '' } })
  t.same(parseAddr('fe80::1%eth0'), { ok: true, value: { family: 6, value: (0xfe80n << 112n) | 1n, zone: 'eth0' } })
  const mapped = parseAddr('::ffff:1.2.3.4')
  t.ok(mapped.ok && mapped.value.family === 6, 'an IPv4-mapped address stays IPv6')
})

t.test('parseAddr refuses with Go error text', async (t) => {
  const cases: Record<string, string> = {
    '': 'ParseAddr(""): unable to parse IP',
    '010.1.1.1': 'ParseAddr("010.1.1.1"): IPv4 field has octet with leading zero',
    '10.0.0.256': 'ParseAddr("10.0.0.256"): IPv4 field has value >255',
    '1.2.3': 'ParseAddr("1.2.3"): IPv4 address too short',
    '1.2.3.4.5': 'ParseAddr("1.2.3.4.5"): IPv4 address too long',
    '1.2.3.4.': 'ParseAddr("1.2.3.4."): IPv4 field must have at least one digit (at ".")',
    '1.2.3.4%eth0': 'ParseAddr("1.2.3.4%eth0"): unexpected character (at "%eth0")',
    '%eth0': 'ParseAddr("%eth0"): missing IPv6 address',
    'fe80::1%': 'ParseAddr("fe80::1%"): zone must be a non-empty string',
    'abc': 'ParseAddr("abc"): unable to parse IP',
  }
  for (const [text, error] of Object.entries(cases)) t.same(parseAddr(text), { ok: false, error }, JSON.stringify(text))
  t.notOk(parseAddr('1::2::3').ok)
  t.notOk(parseAddr('[::1]').ok)
})

t.test('parsePrefix is Go netip.ParsePrefix: no zone, length in range without leading zeros, host bits kept', async (t) => {
  t.same(parsePrefix('10.1.0.5/16'), { ok: true, value: { ip: { family: 4, value: 0x0a010005n }, bits: 16 } })
  t.same(parsePrefix('fd00::/0'), { ok: true, value: { ip: { family: 6, value: 0xfd00n << 112n }, bits: 0 } })
  const cases: Record<string, string> = {
    '10.0.0.0': `netip.ParsePrefix("10.0.0.0"): no '/'`,
    '10.0.0.0/33': 'netip.ParsePrefix("10.0.0.0/33"): prefix length out of range',
    'fd00::/129': 'netip.ParsePrefix("fd00::/129"): prefix length out of range',
    '10.0.0.0/08': 'netip.ParsePrefix("10.0.0.0/08"): bad bits after slash: "08"',
    '10.0.0.0/+8': 'netip.ParsePrefix("10.0.0.0/+8"): bad bits after slash: "+8"',
    '10.0.0.0/': 'netip.ParsePrefix("10.0.0.0/"): bad bits after slash: ""',
    'fe80::%eth0/64': 'netip.ParsePrefix("fe80::%eth0/64"): IPv6 zones cannot be present in a prefix',
    '10.0.0.256/8': 'netip.ParsePrefix("10.0.0.256/8"): ParseAddr("10.0.0.256"): IPv4 field has value >255',
  }
  for (const [text, error] of Object.entries(cases)) t.same(parsePrefix(text), { ok: false, error }, text)
})

t.test('parseIPOrPrefix turns a bare address into its host prefix, dropping a zone, as Spiderpool ParseIPOrCIDR', async (t) => {
  const text = (s: string) => {
    const p = parseIPOrPrefix(s)
    return p.ok ? formatPrefix(p.value) : p.error
  }
  t.equal(text('10.0.0.1'), '10.0.0.1/32')
  t.equal(text('FD00::1%eth0'), 'fd00::1/128')
  t.equal(text('10.1.0.5/16'), '10.1.0.5/16')
  t.equal(text('::ffff:10.0.0.1'), '::ffff:10.0.0.1/128')
  t.notOk(parseIPOrPrefix('10.0.0/8').ok)
  t.notOk(parseIPOrPrefix('nonsense').ok)
})

t.test('formatAddr and formatPrefix print as Go netip: RFC 5952, ::ffff:a.b.c.d for mapped addresses, zone after %', async (t) => {
  const text = (s: string) => {
    const a = parseAddr(s)
    return a.ok ? formatAddr(a.value) : a.error
  }
  t.equal(text('FD00:0:0:0:0:0:0:A'), 'fd00::a')
  t.equal(text('::ffff:102:304'), '::ffff:1.2.3.4')
  t.equal(text('fe80::1%eth0'), 'fe80::1%eth0')
  t.equal(text('10.0.0.1'), '10.0.0.1')
  const p = parsePrefix('2001:DB8:0:0:1::1/64')
  t.equal(p.ok && formatPrefix(p.value), '2001:db8::1:0:0:1/64')
})
