// meta.k8s.io/v1 Table output (what `kubectl get` prints): NAME plus the CRD's printer columns for
// custom resources (AGE when a CRD defines none), hand-picked columns for built-in kinds.
import { evaluateJsonPath, parseJsonPath } from './jsonpath.ts'
import type { Resource } from './resources.ts'
import type { StoredObject } from './store.ts'

export type IncludeObject = 'None' | 'Metadata' | 'Object'

export interface ColumnDefinition {
  name: string
  type: string
  format: string
  description: string
  priority: number
}

export interface Table {
  kind: 'Table'
  apiVersion: 'meta.k8s.io/v1'
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number }
  columnDefinitions: ColumnDefinition[]
  rows: { cells: unknown[]; object?: object }[]
}

type Cell = (o: Obj, now: number) => unknown
type Obj = StoredObject & Record<string, any>

interface Column {
  definition: ColumnDefinition
  cell: Cell
}

/** Age as kubectl shows it: 45s, 3m12s, 5h, 12d, 2y. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 120) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  const withPart = (big: number, unit: string, small: number, smallUnit: string) => (small === 0 ? `${big}${unit}` : `${big}${unit}${small}${smallUnit}`)
  if (minutes < 10) return withPart(minutes, 'm', seconds % 60, 's')
  if (minutes < 180) return `${minutes}m`
  const hours = Math.floor(minutes / 60)
  if (hours < 8) return withPart(hours, 'h', minutes % 60, 'm')
  if (hours < 48) return `${hours}h`
  const days = Math.floor(hours / 24)
  if (hours < 24 * 8) return withPart(days, 'd', hours % 24, 'h')
  if (days < 365 * 2) return `${days}d`
  const years = Math.floor(days / 365)
  if (days < 365 * 8) return withPart(years, 'y', days % 365, 'd')
  return `${years}y`
}

function column(name: string, type: string, cell: Cell, options: { priority?: number; format?: string; description?: string } = {}): Column {
  return { definition: { name, type, format: options.format ?? '', description: options.description ?? name, priority: options.priority ?? 0 }, cell }
}

const age = (time: string | undefined, now: number): string => (time ? humanDuration(now - Date.parse(time)) : '<unknown>')
const nameColumn = column('Name', 'string', (o) => o.metadata.name, {
  format: 'name',
  description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.',
})
const ageColumn = column('Age', 'string', (o, now) => age(o.metadata.creationTimestamp, now), {
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
})
const count = (v: unknown) => (v && typeof v === 'object' ? Object.keys(v).length : 0)
const none = (v: unknown) => (v === undefined || v === null || v === '' ? '<none>' : v)

function podStatus(o: Obj): string {
  if (o.metadata.deletionTimestamp) return 'Terminating'
  const waiting = (o.status?.containerStatuses ?? []).find((c: any) => c.state?.waiting?.reason)
  return o.status?.reason ?? waiting?.state.waiting.reason ?? o.status?.phase ?? 'Unknown'
}

function nodeStatus(o: Obj): string {
  const ready = (o.status?.conditions ?? []).find((c: any) => c.type === 'Ready')
  const state = ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown'
  return o.spec?.unschedulable ? `${state},SchedulingDisabled` : state
}

function nodeRoles(o: Obj): string {
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
  return roles.length > 0 ? roles.sort().join(',') : '<none>'
}

function servicePorts(o: Obj): string {
  const ports = (o.spec?.ports ?? []) as any[]
  if (ports.length === 0) return '<none>'
  return ports.map((p) => `${p.port}${p.nodePort ? ':' + p.nodePort : ''}/${p.protocol ?? 'TCP'}`).join(',')
}

const selectorText = (selector: Record<string, string> | undefined) =>
  selector && Object.keys(selector).length > 0 ? Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',') : '<none>'

const builtinColumns: Record<string, Column[]> = {
  '/pods': [
    nameColumn,
    column('Ready', 'string', (o) => `${(o.status?.containerStatuses ?? []).filter((c: any) => c.ready).length}/${(o.spec?.containers ?? []).length}`),
    column('Status', 'string', podStatus),
    column('Restarts', 'string', (o) => String((o.status?.containerStatuses ?? []).reduce((n: number, c: any) => n + (c.restartCount ?? 0), 0))),
    ageColumn,
    column('IP', 'string', (o) => none(o.status?.podIP), { priority: 1 }),
    column('Node', 'string', (o) => none(o.spec?.nodeName), { priority: 1 }),
  ],
  '/namespaces': [nameColumn, column('Status', 'string', (o) => o.status?.phase ?? ''), ageColumn],
  '/nodes': [
    nameColumn,
    column('Status', 'string', nodeStatus),
    column('Roles', 'string', nodeRoles),
    ageColumn,
    column('Version', 'string', (o) => o.status?.nodeInfo?.kubeletVersion ?? ''),
    column('Internal-IP', 'string', (o) => none((o.status?.addresses ?? []).find((a: any) => a.type === 'InternalIP')?.address), { priority: 1 }),
  ],
  '/configmaps': [nameColumn, column('Data', 'integer', (o) => count(o.data) + count(o.binaryData)), ageColumn],
  '/secrets': [nameColumn, column('Type', 'string', (o) => o.type ?? ''), column('Data', 'integer', (o) => count(o.data)), ageColumn],
  '/services': [
    nameColumn,
    column('Type', 'string', (o) => o.spec?.type ?? 'ClusterIP'),
    column('Cluster-IP', 'string', (o) => none(o.spec?.clusterIP)),
    column('External-IP', 'string', (o) => none((o.spec?.externalIPs ?? []).join(','))),
    column('Port(s)', 'string', servicePorts),
    ageColumn,
    column('Selector', 'string', (o) => selectorText(o.spec?.selector), { priority: 1 }),
  ],
  '/events': [
    column('Last Seen', 'string', (o, now) => age(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp, now)),
    column('Type', 'string', (o) => o.type ?? ''),
    column('Reason', 'string', (o) => o.reason ?? ''),
    column('Object', 'string', (o) => `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`),
    column('Message', 'string', (o) => o.message ?? ''),
    { ...nameColumn, definition: { ...nameColumn.definition, priority: 1 } },
  ],
  'coordination.k8s.io/leases': [nameColumn, column('Holder', 'string', (o) => o.spec?.holderIdentity ?? ''), ageColumn],
  'apps/deployments': [
    nameColumn,
    column('Ready', 'string', (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`),
    column('Up-to-date', 'integer', (o) => o.status?.updatedReplicas ?? 0),
    column('Available', 'integer', (o) => o.status?.availableReplicas ?? 0),
    ageColumn,
  ],
  'apps/replicasets': [
    nameColumn,
    column('Desired', 'integer', (o) => o.spec?.replicas ?? 1),
    column('Current', 'integer', (o) => o.status?.replicas ?? 0),
    column('Ready', 'integer', (o) => o.status?.readyReplicas ?? 0),
    ageColumn,
  ],
  'apps/daemonsets': [
    nameColumn,
    column('Desired', 'integer', (o) => o.status?.desiredNumberScheduled ?? 0),
    column('Current', 'integer', (o) => o.status?.currentNumberScheduled ?? 0),
    column('Ready', 'integer', (o) => o.status?.numberReady ?? 0),
    column('Up-to-date', 'integer', (o) => o.status?.updatedNumberScheduled ?? 0),
    column('Available', 'integer', (o) => o.status?.numberAvailable ?? 0),
    column('Node Selector', 'string', (o) => selectorText(o.spec?.template?.spec?.nodeSelector)),
    ageColumn,
  ],
  'apps/statefulsets': [nameColumn, column('Ready', 'string', (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`), ageColumn],
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': [nameColumn, column('Webhooks', 'integer', (o) => (o.webhooks ?? []).length), ageColumn],
  'admissionregistration.k8s.io/validatingwebhookconfigurations': [nameColumn, column('Webhooks', 'integer', (o) => (o.webhooks ?? []).length), ageColumn],
  'apiextensions.k8s.io/customresourcedefinitions': [nameColumn, column('Created At', 'date', (o) => o.metadata.creationTimestamp)],
}

/** A printer column's cell as kube-apiserver's CRD table convertor types it. */
function customCell(type: string, value: unknown, now: number): unknown {
  if (value === undefined || value === null) return null
  switch (type) {
    case 'string':
      return typeof value === 'string' ? value : JSON.stringify(value)
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null
    case 'number':
      return typeof value === 'number' ? value : null
    case 'boolean':
      return typeof value === 'boolean' ? value : null
    case 'date':
      return typeof value === 'string' ? age(value, now) : null
    default:
      return null
  }
}

