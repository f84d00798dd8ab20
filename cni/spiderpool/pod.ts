// What the plugin reads off the pod: whether it is still alive and its top controller. Whether a
// StatefulSet owns it and a NIC's reservation entry it reads as the endpoint webhook does
// (webhooks/pod/claim.ts).
import { clusterFromObjects } from '../../webhooks/cluster.ts'
import { statefulSetOf } from '../../webhooks/pod/claim.ts'
import type { Pod } from '../../webhooks/pod/pod.ts'
import { topControllerOf } from '../../webhooks/pod/top-controller.ts'
import type { PodFacts } from './endpoint.ts'

export interface PodObject extends Pod {
  status?: { phase?: string; [key: string]: unknown }
}

/** Spiderpool's "alive": not being deleted and not finished; DEL of an alive pod keeps its addresses. */
export const isAlive = (pod: PodObject): boolean => !pod.metadata.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed'

export function podFacts(pod: PodObject, node: string): PodFacts {
  const namespace = pod.metadata.namespace ?? 'default'
  // ReplicaSets are not read: a Deployment's is recognised by its pod-template-hash name
  const top = topControllerOf(pod, namespace, clusterFromObjects())
  return {
    namespace,
    name: pod.metadata.name ?? '',
    uid: pod.metadata.uid ?? '',
    node,
    statefulSet: statefulSetOf(pod) !== undefined,
    ownerControllerType: top.kind,
    ownerControllerName: top.name,
  }
}

/** `web-3` of StatefulSet `web` is ordinal 3. */
export function ordinalOf(podName: string, statefulSet: string): number | undefined {
  const prefix = `${statefulSet}-`
  if (!podName.startsWith(prefix)) return undefined
  const rest = podName.slice(prefix.length)
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined
}

/** Spiderpool's validity rule: the StatefulSet exists and the pod's ordinal is within its replicas (from `spec.ordinals.start`). */
export function statefulSetKeeps(sts: { metadata?: { deletionTimestamp?: string }; spec?: Record<string, any> } | undefined, podName: string, name: string): boolean {
  if (!sts || sts.metadata?.deletionTimestamp) return false
  const ordinal = ordinalOf(podName, name)
  if (ordinal === undefined) return false
  const start = Number.isInteger(sts.spec?.ordinals?.start) ? (sts.spec!.ordinals.start as number) : 0
  const replicas = Number.isInteger(sts.spec?.replicas) ? (sts.spec!.replicas as number) : 1
  return ordinal >= start && ordinal < start + replicas
}

/** The node this command runs for: the pod's, else this host's. */
export const nodeOf = (pod: PodObject): string => pod.spec?.nodeName || process.getBuiltinModule('node:os').hostname()
