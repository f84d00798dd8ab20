// The contract between the admission server and one kind's rules (controller-runtime's
// CustomDefaulter / CustomValidator): pure functions, no HTTP, no patches, no I/O.
import type { ClusterSnapshot } from './cluster.ts'
import type { Settings } from './settings.ts'
import type { ValidationResult } from './field.ts'
import type { KubeObject } from '../schemas/meta.ts'

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT'

export interface AdmissionContext {
  operation: Operation
  settings: Settings
  cluster: ClusterSnapshot
  dryRun: boolean
}

export interface KindWebhook<T extends KubeObject = KubeObject> {
  /** `SpiderIPPool` */
  kind: string
  /** `spiderippool`: the path suffix of /mutate-… and /validate-… */
  pathName: string
  /** `spiderippools` */
  resource: string
  namespaced: boolean
  /** JSON Schema of the whole object: the server checks types with it before any rule runs */
  schema: object
  /**
   * Mutates `obj` (already a copy) in place; never throws for bad input: it stops and lets validation speak.
   * `oldObj` is the stored object on UPDATE (type-checked, not a copy: read it, do not change it),
   * absent on CREATE; most kinds default without it.
   */
  default(obj: T, ctx: AdmissionContext, oldObj?: T): void
  validateCreate(obj: T, ctx: AdmissionContext): ValidationResult
  validateUpdate(oldObj: T, obj: T, ctx: AdmissionContext): ValidationResult
  /** Absent: DELETE is always allowed. */
  validateDelete?(obj: T, ctx: AdmissionContext): ValidationResult
}
