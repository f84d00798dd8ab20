import t, { type Test } from 'tap'
import { spiderIPPoolWebhook as webhook } from '../../webhooks/spiderippool/index.ts'
import { clusterFromObjects, type ClusterContents } from '../../webhooks/cluster.ts'
import { defaultSettings, type Settings } from '../../webhooks/settings.ts'
import { isRefusal, type FieldError, type ValidationResult } from '../../webhooks/field.ts'
import type { AdmissionContext, Operation } from '../../webhooks/kind.ts'
import type { SpiderIPPool, SpiderSubnet } from '../../schemas/types.ts'

const ctx = (operation: Operation, cluster: ClusterContents = {}, settings: Partial<Settings> = {}): AdmissionContext => ({
  operation,
  settings: { ...defaultSettings(), enableSpiderSubnet: false, ...settings },
  cluster: clusterFromObjects(cluster),
  dryRun: false,
})

const pool = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}, status?: Record<string, unknown>): SpiderIPPool =>
  ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'pool', ...metadata }, spec, status }) as SpiderIPPool
const named = (name: string, spec: Record<string, unknown>, labels?: Record<string, string>) => pool(spec, { name, labels })

const subnet = (name: string, spec: Record<string, unknown>, status?: Record<string, unknown>): SpiderSubnet =>
  ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', metadata: { name, uid: `uid-${name}` }, spec, status }) as SpiderSubnet

const fieldErrors = (t: Test, r: ValidationResult): FieldError[] => {
  if (isRefusal(r)) {
    t.fail(`unexpected refusal: ${r.message}`)
    return []
  }
  return r
}
const create = (t: Test, p: SpiderIPPool, cluster: ClusterContents = {}, settings: Partial<Settings> = {}) =>
  fieldErrors(t, webhook.validateCreate(p, ctx('CREATE', cluster, settings)))
const update = (t: Test, old: SpiderIPPool, p: SpiderIPPool, cluster: ClusterContents = {}, settings: Partial<Settings> = {}) =>
  fieldErrors(t, webhook.validateUpdate(old, p, ctx('UPDATE', cluster, settings)))
/** `field: detail` of each error */
const texts = (errors: FieldError[]) => errors.map((e) => `${e.field}: ${e.detail}`)

const v4 = (spec: Record<string, unknown> = {}) => pool({ ipVersion: 4, subnet: '172.18.40.0/24', ...spec })
const v6 = (spec: Record<string, unknown> = {}) => pool({ ipVersion: 6, subnet: 'fd00:10::/120', ...spec })

t.test('a plain IPv4 and a plain IPv6 pool are accepted on CREATE and UPDATE', async (t) => {
  const a = v4({ ips: ['172.18.40.10-172.18.40.20'], excludeIPs: ['172.18.40.15'], gateway: '172.18.40.1', routes: [{ dst: '10.0.0.0/8', gw: '172.18.40.254' }] })
  const b = v6({ ips: ['fd00:10::10-fd00:10::20'], gateway: 'fd00:10::1', routes: [{ dst: 'fd00:20::/64', gw: 'fd00:10::fe' }] })
  t.same(create(t, a), [])
  t.same(create(t, b), [])
  t.same(update(t, a, a), [])
  t.same(update(t, b, b), [])
})

t.test('IPPOOL-V-01 an absent ipVersion is refused at spec.ipVersion', async (t) => {
  t.same(texts(create(t, pool({ subnet: 'x' }))), ["spec.ipVersion: is not generated correctly, 'spec.subnet' may be invalid"])
  t.same(texts(update(t, pool({ subnet: 'x' }), pool({ subnet: 'x' }))), ["spec.ipVersion: is not generated correctly, 'spec.subnet' may be invalid"])
  t.same(create(t, v4()), [])
})

t.test('IPPOOL-V-02 an ipVersion other than 4 or 6 is an unsupported value', async (t) => {
  const [e] = create(t, pool({ ipVersion: 5, subnet: '172.18.40.0/24' }))
  t.match(e, { field: 'spec.ipVersion', type: 'FieldValueNotSupported', value: 5, detail: 'supported values: "4", "6"' })
  t.same(create(t, v6()), [])
})

t.test('IPPOOL-V-03 a disabled family is forbidden', async (t) => {
  t.same(texts(create(t, v4(), {}, { enableIPv4: false })), ['spec.ipVersion: IPv4 is disabled'])
  t.same(texts(create(t, v6(), {}, { enableIPv6: false })), ['spec.ipVersion: IPv6 is disabled'])
  t.same(create(t, v4(), {}, { enableIPv6: false }), [])
  t.equal(create(t, v4(), {}, { enableIPv4: false })[0].type, 'FieldValueForbidden')
})

