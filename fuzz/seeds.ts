// The valid objects the fuzzer starts from: every Spiderpool object of the reference examples,
// the pods of their workloads, and hand-written objects of the kinds the examples lack (both
// IP families, every SpiderMultusConfig cniType).
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import YAML from 'yaml'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

export const group = 'spiderpool.spidernet.io'
export const apiVersion = `${group}/v2beta1`

/** kind → resource (plural) and whether it is namespaced, as the admission paths and reviews name them. */
export const spiderKinds = {
  SpiderIPPool: { resource: 'spiderippools', path: 'spiderippool', namespaced: false },
  SpiderSubnet: { resource: 'spidersubnets', path: 'spidersubnet', namespaced: false },
  SpiderReservedIP: { resource: 'spiderreservedips', path: 'spiderreservedip', namespaced: false },
  SpiderCoordinator: { resource: 'spidercoordinators', path: 'spidercoordinator', namespaced: false },
  SpiderMultusConfig: { resource: 'spidermultusconfigs', path: 'spidermultusconfig', namespaced: true },
} as const
export type SpiderKind = keyof typeof spiderKinds

const examplesDir = join(import.meta.dirname, '../../shared/reference/examples')

const spider = (kind: SpiderKind, name: string, spec: JsonObject, namespace?: string): JsonObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace && { namespace }) },
  spec,
})

const handWritten: JsonObject[] = [
  spider('SpiderIPPool', 'v6-pool', { ipVersion: 6, subnet: 'fd00:10::/64', ips: ['fd00:10::10-fd00:10::ff'], gateway: 'fd00:10::1', excludeIPs: ['fd00:10::20'], routes: [{ dst: 'fd00:20::/64', gw: 'fd00:10::2' }] }),
  spider('SpiderIPPool', 'v4-affinity', {
    subnet: '10.20.0.0/16',
    ips: ['10.20.0.10-10.20.0.200', '10.20.1.5'],
    gateway: '10.20.0.1',
    vlan: 100,
    default: false,
    nodeName: ['node-a'],
    nodeAffinity: { matchLabels: { zone: 'a' }, matchExpressions: [{ key: 'rack', operator: 'In', values: ['r1', 'r2'] }] },
    namespaceAffinity: { matchLabels: { team: 'x' } },
    podAffinity: { matchExpressions: [{ key: 'app', operator: 'Exists' }] },
    multusName: ['kube-system/macvlan-conf'],
  }),
  spider('SpiderSubnet', 'subnet-v4', { ipVersion: 4, subnet: '10.30.0.0/16', ips: ['10.30.0.10-10.30.0.250'], gateway: '10.30.0.1', excludeIPs: ['10.30.0.100'], routes: [{ dst: '10.40.0.0/16', gw: '10.30.0.2' }], vlan: 0 }),
  spider('SpiderSubnet', 'subnet-v6', { subnet: 'fd00:30::/120', ips: ['fd00:30::10-fd00:30::f0'], gateway: 'fd00:30::1' }),
  spider('SpiderReservedIP', 'reserved-v4', { ipVersion: 4, ips: ['10.20.0.50', '10.20.0.60-10.20.0.70'] }),
  spider('SpiderReservedIP', 'reserved-v6', { ips: ['fd00:10::50-fd00:10::60'] }),
  spider('SpiderCoordinator', 'default', {
    mode: 'auto',
    podCIDRType: 'auto',
    tunePodRoutes: true,
    podDefaultRouteNIC: '',
    podMACPrefix: '',
    hijackCIDR: ['169.254.0.0/16', 'fd00:99::/64'],
    vethLinkAddress: '',
    vethMTU: 1500,
    txQueueLen: 0,
    detectGateway: false,
    detectIPConflict: false,
    hostRuleTable: 500,
    podRPFilter: 0,
  }),
  spider('SpiderMultusConfig', 'ipvlan-conf', { cniType: 'ipvlan', ipvlan: { master: ['eth1'], vlanID: 10, ippools: { ipv4: ['v4-affinity'], ipv6: ['v6-pool'] } }, coordinator: { mode: 'underlay', hijackCIDR: ['10.0.0.1'] } }, 'default'),
  spider('SpiderMultusConfig', 'sriov-conf', { cniType: 'sriov', sriov: { resourceName: 'intel.com/sriov', vlanID: 5, mtu: 9000, minTxRateMbps: 10, maxTxRateMbps: 100 } }, 'kube-system'),
  spider('SpiderMultusConfig', 'ovs-conf', { cniType: 'ovs', ovs: { bridge: 'br1', vlan: 7, trunk: [{ minID: 1, maxID: 10 }, { id: 20 }] } }, 'default'),
  spider('SpiderMultusConfig', 'ib-conf', { cniType: 'ib-sriov', ibsriov: { resourceName: 'mellanox.com/ib', pkey: '0x7fff', linkState: 'enable' } }, 'default'),
  spider('SpiderMultusConfig', 'custom-conf', { cniType: 'custom', customCNI: '{"cniVersion":"0.3.1","type":"bridge"}', enableCoordinator: false }, 'default'),
  spider('SpiderMultusConfig', 'bond-conf', { cniType: 'macvlan', macvlan: { master: ['eth1', 'eth2'], vlanID: 30, bond: { name: 'bond0', mode: 1, options: 'primary=eth1' } } }, 'default'),
]

const podAnnotations: Record<string, string>[] = [
  { 'ipam.spidernet.io/ippool': '{"ipv4":["ippool-test"]}', 'v1.multus-cni.io/default-network': 'kube-system/macvlan-conf' },
  { 'ipam.spidernet.io/ippools': '[{"interface":"net1","ipv4":["v4-affinity"],"ipv6":["v6-pool"]}]', 'k8s.v1.cni.cncf.io/networks': 'default/ipvlan-conf' },
  { 'k8s.v1.cni.cncf.io/networks': '[{"name":"ipvlan-conf","namespace":"default","interface":"net2"}]', 'ipam.spidernet.io/default-route-nic': 'net2' },
  { 'ipam.spidernet.io/subnet': '{"ipv4":["subnet-v4"]}', 'ipam.spidernet.io/ippool-ip-number': '+1' },
  {},
]

const pod = (name: string, annotations: Record<string, string>): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', annotations, labels: { app: name } },
  spec: { containers: [{ name: 'c', image: 'busybox', resources: { limits: { cpu: '1' } } }] },
})

function exampleObjects(): JsonObject[] {
  const docs = readdirSync(examplesDir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => YAML.parseAllDocuments(readFileSync(join(examplesDir, f), 'utf8')).map((d) => d.toJS() as JsonObject | null))
  const out: JsonObject[] = []
  for (const doc of docs) {
    if (!doc || typeof doc !== 'object') continue
    if (doc.apiVersion === apiVersion) out.push(doc)
    const template = (doc.spec as JsonObject | undefined)?.template as JsonObject | undefined
    if (template?.spec) {
      const meta = (template.metadata ?? {}) as JsonObject
      out.push({ apiVersion: 'v1', kind: 'Pod', metadata: { ...meta, name: `${(doc.metadata as JsonObject).name}-0`, namespace: (doc.metadata as JsonObject).namespace ?? 'default' }, spec: template.spec })
    }
  }
  return out
}

/** Every seed object, Spiderpool kinds and pods. */
export function seedObjects(): JsonObject[] {
  return [...exampleObjects(), ...handWritten, ...podAnnotations.map((a, i) => pod(`pod-${i}`, a))]
}
