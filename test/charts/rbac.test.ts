// The chart's RBAC against the API calls the code makes (scripts/chart/api-calls.ts traces every
// Store call and raw request to its resource): per component, every used verb is granted and no
// granted verb goes unused.
import path from 'node:path'
import t from 'tap'
import { scanApiCalls } from '../../scripts/chart/api-calls.ts'
import { renderChart } from '../../scripts/chart/chart.ts'

const root = path.resolve(import.meta.dirname, '../..')
const chartDir = path.join(root, 'charts/spiderpool-ts')

const scan = scanApiCalls({
  root,
  folders: ['kube', 'server', 'cni', 'webhooks', 'certs'],
  // the local control plane, and `up` which drives it with its admin token: never run in a cluster
  excluded: ['kube/controlplane', 'server/up.ts'],
})

// Requests that bypass the Store: what each file reads, checked against its resourcePath() calls.
const rawRequests: Record<string, { component: 'server' | 'cni'; group: string; resource: string; verb: string }[]> = {
  'cni/coordinator/inputs.ts': [
    { component: 'cni', group: 'spiderpool.spidernet.io', resource: 'spidercoordinators', verb: 'get' },
    { component: 'cni', group: '', resource: 'pods', verb: 'get' },
  ],
}

// Granted ahead of the code that uses it: allowed unused, and it must leave this list once used.
const pending = new Set<string>([])

const accounts = { server: 'spiderpool-controller', cni: 'spiderpool-agent' } as const
const key = (component: string, group: string, resource: string, verb: string) => `${component} ${group}/${resource} ${verb}`

/** (component, group, resource, verb) the rendered chart grants each component's service account. */
function granted(objects: any[]): Set<string> {
  const out = new Set<string>()
  for (const binding of objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
    const role = objects.find((o) => o.kind === binding.roleRef.kind && o.metadata.name === binding.roleRef.name && (o.kind === 'ClusterRole' || o.metadata.namespace === binding.metadata.namespace))
    for (const [component, account] of Object.entries(accounts)) {
      if (!binding.subjects.some((s: any) => s.kind === 'ServiceAccount' && s.name === account)) continue
      for (const rule of role.rules) for (const g of rule.apiGroups) for (const r of rule.resources) for (const v of rule.verbs) out.add(key(component, g, r, v))
    }
  }
  return out
}

t.test('every API call of the code is traced to a resource', async (t) => {
  t.same(scan.unattributed, [], 'no call left unattributed')
  t.ok(scan.calls.length > 30, `found ${scan.calls.length} calls`)
  t.ok(scan.calls.some((c) => c.component === 'cni') && scan.calls.some((c) => c.component === 'server'), 'both components make calls')
})

t.test('raw requests outside the Store are declared, and read what their file names', async (t) => {
  for (const raw of scan.rawRequests) t.ok(raw.file in rawRequests, `${raw.at}: a raw API request this test does not know: declare what it calls in rawRequests`)
  for (const [file, declared] of Object.entries(rawRequests)) {
    t.ok(scan.rawRequests.some((r) => r.file === file), `${file} still makes raw requests`)
    const named = (scan.resourcePaths.get(file) ?? []).map((r) => `${r.group}/${r.resource}`).sort()
    t.same([...new Set(declared.map((d) => `${d.group}/${d.resource}`))].sort(), [...new Set(named)].sort(), `${file}: declared resources are the ones it builds paths for`)
  }
})

t.test('the chart grants each component exactly the verbs its code uses', async (t) => {
  const { objects } = renderChart(chartDir, { namespace: 'kube-system' })
  const grants = granted(objects)
  const used = new Map<string, string>()
  for (const c of scan.calls) used.set(key(c.component, c.group, c.resource, c.verb), `${c.call} (resource named at ${c.at})`)
  for (const [file, list] of Object.entries(rawRequests)) for (const d of list) used.set(key(d.component, d.group, d.resource, d.verb), file)

  for (const [k, where] of used) t.ok(grants.has(k), `${k} is granted (used at ${where})`)
  for (const k of grants) {
    if (pending.has(k)) continue
    t.ok(used.has(k), `${k} is granted but no code uses it`)
  }
  for (const k of pending) {
    t.ok(grants.has(k), `${k} (pending) is granted`)
    t.notOk(used.has(k), `${k} is used now: remove it from the pending list`)
  }
})

t.test('Secrets and Leases are granted only in the release namespace, and Secrets only by name beyond create', async (t) => {
  const { objects } = renderChart(chartDir, { namespace: 'spiderpool-system' })
  for (const role of objects.filter((o) => o.kind === 'ClusterRole')) {
    for (const rule of role.rules) t.notOk(rule.resources.some((r: string) => r === 'secrets' || r === 'leases' || r === '*'), `ClusterRole ${role.metadata.name} grants no secrets, leases or *`)
    for (const rule of role.rules) t.notOk(rule.verbs.includes('*') || rule.apiGroups.includes('*'), `ClusterRole ${role.metadata.name} grants no wildcard`)
  }
  const secretRules = objects.filter((o) => o.kind === 'Role').flatMap((r) => r.rules.filter((x: any) => x.resources.includes('secrets')).map((x: any) => ({ ...x, namespace: r.metadata.namespace })))
  t.ok(secretRules.length > 0)
  for (const r of secretRules) {
    t.equal(r.namespace, 'spiderpool-system', 'secrets only in the release namespace')
    if (!r.verbs.every((v: string) => v === 'create')) t.same(r.resourceNames, ['spiderpool-controller-server-certs'], 'get/update only of the serving certificate’s Secret')
  }
})
