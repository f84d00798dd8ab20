import t from 'tap'
import { parseIPPool, parseIPPools, parseNamespaceDefaultPools, parseRoutes, parseSubnetAnnotations } from '../../webhooks/pod/annotations.ts'

const ippools = "wrong input, invalid format of Pod annotation 'ipam.spidernet.io/ippools'"
const ippool = "wrong input, invalid format of Pod annotation 'ipam.spidernet.io/ippool'"
const routes = "wrong input, invalid format of Pod annotation 'ipam.spidernet.io/routes'"

t.test('ipam.spidernet.io/ippool: pools per family, wildcards kept for later, Go decoding (null, any key case)', async (t) => {
  t.same(parseIPPool('{"ipv4": ["pool-v4-a", "backup-v4-*"], "ipv6": ["pool-v6-a"]}'), { value: { ipv4: ['pool-v4-a', 'backup-v4-*'], ipv6: ['pool-v6-a'] } })
  t.same(parseIPPool('{\n  "ipv4": ["ippool-test"]\n}'), { value: { ipv4: ['ippool-test'], ipv6: [] } }, 'the macvlan underlay Deployment')
  t.same(parseIPPool('{"IPv4": ["a"], "ipv6": null, "other": 1}'), { value: { ipv4: ['a'], ipv6: [] } })
  t.same(parseIPPool('null'), { value: { ipv4: [], ipv6: [] } })
  t.match(parseIPPool('{"ipv4": "a"}').error, `${ippool}: json: cannot unmarshal string into Go struct field AnnoPodIPPoolValue.ipv4 of type []string`)
  t.match(parseIPPool('{"ipv4": [1]}').error, `${ippool}: json: cannot unmarshal number`)
  t.match(parseIPPool('["a"]').error, `${ippool}: json: cannot unmarshal array into Go value of type types.AnnoPodIPPoolValue`)
  t.match(parseIPPool('{').error, new RegExp(`^${ippool.replace(/[.*/]/g, '\\$&')}: `))
})

t.test('ipam.spidernet.io/ippools: items with interface and cleangateway, validated as Spiderpool does', async (t) => {
  t.same(parseIPPools('[{"interface":"eth0","ipv4":["a"],"ipv6":["b"]},{"interface":"net1","ipv4":["c"],"cleangateway":true}]'), {
    value: [
      { interface: 'eth0', ipv4: ['a'], ipv6: ['b'], cleanGateway: false },
      { interface: 'net1', ipv4: ['c'], ipv6: [], cleanGateway: true },
    ],
  })
  t.same(parseIPPools('[{"ipv4":["a"]},{"ipv4":["b"]}]').value?.map((i) => i.interface), ['', ''], 'unnamed mode')
  t.same(parseIPPools('[]'), { error: `${ippools}: value requires at least one item` })
  t.same(parseIPPools('null'), { error: `${ippools}: value requires at least one item` })
  t.same(parseIPPools('[{"interface":"eth0","ipv4":["a"]},{"ipv4":["b"]}]'), { error: `${ippools}: NIC should be either all specified or all unspecified` })
  t.same(parseIPPools('[{"interface":"eth0","ipv4":["a"]},{"interface":"eth0","ipv4":["b"]}]'), { error: `${ippools}: duplicate interface eth0` })
  t.same(parseIPPools('{"interface":"eth0"}'), { error: `${ippools}: json: cannot unmarshal object into Go value of type types.AnnoPodIPPoolsValue` })
  t.same(parseIPPools('[{"interface":"eth0","cleangateway":"yes"}]'), { error: `${ippools}: json: cannot unmarshal string into Go struct field AnnoIPPoolItem.cleangateway of type bool` })
})

t.test('ipam.spidernet.io/routes: dst CIDR and gw IP of one family', async (t) => {
  t.same(parseRoutes('[{"dst":"10.0.0.0/16","gw":"192.168.1.1"},{"dst":"fd00:10::/64","gw":"fd00:1::1"}]'), {
    value: [
      { dst: '10.0.0.0/16', gw: '192.168.1.1' },
      { dst: 'fd00:10::/64', gw: 'fd00:1::1' },
    ],
  })
  t.same(parseRoutes('[{"dst":"10.0.0.0/16","gw":"fd00::1"}]'), { error: `${routes}: invalid route format 'dst: 10.0.0.0/16, gw: fd00::1'` })
  t.same(parseRoutes('[{"dst":"10.0.0.0/16"}]'), { error: `${routes}: invalid route format 'dst: 10.0.0.0/16, gw: '` })
  t.same(parseRoutes('[{"dst":"10.0.0.1","gw":"10.0.0.254"}]'), { error: `${routes}: invalid route format 'dst: 10.0.0.1, gw: 10.0.0.254'` })
  t.match(parseRoutes('{"dst":"10.0.0.0/16"}').error, `${routes}: json: cannot unmarshal object`)
})

