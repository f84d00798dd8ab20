// The cluster bench/memory.ts and bench/soak.ts run against: the local control plane in the bench's
// process, the webhook server in its own (bench/webhook-child.ts, registered with the control plane
// like `up` registers it), a namespace, a macvlan NetworkAttachmentDefinition asking our IPAM, and
// pools created through the API (and so through the webhook).
import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startControlPlane, type ControlPlane } from '../kube/controlplane/index.ts'
import { loadKubeconfig } from '../kube/kubeconfig.ts'
import { createTransport } from '../kube/transport.ts'
import { createStore, type Store } from '../kube/store.ts'
import { resources } from '../kube/resources.ts'
import { isConflict } from '../kube/errors.ts'
import { serialiseRecords, type PoolRecord } from '../ipam/records.ts'
import { webhookConfigurations } from '../server/webhook-configurations.ts'
import { allKinds } from '../webhooks/registry.ts'
import { defaultSettings } from '../webhooks/settings.ts'
import { serverMallocEnvironment, serverNodeFlags, serverNodeOptions } from '../server/node-options.ts'
import type { Memory, WebhookChildMessage, WebhookChildQuery } from './webhook-child.ts'
import type { TrafficMessage, TrafficPlan, Window } from './traffic-child.ts'

export const namespace = 'bench'
export const nadName = 'macvlan'
const root = join(import.meta.dirname, '..')

import { sleep, until } from './wait.ts'

export { sleep, until }

/** A process's resident set from /proc, in bytes; its own report when /proc is not there. */
export function rssOf(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))
    return line ? Number(line.split(/\s+/)[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

export const MiB = (bytes: number) => bytes / 1024 / 1024

export interface WebhookChild {
  child: ChildProcess
  pid: number
  /** what the server was started with besides --expose-gc: node flags and environment */
  flags: string[]
  environment: Record<string, string>
  url: string
  caPem: string
  memory(gc: boolean): Promise<Memory>
  cache(): Promise<Extract<WebhookChildMessage, { type: 'cache' }>>
  requests(): Promise<Extract<WebhookChildMessage, { type: 'requests' }>>
  heapSnapshot(file: string): Promise<string>
  close(): Promise<void>
}

/** `NAME=value NAME=value` as a list of settings. */
const settingsOf = (assignments: string): Record<string, string> =>
  Object.fromEntries(assignments.split(/\s+/).filter(Boolean).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]))

