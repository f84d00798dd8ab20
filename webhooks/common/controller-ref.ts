// The controller ownerReference of an object, as apimachinery's GetControllerOf / SetControllerReference see it.
import type { ObjectMeta, OwnerReference } from '../../schemas/meta.ts'

export const controllerOf = (meta: ObjectMeta | undefined): OwnerReference | undefined =>
  Array.isArray(meta?.ownerReferences) ? meta.ownerReferences.find((r) => r?.controller === true) : undefined

const groupOf = (apiVersion: string | undefined) => {
  const slash = (apiVersion ?? '').indexOf('/')
  return slash < 0 ? '' : apiVersion!.slice(0, slash)
}

/** Same object for ownership purposes: same API group, kind and name (the uid may differ). */
export const refersToSameObject = (a: OwnerReference, b: OwnerReference): boolean =>
  groupOf(a.apiVersion) === groupOf(b.apiVersion) && a.kind === b.kind && a.name === b.name

/**
 * Makes `owner` the controller of the object: replaces a reference to the same object or appends.
 * Returns false, changing nothing, when another object is already the controller.
 */
export function setControllerReference(meta: ObjectMeta, owner: OwnerReference): boolean {
  const ref: OwnerReference = { ...owner, controller: true, blockOwnerDeletion: true }
  const current = controllerOf(meta)
  if (current && !refersToSameObject(current, ref)) return false
  const refs = Array.isArray(meta.ownerReferences) ? [...meta.ownerReferences] : []
  const i = refs.findIndex((r) => refersToSameObject(r, ref))
  if (i >= 0) refs[i] = ref
  else refs.push(ref)
  meta.ownerReferences = refs
  return true
}
