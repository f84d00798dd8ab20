import t from 'tap'
import { reserveInPool, type ReserveWant } from '../../ipam/reserve.ts'
import type { PoolRecord } from '../../ipam/records.ts'

const pool = { metadata: { name: 'p' }, spec: { ipVersion: 4, subnet: '10.6.0.0/16', ips: ['10.6.0.1-10.6.0.5'], excludeIPs: ['10.6.0.2'], gateway: '10.6.0.1' } }
const want = (token: string, nic = 'eth0', ip?: string): ReserveWant => ({ ip, record: { pod: 'default/', podUid: '', state: 'reserved', token, nic } })

t.test('a batch takes the lowest free addresses in order, skipping gateway, excluded, reserved and used ones', async (t) => {
  const used: PoolRecord[] = [{ ip: '10.6.0.3', pod: 'default/a', podUid: 'u', state: 'claimed' }]
  const r = reserveInPool(pool, used, [], [want('r-1'), want('r-2'), want('r-3')])
  t.same(r.outcomes, [{ ip: '10.6.0.4/16' }, { ip: '10.6.0.5/16' }, { error: 'IPPool p is exhausted: 3/4 addresses in use, 1 kept out by SpiderReservedIPs or the gateway' }])
  t.same(r.records.map((x) => x.ip), ['10.6.0.3', '10.6.0.4', '10.6.0.5'])
  t.equal(r.changed, true)
})

t.test('the same reservation asked again gets the address it already holds, and nothing changes', async (t) => {
  const held: PoolRecord[] = [{ ip: '10.6.0.4', pod: 'default/', podUid: '', state: 'reserved', token: 'r-1', nic: 'eth0' }]
  const r = reserveInPool(pool, held, [], [want('r-1')])
  t.same(r.outcomes, [{ ip: '10.6.0.4/16' }])
  t.equal(r.changed, false)
  t.same(reserveInPool(pool, held, [], [want('r-1', 'net1')]).outcomes, [{ ip: '10.6.0.3/16' }], 'another NIC of the same pod gets its own address')
})

t.test('a wanted address is given when free and refused, naming its holder, when not', async (t) => {
  const used: PoolRecord[] = [{ ip: '10.6.0.3', pod: 'default/web-0', podUid: 'u', state: 'claimed' }]
  t.same(reserveInPool(pool, used, [], [want('r-1', 'eth0', '10.6.0.5')]).outcomes, [{ ip: '10.6.0.5/16' }])
  t.same(reserveInPool(pool, used, [], [want('r-1', 'eth0', '10.6.0.3')]).outcomes, [{ error: 'address 10.6.0.3 of IPPool p is not free: held by default/web-0' }])
  t.same(reserveInPool(pool, [], [], [want('r-1', 'eth0', '10.6.0.5'), want('r-2', 'eth0', '10.6.0.5')]).outcomes[1], { error: 'address 10.6.0.5 of IPPool p is not free' })
})

t.test('SpiderReservedIPs keep addresses out', async (t) => {
  const r = reserveInPool(pool, [], [{ spec: { ipVersion: 4, ips: ['10.6.0.3-10.6.0.4'] } }], [want('r-1')])
  t.same(r.outcomes, [{ ip: '10.6.0.5/16' }])
})

t.test('a pool that cannot be read refuses every request with the reason', async (t) => {
  const r = reserveInPool({ metadata: { name: 'bad' }, spec: { ipVersion: 4, subnet: 'nope' } }, [], [], [want('r-1'), want('r-2')])
  t.equal(r.outcomes.length, 2)
  t.match(r.outcomes[0].error, /IPPool bad has an invalid spec.subnet/)
  t.equal(r.changed, false)
})

t.test('IPv6: a huge pool hands out its lowest addresses without enumerating it', async (t) => {
  const v6 = { metadata: { name: 'v6' }, spec: { ipVersion: 6, subnet: 'fd00::/64', ips: ['fd00::1-fd00::ffff:ffff:ffff:ffff'] } }
  const r = reserveInPool(v6, [{ ip: 'fd00::1', pod: 'a/b', podUid: 'u', state: 'claimed' }], [], [want('r-1'), want('r-2')])
  t.same(r.outcomes, [{ ip: 'fd00::2/64' }, { ip: 'fd00::3/64' }])
})
