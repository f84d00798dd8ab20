// IP-conflict and gateway-reachability checks for the pod's new addresses, run inside the pod:
// IPv4 with arping (iputils-arping), IPv6 conflicts from the kernel's own duplicate address
// detection, IPv6 gateways with ndisc6. Node has no raw sockets, hence the programs.
import { CniError, errorCode } from '../errors.ts'
import { runIn } from '../netns.ts'
import type { Family } from './facts.ts'

export const ipConflictCode = 101
export const gatewayUnreachableCode = 102

export interface PodAddress {
  family: Family
  ip: string
  /** IPv6: the kernel's duplicate address detection failed */
  dadFailed?: boolean
}

async function run(netns: string, argv: string[]) {
  try {
    return await runIn(netns, argv, { timeoutMs: 5_000 })
  } catch (err) {
    throw new CniError(errorCode.internal, `cannot run ${argv[0]} for detection: ${(err as Error).message}`, `install ${argv[0] === 'arping' ? 'iputils-arping' : 'ndisc6'} on the node, or turn detection off`)
  }
}

/** Fails when another host answers for one of the addresses. */
export async function detectIPConflicts(netns: string, ifName: string, addrs: PodAddress[]): Promise<void> {
  for (const a of addrs) {
    if (a.family === 6) {
      if (a.dadFailed) throw new CniError(ipConflictCode, `ip conflict: pod's interface ${ifName} has the conflicting address ${a.ip}`, 'IPv6 duplicate address detection failed')
      continue
    }
    // -D: probes from 0.0.0.0; exit 1 when someone replies.
    const r = await run(netns, ['arping', '-D', '-c', '2', '-w', '1', '-I', ifName, a.ip])
    if (r.code === 0) continue
    const mac = /\[([0-9a-fA-F:]{17})\]/.exec(r.stdout)?.[1]
    if (mac) throw new CniError(ipConflictCode, `ip conflict: pod's interface ${ifName} has the conflicting address ${a.ip}, which is at ${mac.toLowerCase()}`)
    throw new CniError(ipConflictCode, `cannot check ${a.ip} for conflicts`, (r.stderr || r.stdout).trim())
  }
}

/** Fails when a gateway does not answer ARP or neighbour solicitation from the interface. */
export async function detectGateways(netns: string, ifName: string, gateways: Array<{ family: Family; gateway: string; source: string }>): Promise<void> {
  for (const g of gateways) {
    // arping: up to 2 requests a second apart, done at the first reply. ndisc6: 3 solicitations, 300 ms each.
    const argv = g.family === 4 ? ['arping', '-c', '1', '-w', '2', '-I', ifName, '-s', g.source, g.gateway] : ['ndisc6', '-1', '-r', '3', '-w', '300', g.gateway, ifName]
    const r = await run(netns, argv)
    const answered = g.family === 4 ? /Received [1-9]\d* response/.test(r.stdout) : r.code === 0
    if (!answered) throw new CniError(gatewayUnreachableCode, `gateway ${g.gateway} is unreachable from ${ifName}`, (r.stderr || r.stdout).trim())
  }
}
