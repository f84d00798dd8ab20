// The whole path for the fault tests: the local control plane (with its fault knobs), webhook
// replicas behind a round-robin "Service" (in this process, or forked so that one can be killed),
// the webhook configurations, nodes, a NetworkAttachmentDefinition asking the spiderpool IPAM, and
// the real `spiderpool` plugin run as the runtime runs it (a process, CNI environment, netconf on
// stdin), IPAM only: no network namespace is touched.
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { startRoundRobinProxy, type RoundRobinProxy } from '../../bench/round-robin-proxy.ts'
import { startControlPlane, type ControlPlane } from '../../kube/controlplane/index.ts'
import { isNotFound } from '../../kube/errors.ts'
import { loadKubeconfig } from '../../kube/kubeconfig.ts'
import { resources } from '../../kube/resources.ts'
import { createStore, type Store } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'
import { webhookConfigurations } from '../../server/webhook-configurations.ts'
import { startReplica } from '../server/fixtures/replica.ts'
import { allKinds } from '../../webhooks/registry.ts'
import { defaultSettings, type Settings } from '../../webhooks/settings.ts'
import { builtDir, builtIsCurrent } from '../cni/spiderpool-env.ts'
import type { ReplicaMessage } from './replica.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
// the single executable when `npm run build:cni` is newer than its sources (it starts faster), else Node on the sources
const plugin = builtIsCurrent() ? { command: path.join(builtDir, 'spiderpool'), args: [] } : { command: process.execPath, args: [path.join(root, 'cni/spiderpool/main.ts')] }

export const nadName = 'macvlan'
export const namespace = 'default'
// the collector runs fast, so that what a fault leaves behind is collected within the test
export const faultSettings: Partial<Settings> = { reservationTTLSeconds: 2, gcScanIntervalSeconds: 1 }
// short leases, so that a killed leader is replaced within the test
const leaderEnv = { SPIDERPOOL_LEADER_DURATION: '2', SPIDERPOOL_LEADER_RENEW_DEADLINE: '1.5', SPIDERPOOL_LEADER_RETRY_PERIOD: '0.25' }

export interface Replica {
  url: string
  caPem: string
  /** whether it holds the controllers' lease now */
  leads(): Promise<boolean>
  /** SIGKILL (a forked replica) or an abrupt close (in this process) */
  kill(): Promise<void>
  alive(): boolean
  close(): Promise<void>
}

export interface FaultCluster {
  cp: ControlPlane
  /** the test's own client of the control plane */
  store: Store
  replicas: Replica[]
  /** starts one more replica (after a kill or a restart) on the same certificate */
  addReplica(): Promise<Replica>
  /** the "Service" spreads over the live replicas only, as its endpoints follow the pods' readiness */
  reroute(): Promise<void>
  /** stops the control plane and starts it again on its state file, address and credentials (`cp` is the new one) */
  restartControlPlane(): Promise<void>
  /** an IPv4 pool 10.6.<octet>.1-<size>, a cluster default pool: a pod that names none gets one */
  createPool(name: string, octet: number, size: number): Promise<void>
  /** creates the pod bound to the node, through the webhooks; a refusal resolves to its error */
  createPod(name: string, o?: { node?: string; pools?: string[] }): Promise<ApiPod | Error>
  deletePod(name: string, o?: { gracePeriodSeconds?: number }): Promise<void>
  cni(command: 'ADD' | 'DEL', call: CniCall): Promise<CniOutcome>
  close(): Promise<void>
}

export interface ApiPod {
  metadata: { name: string; namespace: string; uid: string; annotations?: Record<string, string> }
}

export interface CniCall {
  pod: string
  uid?: string
  containerId?: string
  ifName?: string
}

export interface CniOutcome {
  code: number
  /** the parsed stdout: the result of an ADD, the error of a failure */
  out: any
  stderr: string
  /** the addresses of an ADD's result, bare */
  ips: string[]
}

export interface ClusterOptions {
  replicas?: number
  /** forked replicas, which can be killed */
  processes?: boolean
  settings?: Partial<Settings>
  nodes?: string[]
}

