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
    case 'iptables': {
      const bin = op.family === 6 ? 'ip6tables' : 'iptables'
      const rule = [op.chain, ...op.rule]
      return { exec: [bin, '-w', '5', '-t', op.table, '-A', ...rule], unless: [bin, '-w', '5', '-t', op.table, '-C', ...rule], label }
    }
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

/** Applies the ops; `netns` is the pod's namespace, the host is where the plugin runs. */
export async function applyOps(ops: Op[], netns: string): Promise<void> {
  await applySteps(undefined, ops.filter((o) => o.where === 'host').map(stepOf))
  await applySteps(netns, ops.filter((o) => o.where === 'pod').map(stepOf))
}
