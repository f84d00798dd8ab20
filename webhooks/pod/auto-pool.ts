// The IPPool the SpiderSubnet controller created for an application, one per (application,
// interface, IP family), found by its labels (ipam-semantics §7). Creating or scaling it is the
// auto-pool controller's job: admission only looks it up, and refuses while it does not exist.
import type { Family } from '../../ipam/ip.ts'
import type { ClusterSnapshot } from '../cluster.ts'
import { ownerApplicationNameLabel, ownerSpiderSubnetLabel } from '../common/keys.ts'
import type { SpiderIPPool } from '../../schemas/types.ts'
import { isBuiltInController, type TopController } from './top-controller.ts'

const prefix = 'ipam.spidernet.io'
const applicationGVLabel = `${prefix}/owner-application-gv`
const applicationKindLabel = `${prefix}/owner-application-kind`
const applicationNamespaceLabel = `${prefix}/owner-application-namespace`
const applicationUIDLabel = `${prefix}/owner-application-uid`
const interfaceLabel = `${prefix}/interface`
const ipVersionLabel = `${prefix}/ip-version`
const reclaimLabel = `${prefix}/ippool-reclaim`

/** `apps/v1` → `apps_v1`; a core version stays as it is. */
const applicationGV = (apiVersion: string) => apiVersion.replace('/', '_')

/** Go's `%v` of a map: `map[k1:v1 k2:v2]`, keys sorted. */
const goMap = (m: Record<string, string>) => `map[${Object.keys(m).sort().map((k) => `${k}:${m[k]}`).join(' ')}]`

export type AutoPoolLookup = { pool: SpiderIPPool; error?: undefined } | { pool?: undefined; error: string }

export function findAutoPool(cluster: ClusterSnapshot, subnet: string, nic: string, family: Family, app: TopController): AutoPoolLookup {
  const builtIn = isBuiltInController(app)
  const labels: Record<string, string> = {
    [ownerSpiderSubnetLabel]: subnet,
    [applicationGVLabel]: applicationGV(app.apiVersion),
    [applicationKindLabel]: app.kind,
    [applicationNamespaceLabel]: app.namespace,
    [ownerApplicationNameLabel]: app.name,
    [interfaceLabel]: nic,
    [ipVersionLabel]: `IPv${family}`,
  }
  // the uid is unknown when the pod came before our cache saw its ReplicaSet
  if (builtIn && app.uid) labels[applicationUIDLabel] = app.uid
  const matches = cluster.ippools().filter((pool) => {
    const have = pool.metadata.labels ?? {}
    if (!Object.entries(labels).every(([k, v]) => have[k] === v)) return false
    // a third-party application adopts a kept pool of its predecessor, not one due for reclaim
    return builtIn || !app.uid || have[reclaimLabel] !== 'true' || have[applicationUIDLabel] === app.uid
  })
  if (matches.length === 1) return { pool: matches[0] }
  if (matches.length === 0) {
    return {
      error:
        `no matching auto-created IPPool candidate with matchLables '${goMap(labels)}': ` +
        `the IPPool of ${app.kind} ${app.namespace}/${app.name} for interface ${nic} from SpiderSubnet ${subnet} does not exist yet`,
    }
  }
  const names = matches.map((p) => p.metadata.name).join(' ')
  return {
    error: `it's invalid for '${app.kind}/${app.namespace}/${app.name}' corresponding SpiderSubnet '${subnet}' owns multiple matchLables '${goMap(labels)}' corresponding IPPools '[${names}]' for one specify application`,
  }
}