t.test('IPPOOL-V-04 a subnet that is not a CIDR of the pool family is refused on CREATE', async (t) => {
  t.same(texts(create(t, pool({ ipVersion: 4, subnet: 'fd00:10::/120' }))), ["spec.subnet: invalid CIDR format in IPv4 'fd00:10::/120'"])
  t.same(texts(create(t, pool({ ipVersion: 6, subnet: '172.18.40.0/24' }))), ["spec.subnet: invalid CIDR format in IPv6 '172.18.40.0/24'"])
  t.same(texts(create(t, pool({ ipVersion: 4, subnet: '172.18.40.0/33' }))), ["spec.subnet: invalid CIDR format in IPv4 '172.18.40.0/33'"])
  t.same(create(t, v6()), [])
})

t.test('IPPOOL-V-05 a subnet not written canonically is refused with the canonical form', async (t) => {
  t.same(texts(create(t, pool({ ipVersion: 4, subnet: '172.18.40.1/24' }))), ['spec.subnet: unformatted subnet 172.18.40.1/24, please change it to 172.18.40.0/24'])
  t.same(texts(create(t, pool({ ipVersion: 6, subnet: 'fd00:0:0::/64' }))), ['spec.subnet: unformatted subnet fd00:0:0::/64, please change it to fd00::/64'])
  t.same(texts(create(t, pool({ ipVersion: 6, subnet: 'ABCD:1234::/120' }))), ['spec.subnet: unformatted subnet ABCD:1234::/120, please change it to abcd:1234::/120'])
  t.same(create(t, pool({ ipVersion: 6, subnet: 'abcd:1234::/120' })), [])
  t.same(update(t, pool({ ipVersion: 4, subnet: '172.18.40.1/24' }), pool({ ipVersion: 4, subnet: '172.18.40.1/24' })), [], 'not checked on UPDATE')
})

t.test('IPPOOL-V-06 a pool of the same name and version that exists already is refused with AlreadyExists', async (t) => {
  const existing = named('pool', { ipVersion: 4, subnet: '172.18.40.0/24' })
  const r = webhook.validateCreate(v4(), ctx('CREATE', { ippools: [existing] }))
  t.same(r, { reason: 'AlreadyExists', message: 'SpiderIPPool.spiderpool.spidernet.io "pool" already exists' })
  t.same(create(t, v6(), { ippools: [existing] }), [], 'same name, other version: left to the API server')
})

t.test('IPPOOL-V-07 a subnet overlapping another pool of a different subnet is refused; the identical subnet is shared', async (t) => {
  const wide = named('wide', { ipVersion: 4, subnet: '172.18.0.0/16' })
  t.same(texts(create(t, v4(), { ippools: [wide] })), ["spec.subnet: overlap with IPPool wide which 'spec.subnet' is 172.18.0.0/16"])
  t.same(create(t, v4(), { ippools: [named('same', { ipVersion: 4, subnet: '172.18.40.0/24' })] }), [])
  t.same(create(t, v4(), { ippools: [named('beside', { ipVersion: 4, subnet: '172.18.41.0/24' })] }), [])
  const wide6 = named('wide6', { ipVersion: 6, subnet: 'fd00::/16' })
  t.same(texts(create(t, v6(), { ippools: [wide6] })), ["spec.subnet: overlap with IPPool wide6 which 'spec.subnet' is fd00::/16"])
  t.same(create(t, v6(), { ippools: [named('narrow6', { ipVersion: 6, subnet: 'fd00:11::/120' })] }), [])
  const broken = named('broken', { ipVersion: 4, subnet: 'nonsense' })
  t.match(create(t, v4(), { ippools: [broken] }), [{ field: 'spec.subnet', type: 'InternalError' }])
})

t.test('IPPOOL-V-07 every overlapping pool is named, in name order across subnets, among many pools', async (t) => {
  const pools = [
    named('a-wide', { ipVersion: 4, subnet: '172.16.0.0/12' }),
    named('b-beside', { ipVersion: 4, subnet: '10.0.0.0/8' }),
    named('b-inside', { ipVersion: 4, subnet: '172.18.40.128/25' }),
    named('b-after', { ipVersion: 4, subnet: '172.18.41.0/25' }),
    named('b-before', { ipVersion: 4, subnet: '172.18.39.128/25' }),
    named('b-unwritten', { ipVersion: 4, subnet: '172.18.40.1/24' }),
    named('c-broken', { ipVersion: 4, subnet: 'nonsense' }),
    named('d-wider', { ipVersion: 4, subnet: '172.18.0.0/16' }),
    named('e-wide', { ipVersion: 4, subnet: '172.16.0.0/12' }),
    named('f-same', { ipVersion: 4, subnet: '172.18.40.0/24' }),
    named('g-six', { ipVersion: 6, subnet: 'fd00::/8' }),
    ...Array.from({ length: 500 }, (_, i) => named(`h-${i}`, { ipVersion: 4, subnet: `10.${i >> 8}.${i & 255}.0/24` })),
  ]
  t.same(
    create(t, v4(), { ippools: pools }).map((e) => [e.type, e.detail]),
    [
      ['FieldValueInvalid', "overlap with IPPool a-wide which 'spec.subnet' is 172.16.0.0/12"],
      ['FieldValueInvalid', "overlap with IPPool b-inside which 'spec.subnet' is 172.18.40.128/25"],
      ['FieldValueInvalid', "overlap with IPPool b-unwritten which 'spec.subnet' is 172.18.40.1/24"],
      ['InternalError', "failed to compare whether 'spec.subnet' overlaps: invalid CIDR format in IPv4 'nonsense'"],
      ['FieldValueInvalid', "overlap with IPPool d-wider which 'spec.subnet' is 172.18.0.0/16"],
      ['FieldValueInvalid', "overlap with IPPool e-wide which 'spec.subnet' is 172.16.0.0/12"],
    ],
  )
  const r = webhook.validateCreate(named('h-7', { ipVersion: 4, subnet: '192.168.0.0/24' }), ctx('CREATE', { ippools: pools }))
  t.same(r, { reason: 'AlreadyExists', message: 'SpiderIPPool.spiderpool.spidernet.io "h-7" already exists' }, 'IPPOOL-V-06 among many pools')
})

