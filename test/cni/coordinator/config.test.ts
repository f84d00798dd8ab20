import t from 'tap'
import { CniError } from '../../../cni/errors.ts'
import { asCIDR, netconfMode, resolveConfig } from '../../../cni/coordinator/config.ts'
import type { CoordinatorInputs } from '../../../cni/coordinator/config.ts'

const coordinator = (spec: Record<string, unknown> = {}, status: Record<string, unknown> = {}) =>
  ({
    metadata: { name: 'default' },
    spec: { podCIDRType: 'cluster', mode: 'auto', tunePodRoutes: true, hostRuleTable: 500, podRPFilter: 0, txQueueLen: 0, vethMTU: 1500, hijackCIDR: ['169.254.0.0/16'], ...spec },
    status: { phase: 'Synced', serviceCIDR: ['10.233.0.0/18'], overlayPodCIDR: ['10.233.64.0/18'], ...status },
  }) as CoordinatorInputs['coordinator']

const resolve = (netconf: Record<string, unknown>, inputs: CoordinatorInputs, requireCoordinator = true) =>
  resolveConfig({ name: 'n', type: 'coordinator', ...netconf }, inputs, { requireCoordinator })

t.test('without anything in the network config, values come from the SpiderCoordinator spec and status', async (t) => {
  const c = resolve({}, { coordinator: coordinator({ podMACPrefix: '0A-1b', txQueueLen: 1000, vethLinkAddress: '169.254.100.1' }) })
  t.strictSame(c, {
    mode: 'auto',
    firstNic: 'eth0',
    overlayPodCIDR: ['10.233.64.0/18'],
    serviceCIDR: ['10.233.0.0/18'],
    hijackCIDR: ['169.254.0.0/16'],
    policyRoutes: [],
    tunePodRoutes: true,
    podDefaultRouteNic: '',
    hostRuleTable: 500,
    podRPFilter: 0,
    hostRPFilter: -1,
    txQueueLen: 1000,
    podMACPrefix: '0a:1b',
    vethLinkAddress: '169.254.100.1',
    vethMTU: 1500,
    detectGateway: false,
    detectIPConflict: false,
  })
})

t.test('the network config wins where it has a value; empty strings and lists do not count, 0 and false do', async (t) => {
  const c = resolve(
    { mode: 'underlay', serviceCIDR: ['10.96.0.0/12'], overlayPodCIDR: [], hijackCIDR: [], tunePodRoutes: false, txQueueLen: 0, podRPFilter: 1, podMACPrefix: '', hostRuleTable: 600, vethMTU: 9000 },
    { coordinator: coordinator({ mode: 'overlay', txQueueLen: 1000, podMACPrefix: '0a:1b', hostRuleTable: 700, vethMTU: 1400 }) },
  )
  t.equal(c.mode, 'underlay')
  t.strictSame(c.serviceCIDR, ['10.96.0.0/12'])
  t.strictSame(c.overlayPodCIDR, ['10.233.64.0/18'], 'an empty list falls through')
  t.strictSame(c.hijackCIDR, ['169.254.0.0/16'])
  t.equal(c.tunePodRoutes, false)
  t.equal(c.txQueueLen, 0, '0 is a value')
  t.equal(c.podRPFilter, 1)
  t.equal(c.podMACPrefix, '0a:1b', 'an empty string falls through')
  t.equal(c.hostRuleTable, 600)
  t.equal(c.vethMTU, 9000)
})

t.test('the default-route NIC: network config, then the pod annotation, then the SpiderCoordinator', async (t) => {
  const annotated = { 'ipam.spidernet.io/default-route-nic': 'net1' }
  t.equal(resolve({ podDefaultRouteNic: 'net2' }, { coordinator: coordinator({ podDefaultRouteNIC: 'net3' }), podAnnotations: annotated }).podDefaultRouteNic, 'net2')
  t.equal(resolve({}, { coordinator: coordinator({ podDefaultRouteNIC: 'net3' }), podAnnotations: annotated }).podDefaultRouteNic, 'net1')
  t.equal(resolve({}, { coordinator: coordinator({ podDefaultRouteNIC: 'net3' }) }).podDefaultRouteNic, 'net3')
})

