// Carries a plan out: host changes first (they create the veth the pod's changes use), then the
// pod's, each namespace in one `sh` running `ip -batch`, /proc/sys writes and iptables.
import { applySteps } from '../iproute.ts'
import type { Step } from '../iproute.ts'
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
 * then the ip lines, IPv6 rules after the rest (rules of one family keep their order, which sets
 * the priorities the kernel gives them), then programs; on the host the sysctls go last, as they
 * are about the veth the ip lines make.
 */
export function stepsIn(where: 'pod' | 'host', ops: Op[]): Step[] {
  const steps = ops.filter((o) => o.where === where).map(stepOf)
  const ip = steps.filter(isIp)
  const ipLines = [...ip.filter((s) => !('family' in s && s.family === 6)), ...ip.filter((s) => 'family' in s && s.family === 6)]
  const sysctls = steps.filter(isSysctl)
  const programs = steps.filter((s) => !isIp(s) && !isSysctl(s))
  return where === 'pod' ? [...sysctls, ...ipLines, ...programs] : [...ipLines, ...programs, ...sysctls]
}

/** Applies the ops; `netns` is the pod's namespace, the host is where the plugin runs. */
export async function applyOps(ops: Op[], netns: string): Promise<void> {
  await applySteps(undefined, stepsIn('host', ops))
  await applySteps(netns, stepsIn('pod', ops))
}