t.test('IPPOOL-V-07 IPPOOL-V-11 a later snapshot is judged by its own pools, not by those of an earlier one', async (t) => {
  const settings = { ...defaultSettings(), enableSpiderSubnet: false }
  const judged = (ippools: SpiderIPPool[]) => {
    const r = webhook.validateCreate(v4({ ips: ['172.18.40.5'] }), { operation: 'CREATE', settings, cluster: clusterFromObjects({ ippools }), dryRun: false })
    return isRefusal(r) ? [r.message] : texts(r)
  }
  t.same(judged([]), [])
  t.same(judged([named('wide', { ipVersion: 4, subnet: '172.18.0.0/16' })]), ["spec.subnet: overlap with IPPool wide which 'spec.subnet' is 172.18.0.0/16"])
  t.same(judged([named('same', { ipVersion: 4, subnet: '172.18.40.0/24', ips: ['172.18.40.5'] })]), [
    "spec.ips: overlap with IPPool same in IP ranges [172.18.40.5], total IP addresses of an IPPool are jointly determined by 'spec.ips' and 'spec.excludeIPs'",
  ])
  t.same(judged([]), [])
})

t.test('IPPOOL-V-11 pools found by subnet or by CIDR label are each compared once, in name order', async (t) => {
  const label = { 'ipam.spidernet.io/ippool-cidr': '172-18-40-0-24' }
  const bySubnet = named('b-subnet', { ipVersion: 4, subnet: '172.18.40.0/24', ips: ['172.18.40.1'] })
  const byBoth = named('a-both', { ipVersion: 4, subnet: '172.18.40.0/24', ips: ['172.18.40.1'] }, label)
  const byLabel = named('c-label', { ipVersion: 4, subnet: '172.18.40.0/25', ips: ['172.18.40.1'] }, label)
  const mine = pool({ ipVersion: 4, subnet: '172.18.40.0/24', ips: ['172.18.40.1'] }, { name: 'pool', labels: label })
  const overlaps = (errors: FieldError[]) => errors.filter((e) => e.field === 'spec.ips').map((e) => e.detail.split(' in IP')[0])
  t.same(overlaps(update(t, mine, mine, { ippools: [bySubnet, byBoth, byLabel, mine] })), ['overlap with IPPool a-both', 'overlap with IPPool b-subnet', 'overlap with IPPool c-label'])
})

t.test('IPPOOL-V-08 ips and excludeIPs entries are ranges inside the subnet, reported at the entry', async (t) => {
  const errors = create(
    t,
    v4({
      ips: ['172.18.40.1-172.18.40.2-172.18.40.3', '172.18.40.0/28', 'abc', '172.18.41.1', 'fd00:10::1', '172.18.40.5-'],
      excludeIPs: ['172.18.40.9-172.18.50.1', '172.18.40.7'],
    }),
  )
  t.same(texts(errors), [
    'spec.ips[0]: invalid range: 172.18.40.1-172.18.40.2-172.18.40.3',
    'spec.ips[1]: invalid range: 172.18.40.0/28',
    'spec.ips[2]: invalid IP address: abc',
    'spec.ips[3]: not match base subnet: 172.18.41.1',
    'spec.ips[4]: not match base subnet: fd00:10::1',
    'spec.ips[5]: invalid IP address: ',
    'spec.excludeIPs[0]: not match base subnet: 172.18.50.1',
  ])
  t.same(errors[0].value, '172.18.40.1-172.18.40.2-172.18.40.3')
  t.same(texts(create(t, v6({ ips: ['172.18.40.1', 'fd00:11::1'] }))), ['spec.ips[0]: not match base subnet: 172.18.40.1', 'spec.ips[1]: not match base subnet: fd00:11::1'])
  t.same(create(t, v4({ ips: ['172.18.40.0-172.18.40.255'], excludeIPs: ['172.18.40.0', '172.18.40.255'] })), [], 'the whole subnet, network and broadcast included')
  t.same(create(t, v6({ ips: ['fd00:10::-fd00:10::ff'] })), [])
})

