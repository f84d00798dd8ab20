// ObjectMeta as kube-apiserver keeps it: system fields set on create and carried over on update,
// generateName, generation counting, and the validation of names, labels, annotations and owners.
import { randomInt, randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import type { FieldError } from './errors.ts'
import type { Resource } from './resources.ts'
import type { StoredObject } from './store.ts'

/** RFC 3339 in whole seconds, as metav1.Time is serialized. */
export const timestamp = (date: Date = new Date()): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z')

const generatedAlphabet = 'bcdfghjklmnpqrstvwxz2456789'
const generatedLength = 5
const maxGeneratedBase = 63 - generatedLength

export function generatedName(base: string): string {
  let suffix = ''
  for (let i = 0; i < generatedLength; i++) suffix += generatedAlphabet[randomInt(generatedAlphabet.length)]
  return base.slice(0, maxGeneratedBase) + suffix
}

/** Sets what the server owns on a new object: uid, creationTimestamp, generation; clears the rest. */
export function prepareForCreate(resource: Resource, object: StoredObject, now: Date): void {
  const meta = object.metadata
  meta.uid = randomUUID()
  meta.creationTimestamp = timestamp(now)
  delete meta.resourceVersion
  delete meta.deletionTimestamp
  delete meta.deletionGracePeriodSeconds
  delete (meta as Record<string, unknown>).selfLink
  if (resource.hasGeneration) meta.generation = 1
  else delete meta.generation
  if (resource.hasStatus) delete object.status
}

/** Everything but metadata and status: what a change of bumps `generation`. */
function specOf(object: StoredObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = object
  return rest
}

/**
 * Carries the server-owned fields of `old` over to `object` (in place). A status write keeps
 * everything of `old` but the status; a main-resource write keeps the old status.
 */
export function prepareForUpdate(resource: Resource, object: StoredObject, old: StoredObject, subresource: string | undefined): StoredObject {
  if (subresource === 'status') {
    const updated = structuredClone(old) as StoredObject
    if (object.status === undefined) delete updated.status
    else updated.status = object.status
    updated.metadata.resourceVersion = object.metadata.resourceVersion
    return updated
  }
  const meta = object.metadata
  meta.name = old.metadata.name
  if (resource.namespaced) meta.namespace = old.metadata.namespace
  else delete meta.namespace
  meta.uid = old.metadata.uid
  meta.creationTimestamp = old.metadata.creationTimestamp
  if (old.metadata.deletionTimestamp) {
    meta.deletionTimestamp = old.metadata.deletionTimestamp
    meta.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds
  } else {
    delete meta.deletionTimestamp
    delete meta.deletionGracePeriodSeconds
  }
  delete (meta as Record<string, unknown>).selfLink
  if (resource.hasStatus) {
    if (old.status === undefined) delete object.status
    else object.status = old.status
  }
  if (resource.hasGeneration) {
    const oldGeneration = old.metadata.generation ?? 1
    meta.generation = isDeepStrictEqual(specOf(object), specOf(old)) ? oldGeneration : oldGeneration + 1
  } else delete meta.generation
  return object
}

/** Fields of ObjectMeta a write may not change: reported before anything is carried over. */
export function immutableMetaErrors(object: StoredObject, old: StoredObject): FieldError[] {
  const errors: FieldError[] = []
  const uid = object.metadata.uid
  if (uid && uid !== old.metadata.uid) errors.push({ field: 'metadata.uid', type: 'FieldValueInvalid', value: uid, detail: 'field is immutable' })
  return errors
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const qualifiedNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

const subdomainMessage =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
const labelMessage =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
const qualifiedNameMessage =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
const labelValueMessage =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

function qualifiedNameProblem(name: string): string | undefined {
  const slash = name.indexOf('/')
  const prefix = slash >= 0 ? name.slice(0, slash) : undefined
  const part = slash >= 0 ? name.slice(slash + 1) : name
  if (prefix !== undefined && (prefix.length > 253 || !dnsSubdomain.test(prefix))) return `prefix part ${subdomainMessage}`
  if (part.length === 0) return 'name part must be non-empty'
  if (part.length > 63) return 'name part must be no more than 63 characters'
  if (!qualifiedNamePart.test(part)) return qualifiedNameMessage
  return undefined
}

const maxAnnotationBytes = 256 * 1024

export function validateObjectMeta(resource: Resource, object: StoredObject): FieldError[] {
  const errors: FieldError[] = []
  const meta = object.metadata
  const name = meta.name ?? ''
  if (name === '') errors.push({ field: 'metadata.name', type: 'FieldValueRequired', detail: 'name or generateName is required' })
  else if (resource.plural === 'namespaces' ? name.length > 63 || !dnsLabel.test(name) : name.length > 253 || !dnsSubdomain.test(name)) {
    errors.push({ field: 'metadata.name', type: 'FieldValueInvalid', value: name, detail: resource.plural === 'namespaces' ? labelMessage : subdomainMessage })
  }
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    const problem = qualifiedNameProblem(key)
    if (problem) errors.push({ field: 'metadata.labels', type: 'FieldValueInvalid', value: key, detail: problem })
    if (typeof value !== 'string' || value.length > 63 || !labelValue.test(value)) {
      errors.push({ field: 'metadata.labels', type: 'FieldValueInvalid', value, detail: labelValueMessage })
    }
  }
  let annotationBytes = 0
  for (const [key, value] of Object.entries(meta.annotations ?? {})) {
    const problem = qualifiedNameProblem(key.toLowerCase())
    if (problem) errors.push({ field: 'metadata.annotations', type: 'FieldValueInvalid', value: key, detail: problem })
    if (typeof value !== 'string') errors.push({ field: `metadata.annotations.${key}`, type: 'FieldValueInvalid', value, detail: 'must be a string' })
    annotationBytes += Buffer.byteLength(key) + Buffer.byteLength(String(value))
  }
  if (annotationBytes > maxAnnotationBytes) {
    errors.push({ field: 'metadata.annotations', type: 'FieldValueTooLong', detail: `must have at most ${maxAnnotationBytes} bytes` })
  }
  ;(meta.finalizers ?? []).forEach((finalizer, i) => {
    const problem = typeof finalizer === 'string' ? qualifiedNameProblem(finalizer) : 'must be a string'
    if (problem) errors.push({ field: `metadata.finalizers[${i}]`, type: 'FieldValueInvalid', value: finalizer, detail: problem })
  })
  ;(meta.ownerReferences ?? []).forEach((owner, i) => {
    for (const field of ['apiVersion', 'kind', 'name', 'uid'] as const) {
      if (!owner[field]) errors.push({ field: `metadata.ownerReferences[${i}].${field}`, type: 'FieldValueInvalid', value: owner[field] ?? '', detail: `${field} must not be empty` })
    }
  })
  return errors
}
