import t from 'tap'
import { IPSet, mergeRanges, parseStrictRange, totalIPs } from '../../ipam/range.ts'

t.test('strict ranges: both ends of the family, start ≤ end, one dash', async (t) => {
  t.ok(parseStrictRange('10.0.0.1-10.0.0.9', 4))
  t.ok(parseStrictRange('10.0.0.1', 4))
  t.ok(parseStrictRange('fd00::1-fd00::ff', 6))
  for (const [bad, fam] of [['10.0.0.9-10.0.0.1', 4], ['10.0.0.1-fd00::1', 4], ['fd00::1', 4], ['10.0.0.1', 6], ['10.0.0.1-10.0.0.2-10.0.0.3', 4], ['10.0.0.0/24', 4], ['', 4]] as const) {
    t.equal(parseStrictRange(bad, fam), undefined, `refuses ${bad} as IPv${fam}`)
  }
})

t.test('merging follows Spiderpool: dedupe, sort, collapse runs; singles stay single', async (t) => {
  t.same(mergeRanges(['172.18.40.10', '172.18.40.1-172.18.40.2', '172.18.40.2-172.18.40.3'], 4), ['172.18.40.1-172.18.40.3', '172.18.40.10'])
  t.same(mergeRanges(['abcd:1234::a', 'abcd:1234::1-abcd:1234::2', 'abcd:1234::2-abcd:1234::3'], 6), ['abcd:1234::1-abcd:1234::3', 'abcd:1234::a'])
  t.same(mergeRanges(['ABCD:1234::0001', 'abcd:1234::2'], 6), ['abcd:1234::1-abcd:1234::2'])
  t.equal(mergeRanges(['10.0.0.1', '10.0.0.9-10.0.0.1'], 4), undefined, 'one bad entry fails the merge')
})

t.test('set arithmetic works on huge IPv6 ranges without enumerating', async (t) => {
  const big = IPSet.parse(['fd12:3456:789a:baba::1-fd12:3456:789a:ffff:ffff:ffff:ffff:ffff'], 6)!
  t.equal(big.size, (0xffffn - 0xbaban) * (1n << 64n) + (1n << 64n) - 1n)
  const holes = IPSet.parse(['fd12:3456:789a:baba::10-fd12:3456:789a:baba::1f'], 6)!
  t.equal(big.subtract(holes).size, big.size - 16n)
  t.equal(big.intersect(holes).size, 16n)
  t.ok(holes.isSubsetOf(big))
  t.notOk(big.isSubsetOf(holes))
})

t.test('total IPs are ips minus excludeIPs', async (t) => {
  const total = totalIPs(['10.0.0.1-10.0.0.10'], ['10.0.0.2', '10.0.0.5-10.0.0.6'], 4)!
  t.same(total.toRangeTexts(), ['10.0.0.1', '10.0.0.3-10.0.0.4', '10.0.0.7-10.0.0.10'])
  t.equal(total.size, 7n)
  t.ok(total.has(0x0a000001n))
  t.notOk(total.has(0x0a000002n))
  t.equal(totalIPs(['10.0.0.1'], ['fd00::1'], 4), undefined)
  t.same([...IPSet.parse(['10.0.0.1-10.0.0.3'], 4)!.addresses()], [0x0a000001n, 0x0a000002n, 0x0a000003n])
})

t.test('ranges given in any order make the same set as in order', async (t) => {
  const inOrder = new IPSet(4, [{ start: 1n, end: 3n }, { start: 4n, end: 4n }, { start: 9n, end: 12n }, { start: 11n, end: 20n }])
  const shuffled = new IPSet(4, [{ start: 11n, end: 20n }, { start: 4n, end: 4n }, { start: 9n, end: 12n }, { start: 1n, end: 3n }])
  t.same(inOrder.intervals, [{ start: 1n, end: 4n }, { start: 9n, end: 20n }])
  t.same(shuffled.intervals, inOrder.intervals)
  t.same(new IPSet(4, [{ start: 5n, end: 9n }, { start: 5n, end: 6n }]).intervals, [{ start: 5n, end: 9n }], 'a later range with the same start inside an earlier one')
})