t.test('IPPOOL-V-08 a reversed range is refused at the entry on CREATE and on UPDATE', async (t) => {
  const reversed = v4({ ips: ['172.18.40.10-172.18.40.1'] })
  const detail = 'spec.ips[0]: invalid range: 172.18.40.10-172.18.40.1, its first IP is greater than its last'
  t.same(texts(create(t, reversed)), [detail])
  t.same(texts(update(t, reversed, reversed)), [detail])
  t.same(texts(create(t, v6({ excludeIPs: ['fd00:10::9-fd00:10::1'] }))), ['spec.excludeIPs[0]: invalid range: fd00:10::9-fd00:10::1, its first IP is greater than its last'])
})

t.test('IPPOOL-V-09 ips entries that overlap one another are refused (later entry named first)', async (t) => {
  t.same(texts(create(t, v4({ ips: ['172.18.40.1-172.18.40.10', '172.18.40.2-172.18.40.3'] }))), [
    'spec.ips[1]: range 172.18.40.2-172.18.40.3 is already covered by 172.18.40.1-172.18.40.10',
  ])
  t.same(texts(create(t, v4({ ips: ['172.18.40.5', '172.18.40.1-172.18.40.10'] }))), ['spec.ips[1]: range 172.18.40.1-172.18.40.10 covers 172.18.40.5'])
  t.same(texts(create(t, v6({ ips: ['fd00:10::1-fd00:10::5', 'fd00:10::4-fd00:10::9'] }))), ['spec.ips[1]: range fd00:10::4-fd00:10::9 overlaps with fd00:10::1-fd00:10::5'])
  t.same(create(t, v4({ ips: ['172.18.40.1-172.18.40.4', '172.18.40.5-172.18.40.9'] })), [], 'adjacent is not overlapping')
})

t.test('IPPOOL-V-10 another pool of the same subnet whose ranges cannot be read is reported at spec.subnet', async (t) => {
  const garbage = named('garbage', { ipVersion: 4, subnet: '172.18.40.0/24', ips: ['nonsense'] }, { 'ipam.spidernet.io/ippool-cidr': '172-18-40-0-24' })
  const [e] = create(t, v4({ ips: ['172.18.40.1'] }), { ippools: [garbage] })
  t.match(e, { field: 'spec.subnet', value: '172.18.40.0/24', detail: 'IPPool garbage: invalid IP address: nonsense' })
  const legacy = named('legacy', { ipVersion: 4, subnet: '172.18.40.0/24', ips: ['172.18.40.20-172.18.40.10'] })
  t.same(create(t, v4({ ips: ['172.18.40.1'] }), { ippools: [legacy] }), [], "another pool's reversed range is read swapped, as Spiderpool reads it")
})

t.test('IPPOOL-V-11 sharing an address with another pool of the same subnet is forbidden; excluded addresses do not count', async (t) => {
  const other = named('other', { ipVersion: 4, subnet: '172.18.40.0/24', ips: ['172.18.40.1-172.18.40.10', '172.18.40.50'] })
  const [e] = create(t, v4({ ips: ['172.18.40.10-172.18.40.20'] }), { ippools: [other] })
  t.match(e, {
    field: 'spec.ips',
    type: 'FieldValueForbidden',
    detail:
      "overlap with IPPool other in IP ranges [172.18.40.1-172.18.40.10], total IP addresses of an IPPool are jointly determined by 'spec.ips' and 'spec.excludeIPs'",
  })
  t.same(create(t, v4({ ips: ['172.18.40.10-172.18.40.20'], excludeIPs: ['172.18.40.10'] }), { ippools: [other] }), [], 'excluded on this side')
  const otherExcludes = named('other', { ipVersion: 4, subnet: '172.18.40.0/24', ips: ['172.18.40.1-172.18.40.10'], excludeIPs: ['172.18.40.10'] })
  t.same(create(t, v4({ ips: ['172.18.40.10-172.18.40.20'] }), { ippools: [otherExcludes] }), [], 'excluded on the other side')
  const other6 = named('other6', { ipVersion: 6, subnet: 'fd00:10::/120', ips: ['fd00:10::1-fd00:10::a'] })
  t.same(texts(create(t, v6({ ips: ['fd00:10::a-fd00:10::14'] }), { ippools: [other6] })), [
    "spec.ips: overlap with IPPool other6 in IP ranges [fd00:10::1-fd00:10::a], total IP addresses of an IPPool are jointly determined by 'spec.ips' and 'spec.excludeIPs'",
  ])
  t.same(create(t, v6({ ips: ['fd00:10::b-fd00:10::14'] }), { ippools: [other6] }), [])
  const update6 = named('other6', { ipVersion: 6, subnet: 'fd00:10::/120', ips: ['fd00:10::1-fd00:10::a'] })
  t.same(update(t, update6, update6, { ippools: [other6] }), [], 'on UPDATE the pool itself is not another pool')
})

t.test('IPPOOL-V-12 a gateway that is not an address of the pool family is refused', async (t) => {
  t.same(texts(create(t, v4({ gateway: '172.18.40.300' }))), ["spec.gateway: invalid IP format in IPv4 '172.18.40.300'"])
  t.same(texts(create(t, v6({ gateway: '172.18.40.1' }))), ["spec.gateway: invalid IP format in IPv6 '172.18.40.1'"])
  t.same(texts(create(t, v4({ gateway: '' }))), ["spec.gateway: invalid IP format in IPv4 ''"])
  t.same(create(t, v6({ gateway: 'FD00:10::1' })), [])
})

