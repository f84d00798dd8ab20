// What one local control plane serves: the fixed table of resources.ts, the built-ins it was started
// to serve besides (kube-apiserver's --runtime-config), and the kinds of the CustomResourceDefinitions
// created through its API (Calico's, Cilium's…), served from the moment they are stored and gone with
// them, as kube-apiserver's apiextensions controllers do. The store is the source: nothing here keeps
// state of its own beyond what the control plane was started with.
import type { OpenAPISchema, PrinterColumn } from '../../schemas/index.ts'
import { openAPIValidator } from '../../schemas/validate.ts'
import type { FieldError } from './errors.ts'
import { timestamp } from './objectmeta.ts'
import { builtin, crdResource, resources, type Resource } from './resources.ts'
import type { Change, Store, StoredObject } from './store.ts'

/** Built-in APIs kube-apiserver serves only when asked to; this control plane reports v1.32. */
export interface OptionalAPIs {
  /**
   * networking.k8s.io ServiceCIDRs: v1beta1 as 1.31–1.32 serve them with the MultiCIDRServiceAllocator
   * gate and runtime-config on, v1 as 1.33 does by default. Off by default, as in 1.32. No default
   * `kubernetes` ServiceCIDR is created: this control plane has no --service-cluster-ip-range.
   */
  serviceCIDRs?: 'v1' | 'v1beta1'
}

export const serviceCIDRResource = (version: 'v1' | 'v1beta1'): Resource =>
  builtin({ group: 'networking.k8s.io', version, kind: 'ServiceCIDR', plural: 'servicecidrs', namespaced: false, hasStatus: true })

const serviceCIDRs = { v1: serviceCIDRResource('v1'), v1beta1: serviceCIDRResource('v1beta1') }

/** Every optional row by storage key, for reading back a state file whatever this run serves. */
export const optionalResources: readonly Resource[] = [serviceCIDRs.v1]

const optionalByStore = new WeakMap<Store, Resource[]>()

export function serveOptionalAPIs(store: Store, apis: OptionalAPIs): void {
  optionalByStore.set(store, apis.serviceCIDRs ? [serviceCIDRs[apis.serviceCIDRs]] : [])
}

const ownCRDNames = new Set(resources.filter((r) => r.custom).map((r) => `${r.plural}.${r.group}`))
const builtInGroups = new Set(resources.map((r) => r.group))

/** The CRDs of our own kinds: bootstrapped from schemas/, read-only through the API. */
export const isOwnCRD = (name: string): boolean => ownCRDNames.has(name)

interface CRDVersion {
  name?: unknown
  served?: unknown
  storage?: unknown
  schema?: { openAPIV3Schema?: unknown }
  subresources?: { status?: unknown }
  additionalPrinterColumns?: unknown
}

interface CRDSpec {
  group?: unknown
  scope?: unknown
  names?: { kind?: unknown; plural?: unknown; singular?: unknown; listKind?: unknown; shortNames?: unknown; categories?: unknown }
  versions?: unknown
}

const specOf = (crd: StoredObject): CRDSpec => (crd.spec !== null && typeof crd.spec === 'object' ? (crd.spec as CRDSpec) : {})
const versionsOf = (spec: CRDSpec): CRDVersion[] => (Array.isArray(spec.versions) ? spec.versions.filter((v) => v !== null && typeof v === 'object') : [])
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [])
const servedVersion = (spec: CRDSpec): CRDVersion | undefined => versionsOf(spec).find((v) => v.served !== false)

const derived = new WeakMap<StoredObject, Resource | undefined>()

