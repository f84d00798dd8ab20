// The `spiderpool` IPAM end to end: the namespace cluster of test/cni/harness with the local
// default (control plane + webhook server) started in this process, so that pods created here are
// admitted and reserved by the real webhook, and the plugins, run by the harness's runtime in the
// node namespaces, claim from the real API. The nodes reach the API at 127.0.0.1 on their own
// loopback: a listener opened in each node's namespace and passed to this process, whose
// connections the control plane serves directly (no relay, so no hops a real node does not pay).
// Used by the tests and by bench/cni.ts.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseRecords, serialiseRecords, type PoolRecord } from '../../ipam/records.ts'
import { reservationAnnotation } from '../../ipam/reservation.ts'
import { isAlreadyExists, isConflict, isNotFound } from '../../kube/errors.ts'
import { resources } from '../../kube/resources.ts'
import { createStore, type Store } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'
import type { SpiderEndpoint, SpiderIPPool } from '../../schemas/types.ts'
import { startLocalDefault, type LocalDefault } from '../../server/up.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import { createCluster, type Cluster, type Node, type Pod as PodNetns } from './harness/cluster.ts'
import { execPlugin, pluginDirectory, type Invocation } from './harness/runtime.ts'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const builtDir = path.join(root, 'dist/cni')

export type Binaries = 'sea' | 'source'

/** dist/cni holds both plugins, each built after the last change of the sources it was made of (a stale build would test old code). */
export function builtIsCurrent(dir = builtDir): boolean {
  return ['spiderpool', 'coordinator'].every((name) => {
    const built = statSync(path.join(dir, name), { throwIfNoEntry: false })?.mtimeMs
    const list = path.join(dir, `${name}.sources.json`)
    if (built === undefined || !existsSync(list)) return false
    const sources = JSON.parse(readFileSync(list, 'utf8')) as string[]
    return sources.every((f) => (statSync(path.join(root, f), { throwIfNoEntry: false })?.mtimeMs ?? Infinity) < built)
  })
}

export interface SpiderpoolEnv {
  cluster: Cluster
  local: LocalDefault
  /** the test's own client of the control plane */
  store: Store
  /** the kubeconfig the plugins use from the node namespaces */
  kubeconfig: string
  cniPath: string[]
  /** which plugins run: the single executables of `npm run build:cni`, or Node on the sources */
  binaries: Binaries
  /** the spiderpool plugin's executable (for direct IPAM invocations) */
  ipamPlugin: string
  stop(): Promise<void>
}

export interface EnvOptions {
  nodes: number
  /** `sea`: these single executables (a directory holding spiderpool and coordinator); default: dist/cni when built, else the sources */
  binaries?: Binaries | { dir: string }
}

// Opens the listener in the node's namespace and hands it over the IPC channel (which `ip netns
// exec` passes through), then closes its own copy and leaves: the parent's copy keeps listening.
const listenerScript = `
const net = require('node:net')
const server = net.createServer()
server.on('error', (err) => { console.error(err.message); process.exit(1) })
server.listen(Number(process.argv[1]), '127.0.0.1', () => {
  process.send({ port: server.address().port }, server, (err) => {
    if (err) { console.error(err.message); process.exit(1) }
    server.close()
    process.disconnect()
  })
})
`

/** A listener on 127.0.0.1:port (0 = any) in the node's namespace, opened by a child there and owned by this process. */
function listenInNamespace(netns: string, port: number): Promise<net.Server> {
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', listenerScript, String(port)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  return new Promise<net.Server>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('the API listener was not handed over within 10 s')), 10_000)
    const fail = (err: Error) => {
      clearTimeout(timer)
      child.kill()
      reject(err)
    }
    child.once('error', fail)
    child.once('exit', (code) => fail(new Error(`the API listener's child exited with ${code} before handing it over`)))
    child.once('message', (_message, server) => {
      clearTimeout(timer)
      child.removeAllListeners('exit')
      if (server instanceof net.Server) resolve(server)
      else fail(new Error('the API listener\'s child sent no listener'))
    })
  })
}

