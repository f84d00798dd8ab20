// SpiderMultusConfig → NetworkAttachmentDefinition (Spiderpool's multusconfig controller,
// cni-coordinator.md §C.2): the NAD is rendered from its SMC and written only when it differs;
// the SMC controls it, so deleting the SMC lets the garbage collector delete the NAD.
import type { FastifyBaseLogger } from 'fastify'
import type { NetworkAttachmentDefinition, SpiderMultusConfig } from '../../schemas/types.ts'
import type { Informer } from '../../kube/informer.ts'
import type { Store } from '../../kube/store.ts'
import { resources } from '../../kube/resources.ts'
import { nadNameOf, renderNetworkAttachmentDefinition } from '../../webhooks/spidermultusconfig/render.ts'
import { createWorkQueue, type WorkQueue } from './workqueue.ts'

export interface MultusConfigControllerOptions {
  store: Store
  informers: { multusConfigs: Informer<SpiderMultusConfig>; networkAttachmentDefinitions: Informer<NetworkAttachmentDefinition> }
  log: FastifyBaseLogger
  onError?(key: string, err: unknown): void
}

const smcKind = 'SpiderMultusConfig'

/** The NAD as it should be, merged into what is stored; undefined when nothing needs writing. */
export function nadUpdate(current: NetworkAttachmentDefinition, desired: NetworkAttachmentDefinition, smcUID: string): NetworkAttachmentDefinition | undefined {
  const meta = current.metadata
  const sameAnnotations = JSON.stringify(sorted(meta.annotations)) === JSON.stringify(sorted(desired.metadata.annotations))
  const sameConfig = (current.spec?.config ?? '') === (desired.spec?.config ?? '')
  const controlled = meta.ownerReferences?.some((r) => r.controller === true && r.uid === smcUID) === true
  if (sameAnnotations && sameConfig && controlled) return undefined
  const metadata = { ...meta }
  if (!sameAnnotations) {
    if (desired.metadata.annotations) metadata.annotations = desired.metadata.annotations
    else delete metadata.annotations
  }
  // an unowned NAD, or one left by a deleted SMC of the same name, is taken over whole
  if (!controlled) metadata.ownerReferences = desired.metadata.ownerReferences
  return { ...current, metadata, spec: { ...current.spec, config: desired.spec?.config ?? '' } }
}

const sorted = (m: Record<string, string> | undefined) => Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/** The SMC → NAD controller: its queue (keys `namespace/name` of SMCs), fed by the SMC and NAD informers. */
export function startMultusConfigController(o: MultusConfigControllerOptions): WorkQueue {
  const { multusConfigs, networkAttachmentDefinitions: nads } = o.informers

  const reconcile = async (key: string, signal: AbortSignal): Promise<void> => {
    await Promise.all([multusConfigs.waitForSync({ signal }), nads.waitForSync({ signal })])
    const [namespace, name] = key.split('/')
    const smc = multusConfigs.get(name, namespace)
    if (!smc || smc.metadata.deletionTimestamp) return
    const rendered = renderNetworkAttachmentDefinition(smc)
    if (rendered.error !== undefined) {
      // validation refuses such an SMC; retrying cannot fix it
      o.log.warn({ multusConfig: key, err: rendered.error }, 'SpiderMultusConfig cannot be rendered')
      return
    }
    const desired = rendered.nad
    const nadName = nadNameOf(smc)
    const current = nads.get(nadName, namespace)
    if (!current) {
      await o.store.create(resources.networkAttachmentDefinitions, desired, { signal })
      return
    }
    if (current.metadata.deletionTimestamp) throw new Error(`the old net-attach-def ${namespace}/${nadName} is terminating, wait for a while`)
    const other = current.metadata.ownerReferences?.find((r) => r.kind === smcKind && r.name !== smc.metadata.name)
    if (other) {
      o.log.warn({ multusConfig: key, owner: other.name }, `NetworkAttachmentDefinition ${namespace}/${nadName} belongs to SpiderMultusConfig ${namespace}/${other.name}: left alone`)
      return
    }
    const update = nadUpdate(current, desired, smc.metadata.uid ?? '')
    if (update) await o.store.update(resources.networkAttachmentDefinitions, update, { signal })
  }

  const queue = createWorkQueue({ reconcile, onError: o.onError })
  const enqueue = (smc: SpiderMultusConfig) => queue.add(`${smc.metadata.namespace}/${smc.metadata.name}`)
  // a NAD edited or deleted by hand comes back as its SMC says
  const enqueueOwners = (nad: NetworkAttachmentDefinition) => {
    for (const ref of nad.metadata.ownerReferences ?? []) if (ref.kind === smcKind) queue.add(`${nad.metadata.namespace}/${ref.name}`)
  }
  const unhook = [
    multusConfigs.on({ add: enqueue, update: (_old, smc) => enqueue(smc) }),
    nads.on({ update: (_old, nad) => enqueueOwners(nad), delete: enqueueOwners }),
  ]
  return {
    add: queue.add,
    idle: queue.idle,
    stop: async () => {
      unhook.forEach((u) => u())
      await queue.stop()
    },
  }
}