/** The resource a stored CRD of someone else's kind serves (its one served version). */
export function resourceOfCRD(crd: StoredObject): Resource | undefined {
  if (derived.has(crd)) return derived.get(crd)
  let resource: Resource | undefined
  const spec = specOf(crd)
  const version = servedVersion(spec)
  const { group } = spec
  const kind = spec.names?.kind
  const plural = spec.names?.plural
  if (!isOwnCRD(crd.metadata.name ?? '') && version && typeof version.name === 'string' && typeof group === 'string' && typeof kind === 'string' && typeof plural === 'string') {
    resource = {
      group,
      version: version.name,
      kind,
      plural,
      singular: typeof spec.names?.singular === 'string' && spec.names.singular ? spec.names.singular : kind.toLowerCase(),
      namespaced: spec.scope === 'Namespaced',
      shortNames: strings(spec.names?.shortNames),
      categories: strings(spec.names?.categories),
      hasStatus: version.subresources?.status !== undefined && version.subresources?.status !== null,
      custom: true,
      hasGeneration: true,
      schema: version.schema?.openAPIV3Schema as OpenAPISchema | undefined,
      printerColumns: Array.isArray(version.additionalPrinterColumns) ? (version.additionalPrinterColumns as PrinterColumn[]) : [],
      fieldSelectors: [],
    }
  }
  derived.set(crd, resource)
  return resource
}

/** Everything this control plane serves now, in discovery order. */
export function servedResources(store: Store): Resource[] {
  const fromCRDs = store.list(crdResource).flatMap((crd) => resourceOfCRD(crd) ?? [])
  return [...resources, ...(optionalByStore.get(store) ?? []), ...fromCRDs]
}

export function findServed(store: Store, group: string, version: string, plural: string): Resource | undefined {
  return servedResources(store).find((r) => r.group === group && r.version === version && r.plural === plural)
}

// kube-apiserver keeps these groups for APIs reviewed upstream
const isProtectedGroup = (group: string) => group === 'k8s.io' || group === 'kubernetes.io' || group.endsWith('.k8s.io') || group.endsWith('.kubernetes.io')
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/** What kube-apiserver's CRD validation would refuse, as far as serving the kind depends on it. */
export function crdErrors(crd: StoredObject, old?: StoredObject): FieldError[] {
  const errors: FieldError[] = []
  const spec = specOf(crd)
  const group = typeof spec.group === 'string' ? spec.group : ''
  const plural = typeof spec.names?.plural === 'string' ? spec.names.plural : ''
  const name = crd.metadata.name ?? ''
  if (!group) errors.push({ field: 'spec.group', type: 'FieldValueRequired', detail: '' })
  else if (!group.includes('.') || !dnsSubdomain.test(group)) errors.push({ field: 'spec.group', type: 'FieldValueInvalid', value: group, detail: 'should be a domain with at least one dot' })
  else if (builtInGroups.has(group)) errors.push({ field: 'spec.group', type: 'FieldValueForbidden', detail: `the kinds of ${group} are built into this control plane` })
  else if (isProtectedGroup(group) && !crd.metadata.annotations?.['api-approved.kubernetes.io']) {
    errors.push({ field: 'metadata.annotations[api-approved.kubernetes.io]', type: 'FieldValueRequired', detail: 'protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111' })
  }
  if (!plural) errors.push({ field: 'spec.names.plural', type: 'FieldValueRequired', detail: '' })
  else if (!dnsLabel.test(plural)) errors.push({ field: 'spec.names.plural', type: 'FieldValueInvalid', value: plural, detail: 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\'' })
  if (typeof spec.names?.kind !== 'string' || !spec.names.kind) errors.push({ field: 'spec.names.kind', type: 'FieldValueRequired', detail: '' })
  if (group && plural && name !== `${plural}.${group}`) errors.push({ field: 'metadata.name', type: 'FieldValueInvalid', value: name, detail: 'must be spec.names.plural+"."+spec.group' })
  if (spec.scope !== 'Cluster' && spec.scope !== 'Namespaced') errors.push({ field: 'spec.scope', type: 'FieldValueNotSupported', value: spec.scope ?? '', detail: 'supported values: "Cluster", "Namespaced"' })

  const versions = versionsOf(spec)
  if (versions.length === 0) errors.push({ field: 'spec.versions', type: 'FieldValueRequired', detail: 'must have exactly one version marked as storage version' })
  else if (versions.filter((v) => v.storage === true).length !== 1) errors.push({ field: 'spec.versions', type: 'FieldValueInvalid', value: versions.map((v) => v.name), detail: 'must have exactly one version marked as storage version' })
  // no conversion here: objects are stored as written, so only one version can be read back
  if (versions.filter((v) => v.served !== false).length > 1) errors.push({ field: 'spec.versions', type: 'FieldValueForbidden', detail: 'this control plane serves one version of a custom resource (it does not convert)' })
  versions.forEach((v, i) => {
    if (typeof v.name !== 'string' || !dnsLabel.test(v.name)) errors.push({ field: `spec.versions[${i}].name`, type: 'FieldValueInvalid', value: v.name ?? '', detail: 'must be a DNS label' })
    const schema = v.schema?.openAPIV3Schema
    if (schema === null || typeof schema !== 'object') {
      errors.push({ field: `spec.versions[${i}].schema.openAPIV3Schema`, type: 'FieldValueRequired', detail: 'schemas are required' })
      return
    }
    try {
      openAPIValidator(schema)
    } catch (e) {
      errors.push({ field: `spec.versions[${i}].schema.openAPIV3Schema`, type: 'FieldValueInvalid', value: '', detail: (e as Error).message })
    }
  })

  if (old) {
    const before = specOf(old)
    if (before.group !== spec.group) errors.push({ field: 'spec.group', type: 'FieldValueInvalid', value: spec.group ?? '', detail: 'field is immutable' })
    if (before.names?.plural !== spec.names?.plural) errors.push({ field: 'spec.names.plural', type: 'FieldValueInvalid', value: plural, detail: 'field is immutable' })
    if (before.scope !== spec.scope) errors.push({ field: 'spec.scope', type: 'FieldValueInvalid', value: spec.scope ?? '', detail: 'field is immutable' })
  }
  return errors
}

