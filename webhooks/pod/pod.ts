// The parts of a core/v1 Pod that admission reads and writes.
import type { KubeObject, ObjectMeta } from '../../schemas/meta.ts'

export interface NodeSelectorRequirement {
  key: string
  operator: string
  values?: string[]
}

/** Requirements ANDed; a term without any requirement matches no node. */
export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[]
  matchFields?: NodeSelectorRequirement[]
}

/** Terms ORed. */
export interface NodeSelector {
  nodeSelectorTerms: NodeSelectorTerm[]
}

export type ResourceList = Record<string, string | number>

export interface Container {
  name?: string
  resources?: { limits?: ResourceList; requests?: ResourceList; [key: string]: unknown }
  [key: string]: unknown
}

export interface PodSpec {
  nodeName?: string
  nodeSelector?: Record<string, string>
  hostNetwork?: boolean
  affinity?: {
    nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector; [key: string]: unknown }
    [key: string]: unknown
  }
  containers?: Container[]
  [key: string]: unknown
}

export interface Pod extends KubeObject {
  metadata: ObjectMeta
  spec?: PodSpec
}

export const annotationsOf = (o: { metadata?: ObjectMeta } | undefined): Record<string, string> => o?.metadata?.annotations ?? {}

export const labelsOf = (o: { metadata?: ObjectMeta } | undefined): Record<string, string> => o?.metadata?.labels ?? {}