t.test('IPPOOL-V-13 a gateway outside the subnet is refused; network and broadcast addresses are inside', async (t) => {
  t.same(texts(create(t, v4({ gateway: '172.18.41.1' }))), ["spec.gateway: not pertains to the 'spec.subnet' 172.18.40.0/24 of IPPool"])
  t.same(texts(create(t, v6({ gateway: 'fd00:11::1' }))), ["spec.gateway: not pertains to the 'spec.subnet' fd00:10::/120 of IPPool"])
  t.same(create(t, v4({ gateway: '172.18.40.0' })), [])
  t.same(create(t, v4({ gateway: '172.18.40.255' })), [])
  t.same(create(t, v6({ gateway: 'fd00:10::ff' })), [])
})

t.test('IPPOOL-V-14 a gateway inside ips and not excluded is refused at the ips entry', async (t) => {
  const detail = "conflicts with 'spec.gateway' 172.18.40.5, add the gateway IP address to 'spec.excludeIPs' or remove it from 'spec.ips'"
  const [e] = create(t, v4({ ips: ['172.18.40.1', '172.18.40.3-172.18.40.9'], gateway: '172.18.40.5' }))
  t.match(e, { field: 'spec.ips[1]', value: '172.18.40.3-172.18.40.9', detail })
  t.same(texts(create(t, v4({ ips: ['172.18.40.5'], gateway: '172.18.40.5' }))), [`spec.ips[0]: ${detail}`])
  t.same(create(t, v4({ ips: ['172.18.40.3-172.18.40.9'], excludeIPs: ['172.18.40.4-172.18.40.6'], gateway: '172.18.40.5' })), [])
  t.same(texts(create(t, v6({ ips: ['fd00:10::1-fd00:10::ff'], gateway: 'fd00:10::1' }))), [
    "spec.ips[0]: conflicts with 'spec.gateway' fd00:10::1, add the gateway IP address to 'spec.excludeIPs' or remove it from 'spec.ips'",
  ])
  t.same(texts(create(t, v6({ ips: ['fd00:10:0::1'], gateway: 'fd00:10::1' }))).length, 1, 'the same address written differently still conflicts')
  t.same(create(t, v6({ ips: ['fd00:10::1-fd00:10::ff'], excludeIPs: ['fd00:10::1'], gateway: 'fd00:10::1' })), [])
})

t.test('IPPOOL-V-15 a default route is refused: the gateway makes it', async (t) => {
  const detail = "please specify 'spec.gateway' to configure the default route"
  t.same(texts(create(t, v4({ routes: [{ dst: '0.0.0.0/0', gw: '172.18.40.1' }] }))), [`spec.routes[0].dst: ${detail}`])
  t.same(texts(create(t, v6({ routes: [{ dst: '::/0', gw: 'fd00:10::1' }] }))), [`spec.routes[0].dst: ${detail}`])
  t.same(texts(create(t, v6({ routes: [{ dst: '0.0.0.0/0', gw: 'fd00:10::1' }] }))), ["spec.routes[0].dst: invalid CIDR format in IPv6 '0.0.0.0/0'"])
  t.same(create(t, v4({ routes: [{ dst: '0.0.0.0/1', gw: '172.18.40.1' }] })), [])
})

t.test('IPPOOL-V-16 two routes to the same dst are refused', async (t) => {
  const routes = [
    { dst: '10.0.0.0/8', gw: '172.18.40.1' },
    { dst: '10.0.0.0/8', gw: '172.18.40.2' },
  ]
  t.same(texts(create(t, v4({ routes }))), ['spec.routes[1].dst: duplicate route with the same dst'])
  const routes6 = [
    { dst: 'fd00:20::/64', gw: 'fd00:10::1' },
    { dst: 'FD00:20::/64', gw: 'fd00:10::2' },
  ]
  t.same(texts(create(t, v6({ routes: routes6 }))), ['spec.routes[1].dst: duplicate route with the same dst'], 'the same network written differently')
  t.same(create(t, v4({ routes: [routes[0], { dst: '10.0.0.0/9', gw: '172.18.40.1' }] })), [])
})

t.test('IPPOOL-V-17 a dst that is not a CIDR of the pool family is refused; host bits are allowed', async (t) => {
  t.same(texts(create(t, v4({ routes: [{ dst: '10.0.0.0', gw: '172.18.40.1' }] }))), ["spec.routes[0].dst: invalid CIDR format in IPv4 '10.0.0.0'"])
  t.same(texts(create(t, v6({ routes: [{ dst: '10.0.0.0/8', gw: 'fd00:10::1' }] }))), ["spec.routes[0].dst: invalid CIDR format in IPv6 '10.0.0.0/8'"])
  t.same(create(t, v4({ routes: [{ dst: '10.0.0.1/8', gw: '172.18.40.1' }] })), [])
})

