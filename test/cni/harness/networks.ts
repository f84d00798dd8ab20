// Network lists as Multus would hand them to the runtime: macvlan (the underlay NIC) or ptp
// (standing in for Calico's veth) with an IPAM config the test chooses, chained with the coordinator.
import type { NetworkList } from './runtime.ts'

export type Ipam = Record<string, unknown> & { type: string }

/** Debian's host-local IPAM over the given ranges, its leases in `dataDir`. */
export function hostLocal(dataDir: string, ranges: Array<Array<Record<string, string>>>, routes: Array<{ dst: string }> = []): Ipam {
  return { type: 'host-local', dataDir, ranges, ...(routes.length ? { routes } : {}) }
}

/** What SpiderMultusConfig renders for macvlan on ens192 (§C.5 macvlan-basic), with the IPAM swapped in. */
export function macvlanNetwork(o: { ipam: Ipam; cniVersion?: string; name?: string; coordinator?: Record<string, unknown> | false }): NetworkList {
  const plugins: NetworkList['plugins'] = [{ type: 'macvlan', master: 'ens192', mode: 'bridge', mtu: 0, ipam: o.ipam }]
  if (o.coordinator !== false) plugins.push({ txQueueLen: 0, tunePodRoutes: true, mode: 'auto', type: 'coordinator', ...o.coordinator })
  return { cniVersion: o.cniVersion ?? '0.3.1', name: o.name ?? 'macvlan-ens192', plugins }
}

/** A point-to-point veth to the node, as Calico's eth0 is. */
export function ptpNetwork(o: { ipam: Ipam; cniVersion?: string }): NetworkList {
  return { cniVersion: o.cniVersion ?? '1.0.0', name: 'k8s-pod-network', plugins: [{ type: 'ptp', ipam: o.ipam }] }
}
