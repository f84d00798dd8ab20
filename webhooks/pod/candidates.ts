// From pool names to ordered candidate pools per NIC and IP family (ipam-semantics §2.3–§3):
// disabled families dropped, wildcards expanded, precheck, per-pool filters with Spiderpool's
// reasons, then a stable sort by specificity with ties in the order the user wrote.
// Exhaustion is not a filter (§3.3): it is found when addresses are chosen.
import type { Family } from '../../ipam/ip.ts'
import type { SpiderIPPool } from '../../schemas/types.ts'
import type { ClusterSnapshot } from '../cluster.ts'
import { declaredOrDerivedVersion } from '../common/ip-version.ts'
import { goList } from '../common/go-list.ts'
import { autoPoolPodAffinityKeys, ownerApplicationNameLabel } from '../common/keys.ts'
import type { Settings } from '../settings.ts'
import { selectorMatches } from './label-match.ts'
import { networkKey } from './networks.ts'
import { describeNodes, intersectNodes, isNoNode, poolNodes, type NodeSet } from './nodes.ts'
import { labelsOf, type Pod } from './pod.ts'
import { refuse, type Refusal } from './refusal.ts'
import type { NICSelection, PoolSource } from './sources.ts'
import type { TopController } from './top-controller.ts'
import { globPattern, hasWildcard } from './wildcard.ts'

export interface Candidate {
  name: string
  pool: SpiderIPPool
  /** the nodes the pool serves */
  nodes: NodeSet
}

export interface FamilyCandidates {
  family: Family
  /** every pool the source names, wildcards expanded, before filtering */
  named: string[]
  /** the pools that pass the filters, in the order they are tried */
  pools: Candidate[]
}

export interface NICCandidates {
  interface: string
  /** `ns/name` of the NIC's NetworkAttachmentDefinition */
  network: string
  source: PoolSource
  from: string
  cleanGateway: boolean
  families: FamilyCandidates[]
}

export interface FilterContext {
  pod: Pod
  namespace: string
  settings: Settings
  cluster: ClusterSnapshot
  app: TopController
  /** the nodes the pod may run on by its own constraints */
  eligible: NodeSet
  /** the node the pod is bound or pinned to, named in refusals */
  pinned?: string
}

export function poolCandidates(selections: readonly NICSelection[], ctx: FilterContext): NICCandidates[] | Refusal {
  const out: NICCandidates[] = []
  for (const selection of selections) {
    const nic = selection.nic.interface
    const families: FamilyCandidates[] = []
    for (const family of [4, 6] as const) {
      if (selection.names[family].length === 0 || !(family === 4 ? ctx.settings.enableIPv4 : ctx.settings.enableIPv6)) continue
      const named = expandWildcards(selection.names[family], family, selection.from, ctx.cluster)
      if (typeof named === 'string') return refuse(named)
      const pools = precheck(named, nic, ctx.cluster)
      if (typeof pools === 'string') return refuse(pools)
      const kept: Candidate[] = []
      const reasons: string[] = []
      let nodeReason = false
      for (const pool of pools) {
        const nodes = poolNodes(pool, ctx.cluster)
        const reason = filterReason(pool, family, nodes, selection, ctx)
        if (reason === undefined) kept.push({ name: pool.metadata.name ?? '', pool, nodes })
        else {
          reasons.push(reason)
          nodeReason ||= reason.startsWith('unmatched Node')
        }
      }
      if (kept.length === 0) {
        const where = !nodeReason ? '' : ctx.pinned ? ` (the Pod can only run on node ${ctx.pinned})` : ` (the Pod can run on ${describeNodes(ctx.eligible)})`
        return refuse(`no IPPool available, all IPv${family} IPPools ${goList(named)} of ${nic} filtered out: ${aggregate(reasons)}${where}`)
      }
      families.push({ family, named, pools: sortBySpecificity(kept) })
    }
    if (families.length === 0) {
      return refuse(`no IPPool available for interface ${nic}: ${selection.from} names no IPPool of an enabled IP family`)
    }
    const network = selection.nic.network ? networkKey(selection.nic.network) : ''
    out.push({ interface: nic, network, source: selection.source, from: selection.from, cleanGateway: selection.cleanGateway, families })
  }
  return out
}

/** Go's utilerrors.NewAggregate, de-duplicated: one message alone, several in brackets. */
function aggregate(messages: readonly string[]): string {
  const unique = [...new Set(messages)]
  return unique.length === 1 ? unique[0] : `[${unique.join(', ')}]`
}

const versionOf = (pool: SpiderIPPool) => declaredOrDerivedVersion(pool.spec.ipVersion, pool.spec.subnet)

/**
 * A list with a wildcard: literal names stay in place, each pattern becomes the pools of the
 * family it matches, in name order. A name a pattern yields again is kept once; two literal
 * names stay two, for the precheck to refuse. A pattern that matches nothing is refused
 * (Spiderpool silently drops it).
 */
