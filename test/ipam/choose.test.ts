import t from 'tap'
import { chooseFreeIPs, exhaustedMessage, freeAddresses, nthFree, reservedSet, type PoolToChooseFrom } from '../../ipam/choose.ts'
import { formatIP } from '../../ipam/ip.ts'
import { parseRecords } from '../../ipam/records.ts'

const pool = (spec: Partial<PoolToChooseFrom['spec']> & { subnet: string }, name = 'p'): PoolToChooseFrom => ({ metadata: { name }, spec: { ipVersion: spec.subnet.includes(':') ? 6 : 4, ...spec } })
const records = (...ips: string[]) => ips.map((ip) => ({ ip }))

t.test('lowest free first, in spec.ips order, with the subnet prefix length', async (t) => {
  const p = pool({ subnet: '10.6.0.0/16', ips: ['10.6.212.100-10.6.212.200'] }, '10-6-v4')
  t.same(chooseFreeIPs(p, [], []), { ips: ['10.6.212.100/16'] })
  t.same(chooseFreeIPs(p, records('10.6.212.100', '10.6.212.102'), [], 3), { ips: ['10.6.212.101/16', '10.6.212.103/16', '10.6.212.104/16'] })
})

t.test('excludeIPs, SpiderReservedIPs of the family, records and the gateway are never handed out', async (t) => {
  const p = pool({ subnet: '10.0.0.0/24', ips: ['10.0.0.1-10.0.0.10'], excludeIPs: ['10.0.0.2'], gateway: '10.0.0.1' })
  const reserved = [
    { spec: { ipVersion: 4, ips: ['10.0.0.3-10.0.0.4'] } },
    { spec: { ipVersion: 6, ips: ['fd00::5'] } },
    { metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' }, spec: { ipVersion: 4, ips: ['10.0.0.6'] } },
  ]
  t.same(chooseFreeIPs(p, records('10.0.0.5'), reserved, 2), { ips: ['10.0.0.6/24', '10.0.0.7/24'] }, 'a reserved IP being deleted reserves nothing')
  const f = freeAddresses(p, records('10.0.0.5'), reserved).free!
  t.equal(f.total, 9n, 'total = ips − excludeIPs (the gateway counts, as in totalIPCount)')
  t.equal(f.inUse, 1n)
  t.equal(f.blocked, 3n, 'two reserved and the gateway')
  t.same(f.free.toRangeTexts(), ['10.0.0.6-10.0.0.10'])
})

t.test('a gateway inside ips (which the pool webhook refuses unless excluded) is still skipped', async (t) => {
  const p = pool({ subnet: '10.0.0.0/24', ips: ['10.0.0.1-10.0.0.3'], gateway: '10.0.0.1' })
  t.same(chooseFreeIPs(p, [], []), { ips: ['10.0.0.2/24'] })
})

t.test('exhaustion names the pool and used/total', async (t) => {
  const p = pool({ subnet: '10.6.0.0/16', ips: ['10.6.212.100-10.6.212.200'] }, '10-6-v4')
  const all = Array.from({ length: 101 }, (_, i) => `10.6.212.${100 + i}`)
  t.same(chooseFreeIPs(p, records(...all), []), { error: 'IPPool 10-6-v4 is exhausted: 101/101 addresses in use' })
  t.same(chooseFreeIPs(p, records(...all.slice(1)), [], 2), { error: 'IPPool 10-6-v4 has 1 free addresses, 2 wanted: 100/101 addresses in use' })
  const reserved = [{ spec: { ipVersion: 4, ips: ['10.6.212.100'] } }]
  t.same(chooseFreeIPs(p, records(...all.slice(1)), reserved), {
    error: 'IPPool 10-6-v4 is exhausted: 100/101 addresses in use, 1 kept out by SpiderReservedIPs or the gateway',
  })
})

t.test('records outside the pool or of the other family do not count as in use', async (t) => {
  const p = pool({ subnet: '10.0.0.0/24', ips: ['10.0.0.1-10.0.0.2'] })
  const f = freeAddresses(p, records('10.0.0.9', 'fd00::1', 'not-an-ip'), []).free!
  t.equal(f.inUse, 0n)
  t.equal(exhaustedMessage(f), 'IPPool p has 2 free addresses, 1 wanted: 0/2 addresses in use')
})

t.test('a stored reversed range and IPv4-mapped addresses are read as the pool webhook accepted them', async (t) => {
  const p = pool({ subnet: '10.0.0.0/24', ips: ['10.0.0.9-10.0.0.8', '::ffff:10.0.0.20'] })
  t.same(freeAddresses(p, [], []).free!.free.toRangeTexts(), ['10.0.0.8-10.0.0.9', '10.0.0.20'])
})

t.test('an unreadable pool is an error naming the pool and the field', async (t) => {
  t.same(chooseFreeIPs(pool({ subnet: 'nope' }, 'bad'), [], []), { error: 'IPPool bad has an invalid spec.subnet "nope"' })
  t.same(chooseFreeIPs(pool({ subnet: '10.0.0.0/24', ips: ['10.0.0.1', 'x'] }, 'bad'), [], []), { error: 'IPPool bad has an invalid spec.ips[1] "x"' })
  t.same(chooseFreeIPs({ metadata: { name: 'v' }, spec: { ipVersion: 6, subnet: '10.0.0.0/24' } }, [], []), { error: 'IPPool v is IPv6 but its spec.subnet 10.0.0.0/24 is not' })
})

t.test('a huge IPv6 pool: free addresses come from interval arithmetic, not enumeration', async (t) => {
  const p = pool({ subnet: 'fd12:3456:789a:baba::/64', ips: ['fd12:3456:789a:baba::1-fd12:3456:789a:baba:ffff:ffff:ffff:ffff'] }, 'v6-huge')
  const used = records('fd12:3456:789a:baba::1', 'fd12:3456:789a:baba::2', 'fd12:3456:789a:baba::4')
  const start = performance.now()
  const f = freeAddresses(p, used, []).free!
  t.same(chooseFreeIPs(p, used, [], 2), { ips: ['fd12:3456:789a:baba::3/64', 'fd12:3456:789a:baba::5/64'] })
  t.equal(f.total, 2n ** 64n - 1n)
  t.equal(f.free.size, 2n ** 64n - 4n)
  t.equal(formatIP({ family: 6, value: nthFree(f.free, 2n ** 64n - 5n)! }), 'fd12:3456:789a:baba:ffff:ffff:ffff:ffff', 'the last free address, found without walking to it')
  t.equal(nthFree(f.free, 2n ** 64n - 4n), undefined)
  t.comment(`huge IPv6 pool: ${(performance.now() - start).toFixed(1)} ms`)
})

t.test('a pool with 50 000 records: the lowest free address comes fast', async (t) => {
  const p = pool({ subnet: '10.0.0.0/8', ips: ['10.0.0.1-10.0.255.254'] }, 'big')
  const doc: Record<string, { pod: string; podUid: string }> = {}
  for (let i = 0; i < 50_000; i++) if (i !== 40_000) doc[formatIP({ family: 4, value: 0x0a000001n + BigInt(i) })] = { pod: `ns/p${i}`, podUid: `u${i}` }
  const text = JSON.stringify(doc)
  const start = performance.now()
  const parsed = parseRecords(text).records!
  const parsedAt = performance.now()
  const choice = chooseFreeIPs(p, parsed, [], 2)
  const end = performance.now()
  t.same(choice, { ips: [formatIP({ family: 4, value: 0x0a000001n + 40_000n }) + '/8', formatIP({ family: 4, value: 0x0a000001n + 50_000n }) + '/8'] })
  t.comment(`50 000 records: parse ${(parsedAt - start).toFixed(1)} ms, choose ${(end - parsedAt).toFixed(1)} ms`)
})

t.test('reserved IPs without ipVersion count for the family their text belongs to; bad entries keep nothing out', async (t) => {
  const set = reservedSet([{ spec: { ips: ['10.0.0.1', 'fd00::1'] } }, { spec: { ipVersion: 4, ips: ['nonsense', '10.0.0.3'] } }], 4)
  t.same(set.toRangeTexts(), ['10.0.0.1', '10.0.0.3'])
})
