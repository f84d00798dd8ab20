// iproute2 as the plugins' netlink: reads are `ip -json` queries, writes are `ip -batch -` scripts,
// both run inside a network namespace through one shell, so a whole read or write costs one spawn.
import { runIn } from './netns.ts'

/** `ip -json link show` */
export interface IpLink {
  ifindex: number
  ifname: string
  flags: string[]
  mtu: number
  address?: string
  /** For a veth: the peer's ifindex (in the peer's namespace); for macvlan/vlan: the parent's. */
  link_index?: number
  link_netnsid?: number
  txqlen?: number
  operstate?: string
  link_type?: string
}

export interface IpAddrInfo {
  family: 'inet' | 'inet6'
  local: string
  prefixlen: number
  scope?: string
  tentative?: boolean
  dadfailed?: boolean
}

/** `ip -json addr show` */
export interface IpLinkAddrs extends IpLink {
  addr_info: IpAddrInfo[]
}

export interface IpNexthop {
  gateway?: string
  dev: string
  weight?: number
  flags?: string[]
}

/** `ip -json route show table all` (both families) */
export interface IpRoute {
  type?: string
  dst: string
  gateway?: string
  dev?: string
  table?: string
  protocol?: string
  scope?: string
  prefsrc?: string
  metric?: number
  mtu?: number
  nexthops?: IpNexthop[]
  flags?: string[]
}

/** `ip -json rule show` */
export interface IpRule {
  priority: number
  src?: string
  srclen?: number
  dst?: string
  dstlen?: number
  fwmark?: string
  table?: string
  not?: null
}

/** `ip -json neigh show` */
export interface IpNeigh {
  dst: string
  dev: string
  lladdr?: string
  state?: string[]
}

export interface Query {
  /** Arguments after `ip -json`, e.g. `route show table all`. */
  args: string
  /** `-4` / `-6`: rules and routes are listed per family. */
  family?: 4 | 6
}

export class IpError extends Error {
  /** What was being done, in words. */
  readonly step: string
  constructor(step: string, message: string) {
    super(`${step}: ${message}`)
    this.name = 'IpError'
    this.step = step
  }
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
const separator = '\x1e'

/** Each query's parsed JSON, or the error text `ip` printed for it. */
export async function readIp(netns: string | undefined, queries: Query[], timeoutMs?: number): Promise<Array<unknown[] | { error: string }>> {
  const script = queries
    .map((q) => `ip -json ${q.family ? `-${q.family} ` : ''}${q.args} 2>&1; printf '\\n${separator}%s\\n' $?`)
    .join('\n')
  const r = await runIn(netns, ['sh', '-c', script], { timeoutMs })
  if (r.code !== 0) throw new Error(`reading the network state${netns ? ` of ${netns}` : ''} failed: ${(r.stderr || r.stdout).trim()}`)
  const parts = r.stdout.split(new RegExp(`\\n${separator}(\\d+)\\n`))
  const answers: Array<unknown[] | { error: string }> = []
  for (let i = 0; i < queries.length; i++) {
    const text = (parts[2 * i] ?? '').trim()
    const rc = parts[2 * i + 1]
    if (rc !== '0') {
      answers.push({ error: text || `ip ${queries[i].args} failed` })
      continue
    }
    try {
      answers.push(text ? (JSON.parse(text) as unknown[]) : [])
    } catch {
      answers.push({ error: `ip ${queries[i].args} printed no JSON: ${text.slice(0, 200)}` })
    }
  }
  return answers
}

/** One change; `label` says in words what it does, for the error message when it fails. */
export type Step =
  /** One line of `ip -batch` (family told by its addresses), or of `ip -6 -batch` with family 6. */
  | { ip: string; family?: 6; label: string; tolerate?: 'exists' | 'missing' }
  /** A sysctl written through /proc/sys, e.g. `net/ipv4/conf/all/rp_filter`. */
  | { sysctl: string; value: string; label: string; ifExists?: boolean }
  /** A program run unless `unless` succeeds (`iptables -C` before `iptables -A`). */
  | { exec: string[]; unless?: string[]; label: string }

function render(steps: Step[]): string {
  const lines = ['set -e']
  for (let i = 0; i < steps.length; ) {
    const step = steps[i]
    lines.push(`printf '@@%d\\n' ${i} >&2`)
    if ('ip' in step && !step.tolerate) {
      let j = i
      const batch: string[] = []
      while (j < steps.length) {
        const s = steps[j]
        if (!('ip' in s) || s.tolerate || s.family !== step.family) break
        if (/[\n\r]/.test(s.ip)) throw new Error(`an ip command cannot span lines: ${s.ip}`)
        batch.push(s.ip)
        j++
      }
      lines.push(`ip ${step.family === 6 ? '-6 ' : ''}-batch - <<'@@EOF'`, ...batch, '@@EOF')
      i = j
      continue
    }
    if ('ip' in step) {
      // "Already there" (a rule another pod's ADD adds too) or "already gone" (a DEL after the
      // device went) is what the step wanted.
      const cmd = `ip ${step.family === 6 ? '-6 ' : ''}${step.ip}`
      const fine = step.tolerate === 'exists' ? `*'File exists'*` : `*'Cannot find device'*|*'No such process'*|*'No such file or directory'*`
      lines.push(`if ! out=$(${cmd} 2>&1); then case "$out" in ${fine}) ;; *) printf '%s\\n' "$out" >&2; exit 1 ;; esac; fi`)
    } else if ('sysctl' in step) {
      if (!/^[A-Za-z0-9_./-]+$/.test(step.sysctl) || step.sysctl.includes('..')) throw new Error(`not a sysctl name: ${step.sysctl}`)
      const file = quote(`/proc/sys/${step.sysctl}`)
      const write = `printf '%s\\n' ${quote(step.value)} > ${file}`
      lines.push(step.ifExists ? `if [ -e ${file} ]; then ${write}; fi` : write)
    } else {
      const cmd = step.exec.map(quote).join(' ')
      lines.push(step.unless ? `${step.unless.map(quote).join(' ')} >/dev/null 2>&1 || ${cmd}` : cmd)
    }
    i++
  }
  return lines.join('\n')
}

/** Applies the steps in order inside `netns` (here when undefined); stops at the first failure. */
export async function applySteps(netns: string | undefined, steps: Step[], timeoutMs?: number): Promise<void> {
  if (!steps.length) return
  const r = await runIn(netns, ['sh', '-c', render(steps)], { timeoutMs })
  if (r.code === 0) return
  // stderr: "@@<first step of the group>" markers, then what failed; `ip -batch` adds "Command failed -:<line>".
  const text = r.stderr
  const markers = [...text.matchAll(/^@@(\d+)$/gm)]
  const last = markers.at(-1)
  const group = last ? Number(last[1]) : 0
  const after = last ? text.slice((last.index ?? 0) + last[0].length) : text
  const failedLine = /Command failed -:(\d+)/.exec(after)
  const index = group + (failedLine ? Number(failedLine[1]) - 1 : 0)
  const message = after
    .replace(/Command failed -:\d+\s*/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ')
  throw new IpError(steps[index]?.label ?? 'applying network changes', message || `exit code ${r.code}`)
}

export { render as renderSteps }
