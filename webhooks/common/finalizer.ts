// The finalizer that keeps a pool or subnet until its IPs are released.
import type { ObjectMeta } from '../../schemas/meta.ts'
import { spiderpoolFinalizer } from './keys.ts'

export const hasSpiderpoolFinalizer = (meta: ObjectMeta | undefined): boolean =>
  Array.isArray(meta?.finalizers) && meta.finalizers.includes(spiderpoolFinalizer)

/** Appends the finalizer when it is missing (controller-runtime's AddFinalizer). */
export function addSpiderpoolFinalizer(meta: ObjectMeta): void {
  if (hasSpiderpoolFinalizer(meta)) return
  meta.finalizers = [...(Array.isArray(meta.finalizers) ? meta.finalizers : []), spiderpoolFinalizer]
}
