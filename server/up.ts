// The local default: the local control plane, the webhook server judging against it, and the
// webhook configurations that make the control plane call it — everything on one machine.
import path from 'node:path'
import { startControlPlane, type ControlPlane } from '../kube/controlplane/index.ts'
import type { OptionalAPIs } from '../kube/controlplane/served.ts'
import { resources } from '../kube/resources.ts'
import { isAlreadyExists } from '../kube/errors.ts'
import type { Store } from '../kube/store.ts'
import type { KubeObject } from '../schemas/meta.ts'
import type { SpiderCoordinator } from '../schemas/types.ts'
import { allKinds } from '../webhooks/registry.ts'
import type { Settings } from '../webhooks/settings.ts'
import { startWebhookServer, type WebhookServer } from './webhook.ts'
import { webhookConfigurations } from './webhook-configurations.ts'

export interface LocalDefaultOptions {
  dataDir: string
  apiHost?: string
  apiPort?: number
  webhookPort?: number
  settings: Settings
  logLevel: string
  /** built-in APIs the control plane serves besides its defaults (tests) */
  apis?: OptionalAPIs
}

export interface LocalDefault {
  controlPlane: ControlPlane
  webhook: WebhookServer
  close(): Promise<void>
}

export async function startLocalDefault(o: LocalDefaultOptions): Promise<LocalDefault> {
  const dataDir = path.resolve(o.dataDir)
  const controlPlane = await startControlPlane({ dataDir, host: o.apiHost, port: o.apiPort, apis: o.apis })
  let webhook: WebhookServer | undefined
  try {
    webhook = await startWebhookServer({
      host: '127.0.0.1',
      port: o.webhookPort ?? 0,
      tlsDir: path.join(dataDir, 'webhook-tls'),
      settings: o.settings,
      kube: { kubeconfig: controlPlane.kubeconfigPath },
      serviceName: 'spiderpool-controller',
      namespace: 'kube-system',
      logLevel: o.logLevel,
    })
    await webhook.cluster!.waitForSync({ timeoutMs: 30_000 })
    const configs = webhookConfigurations(allKinds, { url: webhook.url }, webhook.caPem, o.settings.excludedNamespaces)
    await applyObject(webhook.store!, resources.mutatingWebhookConfigurations, configs.mutating)
    await applyObject(webhook.store!, resources.validatingWebhookConfigurations, configs.validating)
    await createDefaultCoordinator(webhook.store!)
  } catch (err) {
    await webhook?.close()
    await controlPlane.close()
    throw err
  }
  const started = webhook
  return {
    controlPlane,
    webhook: started,
    close: async () => {
      await started.close()
      await controlPlane.close()
    },
  }
}

/** Create, or replace what a previous run left (the webhook's port and CA change between runs). */
async function applyObject(store: Store, resource: (typeof resources)['mutatingWebhookConfigurations'], obj: KubeObject): Promise<void> {
  try {
    await store.create(resource, obj)
  } catch (err) {
    if (!isAlreadyExists(err)) throw err
    const current = await store.get(resource, obj.metadata!.name!)
    await store.update(resource, { ...obj, metadata: { ...obj.metadata, resourceVersion: current.metadata?.resourceVersion } })
  }
}

/** The SpiderCoordinator Spiderpool's chart creates; one the user changed or made is left alone. */
async function createDefaultCoordinator(store: Store): Promise<void> {
  const coordinator: SpiderCoordinator = {
    metadata: { name: 'default' },
    spec: {
      mode: 'auto',
      podCIDRType: 'auto',
      tunePodRoutes: true,
      podDefaultRouteNIC: '',
      podMACPrefix: '',
      hijackCIDR: ['169.254.0.0/16'],
      policyRoutes: [],
      vethLinkAddress: '',
      vethMTU: 1500,
    },
  }
  try {
    await store.create(resources.coordinators, coordinator)
  } catch (err) {
    if (!isAlreadyExists(err)) throw err
  }
}