function expandWildcards(names: readonly string[], family: Family, from: string, cluster: ClusterSnapshot): string[] | string {
  if (!names.some(hasWildcard)) return [...names]
  const literals = new Set(names.filter((n) => !hasWildcard(n)))
  const pools = cluster.ippools().filter((p) => versionOf(p) === family).map((p) => p.metadata.name ?? '')
  const out: string[] = []
  for (const name of names) {
    if (!hasWildcard(name)) {
      out.push(name)
      continue
    }
    const pattern = globPattern(name)
    if (!pattern) return `failed to match wildcard: IPv${family} PoolName pattern '${name}': syntax error in pattern`
    const matches = pools.filter((p) => pattern.test(p))
    if (matches.length === 0) return `IPv${family} IPPool pattern '${name}' in ${from} matches no IPv${family} IPPool`
    for (const m of matches) if (!literals.has(m) && !out.includes(m)) out.push(m)
  }
  return out
}

/** §3.1: a pool named twice for one NIC and family, or a pool that does not exist, refuses the pod. */
function precheck(names: readonly string[], nic: string, cluster: ClusterSnapshot): SpiderIPPool[] | string {
  const seen = new Set<string>()
  const pools: SpiderIPPool[] = []
  for (const name of names) {
    if (seen.has(name)) return `wrong input, duplicate IPPool ${name} specified for NIC ${nic}`
    seen.add(name)
    const pool = cluster.ippool(name)
    if (!pool) return `failed to get original IPPool ${name}: spiderippools.spiderpool.spidernet.io "${name}" not found`
    pools.push(pool)
  }
  return pools
}

/** §3.2, in Spiderpool's order; the first reason a pool cannot serve this NIC, or undefined. */
function filterReason(pool: SpiderIPPool, family: Family, nodes: NodeSet, selection: NICSelection, ctx: FilterContext): string | undefined {
  const name = pool.metadata.name ?? ''
  const spec = pool.spec
  if (pool.metadata.deletionTimestamp) return `terminating IPPool ${name}`
  if (spec.disable === true) return `disabled IPPool ${name}`
  if (spec.ipVersion !== 4 && spec.ipVersion !== 6) return 'nil ippool ipVersion'
  if (spec.ipVersion !== family) return `expect an IPv${family} IPPool, but the version of the IPPool ${name} is IPv${spec.ipVersion}`

  if (isNoNode(intersectNodes(nodes, ctx.eligible))) {
    return (spec.nodeName ?? []).length > 0 ? `unmatched Node name of IPPool ${name}` : `unmatched Node affinity of IPPool ${name}`
  }

  if ((spec.namespaceName ?? []).length > 0) {
    if (!spec.namespaceName!.includes(ctx.namespace)) return `unmatched Namespace name of IPPool ${name}`
  } else if (spec.namespaceAffinity) {
    const ns = ctx.cluster.namespace(ctx.namespace)
    if (!ns) return `failed to get Namespace ${ctx.namespace}: not found`
    if (!selectorMatches(spec.namespaceAffinity, ns.metadata.labels ?? {})) return `unmatched Namespace affinity of IPPool ${name}`
  }

  if (spec.podAffinity) {
    if (Object.hasOwn(pool.metadata.labels ?? {}, ownerApplicationNameLabel)) {
      // an auto-created pool belongs to an application: its match decides alone
      return matchesApplication(spec.podAffinity.matchLabels ?? {}, ctx.app) ? undefined : `unmatched Pod annifity of auto-created IPool ${name}`
    }
    if (!selectorMatches(spec.podAffinity, labelsOf(ctx.pod))) return `unmatched Pod affinity of IPPool ${name}`
  }

  const multusNames = spec.multusName ?? []
  if (multusNames.length > 0) {
    const network = selection.nic.network ? networkKey(selection.nic.network) : ''
    const wanted = multusNames.map((m) => (m.includes('/') ? m : `${ctx.settings.multusNamespace}/${m}`))
    if (!wanted.includes(network)) {
      return `the spec.multusName ${goList(multusNames)} in the IPPool ${name} used by the Pod interface ${selection.nic.interface} is not matched with the multusCR ${network} specified by the Pod`
    }
  }
  return undefined
}

/** An auto-created pool's podAffinity names its application by API group, version, kind, namespace and name. */
function matchesApplication(matchLabels: Record<string, string>, app: TopController): boolean {
  const slash = app.apiVersion.indexOf('/')
  const [group, version] = slash < 0 ? ['', app.apiVersion] : [app.apiVersion.slice(0, slash), app.apiVersion.slice(slash + 1)]
  const wanted = [group, version, app.kind, app.namespace, app.name]
  return autoPoolPodAffinityKeys.every((key, i) => (matchLabels[key] ?? '') === wanted[i])
}

/** §2.7 most specific first: podAffinity, nodeName, nodeAffinity, namespaceName, namespaceAffinity, multusName. */
function specificity(pool: SpiderIPPool): number[] {
  const s = pool.spec
  const has = (v: unknown) => (Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null)
  return [s.podAffinity, s.nodeName, s.nodeAffinity, s.namespaceName, s.namespaceAffinity, s.multusName].map((v) => (has(v) ? 0 : 1))
}

/** Stable: pools of equal rank keep the order the user wrote (Spiderpool's order is random). */
function sortBySpecificity(candidates: Candidate[]): Candidate[] {
  const keyed = candidates.map((c, i) => ({ c, i, key: specificity(c.pool) }))
  keyed.sort((a, b) => {
    for (let k = 0; k < a.key.length; k++) if (a.key[k] !== b.key[k]) return a.key[k] - b.key[k]
    return a.i - b.i
  })
  return keyed.map((k) => k.c)
}
