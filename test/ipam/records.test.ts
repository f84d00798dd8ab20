import t from 'tap'
import { allocatedIPCount, claimedCount, parseRecords, recordsOfPodUid, recordsOfToken, reservedCount, serialiseRecords, type PoolRecord } from '../../ipam/records.ts'

t.test("Spiderpool's own records read as claimed, without reservation fields", async (t) => {
  const text = '{"10.6.168.102":{"pod":"db/mysql-0","podUid":"77aa"},"10.6.168.101":{"pod":"default/web-7c9f-abcde","podUid":"1f0c"}}'
  const parsed = parseRecords(text)
  t.same(parsed.records, [
    { ip: '10.6.168.102', pod: 'db/mysql-0', podUid: '77aa', state: 'claimed' },
    { ip: '10.6.168.101', pod: 'default/web-7c9f-abcde', podUid: '1f0c', state: 'claimed' },
  ], 'in stored order')
  t.equal(serialiseRecords(parsed.records!), '{"10.6.168.101":{"pod":"default/web-7c9f-abcde","podUid":"1f0c"},"10.6.168.102":{"pod":"db/mysql-0","podUid":"77aa"}}', 'claimed records are written in Spiderpool\'s shape')
})

t.test('a reservation record round-trips with its fields and with keys we do not know', async (t) => {
  const text = JSON.stringify({
    '10.6.168.105': {
      pod: 'default/',
      podUid: '',
      state: 'reserved',
      token: 'r-5f1c2e00',
      nic: 'eth0',
      reservedAt: '2026-07-08T12:00:00Z',
      expiresAt: '2026-07-08T12:02:00Z',
      zeta: { nested: [1, 2] },
      alpha: 'kept',
    },
  })
  const parsed = parseRecords(text)
  t.equal(parsed.error, undefined)
  const [r] = parsed.records!
  t.equal(r.state, 'reserved')
  t.equal(r.token, 'r-5f1c2e00')
  t.same(r.unknown, { zeta: { nested: [1, 2] }, alpha: 'kept' })
  const written = serialiseRecords(parsed.records!)!
  t.same(JSON.parse(written), JSON.parse(text), 'nothing lost')
  t.same(Object.keys(JSON.parse(written)['10.6.168.105']), ['pod', 'podUid', 'state', 'token', 'nic', 'reservedAt', 'expiresAt', 'alpha', 'zeta'], 'our fields in a fixed order, unknown ones after, sorted')
  t.same(parseRecords(written).records, parsed.records, 'reading what was written gives the same records')
})

t.test('serialising is deterministic: records by address (numeric, IPv4 before IPv6), whatever the input order', async (t) => {
  const records: PoolRecord[] = ['fd00::10', '10.0.0.10', 'fd00::9', '10.0.0.9', '10.0.0.100'].map((ip) => ({ ip, pod: 'ns/p', podUid: 'u', state: 'claimed' }))
  const keys = Object.keys(JSON.parse(serialiseRecords(records)!))
  t.same(keys, ['10.0.0.9', '10.0.0.10', '10.0.0.100', 'fd00::9', 'fd00::10'])
  t.equal(serialiseRecords([...records].reverse()), serialiseRecords(records))
})

t.test('no record: the field is removed, as Spiderpool does', async (t) => {
  t.equal(serialiseRecords([]), undefined)
  for (const text of [undefined, null, '', '  ', 'null']) t.same(parseRecords(text as string).records, [], `${JSON.stringify(text)} is no record`)
})

t.test('counts: reserved records count as allocated', async (t) => {
  const records = parseRecords(
    JSON.stringify({
      '10.0.0.1': { pod: 'a/x', podUid: 'u1' },
      '10.0.0.2': { pod: 'a/', podUid: '', state: 'reserved', token: 'r-aaaaaaaa' },
      '10.0.0.3': { pod: 'a/', podUid: '', state: 'reserved', token: 'r-aaaaaaaa' },
      '10.0.0.4': { pod: 'a/y', podUid: 'u2', state: 'claimed', token: 'r-bbbbbbbb' },
    }),
  ).records!
  t.equal(allocatedIPCount(records), 4)
  t.equal(reservedCount(records), 2)
  t.equal(claimedCount(records), 2)
  t.same(recordsOfToken(records, 'r-aaaaaaaa').map((r) => r.ip), ['10.0.0.2', '10.0.0.3'])
  t.same(recordsOfPodUid(records, 'u2').map((r) => r.ip), ['10.0.0.4'])
  t.same(recordsOfPodUid(records, ''), [], 'an unclaimed record belongs to no uid')
})

t.test('what is not a record is an error, never an exception', async (t) => {
  t.match(parseRecords('{"a":').error, /^status.allocatedIPs is not JSON/)
  t.equal(parseRecords('[1]').error, 'status.allocatedIPs is not a JSON object')
  t.equal(parseRecords('{"10.0.0.1": 5}').error, 'the record of IP 10.0.0.1: not a JSON object')
  t.equal(parseRecords('{"10.0.0.1": {"pod": 5}}').error, 'the record of IP 10.0.0.1: pod is not a string')
  t.equal(parseRecords('{"10.0.0.1": {"state": "gone"}}').error, 'the record of IP 10.0.0.1: unknown state "gone"')
  t.same(parseRecords('{"10.0.0.1": null}').records, [{ ip: '10.0.0.1', pod: '', podUid: '', state: 'claimed' }], 'a null record holds its address')
})