t.test('IPPOOL-V-18 a route gw must be an address of the family inside the subnet, not necessarily in ips', async (t) => {
  t.same(texts(create(t, v4({ routes: [{ dst: '10.0.0.0/8', gw: 'fd00:10::1' }] }))), ["spec.routes[0].gw: invalid IP format in IPv4 'fd00:10::1'"])
  t.same(texts(create(t, v4({ routes: [{ dst: '10.0.0.0/8', gw: '172.18.41.1' }] }))), ["spec.routes[0].gw: not pertains to the 'spec.subnet' 172.18.40.0/24 of IPPool"])
  t.same(texts(create(t, v6({ routes: [{ dst: 'fd00:20::/64', gw: 'fd00:11::1' }] }))), ["spec.routes[0].gw: not pertains to the 'spec.subnet' fd00:10::/120 of IPPool"])
  t.same(create(t, v4({ ips: ['172.18.40.10'], routes: [{ dst: '10.0.0.0/8', gw: '172.18.40.254' }] })), [])
})

const autoLabels = { 'ipam.spidernet.io/owner-application-name': 'web' }
const appAffinity = {
  matchLabels: {
    'ipam.spidernet.io/app-api-group': 'apps',
    'ipam.spidernet.io/app-api-version': 'v1',
    'ipam.spidernet.io/app-kind': 'Deployment',
    'ipam.spidernet.io/app-namespace': 'default',
    'ipam.spidernet.io/app-name': 'web',
  },
}

t.test('IPPOOL-V-19 an auto-created pool carries only the application selector', async (t) => {
  const auto = (podAffinity: unknown) => pool({ ipVersion: 4, subnet: '172.18.40.0/24', podAffinity }, { labels: autoLabels })
  t.same(create(t, auto(appAffinity)), [])
  const extra = create(t, auto({ matchLabels: { ...appAffinity.matchLabels, tier: 'front', 'bad key!': 'x' } }))
  t.same(texts(extra), [
    "spec.podAffinity: it's invalid to add additional podAffinity matchLabels for auto-created SpiderIPPool",
    "spec.podAffinity: it's invalid to add additional podAffinity matchLabels for auto-created SpiderIPPool",
  ])
  t.same(extra.map((e) => e.value), ['tier', 'bad key!'], 'one error per extra key, naming it')
  t.same(texts(create(t, auto({ ...appAffinity, matchExpressions: [{ key: 'a', operator: 'Exists' }] }))), [
    "spec.podAffinity: it's invalid to add additional podAffinity matchExpressions for auto-created SpiderIPPool",
  ])
  t.same(create(t, auto({})), [], 'no other selector check on auto pools')
})