t.test('namespace default pools: JSON lists per family; a malformed one names the annotation and the namespace', async (t) => {
  const ns = (annotations: Record<string, string>) => ({ metadata: { name: 'team-a', annotations } })
  t.same(parseNamespaceDefaultPools(ns({ 'ipam.spidernet.io/default-ipv4-ippool': '["ns-v4-a","ns-v4-b"]', 'ipam.spidernet.io/default-ipv6-ippool': '["ns-v6-a"]' })), {
    value: { ipv4: ['ns-v4-a', 'ns-v4-b'], ipv6: ['ns-v6-a'] },
  })
  t.same(parseNamespaceDefaultPools(ns({})), { value: { ipv4: [], ipv6: [] } })
  t.match(parseNamespaceDefaultPools(ns({ 'ipam.spidernet.io/default-ipv4-ippool': 'ns-v4-a' })).error, /^invalid format of Namespace annotation 'ipam.spidernet.io\/default-ipv4-ippool' of Namespace team-a: /)
  t.match(parseNamespaceDefaultPools(ns({ 'ipam.spidernet.io/default-ipv6-ippool': '{"a":1}' })).error, "of Namespace team-a: json: cannot unmarshal object")
})

t.test('subnet annotations: subnets wins over subnet, first subnet of a family only, Spiderpool\'s checks', async (t) => {
  t.same(parseSubnetAnnotations({ 'ipam.spidernet.io/subnet': '{"ipv4":["subnet-v4","other"],"ipv6":["subnet-v6"]}' }), {
    value: { annotation: 'ipam.spidernet.io/subnet', items: [{ interface: 'eth0', ipv4: 'subnet-v4', ipv6: 'subnet-v6' }], ipNumber: undefined, reclaim: true },
  })
  const both = parseSubnetAnnotations({
    'ipam.spidernet.io/subnet': '{"ipv4":["ignored"]}',
    'ipam.spidernet.io/subnets': '[{"interface":"eth0","ipv4":["subnet-6"]},{"interface":"net1","ipv4":["subnet-7"]}]',
    'ipam.spidernet.io/ippool-ip-number': '+2',
    'ipam.spidernet.io/ippool-reclaim': 'false',
  })
  t.same(both.value, {
    annotation: 'ipam.spidernet.io/subnets',
    items: [
      { interface: 'eth0', ipv4: 'subnet-6' },
      { interface: 'net1', ipv4: 'subnet-7' },
    ],
    ipNumber: { flexible: true, count: 2 },
    reclaim: false,
  })
  t.same(parseSubnetAnnotations({}), { value: undefined })
  t.same(parseSubnetAnnotations({ 'ipam.spidernet.io/subnet': '{"ipv4":["a"]}', 'ipam.spidernet.io/ippool-ip-number': '3' }).value?.ipNumber, { flexible: false, count: 3 })

  const error = (a: Record<string, string>) => parseSubnetAnnotations(a).error
  t.equal(error({ 'ipam.spidernet.io/subnets': '{' }), `failed to parse anntation 'ipam.spidernet.io/subnets' value '{', error: ${(() => { try { JSON.parse('{') } catch (e) { return (e as Error).message } })()}`)
  t.equal(error({ 'ipam.spidernet.io/subnet': '{"ipv4":["a"]}', 'ipam.spidernet.io/ippool-ip-number': '++1' }), "annotation 'ipam.spidernet.io/ippool-ip-number': invalid input '++1'")
  t.equal(error({ 'ipam.spidernet.io/subnet': '{"ipv4":["a"]}', 'ipam.spidernet.io/ippool-ip-number': '-1' }), "subnet 'ipam.spidernet.io/ippool-ip-number' value must equal or greater than 0")
  t.equal(error({ 'ipam.spidernet.io/subnet': '{"ipv4":["a"]}', 'ipam.spidernet.io/ippool-reclaim': 'yes' }), `failed to parse spider subnet 'ipam.spidernet.io/ippool-reclaim', error: strconv.ParseBool: parsing "yes": invalid syntax`)
  t.match(error({ 'ipam.spidernet.io/subnet': '{"ipv4":[""]}' }), /^it's invalid to set an empty IPv4 subnet with single interface/)
  t.match(error({ 'ipam.spidernet.io/subnet': '{}' }), /^it's invalid to set dual empty subnet with single interface/)
  t.match(error({ 'ipam.spidernet.io/subnets': '[{"interface":"eth0","ipv6":[""]}]' }), /^it's invalid to set an empty IPv6 subnet with mutilple interfaces/)
  t.match(error({ 'ipam.spidernet.io/subnets': '[{"interface":"eth0"}]' }), /^it's invalid to set dual empty subnet with multiple interfaces/)
  t.match(error({ 'ipam.spidernet.io/subnets': '[{"interface":"eth0","ipv4":["s"]},{"interface":"net1","ipv4":["s"]}]' }), /^it's invalid to use the same subnet for multiple interfaces/)
  t.match(error({ 'ipam.spidernet.io/subnets': '[{"interface":"eth0","ipv4":["s"]},{"interface":"eth0","ipv4":["t"]}]' }), /^it's invalid to use the same Interface name for multiple interfaces/)
  t.match(error({ 'ipam.spidernet.io/subnets': '[]' }), /^no subnets specified/)
})