const customColumnsCache = new WeakMap<Resource, Column[]>()

function customColumns(resource: Resource): Column[] {
  let columns = customColumnsCache.get(resource)
  if (columns) return columns
  const printer = resource.printerColumns.length > 0 ? resource.printerColumns : [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }]
  columns = [
    nameColumn,
    ...printer.map((p) => {
      const steps = parseJsonPath(p.jsonPath)
      return column(p.name, p.type, (o, now) => customCell(p.type, evaluateJsonPath(o, steps), now), {
        priority: p.priority ?? 0,
        format: p.format ?? '',
        description: p.description ?? `Custom resource definition column (in JSONPath format): ${p.jsonPath}`,
      })
    }),
  ]
  customColumnsCache.set(resource, columns)
  return columns
}

function columnsOf(resource: Resource): Column[] {
  if (resource.custom) return customColumns(resource)
  return builtinColumns[`${resource.group}/${resource.plural}`] ?? [nameColumn, ageColumn]
}

export function rowObject(object: StoredObject, include: IncludeObject): object | undefined {
  if (include === 'None') return undefined
  if (include === 'Object') return object
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata }
}

export function toTable(
  resource: Resource,
  objects: readonly StoredObject[],
  listMeta: Table['metadata'],
  include: IncludeObject,
  withHeaders = true,
): Table {
  const columns = columnsOf(resource)
  const now = Date.now()
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: withHeaders ? columns.map((c) => c.definition) : [],
    rows: objects.map((o) => {
      const object = rowObject(o, include)
      return { cells: columns.map((c) => c.cell(o as Obj, now) ?? null), ...(object ? { object } : {}) }
    }),
  }
}
