// The IPAM result for one NIC, as Spiderpool's plugin builds it from its agent's answer: the
// NIC's addresses with their gateways, a default route via each gateway unless the NIC cleans
// gateways, then the pool's and the pod's custom routes. An IPAM plugin names no interface
// (CNI spec: the main plugin owns `interfaces`), so the IPs carry no index.
import type { ReservedInterface } from '../../ipam/reservation.ts'
import type { Result, Route } from '../version.ts'

export function ipamResult(nic: ReservedInterface, cniVersion: string): Result {
  const ips: NonNullable<Result['ips']> = []
  const routes: Route[] = []
  for (const family of [4, 6] as const) {
    const address = family === 4 ? nic.ipv4 : nic.ipv6
    if (!address) continue
    const gateway = family === 4 ? nic.ipv4Gateway : nic.ipv6Gateway
    ips.push(gateway ? { address, gateway } : { address })
    if (gateway && !nic.cleanGateway) routes.push({ dst: family === 4 ? '0.0.0.0/0' : '::/0', gw: gateway })
  }
  const seen = new Set(routes.map((r) => `${r.dst} ${r.gw}`))
  for (const r of nic.routes) {
    if (seen.has(`${r.dst} ${r.gw}`)) continue
    seen.add(`${r.dst} ${r.gw}`)
    routes.push({ dst: r.dst, gw: r.gw })
  }
  const result: Result = { cniVersion, ips }
  if (routes.length) result.routes = routes
  return result
}
