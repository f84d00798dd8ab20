// What the demo tests need, and whether their absence is a skip or a failure: without root or
// without Debian's CNI plugins the tests cannot run here and say so; as root with the plugins
// installed (what .ci/run sets up) a missing program is a broken machine, and the tests fail
// naming what to install rather than skip unnoticed.
import { existsSync } from 'node:fs'
import { missingRequirements } from '../../demo/shell.ts'

const packages: Record<string, string> = {
  ip: 'iproute2',
  ping: 'iputils-ping',
  sysctl: 'procps',
  pgrep: 'procps',
  nsenter: 'util-linux',
  kubectl: "kubectl (not in Debian's archive: the kubectl package of Kubernetes' apt repository, or its release binary on PATH)",
}

export function demoRequirements(programs: string[] = ['ip', 'ping', 'kubectl', 'sysctl', 'nsenter']): { skip?: string; fail?: string } {
  if (process.getuid?.() !== 0) return { skip: 'the demo needs root (network namespaces)' }
  if (!existsSync('/usr/lib/cni/macvlan')) return { skip: "Debian's containernetworking-plugins are not in /usr/lib/cni" }
  const missing = missingRequirements(programs)
  if (!missing) return {}
  const names = missing.replace(/^missing programs: /, '').split(', ')
  return { fail: `${missing}: install ${[...new Set(names.map((p) => packages[p] ?? p))].join(', ')}` }
}