export async function startSpiderpoolEnv(o: EnvOptions): Promise<SpiderpoolEnv> {
  const cluster = await createCluster({ nodes: o.nodes })
  const stops: Array<() => unknown> = [() => cluster.teardown()]
  const stop = async () => {
    for (const s of stops.reverse()) await s()
  }
  try {
    const local = await startLocalDefault({ dataDir: path.join(cluster.dir, 'data'), apiPort: 0, settings: defaultSettings(), logLevel: 'silent' })
    stops.push(() => local.close())
    const { url, caPem, token } = local.controlPlane
    // one listener in each node's namespace, on its loopback and one port: the plugins reach the API at
    // 127.0.0.1, an address the control plane's certificate names, as a node reaches a local API server
    const accepted = new Set<net.Socket>()
    let port = 0
    for (const node of cluster.nodes) {
      const listener = await listenInNamespace(node.name, port)
      listener.on('connection', (socket) => {
        accepted.add(socket)
        socket.once('close', () => accepted.delete(socket))
        local.controlPlane.acceptConnection(socket)
      })
      stops.push(() => new Promise((r) => listener.close(r)))
      port = (listener.address() as net.AddressInfo).port
    }
    // the control plane's close ends the connections it serves; these also end any still in the handshake
    stops.push(() => {
      for (const socket of accepted) socket.destroy()
    })
    // JSON, as the installer writes it
    const kubeconfig = path.join(cluster.dir, 'spiderpool.kubeconfig')
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'local', cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
        users: [{ name: 'cni', user: { token } }],
        contexts: [{ name: 'local', context: { cluster: 'local', user: 'cni' } }],
        'current-context': 'local',
      }),
      { mode: 0o600 },
    )
    const store = createStore(createTransport({ server: url, ca: caPem, token }))
    stops.push(() => store.transport.close())

    await syncedCoordinator(store)

    const wanted = o.binaries ?? (builtIsCurrent() ? 'sea' : 'source')
    const binDir = path.join(cluster.dir, 'bin')
    let cniPath: string[]
    if (wanted === 'source') cniPath = pluginDirectory(binDir, { spiderpool: path.join(root, 'cni/spiderpool/main.ts') })
    else {
      const from = wanted === 'sea' ? builtDir : wanted.dir
      mkdirSync(binDir, { recursive: true })
      for (const name of ['spiderpool', 'coordinator']) symlinkSync(path.join(from, name), path.join(binDir, name))
      cniPath = [binDir, '/usr/lib/cni']
    }
    return { cluster, local, store, kubeconfig, cniPath, binaries: wanted === 'source' ? 'source' : 'sea', ipamPlugin: path.join(binDir, 'spiderpool'), stop }
  } catch (err) {
    await stop()
    throw err
  }
}

const coordinatorSpec = { mode: 'auto', podCIDRType: 'cluster', tunePodRoutes: true, hostRuleTable: 500, podRPFilter: 0, hijackCIDR: ['169.254.0.0/16'], vethMTU: 1500 }
const coordinatorStatus = { phase: 'Synced', serviceCIDR: ['10.233.0.0/18', 'fd00:233::/112'], overlayPodCIDR: ['10.233.64.0/18'] }

/**
 * The SpiderCoordinator `default` Synced with the CIDRs of a kubeadm cluster: the kubeadm ConfigMap
 * the controller discovers them from, and the status written here when no controller does it.
 */
async function syncedCoordinator(store: Store): Promise<void> {
  const networking = `networking:\n  podSubnet: ${coordinatorStatus.overlayPodCIDR.join(',')}\n  serviceSubnet: ${coordinatorStatus.serviceCIDR.join(',')}\n`
  await store.create(resources.configmaps, { metadata: { name: 'kubeadm-config', namespace: 'kube-system' }, data: { ClusterConfiguration: networking } })
  const read = () => store.get(resources.coordinators, 'default').catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)))
  await untilWritten(async () => {
    const existing = await read()
    if (existing) await store.update(resources.coordinators, { ...existing, spec: { ...existing.spec, ...coordinatorSpec } } as never)
    else await store.create(resources.coordinators, { metadata: { name: 'default' }, spec: coordinatorSpec } as never)
  })
  for (let i = 0; i < 50; i++) {
    if ((await read())?.status?.phase === 'Synced') return
    await new Promise((r) => setTimeout(r, 100))
  }
  await untilWritten(async () => {
    await store.updateStatus(resources.coordinators, { ...(await read())!, status: coordinatorStatus } as never)
  })
}

/** Runs a read-modify-write until it does not conflict. */
async function untilWritten(write: () => Promise<void>): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await write()
    } catch (err) {
      if ((!isConflict(err) && !isAlreadyExists(err)) || i > 20) throw err
    }
  }
}

export type Ipam = Record<string, unknown> & { type: string }

/** The `ipam` section of a Spiderpool-rendered NAD, pointing at the test's API. */
export const spiderpoolIpam = (env: SpiderpoolEnv, o: { v4?: string[]; v6?: string[]; cleanGateway?: boolean } = {}): Ipam => ({
  type: 'spiderpool',
  ...(o.v4 ? { default_ipv4_ippool: o.v4 } : {}),
  ...(o.v6 ? { default_ipv6_ippool: o.v6 } : {}),
  ...(o.cleanGateway ? { clean_gateway: true } : {}),
  kubeconfig: env.kubeconfig,
})

export async function createPool(env: SpiderpoolEnv, name: string, spec: Record<string, unknown>): Promise<SpiderIPPool> {
  return env.store.create(resources.ippools, { metadata: { name }, spec } as never)
}

