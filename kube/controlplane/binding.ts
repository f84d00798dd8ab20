// POST pods/<name>/binding, how kube-scheduler places a pod (kube-apiserver's BindingREST): it
// sets spec.nodeName once and marks the pod PodScheduled; a bound pod is never moved (409), a
// missing one is 404, and the answer is a Status with code 201. Updating spec.nodeName itself is
// what kube-apiserver refuses for an existing pod, so this is the only way to place one.
import { admitted, attributesFor } from './admission-chain.ts'
import { decodeObject, redecode } from './decode.ts'
import { ApiError, badRequest, conflict, notFound, type Status } from './errors.ts'
import { timestamp } from './objectmeta.ts'
import { findResource, type Resource } from './resources.ts'
import type { StoredObject } from './store.ts'
import type { WriteContext, WriteRequest } from './writes.ts'

const podResource = findResource('', 'v1', 'pods')!
// the object posted: a v1 Binding (the kind of the legacy `bindings` resource)
const bindingResource: Resource = { ...podResource, kind: 'Binding', plural: 'bindings', singular: 'binding', shortNames: [], categories: [], hasStatus: false, fieldSelectors: [] }
const bindingSubresource = { group: '', plural: 'pods/binding' }

interface Binding extends StoredObject {
  target?: { kind?: string; name?: string }
}

/** validation.ValidatePodBinding; kube-apiserver returns its errors unwrapped, which reach the client as a 500 without a reason. */
function validateBinding(binding: Binding): void {
  const errors: string[] = []
  const kind = binding.target?.kind ?? ''
  if (kind !== '' && kind !== 'Node') errors.push(`target.kind: Unsupported value: ${JSON.stringify(kind)}: supported values: "Node", "<empty>"`)
  if (!binding.target?.name) errors.push('target.name: Required value')
  if (errors.length === 0) return
  const error = new ApiError(500, '', errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`)
  delete error.status.reason
  throw error
}

/** The storage precondition failure, as InterpretUpdateError words it. */
function preconditionFailed(req: WriteRequest, detail: string): ApiError {
  return conflict(podResource, req.name!, `StorageError: invalid object, Code: 4, Key: /pods/${req.namespace}/${req.name}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: ${detail}`)
}

/** podutil.UpdatePodCondition(PodScheduled=True): a new transition time only when the status changes. */
function scheduled(conditions: unknown): unknown[] {
  const list = Array.isArray(conditions) ? [...conditions] : []
  const at = list.findIndex((c) => c?.type === 'PodScheduled')
  const old = at >= 0 ? list[at] : undefined
  const condition = { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: old?.status === 'True' && old.lastTransitionTime ? old.lastTransitionTime : timestamp() }
  if (at >= 0) list[at] = condition
  else list.push(condition)
  return list
}

export async function bindPod(ctx: WriteContext, req: WriteRequest, body: unknown): Promise<Status> {
  const binding = decodeObject(bindingResource, body, req.fieldValidation, req.warnings, 'create') as Binding
  const inBody = binding.metadata.namespace
  if (inBody && inBody !== req.namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request')
  binding.metadata.namespace = req.namespace
  const attributes = () => ({
    ...attributesFor(podResource, 'CREATE', { namespace: req.namespace, name: req.name!, subresource: 'binding' }, { object: binding }, req.dryRun, ctx.userInfo),
    kind: { group: '', version: 'v1', kind: 'Binding' },
  })
  let admittedBinding = binding
  if (ctx.admission) {
    const mutated = admitted(await ctx.admission.mutate(attributes()), req.warnings)
    if (mutated) admittedBinding = redecode(bindingResource, mutated) as Binding
  }
  if (admittedBinding.metadata.name !== req.name) throw badRequest('name in URL does not match name in Binding object')
  validateBinding(admittedBinding)
  if (ctx.admission) admitted(await ctx.admission.validate({ ...attributes(), object: structuredClone(admittedBinding) }), req.warnings)

  // everything from here runs in one turn: the read and the write are one compare-and-swap
  const pod = ctx.store.get(podResource, req.namespace, req.name!)
  if (!pod) throw notFound(podResource, req.name!)
  const { uid, resourceVersion, annotations } = admittedBinding.metadata
  if (uid && uid !== pod.metadata.uid) throw preconditionFailed(req, `UID in precondition: ${uid}, UID in object meta: ${pod.metadata.uid}`)
  if (resourceVersion && resourceVersion !== pod.metadata.resourceVersion) {
    throw preconditionFailed(req, `ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${pod.metadata.resourceVersion}`)
  }
  const spec = (pod.spec ?? {}) as { nodeName?: string; schedulingGates?: unknown[] }
  if (pod.metadata.deletionTimestamp) throw conflict(bindingSubresource, pod.metadata.name!, `pod ${pod.metadata.name} is being deleted, cannot be assigned to a host`)
  if (spec.nodeName) throw conflict(bindingSubresource, pod.metadata.name!, `pod ${pod.metadata.name} is already assigned to node ${JSON.stringify(spec.nodeName)}`)
  if (spec.schedulingGates?.length) throw conflict(bindingSubresource, pod.metadata.name!, `pod ${pod.metadata.name} has non-empty .spec.schedulingGates`)

  const bound = structuredClone(pod) as StoredObject
  bound.spec = { ...spec, nodeName: admittedBinding.target!.name }
  if (annotations && Object.keys(annotations).length > 0) bound.metadata.annotations = { ...bound.metadata.annotations, ...annotations }
  const status = (bound.status ?? {}) as Record<string, unknown>
  bound.status = { ...status, conditions: scheduled(status.conditions) }
  if (!req.dryRun) ctx.store.update(podResource, bound)
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }
}