async function startWebhookChild(kubeconfig: string, tlsDir: string): Promise<WebhookChild> {
  // the node flags and malloc settings the chart deploys the server with; for investigations, others
  // in their place (BENCH_SERVER_NODE_FLAGS, BENCH_SERVER_MALLOC as NAME=value …, empty for none) or
  // another build of the same child (an esbuild bundle)
  const flags = serverNodeFlags(process.env.BENCH_SERVER_NODE_FLAGS ?? serverNodeOptions)
  const environment = process.env.BENCH_SERVER_MALLOC === undefined ? serverMallocEnvironment : settingsOf(process.env.BENCH_SERVER_MALLOC)
  // the bench's own malloc settings are not the server's
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MALLOC_') && name !== 'GLIBC_TUNABLES'))
  const script = process.env.BENCH_SERVER_SCRIPT ?? join(root, 'bench/webhook-child.ts')
  const child = fork(script, [kubeconfig, tlsDir], { execPath: process.execPath, execArgv: ['--expose-gc', ...flags], env: { ...inherited, ...environment }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const waiting = new Map<string, ((m: WebhookChildMessage) => void)[]>()
  const ready = new Promise<{ url: string; caPem: string }>((resolve, reject) => {
    child.on('message', (m: WebhookChildMessage) => {
      if (m.type === 'ready') resolve(m)
      else waiting.get(m.type)?.shift()?.(m)
    })
    child.once('exit', (code) => reject(new Error(`the webhook server exited with ${code} before it was ready`)))
  })
  const { url, caPem } = await ready
  const ask = <T extends WebhookChildMessage>(q: WebhookChildQuery, answer: T['type']) =>
    new Promise<T>((resolve, reject) => {
      if (child.exitCode !== null) return reject(new Error('the webhook server has exited'))
      const list = waiting.get(answer) ?? []
      list.push(resolve as (m: WebhookChildMessage) => void)
      waiting.set(answer, list)
      child.send(q)
    })
  return {
    child,
    pid: child.pid!,
    flags,
    environment,
    url,
    caPem,
    memory: async (gc) => {
      const { type: _, ...m } = await ask<Extract<WebhookChildMessage, { type: 'memory' }>>({ type: 'memory', gc }, 'memory')
      return m
    },
    cache: () => ask({ type: 'cache' }, 'cache'),
    requests: () => ask({ type: 'requests' }, 'requests'),
    heapSnapshot: async (file) => (await ask<Extract<WebhookChildMessage, { type: 'heap-snapshot' }>>({ type: 'heap-snapshot', file }, 'heap-snapshot')).file,
    close: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.send({ type: 'close' } satisfies WebhookChildQuery)
      await Promise.race([exited, sleep(10_000)])
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
}

export interface PoolPlan {
  name: string
  /** the /16 as its second octet: 10.<octet>.0.0/16, gateway 10.<octet>.0.1, addresses from 10.<octet>.1.0 */
  octet: number
  size: number
}

export const dotted = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')
export const firstAddressOf = (octet: number) => (10 << 24) | (octet << 16) | (1 << 8)

export interface AdmissionCluster {
  cp: ControlPlane
  api: Store
  webhook: WebhookChild
  /** creates each pool through the API (and so through the webhook) */
  createPools(pools: PoolPlan[]): Promise<void>
  /** writes the records into the pool's status (as the pool writer does: records and their count), retrying on conflict */
  writeRecords(pool: string, records: PoolRecord[]): Promise<void>
  close(): Promise<void>
}

export async function startAdmissionCluster(dir: string): Promise<AdmissionCluster> {
  const cp = await startControlPlane({ dataDir: join(dir, 'control-plane') })
  let webhook: WebhookChild | undefined
  const api = createStore(createTransport(await loadKubeconfig(cp.kubeconfigPath), { timeoutMs: 60_000, userAgent: 'bench-setup' }))
  try {
    webhook = await startWebhookChild(cp.kubeconfigPath, join(dir, 'webhook-tls'))
    const configs = webhookConfigurations(allKinds, { url: webhook.url }, webhook.caPem, defaultSettings().excludedNamespaces)
    await api.create(resources.mutatingWebhookConfigurations, configs.mutating as never)
    await api.create(resources.validatingWebhookConfigurations, configs.validating as never)
    await api.create(resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } })
    await api.create(resources.networkAttachmentDefinitions, {
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: nadName, namespace },
      spec: { config: JSON.stringify({ cniVersion: '0.3.1', name: nadName, plugins: [{ type: 'macvlan', master: 'eth0', mode: 'bridge', ipam: { type: 'spiderpool' } }] }) },
    })
  } catch (err) {
    await webhook?.close()
    api.transport.close()
    await cp.close()
    throw err
  }
  const w = webhook
  return {
    cp,
    api,
    webhook: w,
    createPools: async (pools) => {
      for (const p of pools) {
        const first = firstAddressOf(p.octet)
        await api.create(resources.ippools, {
          apiVersion: 'spiderpool.spidernet.io/v2beta1',
          kind: 'SpiderIPPool',
          metadata: { name: p.name },
          spec: { subnet: `10.${p.octet}.0.0/16`, gateway: `10.${p.octet}.0.1`, ips: [`${dotted(first)}-${dotted(first + p.size - 1)}`] },
        } as never)
      }
    },
    writeRecords: async (name, records) => {
      for (;;) {
        const pool = await api.get(resources.ippools, name)
        const status = { ...(pool.status ?? {}), allocatedIPs: serialiseRecords(records), allocatedIPCount: records.length }
        try {
          await api.updateStatus(resources.ippools, { ...pool, status } as never)
          return
        } catch (err) {
          if (!isConflict(err)) throw err
        }
      }
    },
    close: async () => {
      await w.close()
      api.transport.close()
      await cp.close()
    },
  }
}

/** What a benchmark asks of the traffic; where it goes (the cluster's webhook, namespace and NAD) the cluster says. */
export type TrafficLoad = Omit<TrafficPlan, 'webhookURL' | 'caPem' | 'kubeconfig' | 'namespace' | 'nad'>

/** Runs the traffic generator (bench/traffic-child.ts) against the cluster; onWindow hears every window. */
export function runTraffic(cluster: AdmissionCluster, load: TrafficLoad, onWindow: (w: Window) => void | Promise<void>): Promise<void> {
  const plan: TrafficPlan = { ...load, webhookURL: cluster.webhook.url, caPem: cluster.webhook.caPem, kubeconfig: cluster.cp.kubeconfigPath, namespace, nad: nadName }
  const child = fork(join(root, 'bench/traffic-child.ts'), [], { execPath: process.execPath, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    let settled = false
    child.on('message', (m: TrafficMessage) => {
      if (m.type === 'window') void onWindow(m.window)
      else if (m.type === 'done') {
        settled = true
        resolve()
      } else {
        settled = true
        reject(new Error(`traffic generator failed: ${m.error}`))
      }
    })
    child.once('exit', (code) => {
      if (!settled) reject(new Error(`traffic generator exited with ${code}`))
    })
    child.send(plan)
  })
}
