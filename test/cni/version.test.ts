import t from 'tap'
import { CniError } from '../../cni/errors.ts'
import { convertResult, parseResult, parseVersion, resultForVersion, versionAtLeast } from '../../cni/version.ts'

const result031 = {
  cniVersion: '0.3.1',
  interfaces: [{ name: 'eth0', mac: 'fe:bd:94:e6:ba:c8', sandbox: '/var/run/netns/p1' }],
  ips: [
    { version: '4', interface: 0, address: '10.6.1.10/16', gateway: '10.6.0.1' },
    { version: '6', interface: 0, address: 'fd00:6::1:10/64', gateway: 'fd00:6::1' },
  ],
  routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd00:6::1' }],
  dns: {},
}

const result100 = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'net1', mac: '02:00:00:00:00:01', sandbox: '/var/run/netns/p1' }],
  ips: [{ interface: 0, address: '10.6.212.145/16', gateway: '10.6.0.1' }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.6.0.1' }],
  dns: { nameservers: ['10.233.0.3'], search: ['svc.cluster.local'] },
}

t.test('a missing cniVersion counts as 0.1.0, and versions compare part by part', async (t) => {
  t.strictSame(parseVersion(undefined), [0, 1, 0])
  t.strictSame(parseVersion('1.1.0'), [1, 1, 0])
  t.ok(versionAtLeast('0.4.0', '0.4.0'))
  t.ok(versionAtLeast('1.0.0', '0.4.0'))
  t.notOk(versionAtLeast('0.3.1', '0.4.0'))
  t.notOk(versionAtLeast('0.10.0', '1.0.0'))
  t.throws(() => parseVersion('1.x'), CniError)
})

t.test('a 0.3.1 result round-trips through the common shape unchanged', async (t) => {
  t.strictSame(resultForVersion(parseResult(result031), '0.3.1'), result031)
})

t.test('a 1.0.0 result round-trips unchanged, and through 0.4.0 and back too', async (t) => {
  t.strictSame(resultForVersion(parseResult(result100), '1.0.0'), result100)
  const as040 = convertResult(result100, '0.4.0')
  t.strictSame((as040.ips as Array<Record<string, unknown>>)[0], { version: '4', interface: 0, address: '10.6.212.145/16', gateway: '10.6.0.1' }, '0.4.0 IPs carry version')
  t.strictSame(convertResult(as040, '1.0.0'), result100)
})

t.test('ips[].version is added going down to 0.x and dropped going up to 1.x', async (t) => {
  const up = convertResult(result031, '1.0.0') as { ips: Array<Record<string, unknown>>; dns?: unknown }
  t.strictSame(up.ips[1], { interface: 0, address: 'fd00:6::1:10/64', gateway: 'fd00:6::1' })
  t.equal(up.dns, undefined, '1.x leaves out an empty dns')
  const down = convertResult({ ...result100, dns: undefined }, '0.3.0') as { ips: Array<Record<string, unknown>>; dns?: unknown }
  t.equal(down.ips[0].version, '4')
  t.strictSame(down.dns, {}, '0.x always carries dns, as the Go library prints it')
})

t.test("a 0.3.1 result in the 1.0.0 shape (Spiderpool's IPAM prints it so) is accepted and printed with version keys", async (t) => {
  const spiderpool = { cniVersion: '0.3.1', ips: [{ address: '10.6.212.145/16', gateway: '10.6.0.1' }], routes: [{ dst: '0.0.0.0/0', gw: '10.6.0.1' }], dns: {} }
  t.strictSame(convertResult(spiderpool, '0.3.1'), { ...spiderpool, ips: [{ version: '4', address: '10.6.212.145/16', gateway: '10.6.0.1' }] })
})

t.test('fields new in 1.1.0 appear only in 1.1.0 results', async (t) => {
  const r110 = {
    cniVersion: '1.1.0',
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', mtu: 9000, sandbox: '/var/run/netns/p1', socketPath: '/run/x.sock', pciID: '0000:af:00.2' }],
    ips: [{ interface: 0, address: '10.6.1.10/16' }],
    routes: [{ dst: '10.7.0.0/16', gw: '10.6.0.1', mtu: 1400, advmss: 1360, priority: 10, table: 101, scope: 0 }],
  }
  t.strictSame(convertResult(r110, '1.1.0'), r110)
  t.strictSame(convertResult(r110, '1.0.0'), {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/var/run/netns/p1' }],
    ips: [{ interface: 0, address: '10.6.1.10/16' }],
    routes: [{ dst: '10.7.0.0/16', gw: '10.6.0.1' }],
  })
})

t.test('a result that cannot be decoded is refused with code 6 and every problem named', async (t) => {
  const err = t.throws(() =>
    parseResult({
      cniVersion: '0.3.1',
      ips: [
        { version: '6', address: '10.6.1.10/16' },
        { version: '4', address: '10.6.1.11' },
        { address: '10.6.1.12/16', gateway: 'fd00::1', interface: 3 },
      ],
      routes: [{ gw: '10.6.0.1' }],
    }),
  ) as CniError
  t.equal(err.code, 6)
  t.match(err.details, /ips\[0\]\.version "6" does not match the IPv4 address/)
  t.match(err.details, /ips\[1\]\.address "10\.6\.1\.11" is not an address with a prefix length/)
  t.match(err.details, /ips\[2\]\.gateway "fd00::1" is not an IPv4 address/)
  t.match(err.details, /ips\[2\]\.interface 3 is not an index into interfaces/)
  t.match(err.details, /routes\[0\]\.dst is missing/)
})