export async function startFaultCluster(t: Test, o: ClusterOptions = {}): Promise<FaultCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'faults-'))
  Object.assign(process.env, leaderEnv)
  const settings: Settings = { ...defaultSettings(), ...faultSettings, ...o.settings }
  let cp = await startControlPlane({ dataDir: path.join(dir, 'control-plane') })
  const store = createStore(createTransport(await loadKubeconfig(cp.kubeconfigPath), { timeoutMs: 30_000 }))
  const tlsDir = path.join(dir, 'webhook-tls')
  const replicas: Replica[] = []
  const start = () => (o.processes ? forkReplica(cp.kubeconfigPath, tlsDir, settings) : localReplica(cp.kubeconfigPath, tlsDir, settings))
  // one after the other: the first writes the serving certificate and CA, the others load them
  for (let i = 0; i < (o.replicas ?? 1); i++) replicas.push(await start())
  const upstreams = () => replicas.filter((r) => r.alive()).map((r) => ({ host: new URL(r.url).hostname, port: Number(new URL(r.url).port) }))
  let proxy: RoundRobinProxy = await startRoundRobinProxy(upstreams())
  const register = async (address: string) => {
    const configs = webhookConfigurations(allKinds, { url: `https://${address}` }, replicas[0].caPem, settings.excludedNamespaces)
    for (const [resource, object] of [
      [resources.mutatingWebhookConfigurations, configs.mutating],
      [resources.validatingWebhookConfigurations, configs.validating],
    ] as const) {
      const current = await store.get(resource, object.metadata.name).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)))
      if (current) await store.update(resource, { ...object, metadata: { ...object.metadata, resourceVersion: current.metadata?.resourceVersion } } as never)
      else await store.create(resource, object as never)
    }
  }
  await register(proxy.address)
  for (const node of o.nodes ?? ['node-1', 'node-2']) await store.create(resources.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: node } } as never)
  const ipam = { type: 'spiderpool', kubeconfig: cp.kubeconfigPath }
  const config = { cniVersion: '1.0.0', name: nadName, plugins: [{ type: 'macvlan', master: 'ens192', mode: 'bridge', ipam }] }
  await store.create(resources.networkAttachmentDefinitions, { metadata: { name: nadName, namespace }, spec: { config: JSON.stringify(config) } } as never)

  const closeAll = async () => {
    await proxy.close()
    for (const r of replicas) await r.close().catch(() => undefined)
    store.transport.close()
    await cluster.cp.close()
    rmSync(dir, { recursive: true, force: true })
  }
  t.teardown(closeAll)

  let containers = 0
  const cluster: FaultCluster = {
    cp,
    store,
    replicas,
    addReplica: async () => {
      const replica = await start()
      replicas.push(replica)
      await cluster.reroute()
      return replica
    },
    restartControlPlane: async () => {
      await cluster.cp.close()
      cp = await startControlPlane({ dataDir: path.join(dir, 'control-plane'), port: Number(new URL(cluster.cp.url).port) })
      cluster.cp = cp
    },
    reroute: async () => {
      const old = proxy
      proxy = await startRoundRobinProxy(upstreams())
      await register(proxy.address)
      await old.close()
    },
    createPool: async (name, octet, size) => {
      await store.create(resources.ippools, { metadata: { name }, spec: { subnet: '10.6.0.0/16', ips: [`10.6.${octet}.1-10.6.${octet}.${size}`], gateway: '10.6.0.1', default: true } } as never)
    },
    createPod: async (name, p = {}) => {
      const annotations: Record<string, string> = { 'v1.multus-cni.io/default-network': `${namespace}/${nadName}` }
      if (p.pools) annotations['ipam.spidernet.io/ippool'] = JSON.stringify({ ipv4: p.pools })
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, annotations }, spec: { nodeName: p.node ?? 'node-1', containers: [{ name: 'app', image: 'busybox' }] } }
      try {
        return (await store.create(resources.pods, pod as never)) as unknown as ApiPod
      } catch (err) {
        return err as Error
      }
    },
    deletePod: async (name, d = {}) => {
      try {
        await store.delete(resources.pods, name, { namespace, ...d })
      } catch (err) {
        if (!isNotFound(err)) throw err
      }
    },
    cni: (command, call) => runPlugin(command, call, config, `${String(++containers).padStart(8, '0')}`),
    close: closeAll,
  }
  return cluster
}