t.test('IPPOOL-V-20 the podAffinity of a normal pool follows Kubernetes selector syntax', async (t) => {
  t.same(create(t, v4({ podAffinity: { matchLabels: { 'example.com/app': 'web', tier: '' }, matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } })), [])
  const errors = create(
    t,
    v4({
      podAffinity: {
        matchLabels: { 'bad key': 'ok', good: 'bad value!' },
        matchExpressions: [
          { key: 'a', operator: 'Near', values: ['x'] },
          { key: 'b', operator: 'In', values: [] },
          { key: 'c', operator: 'Exists', values: ['x'] },
          { key: '-c', operator: 'NotIn', values: ['-v'] },
        ],
      },
    }),
  )
  t.same(
    errors.map((e) => [e.field, e.type]),
    [
      ['spec.podAffinity.matchLabels', 'FieldValueInvalid'],
      ['spec.podAffinity.matchLabels', 'FieldValueInvalid'],
      ['spec.podAffinity.matchExpressions[0].operator', 'FieldValueInvalid'],
      ['spec.podAffinity.matchExpressions[1].values', 'FieldValueRequired'],
      ['spec.podAffinity.matchExpressions[2].values', 'FieldValueForbidden'],
      ['spec.podAffinity.matchExpressions[3].key', 'FieldValueInvalid'],
      ['spec.podAffinity.matchExpressions[3].values[0]', 'FieldValueInvalid'],
    ],
  )
  t.equal(errors[2].detail, 'not a valid selector operator')
  t.equal(errors[3].detail, "must be specified when `operator` is 'In' or 'NotIn'")
  t.equal(errors[4].detail, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
})

t.test('IPPOOL-V-21 an empty podAffinity of a normal pool is refused; an absent one is fine', async (t) => {
  t.same(texts(create(t, v4({ podAffinity: {} }))), ['spec.podAffinity: empty podAffinity is invalid for SpiderIPPool'])
  t.same(texts(create(t, v4({ podAffinity: { matchLabels: {}, matchExpressions: [] } }))), ['spec.podAffinity: empty podAffinity is invalid for SpiderIPPool'])
  t.same(create(t, v4({ podAffinity: null })), [])
  t.same(create(t, v4()), [])
})

const controlled = (spec: Record<string, unknown>, labels: Record<string, string> = {}, kind = 'SpiderSubnet') =>
  pool(
    { ipVersion: 4, subnet: '172.18.40.0/24', ...spec },
    { labels, ownerReferences: [{ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind, name: 'subnet-a', uid: 'uid-subnet-a', controller: true }] },
  )
const subnetA = subnet('subnet-a', { ipVersion: 4, subnet: '172.18.40.0/24', ips: ['172.18.40.1-172.18.40.100'], excludeIPs: ['172.18.40.50'] })
const on = { enableSpiderSubnet: true }

t.test('IPPOOL-V-22 a pool controlled by a SpiderSubnet uses only addresses of that subnet', async (t) => {
  t.same(create(t, controlled({ ips: ['172.18.40.10-172.18.40.20'] }), { subnets: [subnetA] }, on), [])
  t.same(update(t, controlled({}), controlled({ ips: ['172.18.40.10-172.18.40.20'] }), { subnets: [subnetA] }, on), [])
  const [e] = create(t, controlled({ ips: ['172.18.40.45-172.18.40.55', '172.18.40.99-172.18.40.102'] }), { subnets: [subnetA] }, on)
  t.match(e, {
    field: 'spec.ips',
    type: 'FieldValueForbidden',
    detail:
      "add some IP ranges [172.18.40.50 172.18.40.101-172.18.40.102] that are not contained in controller Subnet subnet-a, total IP addresses of an IPPool are jointly determined by 'spec.ips' and 'spec.excludeIPs'",
  })
  t.same(create(t, controlled({ ips: ['172.18.40.45-172.18.40.55'], excludeIPs: ['172.18.40.50'] }), { subnets: [subnetA] }, on), [], 'excluding the address fixes it')
  t.same(create(t, controlled({ ips: ['172.18.40.150'] }), { subnets: [subnetA] }), [], 'SpiderSubnet feature off: not checked')
  t.same(create(t, controlled({ ips: ['172.18.40.150'] }, {}, 'Deployment'), { subnets: [subnetA] }, on), [], 'a controller of another kind is not a subnet')
  t.same(create(t, controlled({}), {}, on), [], 'an empty pool needs no subnet')
  t.match(create(t, controlled({ ips: ['172.18.40.10'] }), {}, on), [{ field: 'spec.subnet', type: 'InternalError', detail: 'failed to get controller Subnet subnet-a: not found' }])
})

t.test('IPPOOL-V-23 an auto-created pool holds exactly the addresses its subnet handed it', async (t) => {
  const handing = (ips: string[]) =>
    subnet('subnet-a', { ipVersion: 4, subnet: '172.18.40.0/24', ips: ['172.18.40.1-172.18.40.100'] }, { controlledIPPools: JSON.stringify({ pool: { ips, application: 'apps_v1_Deployment_default_web' } }) })
  const auto = controlled({ ips: ['172.18.40.10-172.18.40.12'] }, autoLabels)
  t.same(create(t, auto, { subnets: [handing(['172.18.40.10', '172.18.40.11-172.18.40.12'])] }, on), [])
  const detail = "spec.ips: it's illegal to update AutoPool.Spec.IPs that are different from corresponding SpiderSubnet.Status.ControlledIPPools"
  t.same(texts(create(t, auto, { subnets: [handing(['172.18.40.10-172.18.40.11'])] }, on)), [detail])
  t.same(texts(update(t, auto, auto, { subnets: [subnetA] }, on)), [detail], 'no record for the pool is a mismatch')
  t.same(create(t, controlled({ ips: ['172.18.40.10-172.18.40.12'] }), { subnets: [handing([])] }, on), [], 'only auto-created pools are held to the record')
})

t.test('IPPOOL-V-24 updating a terminating pool is forbidden while it still has the finalizer', async (t) => {
  const terminating = pool({ ipVersion: 4, subnet: '172.18.40.0/24' }, { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['spiderpool.spidernet.io'] })
  t.same(webhook.validateUpdate(terminating, terminating, ctx('UPDATE')), { reason: 'Forbidden', message: 'cannot update a terminating IPPool' })
  const released = pool({ ipVersion: 7, subnet: 'nonsense' }, { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: [] })
  t.same(update(t, terminating, released), [], 'removing the finalizer skips every other check')
})

t.test('IPPOOL-V-25 ipVersion cannot change once set', async (t) => {
  const errors = update(t, v4(), pool({ ipVersion: 6, subnet: '172.18.40.0/24' }))
  t.match(errors[0], { field: 'spec.ipVersion', type: 'FieldValueForbidden', detail: 'is not changeable' })
  t.same(update(t, pool({ subnet: '172.18.40.0/24' }), v4()), [], 'setting it where it was absent is fine')
})

t.test('IPPOOL-V-26 the subnet cannot change', async (t) => {
  const [e] = update(t, v4(), pool({ ipVersion: 4, subnet: '172.18.41.0/24' }))
  t.match(e, { field: 'spec.subnet', type: 'FieldValueForbidden', detail: 'is not changeable' })
  t.same(update(t, v4({ ips: ['172.18.40.1'] }), v4({ ips: ['172.18.40.2'] })), [], 'ips may change')
})

t.test('IPPOOL-V-27 an update may not take away an address a pod holds', async (t) => {
  const allocatedIPs = JSON.stringify({
    '172.18.40.5': { pod: 'default/web-0', podUid: 'u0', reservationId: 'r-1', node: 'n1' },
    '172.18.40.6': { pod: 'default/web-1', podUid: 'u1' },
  })
  const before = v4({ ips: ['172.18.40.1-172.18.40.10'] })
  const after = (spec: Record<string, unknown>) => pool({ ipVersion: 4, subnet: '172.18.40.0/24', ...spec }, {}, { allocatedIPs, allocatedIPCount: 2 })
  t.same(update(t, before, after({ ips: ['172.18.40.5-172.18.40.6'] })), [], 'extra record fields are tolerated')
  const [e] = update(t, before, after({ ips: ['172.18.40.6-172.18.40.10'] }))
  t.match(e, {
    field: 'spec.ips',
    type: 'FieldValueForbidden',
    detail: "remove an IP address 172.18.40.5 that is being used by Pod default/web-0, total IP addresses of an IPPool are jointly determined by 'spec.ips' and 'spec.excludeIPs'",
  })
  t.same(update(t, before, after({ ips: ['172.18.40.1-172.18.40.10'], excludeIPs: ['172.18.40.5-172.18.40.6'] })).length, 2, 'excluding is removing; each held address is named')
  t.match(update(t, before, pool({ ipVersion: 4, subnet: '172.18.40.0/24' }, {}, { allocatedIPs: '{not json' })), [{ field: 'spec.ips', type: 'InternalError' }])
  const v6Held = pool({ ipVersion: 6, subnet: 'fd00:10::/120', ips: ['fd00:10::2-fd00:10::ff'] }, {}, { allocatedIPs: JSON.stringify({ 'fd00:10::1': { pod: 'ns/p' } }) })
  t.same(texts(update(t, v6Held, v6Held)), [
    "spec.ips: remove an IP address fd00:10::1 that is being used by Pod ns/p, total IP addresses of an IPPool are jointly determined by 'spec.ips' and 'spec.excludeIPs'",
  ])
  t.same(create(t, v6Held), [], 'not a CREATE rule')
})

t.test('IPPOOL-D-01 with the delete check on, a pool with allocated IPs cannot be deleted', async (t) => {
  const busy = pool({ ipVersion: 4, subnet: '172.18.40.0/24' }, {}, { allocatedIPCount: 3 })
  t.same(webhook.validateDelete!(busy, ctx('DELETE', {}, { enableValidatingResourcesDeletedWebhook: true })), {
    reason: 'Forbidden',
    message: 'cannot delete an IPPool with allocated IPs(3)',
  })
  t.same(webhook.validateDelete!(busy, ctx('DELETE')), [], 'the check is off by default')
  t.same(webhook.validateDelete!(v4(), ctx('DELETE', {}, { enableValidatingResourcesDeletedWebhook: true })), [])
})

t.test('independent errors are all reported in one result', async (t) => {
  const errors = create(
    t,
    v4({
      ips: ['172.18.40.10-172.18.40.1', '172.18.41.1'],
      excludeIPs: ['garbage'],
      gateway: '172.18.99.1',
      routes: [
        { dst: '0.0.0.0/0', gw: '172.18.40.1' },
        { dst: 'x', gw: 'y' },
      ],
      podAffinity: {},
    }),
  )
  t.same(
    errors.map((e) => e.field),
    ['spec.ips[0]', 'spec.ips[1]', 'spec.excludeIPs[0]', 'spec.gateway', 'spec.routes[0].dst', 'spec.routes[1].dst', 'spec.routes[1].gw', 'spec.podAffinity'],
  )
  const unusable = create(t, pool({ ipVersion: 4, subnet: 'fd00::/64', ips: ['nonsense'], gateway: 'x', podAffinity: {} }))
  t.same(
    unusable.map((e) => e.field),
    ['spec.subnet', 'spec.gateway', 'spec.podAffinity'],
    'no range check against an unusable subnet, but the gateway text and the selector are still judged',
  )
})

t.test('a huge IPv6 pool validates as fast as a small one', async (t) => {
  const huge = v6Huge()
  const start = performance.now()
  t.same(create(t, huge, { ippools: [named('neighbour', { ipVersion: 6, subnet: 'fd12:3456:789a::/48', ips: ['fd12:3456:789a::10-fd12:3456:789a::20'] })] }), [])
  t.same(update(t, huge, huge), [])
  t.ok(performance.now() - start < 500, `took ${Math.round(performance.now() - start)} ms`)

  function v6Huge() {
    const p = pool({
      subnet: 'fd12:3456:789a::/48',
      ips: ['fd12:3456:789a:baba::1-fd12:3456:789a:ffff:ffff:ffff:ffff:ffff'],
      excludeIPs: ['fd12:3456:789a:baba::1-fd12:3456:789a:baba::ff'],
      gateway: 'fd12:3456:789a::1',
    })
    webhook.default(p, ctx('CREATE'))
    return p
  }
})