type Condition = { type: string; status: string; reason: string; message: string; lastTransitionTime?: string }

/** The status kube-apiserver's naming and establishing controllers give an accepted CRD. */
function acceptedStatus(crd: StoredObject, now: string): Record<string, unknown> {
  const spec = specOf(crd)
  const names = spec.names ?? {}
  const kind = String(names.kind)
  const conditions: Condition[] = [
    { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now },
    { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now },
  ]
  return {
    acceptedNames: {
      kind,
      listKind: typeof names.listKind === 'string' && names.listKind ? names.listKind : `${kind}List`,
      plural: names.plural,
      singular: typeof names.singular === 'string' && names.singular ? names.singular : kind.toLowerCase(),
      ...(strings(names.shortNames).length > 0 ? { shortNames: strings(names.shortNames) } : {}),
      ...(strings(names.categories).length > 0 ? { categories: strings(names.categories) } : {}),
    },
    conditions,
    storedVersions: [String(servedVersion(spec)?.name)],
  }
}

const withoutTimes = (status: unknown): string =>
  JSON.stringify(status, (key, value) => (key === 'lastTransitionTime' ? undefined : value))

/** The resource whose CRD this change removed, if any: its watches end (watch.ts). */
export function kindRemovedBy(change: Change): Resource | undefined {
  if (change.type !== 'DELETED' || change.resource !== crdResource) return undefined
  return resourceOfCRD(change.object)
}

/**
 * The apiextensions controllers, inline: a new or changed CRD of someone else's kind gets its
 * accepted status, after the change that caused it as the controller does; a CRD that goes takes
 * its objects with it at once, so that the watchers of its kind see them deleted before their
 * watch ends. Subscribed before any watch. Returns the stop function.
 */
export function startCRDController(store: Store): () => void {
  return store.subscribe((change) => {
    if (change.resource !== crdResource || isOwnCRD(change.object.metadata.name ?? '')) return
    const gone = kindRemovedBy(change)
    if (gone) {
      for (const object of store.list(gone)) store.remove(gone, object.metadata.namespace, object.metadata.name!)
      return
    }
    const name = change.object.metadata.name!
    queueMicrotask(() => {
      const current = store.get(crdResource, undefined, name)
      if (!current || current.metadata.deletionTimestamp) return
      const status = acceptedStatus(current, (current.status as { conditions?: Condition[] } | undefined)?.conditions?.[0]?.lastTransitionTime ?? timestamp())
      if (withoutTimes(status) !== withoutTimes(current.status)) store.update(crdResource, { ...current, status })
    })
  })
}