t.test('hostRuleTable and vethMTU fall back to 500 and 1500', async (t) => {
  const c = resolve({}, { coordinator: coordinator({ hostRuleTable: 0, vethMTU: undefined }) })
  t.equal(c.hostRuleTable, 500)
  t.equal(c.vethMTU, 1500)
})

t.test("'disabled' (the CRD's spelling) and 'disable' (Spiderpool's plugin) both turn the coordinator off", async (t) => {
  t.equal(netconfMode({ name: 'n', mode: 'disabled' }), 'disabled')
  t.equal(netconfMode({ name: 'n', mode: 'disable' }), 'disabled')
  t.equal(netconfMode({ name: 'n' }), undefined)
  t.equal(resolve({}, { coordinator: coordinator({ mode: 'disabled' }) }).mode, 'disabled')
})

t.test('a bare IP in hijackCIDR or a policy route becomes a host prefix, host bits are cleared', async (t) => {
  t.equal(asCIDR('10.7.0.9'), '10.7.0.9/32')
  t.equal(asCIDR('FD00::1'), 'fd00::1/128')
  t.equal(asCIDR('10.7.0.9/16'), '10.7.0.0/16')
  const c = resolve({ hijackCIDR: ['172.16.0.10', '10.7.0.9/16'], policyRoutes: [{ dst: '10.8.0.1', gw: '10.6.0.1' }] }, { coordinator: coordinator() })
  t.strictSame(c.hijackCIDR, ['172.16.0.10/32', '10.7.0.0/16'])
  t.strictSame(c.policyRoutes, [{ dst: '10.8.0.1/32', gw: '10.6.0.1', family: 4 }])
})

t.test('every bad value is reported in one code-7 error', async (t) => {
  const err = t.throws(() =>
    resolve(
      {
        mode: 'disabledd',
        serviceCIDR: ['10.96.0.0/33', 'x'],
        policyRoutes: [{ dst: '10.8.0.0/16', gw: 'fd00::1' }, { dst: 'nope' }],
        podRPFilter: -2,
        txQueueLen: -1,
        hostRuleTable: 254,
        podMACPrefix: '03:10',
        vethMTU: 0,
        vethLinkAddress: 'fd00::1',
        podDefaultRouteNic: 'net 1',
        tunePodRoutes: 'yes',
      },
      { coordinator: coordinator() },
    ),
  ) as CniError
  t.equal(err.code, 7)
  for (const part of [
    'unknown mode "disabledd"',
    'serviceCIDR[0]: "10.96.0.0/33" is not a CIDR',
    'serviceCIDR[1]: "x"',
    'policyRoutes[0]: dst 10.8.0.0/16 and gw fd00::1 must use the same IP family',
    'policyRoutes[1].gw',
    'podRPFilter: -2 is not -1',
    'txQueueLen: -1',
    'hostRuleTable: 254 is not a free routing table',
    'podMACPrefix: "03:10" starts with a multicast byte',
    'vethMTU: 0',
    'vethLinkAddress: "fd00::1" is not an IPv4 address',
    'podDefaultRouteNic: interface name "net 1" contains',
    'tunePodRoutes: "yes" is not true or false',
  ]) t.ok(err.details.includes(part), part)
})

t.test('ADD needs the SpiderCoordinator, and Synced (code 11 otherwise); DEL goes on without it', async (t) => {
  t.throws(() => resolve({}, {}), { code: 11, message: 'spidercoordinator "default" not found' })
  t.throws(() => resolve({}, { coordinator: coordinator({}, { phase: 'NotReady', reason: 'No kube-controller-manager pod found' }) }), {
    code: 11,
    message: 'spidercoordinator "default" is not ready (phase "NotReady"): No kube-controller-manager pod found',
  })
  const del = resolve({ hostRuleTable: 600 }, {}, false)
  t.strictSame([del.mode, del.hostRuleTable, del.firstNic], ['auto', 600, 'eth0'])
})