/** The plugin as a runtime runs it for the pod's default network. */
function runPlugin(command: 'ADD' | 'DEL', call: CniCall, list: { cniVersion: string; name: string; plugins: object[] }, serial: string): Promise<CniOutcome> {
  const containerId = call.containerId ?? `fault${serial}`.padEnd(64, '0')
  const args = ['IgnoreUnknown=1', `K8S_POD_NAMESPACE=${namespace}`, `K8S_POD_NAME=${call.pod}`, `K8S_POD_INFRA_CONTAINER_ID=${containerId}`, ...(call.uid ? [`K8S_POD_UID=${call.uid}`] : [])]
  const env = {
    PATH: process.env.PATH ?? '',
    CNI_COMMAND: command,
    CNI_CONTAINERID: containerId,
    CNI_NETNS: `/var/run/netns/fault-${containerId.slice(0, 12)}`,
    CNI_IFNAME: call.ifName ?? 'eth0',
    CNI_ARGS: args.join(';'),
    CNI_PATH: path.join(root, 'cni'),
  }
  // the IPAM plugin's config, as the main plugin hands it over
  const netconf = JSON.stringify({ cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] })
  return new Promise((resolve, reject) => {
    const child = spawn(plugin.command, plugin.args, { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      let out: any
      try {
        out = stdout.trim() ? JSON.parse(stdout) : undefined
      } catch {
        out = stdout
      }
      const ips = code === 0 && command === 'ADD' ? ((out?.ips ?? []) as { address: string }[]).map((i) => i.address.split('/')[0]) : []
      resolve({ code: code ?? -1, out, stderr, ips })
    })
    child.stdin.end(netconf)
  })
}

async function localReplica(kubeconfig: string, tlsDir: string, settings: Settings): Promise<Replica> {
  const server = await startReplica({ kubeconfig, tlsDir, settings, logLevel: process.env.FAULTS_LOG_LEVEL ?? 'silent', syncTimeoutMs: 30_000 })
  let closed: Promise<void> | undefined
  const close = () => (closed ??= server.close())
  return { url: server.url, caPem: server.caPem, leads: async () => server.controllers?.elector.isLeader() ?? false, kill: close, close, alive: () => closed === undefined }
}

async function forkReplica(kubeconfig: string, tlsDir: string, settings: Settings): Promise<Replica> {
  const child: ChildProcess = fork(path.join(root, 'test/faults/replica.ts'), [kubeconfig, tlsDir, JSON.stringify(settings)], {
    execPath: process.execPath,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const answers: ((leader: boolean) => void)[] = []
  const { url, caPem } = await new Promise<{ url: string; caPem: string }>((resolve, reject) => {
    child.on('message', (m: ReplicaMessage) => {
      if (m.type === 'ready') resolve(m)
      else answers.shift()?.(m.leader)
    })
    child.once('exit', (code) => reject(new Error(`a webhook replica exited with ${code} before it was ready`)))
  })
  const alive = () => child.exitCode === null && child.signalCode === null
  return {
    url,
    caPem,
    alive,
    leads: () => (alive() ? new Promise((resolve) => (answers.push(resolve), child.send({ type: 'leader' }))) : Promise.resolve(false)),
    kill: async () => {
      if (alive()) child.kill('SIGKILL')
      await exited
    },
    close: async () => {
      if (alive()) child.send({ type: 'close' })
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Runs `work` over the items, at most `limit` at a time (as kubelets on a few nodes would). */
export async function limited<T, R>(items: readonly T[], limit: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await work(items[i], i)
      }
    }),
  )
  return out
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 15_000) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(50)
  }
}

export const isPod = (p: ApiPod | Error): p is ApiPod => !(p instanceof Error)

/** The IPv4 address the webhook reserved for the pod's eth0. */
export const reservedIP = (pod: ApiPod): string => {
  const r = JSON.parse(pod.metadata.annotations?.['ipam.spidernet.io/reservation'] ?? '{}')
  return String(r.ips?.[0]?.ipv4 ?? '').split('/')[0]
}
