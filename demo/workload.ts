// What the controllers and the scheduler would do for a walkthrough's workload, done by hand: a
// Deployment's ReplicaSet and its pods from the template (`generateName`), a DaemonSet's pod per
// node; then each admitted pod bound to a node its required node affinity (which the webhook may
// have injected from the pool) and nodeSelector allow, spreading replicas over the nodes.

export interface KubeObj {
  apiVersion?: string
  kind?: string
  metadata: { name?: string; generateName?: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: unknown[] }
  spec?: Record<string, unknown>
}

export interface Workload extends KubeObj {
  kind: 'Deployment' | 'DaemonSet'
  spec: { replicas?: number; selector?: unknown; template: { metadata?: KubeObj['metadata']; spec: Record<string, unknown> } }
}

export interface NodeObj {
  metadata: { name: string; labels?: Record<string, string> }
}

const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789'

/** The pod-template-hash label: FNV-1a of the template, its decimal digits mapped as Kubernetes' SafeEncodeString does. */
export function templateHash(template: unknown): string {
  let h = 0x811c9dc5
  for (const byte of Buffer.from(JSON.stringify(template))) h = Math.imul(h ^ byte, 0x01000193) >>> 0
  return [...String(h)].map((c) => safeAlphabet[c.charCodeAt(0) % safeAlphabet.length]).join('')
}

const owner = (o: KubeObj) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true })

/** The ReplicaSet a Deployment controller creates for the current template. */
export function replicaSetOf(d: Workload): KubeObj {
  const hash = templateHash(d.spec.template)
  const labels = { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash }
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: `${d.metadata.name}-${hash}`, namespace: d.metadata.namespace, labels, ownerReferences: [owner(d)] },
    spec: { replicas: d.spec.replicas ?? 1, selector: { matchLabels: labels }, template: { ...d.spec.template, metadata: { ...d.spec.template.metadata, labels } } },
  }
}

/** A pod from a controller's template, named by the API server from `generateName`. */
export function podFromTemplate(controller: KubeObj, template: Workload['spec']['template'], extraSpec: Record<string, unknown> = {}): KubeObj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${controller.metadata.name}-`,
      namespace: controller.metadata.namespace,
      labels: { ...template.metadata?.labels },
      annotations: { ...template.metadata?.annotations },
      ownerReferences: [owner(controller)],
    },
    spec: { ...template.spec, ...extraSpec },
  }
}

/** The DaemonSet controller pins its pod for a node with required node affinity on the node's name. */
export function daemonPodFor(ds: Workload, node: string): KubeObj {
  const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] } } }
  return podFromTemplate(ds, ds.spec.template, { affinity })
}

interface Requirement {
  key: string
  operator: string
  values?: string[]
}

function satisfied(r: Requirement, value: string | undefined): boolean {
  const values = r.values ?? []
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value)
    case 'NotIn':
      return value === undefined || !values.includes(value)
    case 'Exists':
      return value !== undefined
    case 'DoesNotExist':
      return value === undefined
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0])
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0])
    default:
      return false
  }
}

/** Whether the pod may run on the node: its nodeSelector and its required node affinity (terms ORed, requirements ANDed). */
export function schedulable(pod: KubeObj, node: NodeObj): boolean {
  const labels = node.metadata.labels ?? {}
  const selector = (pod.spec?.nodeSelector ?? {}) as Record<string, string>
  if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) return false
  const terms = (pod.spec?.affinity as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: Array<{ matchExpressions?: Requirement[]; matchFields?: Requirement[] }> } } } | undefined)?.nodeAffinity
    ?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms
  if (!terms) return true
  return terms.some(
    (t) =>
      (t.matchExpressions?.length || t.matchFields?.length) &&
      (t.matchExpressions ?? []).every((r) => satisfied(r, labels[r.key])) &&
      (t.matchFields ?? []).every((r) => satisfied(r, r.key === 'metadata.name' ? node.metadata.name : undefined)),
  )
}

/** The node for the pod: of those it may run on, the one with the fewest pods placed so far (the first on a tie). */
export function chooseNode(pod: KubeObj, nodes: NodeObj[], placed: Map<string, number>): string {
  const fit = nodes.filter((n) => schedulable(pod, n))
  if (fit.length === 0) throw new Error(`0/${nodes.length} nodes are available for pod ${pod.metadata.namespace}/${pod.metadata.name}: its node affinity or selector matches none`)
  const best = fit.reduce((a, b) => ((placed.get(b.metadata.name) ?? 0) < (placed.get(a.metadata.name) ?? 0) ? b : a))
  placed.set(best.metadata.name, (placed.get(best.metadata.name) ?? 0) + 1)
  return best.metadata.name
}
