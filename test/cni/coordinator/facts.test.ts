import { randomBytes } from 'node:crypto'
import t from 'tap'
import { isLinkLocal, isMulticast, readNetnsFacts, routesFromIp } from '../../../cni/coordinator/facts.ts'
import { ip, missingRequirements } from '../harness/cluster.ts'

t.test('link-local and multicast addresses of both families are told apart', async (t) => {
  t.ok(isLinkLocal('169.254.1.1'))
  t.ok(isLinkLocal('fe80::1'))
  t.ok(isLinkLocal('febf::1'))
  t.notOk(isLinkLocal('fec0::1'))
  t.notOk(isLinkLocal('10.6.0.1'))
  t.ok(isMulticast('224.0.0.1'))
  t.ok(isMulticast('ff02::1'))
  t.notOk(isMulticast('fd00::1'))
})

t.test('iproute2 spellings become prefixes and numbers: default, bare /32, named tables, IPv6 metrics, multipath hops', async (t) => {
  const v4 = routesFromIp(
    [
      { dst: 'default', gateway: '10.6.0.1', dev: 'eth0' },
      { dst: '10.6.0.11', dev: 'veth0', scope: 'link', prefsrc: '10.6.1.10', table: '101' },
      { type: 'local', dst: '127.0.0.1', dev: 'lo', table: 'local', protocol: 'kernel', scope: 'host' },
      { dst: '10.9.0.0/16', nexthops: [{ gateway: '10.6.0.1', dev: 'eth0' }, { gateway: '172.200.0.1', dev: 'net1' }] },
    ],
    4,
  )
  t.strictSame(v4, [
    { family: 4, table: 254, type: 'unicast', dst: '0.0.0.0/0', metric: 0, gw: '10.6.0.1', dev: 'eth0' },
    { family: 4, table: 101, type: 'unicast', dst: '10.6.0.11/32', metric: 0, dev: 'veth0', src: '10.6.1.10', scope: 'link' },
    { family: 4, table: 255, type: 'local', dst: '127.0.0.1/32', metric: 0, dev: 'lo', scope: 'host', protocol: 'kernel' },
    { family: 4, table: 254, type: 'unicast', dst: '10.9.0.0/16', metric: 0, nexthops: [{ gw: '10.6.0.1', dev: 'eth0' }, { gw: '172.200.0.1', dev: 'net1' }] },
  ])
  t.strictSame(routesFromIp([{ dst: 'default', gateway: 'FD00:6::1', dev: 'eth0', metric: 1024 }], 6), [{ family: 6, table: 254, type: 'unicast', dst: '::/0', metric: 1024, gw: 'fd00:6::1', dev: 'eth0' }])
})

const missing = missingRequirements(['ip', 'nsenter'])
t.test('a namespace read back: links with peers and addresses, routes and rules of both families, neighbours, route sources', { skip: missing }, async (t) => {
  const id = randomBytes(3).toString('hex')
  const [a, b] = [`facta${id}`, `factb${id}`]
  for (const n of [a, b]) {
    await ip('netns', 'add', n)
    t.teardown(() => ip('netns', 'del', n).catch(() => {}))
  }
  await ip('-n', a, 'link', 'add', 'eth0', 'address', '02:aa:00:00:00:01', 'type', 'veth', 'peer', 'name', 'peer0', 'netns', b)
  await ip('-n', a, 'link', 'set', 'eth0', 'up')
  await ip('-n', a, 'addr', 'add', '10.6.1.10/16', 'dev', 'eth0')
  await ip('-n', a, '-6', 'addr', 'add', 'fd00:6::1:10/64', 'dev', 'eth0', 'nodad')
  await ip('-n', a, 'route', 'add', '10.233.0.0/18', 'via', '10.6.0.11', 'dev', 'eth0', 'table', '101')
  await ip('-n', a, 'rule', 'add', 'from', '10.6.1.10', 'lookup', '101')
  await ip('-n', a, '-6', 'rule', 'add', 'fwmark', '0x1', 'lookup', '100', 'pref', '1000')
  await ip('-n', a, 'neigh', 'replace', '10.6.0.11', 'lladdr', '02:bb:00:00:00:01', 'dev', 'eth0', 'nud', 'permanent')
  const facts = await readNetnsFacts(`/var/run/netns/${a}`, ['10.6.9.9', '192.0.2.1'])
  const eth0 = facts.links.find((l) => l.name === 'eth0')!
  t.equal(eth0.mac, '02:aa:00:00:00:01')
  t.type(eth0.peerIndex, 'number', 'a veth whose peer is in another namespace knows the peer index')
  t.match(eth0.addrs, [
    { family: 4, ip: '10.6.1.10', prefix: 16, linkLocal: false },
    { family: 6, ip: 'fd00:6::1:10', prefix: 64, linkLocal: false, tentative: false },
  ])
  t.match(facts.routes, [{ family: 4, table: 101, dst: '10.233.0.0/18', gw: '10.6.0.11', dev: 'eth0' }])
  t.ok(facts.routes.some((r) => r.family === 6 && r.dst === 'fd00:6::/64' && r.metric === 256))
  t.ok(facts.rules.some((r) => r.family === 4 && r.from === '10.6.1.10/32' && r.table === 101 && r.priority === 32765))
  t.ok(facts.rules.some((r) => r.family === 6 && r.fwmark === '0x1' && r.table === 100 && r.priority === 1000))
  t.match(facts.neighbours, [{ family: 4, dst: '10.6.0.11', dev: 'eth0', mac: '02:bb:00:00:00:01', permanent: true }])
  t.strictSame(facts.routeSources['10.6.9.9'], { src: '10.6.1.10' })
  t.match(facts.routeSources['192.0.2.1'], { error: /unreachable/ })
})
