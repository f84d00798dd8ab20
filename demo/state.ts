// What a namespace's routing looks like, read with iproute2, in the forms tests compare:
// `ip route` / `ip rule` lines, and a snapshot of a node for "nothing left behind".
import { ip } from './shell.ts'

const normalise = (line: string) =>
  line
    .replace(/\s+/g, ' ')
    .replace(/ metric 1024\b/, '')
    .replace(/ pref medium\b/, '')
    .trim()

/** `ip [-6] route show table <table>` lines, sorted; IPv6 routes without `metric 1024 pref medium`, as the spec writes them. */
export async function routeLines(netns: string, family: 4 | 6, table: string | number = 'main'): Promise<string[]> {
  const out = await ip('-n', netns, `-${family}`, 'route', 'show', 'table', String(table)).catch((err: Error) => {
    if (/FIB table does not exist/.test(err.message)) return ''
    throw err
  })
  return out.split('\n').map(normalise).filter(Boolean).sort()
}

/** `ip [-6] rule` lines in priority order, `0: from all lookup local` style. */
export async function ruleLines(netns: string, family: 4 | 6): Promise<string[]> {
  const out = await ip('-n', netns, `-${family}`, 'rule', 'show')
  return out.split('\n').map(normalise).filter(Boolean)
}

export interface NodeState {
  links: unknown[]
  routes: unknown[]
  rules: unknown[]
  neighbours: unknown[]
}

/**
 * Links, routes of every table and rules of both families, and the permanent neighbours (what a
 * plugin sets; entries the kernel learns from traffic come and go on their own).
 */
export async function nodeState(netns: string): Promise<NodeState> {
  const json = async (...args: string[]) => JSON.parse(await ip('-n', netns, '-json', ...args)) as Array<Record<string, unknown>>
  const links = (await json('link', 'show')).map((l) => ({ ifname: l.ifname, flags: l.flags, mtu: l.mtu, address: l.address, master: l.master }))
  const routes = [...(await json('-4', 'route', 'show', 'table', 'all')), ...(await json('-6', 'route', 'show', 'table', 'all'))]
  const rules = [...(await json('-4', 'rule', 'show')), ...(await json('-6', 'rule', 'show'))]
  const neighbours = [...(await json('-4', 'neigh', 'show')), ...(await json('-6', 'neigh', 'show'))].filter((n) => (n.state as string[] | undefined)?.includes('PERMANENT'))
  return { links, routes, rules, neighbours }
}
