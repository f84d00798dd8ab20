// Legacy discovery documents (/api, /apis, /apis/<group>[/<version>]) and /version, from what is served (served.ts).
// kubectl asks for the aggregated format first and falls back to these when the answer is plain JSON.
import { apiVersionOf, groupVersions, type Resource } from './resources.ts'

const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']

function apiResources(r: Resource): object[] {
  const main = {
    name: r.plural,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs,
    ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length > 0 ? { categories: r.categories } : {}),
  }
  // kube-scheduler's pods/binding (binding.ts): a Binding, created only
  const binding = r.group === '' && r.plural === 'pods' ? [{ name: 'pods/binding', singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] }] : []
  if (!r.hasStatus) return [main, ...binding]
  const status = { name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] }
  return [main, ...binding, status]
}

export function apiResourceList(served: readonly Resource[], group: string, version: string): object | undefined {
  const here = served.filter((r) => r.group === group && r.version === version)
  if (here.length === 0) return undefined
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources: here.flatMap(apiResources) }
}

function apiGroup(served: readonly Resource[], group: string): object | undefined {
  const versions = groupVersions(served).filter((gv) => gv.group === group)
  if (versions.length === 0) return undefined
  const forms = versions.map((gv) => ({ groupVersion: apiVersionOf(gv), version: gv.version }))
  return { name: group, versions: forms, preferredVersion: forms[0] }
}

export function apiGroupDocument(served: readonly Resource[], group: string): object | undefined {
  const found = apiGroup(served, group)
  return found && { kind: 'APIGroup', apiVersion: 'v1', ...found }
}

export function apiGroupList(served: readonly Resource[]): object {
  const groups = [...new Set(groupVersions(served).map((gv) => gv.group))].filter((g) => g !== '')
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => apiGroup(served, g)) }
}

export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] }
}

export const versionInfo = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-12-11T00:00:00Z',
  goVersion: 'go1.23.3',
  compiler: 'gc',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
}
