// Carries a plan out in both namespaces at once: the pod's sysctls and iptables rules while the host
// makes its changes, the pod's ip lines once the host is done (it creates the veth they use).
import { applySteps, standbyIp, standbyShell } from '../iproute.ts'
import type { Standby, Step } from '../iproute.ts'
import { opText } from './plan.ts'
import type { Op } from './plan.ts'

export function stepOf(op: Op): Step {
  const label = opText(op)
  switch (op.op) {
    case 'sysctl':
      return op.ifExists ? { sysctl: op.key, value: op.value, ifExists: true, label } : { sysctl: op.key, value: op.value, label }
    case 'iptables':
      return { iptables: op.family, table: op.table, rule: [op.chain, ...op.rule], label }
    case 'rule-add': {
      const line = label.replace(/^-6 /, '')
      const family = op.rule.family === 6 ? { family: 6 as const } : {}
      return op.shared ? { ip: line, ...family, tolerate: 'exists', label } : { ip: line, ...family, label }
    }
    case 'link-del':
    case 'route-del':
    case 'neigh-del':
      return { ip: label, tolerate: 'missing', label }
    default:
      return { ip: label, label }
  }
}

const isIp = (s: Step) => 'ip' in s
const isSysctl = (s: Step) => 'sysctl' in s

/**
 * The steps of one namespace grouped so that each kind runs once: in the pod sysctls first (none
 * needs a device the ops make, and disable_ipv6 / arp_notify must precede the addresses and MAC),
 * then programs (iptables names devices, it does not need them), then — once `hostDone`, when
 * given — the ip lines, IPv6 rules after the rest (rules of one family keep their order, which sets
 * the priorities the kernel gives them); on the host the sysctls go last, as they are about the
 * veth the ip lines make.
 */
export function stepsIn(where: 'pod' | 'host', ops: Op[], hostDone?: Promise<unknown>): Step[] {
  const steps = ops.filter((o) => o.where === where).map(stepOf)
  const ip = steps.filter(isIp)
  const ipLines = [...ip.filter((s) => !('family' in s && s.family === 6)), ...ip.filter((s) => 'family' in s && s.family === 6)]
  const sysctls = steps.filter(isSysctl)
  const programs = steps.filter((s) => !isIp(s) && !isSysctl(s))
  if (where === 'host') return [...ipLines, ...programs, ...sysctls]
  const wait: Step[] = hostDone && ipLines.length ? [{ waitFor: hostDone, label: "the host's changes" }] : []
  return [...sysctls, ...programs, ...wait, ...ipLines]
}

let standby: { netns: string; ip: Standby; shell: Standby } | undefined

/** Starts the programs the next applyOps in `netns` uses (an `ip -batch` here, a shell in the pod), so that they start while the plugin waits for other things. */
export function prepareApply(netns: string): void {
  standby ??= { netns, ip: standbyIp(), shell: standbyShell(netns) }
}

/** Applies the ops; `netns` is the pod's namespace, the host is where the plugin runs. A host failure is the one reported. */
export async function applyOps(ops: Op[], netns: string): Promise<void> {
  const ready = standby?.netns === netns ? standby : undefined
  standby = undefined
  try {
    const host = applySteps(undefined, stepsIn('host', ops), { ip: ready?.ip })
    const pod = applySteps(netns, stepsIn('pod', ops, host), { shell: ready?.shell })
    const [h, p] = await Promise.allSettled([host, pod])
    if (h.status === 'rejected') throw h.reason
    if (p.status === 'rejected') throw p.reason
  } finally {
    ready?.ip.close()
    ready?.shell.close()
  }
}
