// A pod's top controller, as Spiderpool resolves it (Pod → ReplicaSet → Deployment,
// Pod → Job → CronJob, DaemonSet, StatefulSet; third-party owners as they are; no owner: the pod
// itself). Auto-created pools are keyed by it and their podAffinity is matched against it.
import type { ClusterSnapshot } from '../cluster.ts'
import { controllerOf } from '../common/controller-ref.ts'
import type { Pod } from './pod.ts'

export interface TopController {
  apiVersion: string
  kind: string
  namespace: string
  name: string
  /** undefined when only the name could be worked out */
  uid?: string
}

const builtInAPIVersions = ['v1', 'apps/v1', 'batch/v1']
const builtInKinds = ['Pod', 'Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob']

export function topControllerOf(pod: Pod, namespace: string, cluster: ClusterSnapshot): TopController {
  const owner = controllerOf(pod.metadata)
  if (!owner) return { apiVersion: 'v1', kind: 'Pod', namespace, name: pod.metadata.name ?? '', uid: pod.metadata.uid }
  const self: TopController = { apiVersion: owner.apiVersion, kind: owner.kind, namespace, name: owner.name, uid: owner.uid }
  if (!builtInAPIVersions.includes(owner.apiVersion)) return self
  if (owner.kind === 'ReplicaSet') {
    const rs = cluster.replicaSet(namespace, owner.name)
    if (rs) {
      const up = controllerOf(rs.metadata)
      return up?.apiVersion === 'apps/v1' && up.kind === 'Deployment'
        ? { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: up.name, uid: up.uid }
        : self
    }
    // the pod may be admitted before our cache has seen its new ReplicaSet: the Deployment
    // controller names ReplicaSets `<deployment>-<pod-template-hash>`
    const hash = pod.metadata.labels?.['pod-template-hash']
    if (hash && owner.name.endsWith(`-${hash}`)) {
      return { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: owner.name.slice(0, -hash.length - 1) }
    }
    return self
  }
  if (owner.kind === 'Job') {
    const up = controllerOf(cluster.job(namespace, owner.name)?.metadata)
    return up?.apiVersion === 'batch/v1' && up.kind === 'CronJob' ? { apiVersion: 'batch/v1', kind: 'CronJob', namespace, name: up.name, uid: up.uid } : self
  }
  return self
}

/** Kubernetes' own workload kinds; the auto-pool of any other owner is created by the agent in Spiderpool. */
export const isBuiltInController = (c: TopController): boolean => builtInAPIVersions.includes(c.apiVersion) && builtInKinds.includes(c.kind)
