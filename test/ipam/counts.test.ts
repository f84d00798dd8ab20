import t from 'tap'
import { countRecords, maxCount, poolCounts } from '../../ipam/counts.ts'

t.test('TOTAL-IP-COUNT is ips minus excludeIPs; reserved IPs are not subtracted', async (t) => {
  t.same(poolCounts({ ipVersion: 4, ips: ['10.0.0.1-10.0.0.100'], excludeIPs: ['10.0.0.50-10.0.0.59'] }), { totalIPCount: 90, allocatedIPCount: 0 })
  t.same(poolCounts({ ipVersion: 6, ips: ['fd00::1-fd00::ff'] }, '{"fd00::1":{"pod":"a/b","podUid":"u"}}'), { totalIPCount: 255, allocatedIPCount: 1 })
})

t.test('ALLOCATED-IP-COUNT counts every record, reserved ones included', async (t) => {
  t.equal(countRecords('{"10.0.0.1":{"pod":"ns/","state":"reserved","token":"r-1"},"10.0.0.2":{"pod":"ns/a","podUid":"u"}}'), 2)
  t.equal(countRecords(undefined), 0)
  t.equal(countRecords(''), 0)
  t.equal(countRecords('null'), 0)
  t.equal(countRecords('[1]'), undefined, 'not records')
  t.equal(countRecords('{'), undefined, 'not JSON')
})

t.test('a huge IPv6 pool is capped at the largest exact JSON number', async (t) => {
  t.equal(poolCounts({ ipVersion: 6, ips: ['fd00::-fd00::ffff:ffff:ffff:ffff'] })?.totalIPCount, maxCount)
})

t.test('nothing is counted for a pool whose spec cannot be read', async (t) => {
  t.equal(poolCounts({ ips: ['10.0.0.1'] }), undefined, 'no ipVersion')
  t.equal(poolCounts({ ipVersion: 4, ips: ['10.0.0.9-10.0.0.1'] }), undefined, 'reversed range')
  t.equal(poolCounts({ ipVersion: 4, ips: ['10.0.0.1'] }, '{'), undefined, 'records not JSON')
})