/** A NetworkAttachmentDefinition in `default` whose config is the network list the runtime runs. */
export async function createNad(env: SpiderpoolEnv, name: string, config: object): Promise<void> {
  await env.store.create(resources.networkAttachmentDefinitions, { metadata: { name, namespace: 'default' }, spec: { config: JSON.stringify(config) } } as never)
}

export interface PodOptions {
  namespace?: string
  /** Multus annotations and any other */
  annotations?: Record<string, string>
  labels?: Record<string, string>
  ownerReferences?: object[]
  finalizers?: string[]
}

export interface ApiPod {
  metadata: { name: string; namespace: string; uid: string; annotations?: Record<string, string>; [k: string]: unknown }
  [k: string]: unknown
}

/** Creates the pod bound to the node, through the webhooks (which reserve its addresses). */
export async function createPod(env: SpiderpoolEnv, node: Node, name: string, o: PodOptions = {}): Promise<ApiPod> {
  const namespace = o.namespace ?? 'default'
  const metadata: Record<string, unknown> = { name, namespace, annotations: o.annotations ?? {} }
  if (o.labels) metadata.labels = o.labels
  if (o.ownerReferences) metadata.ownerReferences = o.ownerReferences
  if (o.finalizers) metadata.finalizers = o.finalizers
  return (await env.store.create(resources.pods, { metadata, spec: { nodeName: node.name, containers: [{ name: 'app', image: 'busybox' }] } } as never)) as unknown as ApiPod
}

export const getPod = async (env: SpiderpoolEnv, name: string, namespace = 'default') => {
  try {
    return (await env.store.get(resources.pods, name, { namespace })) as unknown as ApiPod
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw err
  }
}

export async function deletePod(env: SpiderpoolEnv, name: string, namespace = 'default'): Promise<void> {
  await env.store.delete(resources.pods, name, { namespace })
}

/** Removes the pod's finalizers, so that a terminating pod goes. */
export async function finishPod(env: SpiderpoolEnv, name: string, namespace = 'default'): Promise<void> {
  const pod = await getPod(env, name, namespace)
  if (pod) await env.store.update(resources.pods, { ...pod, metadata: { ...pod.metadata, finalizers: [] } } as never)
}

export const reservationOfPod = (pod: ApiPod) => JSON.parse(pod.metadata.annotations?.[reservationAnnotation] ?? 'null')

export async function poolRecords(env: SpiderpoolEnv, name: string): Promise<PoolRecord[]> {
  const pool = await env.store.get(resources.ippools, name)
  const parsed = parseRecords(pool.status?.allocatedIPs)
  if (parsed.error !== undefined) throw new Error(parsed.error)
  return parsed.records
}

/** Rewrites a pool's records (what a collector or a hand edit would do). */
export async function editRecords(env: SpiderpoolEnv, name: string, edit: (records: PoolRecord[]) => PoolRecord[]): Promise<void> {
  for (;;) {
    const pool = await env.store.get(resources.ippools, name)
    const records = edit(parseRecords(pool.status?.allocatedIPs).records ?? [])
    const status = { ...pool.status, allocatedIPs: serialiseRecords(records), allocatedIPCount: records.length }
    try {
      await env.store.updateStatus(resources.ippools, { ...pool, status })
      return
    } catch (err) {
      if (!isConflict(err)) throw err
    }
  }
}

export async function getEndpoint(env: SpiderpoolEnv, name: string, namespace = 'default'): Promise<SpiderEndpoint | undefined> {
  try {
    return await env.store.get(resources.endpoints, name, { namespace })
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw err
  }
}

export interface IpamCall {
  command: 'ADD' | 'DEL' | 'CHECK'
  pod: PodNetns
  ifName: string
  /** the network config (name, cniVersion and the ipam section) */
  config: Record<string, unknown>
  namespace?: string
  /** K8S_POD_UID, as containerd sends it */
  uid?: string
  containerId?: string
  prevResult?: unknown
}

/** Runs the IPAM plugin alone in the pod's node, as a main plugin delegates to it. */
export function runIpam(env: SpiderpoolEnv, c: IpamCall): Promise<Invocation> {
  const containerId = c.containerId ?? c.pod.containerId
  const args = [`IgnoreUnknown=1`, `K8S_POD_NAMESPACE=${c.namespace ?? 'default'}`, `K8S_POD_NAME=${c.pod.name}`, `K8S_POD_INFRA_CONTAINER_ID=${containerId}`]
  if (c.uid) args.push(`K8S_POD_UID=${c.uid}`)
  const env_ = { CNI_COMMAND: c.command, CNI_CONTAINERID: containerId, CNI_NETNS: c.pod.netns, CNI_IFNAME: c.ifName, CNI_ARGS: args.join(';'), CNI_PATH: env.cniPath.join(':') }
  const config = c.prevResult ? { ...c.config, prevResult: c.prevResult } : c.config
  return execPlugin(c.pod.node.name, env.ipamPlugin, env_, JSON.stringify(config))
}
