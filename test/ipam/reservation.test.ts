import t from 'tap'
import { addressesByPool, decodeReservation, encodeReservation, isReservationToken, newReservationToken, reservationAnnotation, type Reservation } from '../../ipam/reservation.ts'

const dualStack: Reservation = {
  token: 'r-5f1c2e0a9b8c7d6e',
  ips: [
    {
      interface: 'eth0',
      ipv4: '10.6.212.100/16',
      ipv4Pool: '10-6-v4',
      ipv4Gateway: '10.6.0.1',
      ipv6: 'fd00:10::64/64',
      ipv6Pool: '10-6-v6',
      vlan: 0,
      cleanGateway: false,
      routes: [{ dst: '10.7.0.0/16', gw: '10.6.0.1' }],
    },
    { interface: 'net1', ipv6: 'fd00:20::2/64', ipv6Pool: 'net1-v6', ipv6Gateway: 'fd00:20::1', vlan: 100, cleanGateway: true, routes: [] },
  ],
  defaultRouteNIC: 'net1',
}

t.test('the annotation key is ipam.spidernet.io/reservation', async (t) => {
  t.equal(reservationAnnotation, 'ipam.spidernet.io/reservation')
})

t.test('encode then decode gives the reservation back, fields in a fixed order', async (t) => {
  const text = encodeReservation(dualStack)
  t.same(decodeReservation(text), { reservation: dualStack })
  t.same(Object.keys(JSON.parse(text)), ['token', 'ips', 'defaultRouteNIC'])
  t.same(Object.keys(JSON.parse(text).ips[0]), ['interface', 'ipv4', 'ipv4Pool', 'ipv4Gateway', 'ipv6', 'ipv6Pool', 'vlan', 'cleanGateway', 'routes'])
  t.equal(encodeReservation(decodeReservation(text).reservation!), text, 'stable')
})

t.test('vlan, cleanGateway and routes default when absent', async (t) => {
  const decoded = decodeReservation('{"token":"r-0123456789","ips":[{"interface":"eth0","ipv4":"172.18.30.131/16","ipv4Pool":"ippool-test"}]}')
  t.same(decoded.reservation?.ips[0], { interface: 'eth0', ipv4: '172.18.30.131/16', ipv4Pool: 'ippool-test', vlan: 0, cleanGateway: false, routes: [] })
  t.equal(decoded.reservation?.defaultRouteNIC, undefined)
})

t.test('tokens are r- and random hex', async (t) => {
  const a = newReservationToken()
  t.match(a, /^r-[0-9a-f]{32}$/)
  t.not(a, newReservationToken())
  t.ok(isReservationToken(a))
  t.notOk(isReservationToken('r-XYZ'))
})

t.test('malformed or forged annotations are refused with the path of what is wrong, never thrown', async (t) => {
  const base = { token: 'r-0123456789', ips: [{ interface: 'eth0', ipv4: '10.0.0.2/24', ipv4Pool: 'p' }] }
  const withNIC = (nic: Record<string, unknown>) => JSON.stringify({ ...base, ips: [{ ...base.ips[0], ...nic }] })
  const cases: [unknown, string][] = [
    [42, 'not a string'],
    ['{', 'not JSON: '],
    ['[]', 'value: not a JSON object'],
    [JSON.stringify({ ...base, token: 'abc' }), 'token: "abc" is not a reservation token'],
    [JSON.stringify({ ...base, token: undefined }), 'token: undefined is not a reservation token'],
    [JSON.stringify({ ...base, ips: [] }), 'ips: must be a non-empty list'],
    [JSON.stringify({ ...base, ips: 'eth0' }), 'ips: must be a non-empty list'],
    [JSON.stringify({ ...base, ips: [5] }), 'ips[0]: not a JSON object'],
    [withNIC({ interface: '' }), 'ips[0].interface: "" is not an interface name'],
    [withNIC({ interface: 'a-very-long-interface' }), 'ips[0].interface: "a-very-long-interface" is not an interface name'],
    [withNIC({ interface: 'eth/0' }), 'ips[0].interface: "eth/0" is not an interface name'],
    [withNIC({ ipv4: '10.0.0.2' }), 'ips[0].ipv4: "10.0.0.2" is not an IPv4 address with prefix length'],
    [withNIC({ ipv4: 'fd00::2/64' }), 'ips[0].ipv4: "fd00::2/64" is not an IPv4 address with prefix length'],
    [withNIC({ ipv4Pool: '' }), 'ips[0].ipv4Pool: required with ipv4'],
    [withNIC({ ipv4Gateway: 'fd00::1' }), 'ips[0].ipv4Gateway: "fd00::1" is not an IPv4 address'],
    [withNIC({ ipv4: undefined }), 'ips[0].ipv4: required with ipv4Pool and ipv4Gateway'],
    [withNIC({ ipv4: undefined, ipv4Pool: undefined }), 'ips[0]: needs ipv4 or ipv6'],
    [withNIC({ vlan: 4095 }), 'ips[0].vlan: 4095 is not a VLAN id in 0..4094'],
    [withNIC({ vlan: 1.5 }), 'ips[0].vlan: 1.5 is not a VLAN id in 0..4094'],
    [withNIC({ cleanGateway: 'yes' }), 'ips[0].cleanGateway: must be true or false'],
    [withNIC({ routes: {} }), 'ips[0].routes: must be a list'],
    [withNIC({ routes: [{ dst: '10.7.0.0', gw: '10.0.0.1' }] }), 'ips[0].routes[0].dst: "10.7.0.0" is not a CIDR'],
    [withNIC({ routes: [{ dst: '10.7.0.0/16', gw: 'fd00::1' }] }), 'ips[0].routes[0].gw: "fd00::1" is not an IPv4 address'],
    [JSON.stringify({ ...base, ips: [base.ips[0], base.ips[0]] }), 'ips[1].interface: duplicate interface eth0'],
    [JSON.stringify({ ...base, defaultRouteNIC: 7 }), 'defaultRouteNIC: 7 is not an interface name'],
  ]
  for (const [text, why] of cases) {
    const decoded = decodeReservation(text)
    t.equal(decoded.reservation, undefined, why)
    t.ok(decoded.error?.startsWith(`invalid annotation 'ipam.spidernet.io/reservation': ${why}`), `${why}: ${decoded.error}`)
  }
})

t.test('a NIC entry’s addresses by pool: without prefix length, both families under a dual-stack pool, none without a pool', async (t) => {
  const base = { interface: 'net1', vlan: 0, cleanGateway: false, routes: [] }
  t.same([...addressesByPool({ ...base, ipv4: '10.6.0.5/16', ipv4Pool: 'v4', ipv6: 'fd00::5/64', ipv6Pool: 'v6' })], [
    ['v4', [{ family: 4, address: '10.6.0.5' }]],
    ['v6', [{ family: 6, address: 'fd00::5' }]],
  ])
  t.same([...addressesByPool({ ...base, ipv4: '10.6.0.5/16', ipv4Pool: 'ds', ipv6: 'fd00::5/64', ipv6Pool: 'ds' })], [
    ['ds', [{ family: 4, address: '10.6.0.5' }, { family: 6, address: 'fd00::5' }]],
  ])
  t.same([...addressesByPool({ ...base, ipv4: '10.6.0.5/16', ipv6Pool: 'v6' })], [])
})
