// One walkthrough end to end, as its document tells it: the cluster (nodes, router, the local
// default on the controller node), the manifests applied with kubectl, the workload's pods made,
// scheduled and started through the CNI chain as kubelet + Multus would, what the document
// prints (pools, SpiderEndpoints, the pod's addresses, rules and tables), the pings, and the
// workload deleted again (CNI DEL releasing the addresses). Everything it makes is removed. Once
// the context's signal is aborted it makes nothing more (no namespace, control plane or CNI ADD)
// and stops waiting, so that its caller's teardown finds everything it made.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pluginDirectory, type NetworkList } from './cni-runtime.ts'
import { startControlPlane, type ControlPlane } from './control-plane.ts'
import { addAll, attachmentsOf, delAll, networkStatus, type Attachment } from './multus.ts'
import { dadDone, inNetns, ip, sh } from './shell.ts'
import { routeLines, ruleLines } from './state.ts'
import { buildTopology, type NodeHost, type PodSandbox, type Topology } from './topology.ts'
import { outsideAddress, podSubnetOf, topologyOf, type Walkthrough } from './walkthroughs.ts'
import { chooseNode, daemonPodFor, podFromTemplate, replicaSetOf, type KubeObj, type NodeObj, type Workload } from './workload.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const defaultExamplesDir = path.resolve(root, '../shared/reference/examples')

export interface RunContext {
  prefix: string
  stateDir: string
  examplesDir: string
  /** CNI_PATH: our plugins, then Debian's */
  cniPath: string[]
  out: (text: string) => void
  /** aborted on Ctrl-C: nothing new is made after it */
  signal: AbortSignal
}

export interface InterfaceReport {
  ifName: string
  address: string
  gateway?: string
}

export interface PodReport {
  name: string
  node: string
  nodeAddress: string
  netns: string
  interfaces: InterfaceReport[]
  /** `ip rule` lines (IPv4) */
  rules: string[]
  /** `ip route show table <t>` lines (IPv4, sorted) for main and every other table the pod has */
  tables: Record<string, string[]>
}

export interface EndpointRow {
  name: string
  interface: string
  ipv4Pool: string
  ipv4: string
  node: string
}

export interface PingReport {
  /** the pinging pod */
  from: string
  /** the pinged pod, node, or the outside address */
  peer: string
  /** the peer pod on its underlay NIC (net1, or eth0 when Spiderpool's is the only one) or on the default CNI's eth0; the pod's node; the host behind the router */
  kind: 'underlay' | 'overlay' | 'node' | 'outside'
  /** how the output names the peer */
  to: string
  target: string
  ok: boolean
}

/** What a pod was made as, read back from the API: its name, generateName and owner. */
export interface PodObjectReport {
  namespace: string
  name: string
  generateName?: string
  ownerReferences: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>
}

export interface WalkthroughReport {
  id: string
  /** the machines as built, read from their namespaces: the router's address on the segment, each node's NIC and address */
  machines: { router: string; nodes: Array<{ name: string; nic: string; address: string }> }
  /** the ReplicaSets / DaemonSets whose pods these are */
  controllers: Array<{ kind: string; namespace: string; name: string; uid: string }>
  podObjects: PodObjectReport[]
  /** `kubectl get sp` after the pods started */
  pools: string
  /** `kubectl get se -A` as printed */
  endpointsTable: string
  /** the SpiderEndpoints' names */
  endpointObjects: string[]
  endpoints: EndpointRow[]
  pods: PodReport[]
  pings: PingReport[]
  /** allocated IPs of each pool once the workload was deleted */
  allocatedAfterDelete: Record<string, number>
}

/** Our plugins from this checkout: the built single executables when asked, else their sources through node. */
export function cniPathFor(stateDir: string, built: boolean): string[] {
  if (built) return [path.join(root, 'dist/cni'), '/usr/lib/cni']
  return pluginDirectory(path.join(stateDir, 'bin'), { spiderpool: path.join(root, 'cni/spiderpool/main.ts') })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until<T>(what: string, signal: AbortSignal, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    signal.throwIfAborted()
    const v = await probe().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(200)
  }
}

/** The node's default network, as its CNI config directory would hold it: a veth to the node and a /24 of the pod CIDR. */
function clusterNetworkOf(w: Walkthrough, node: NodeHost, index: number, stateDir: string): NetworkList | undefined {
  if (!w.defaultCNI) return undefined
  return {
    cniVersion: '1.0.0',
    name: w.defaultCNI.name,
    plugins: [{ type: 'ptp', ipam: { type: 'host-local', dataDir: path.join(stateDir, `host-local-${node.name}`), ranges: [[{ subnet: podSubnetOf(index) }]], routes: [{ dst: '0.0.0.0/0' }] } }],
  }
}

interface Running {
  pod: PodSandbox
  uid: string
  attachments: Attachment[]
}

export async function runWalkthrough(w: Walkthrough, ctx: RunContext, made: { topology?: Topology; controlPlane?: ControlPlane }): Promise<WalkthroughReport> {
  const { out } = ctx
  const dataDir = path.join(ctx.stateDir, w.id)
  mkdirSync(dataDir, { recursive: true })
  const spec = topologyOf(w, ctx.prefix)
  out(`\n════ ${w.id}: ${w.title}\n     (../shared/reference/seeds/${w.seed})\n`)
  out(`# machines: router ${spec.gateway} (${ctx.prefix}-router) in front of ${outsideAddress}; nodes ${spec.nodes.map((n) => `${n.name} ${w.nic} ${n.address}`).join(', ')} on one switch`)
  if (w.defaultCNI) out(`# default CNI: ${w.defaultCNI.plays}, played by Debian's ptp + host-local (${spec.nodes.map((n, i) => `${n.name} ${podSubnetOf(i)}`).join(', ')})`)
  const topology = await buildTopology(spec, ctx.signal)
  made.topology = topology
  const machines = await machinesOf(topology)
  const controller = topology.nodes[0]
  const cp = await startControlPlane({ netns: controller.netns, address: controller.address, dataDir, stateDir: ctx.stateDir, signal: ctx.signal })
  made.controlPlane = cp
  out(`# the local default (spiderpool-ts up) runs on ${controller.name}: https://${controller.address}:6443`)

  const show = async (args: string[], input?: string) => {
    out(`$ kubectl ${args.join(' ')}`)
    const text = await cp.kubectl(args, input).catch((err: Error & { stdout?: string }) => {
      // what kubectl did before it failed (the objects of a file it applied); its error is the walkthrough's
      if (err.stdout) out(err.stdout.replace(/\n$/, ''))
      throw err
    })
    out(text.replace(/\n$/, ''))
    return text
  }

  const nodeList = {
    apiVersion: 'v1',
    kind: 'List',
    items: topology.nodes.map((n, i) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', ...(i === 0 ? { 'node-role.kubernetes.io/control-plane': '' } : {}) } },
    })),
  }
  await cp.kubectl(['apply', '-f', '-'], JSON.stringify(nodeList))
  if (w.coordinator) {
    out(`# helm install … ${Object.entries(w.coordinator).map(([k, v]) => `--set coordinator.${k}=${v}`).join(' ')}`)
    await show(['patch', 'spidercoordinator', 'default', '--type', 'merge', '-p', JSON.stringify({ spec: w.coordinator })])
  }
  for (const file of w.manifests) await show(['apply', '-f', path.join(ctx.examplesDir, file)])

  await until('the SpiderCoordinator to be Synced', ctx.signal, async () => {
    const c = await cp.getJson<{ status?: { phase?: string } }>(['get', 'spidercoordinator', 'default'])
    return c.status?.phase === 'Synced' ? true : undefined
  })
  await show(['get', 'spidercoordinator', 'default', '-o', 'jsonpath={.spec.podCIDRType} {.status}{"\\n"}'])
  const smcs = (await cp.getJson<{ items: KubeObj[] }>(['get', 'spidermultusconfigs', '-A'])).items
  for (const smc of smcs) {
    const { namespace, name } = smc.metadata
    await until(`the NetworkAttachmentDefinition ${namespace}/${name}`, ctx.signal, async () => (await cp.kubectl(['get', 'network-attachment-definitions', '-n', namespace!, name!, '-o', 'name'])) || undefined)
    await show(['get', 'network-attachment-definitions', '-n', namespace!, name!, '-o', 'jsonpath={.spec.config}{"\\n"}'])
  }

  // the controllers and the scheduler
  const nodes = (await cp.getJson<{ items: NodeObj[] }>(['get', 'nodes'])).items
  const workloads = (await cp.getJson<{ items: Workload[] }>(['get', 'deployments,daemonsets', '-A'])).items
  const placed = new Map<string, number>()
  const running: Running[] = []
  const controllers: WalkthroughReport['controllers'] = []
  const create = async (obj: KubeObj) => JSON.parse(await cp.kubectl(['create', '-f', '-', '-o', 'json'], JSON.stringify(obj))) as KubeObj
  for (const wl of workloads) {
    let pods: KubeObj[]
    const owner = wl.kind === 'Deployment' ? await create(replicaSetOf(wl)) : wl
    controllers.push({ kind: owner.kind!, namespace: owner.metadata.namespace!, name: owner.metadata.name!, uid: owner.metadata.uid! })
    if (wl.kind === 'Deployment') {
      out(`# the Deployment controller made ReplicaSet ${owner.metadata.name}; it makes ${wl.spec.replicas ?? 1} pods from the template`)
      pods = Array.from({ length: wl.spec.replicas ?? 1 }, () => podFromTemplate(owner, (owner.spec as Workload['spec']).template))
    } else {
      out(`# the DaemonSet controller makes one pod per node`)
      pods = nodes.map((n) => daemonPodFor(wl, n.metadata.name))
    }
    for (const manifest of pods) {
      const pod = await create(manifest)
      const { name, namespace, uid, annotations } = pod.metadata as Required<KubeObj['metadata']>
      const nodeName = chooseNode(pod, nodes, placed)
      // as kube-scheduler binds: the pods/binding subresource (spec.nodeName of an existing pod cannot be updated)
      out(`# the scheduler binds ${namespace}/${name} to ${nodeName}`)
      const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } }
      await cp.kubectl(['create', '--raw', `/api/v1/namespaces/${namespace}/pods/${name}/binding`, '-f', '-'], JSON.stringify(binding))
      const node = topology.nodes.find((n) => n.name === nodeName)!
      const sandbox = await topology.addPod(node, namespace, name)
      const attachments = await attachmentsOf(annotations ?? {}, namespace, {
        clusterNetwork: clusterNetworkOf(w, node, topology.nodes.indexOf(node), ctx.stateDir),
        readNAD: (ns, n) => cp.getJson(['get', 'network-attachment-definitions', '-n', ns, n]),
        kubeconfig: cp.kubeconfig,
        cni: { cniPath: ctx.cniPath },
      })
      out(`# kubelet on ${nodeName} starts ${namespace}/${name}; Multus: ${attachments.map((a) => `${a.ifName} ← ${a.network} (${a.list.plugins.map((p) => p.type).join(' → ')})`).join(', ')}`)
      running.push({ pod: sandbox, uid, attachments })
      await addAll(sandbox, uid, attachments, { cniPath: ctx.cniPath, signal: ctx.signal })
      const first = firstAddress(attachments[0])
      await cp.kubectl(['annotate', 'pod', '-n', namespace, name, `k8s.v1.cni.cncf.io/network-status=${networkStatus(attachments)}`])
      // kubelet patches the status strategically: the scheduler's PodScheduled condition stays
      await cp.kubectl(['patch', 'pod', '-n', namespace, name, '--subresource=status', '--type', 'strategic', '-p', JSON.stringify(runningStatus(pod, first, node.address))])
    }
  }

  await show(['get', 'pods', '-A', '-o', 'wide'])
  const podObjects = (await cp.getJson<{ items: KubeObj[] }>(['get', 'pods', '-A'])).items.map((p) => ({
    namespace: p.metadata.namespace!,
    name: p.metadata.name!,
    ...(p.metadata.generateName ? { generateName: p.metadata.generateName } : {}),
    ownerReferences: (p.metadata.ownerReferences ?? []) as PodObjectReport['ownerReferences'],
  }))
  const pools = await show(['get', 'sp'])
  const endpointsTable = (await show(['get', 'se', '-A'])).replace(/\n$/, '')
  const endpointItems = (await cp.getJson<{ items: Array<{ metadata: { name: string }; status?: { current?: { node?: string; ips?: Array<Record<string, string>> } } }> }>(['get', 'se', '-A'])).items
  const endpoints = endpointItems.flatMap((e) =>
    (e.status?.current?.ips ?? []).map((nic) => ({ name: e.metadata.name, interface: nic.interface, ipv4Pool: nic.ipv4Pool ?? '', ipv4: nic.ipv4 ?? '', node: e.status?.current?.node ?? '' })),
  )

  const pods: PodReport[] = []
  for (const r of running) {
    out(`\n# ${r.pod.namespace}/${r.pod.name} on ${r.pod.node.name}`)
    const inPod = async (...args: string[]) => {
      out(`/ # ${args.join(' ')}`)
      const text = await inNetns(r.pod.netnsName, ...(args as [string, ...string[]]))
      out(text.replace(/\n$/, ''))
    }
    // a pod's links are fresh: their IPv6 link-local addresses are still in duplicate address
    // detection (`tentative`) for about a second; wait for it (at most 2 s) as one looking a bit later would
    await dadDone(r.pod.netnsName, 2_000)
    await inPod('ip', 'a')
    await inPod('ip', 'rule')
    await inPod('ip', 'route')
    const tables = new Set<string>()
    for (const route of JSON.parse(await ip('-n', r.pod.netnsName, '-4', '-json', 'route', 'show', 'table', 'all')) as Array<{ table?: string }>) {
      if (route.table && !['local', 'main'].includes(route.table)) tables.add(route.table)
    }
    const others = [...tables].sort((a, b) => Number(a) - Number(b))
    for (const t of others) await inPod('ip', 'route', 'show', 'table', t)
    const report: PodReport = {
      name: r.pod.name,
      node: r.pod.node.name,
      nodeAddress: r.pod.node.address,
      netns: r.pod.netnsName,
      interfaces: r.attachments.map((a) => ({ ifName: a.ifName, address: firstAddress(a), gateway: (a.result?.ips as Array<{ gateway?: string }> | undefined)?.[0]?.gateway })),
      rules: await ruleLines(r.pod.netnsName, 4),
      tables: { main: await routeLines(r.pod.netnsName, 4) },
    }
    for (const t of others) report.tables[t] = await routeLines(r.pod.netnsName, 4, t)
    pods.push(report)
  }

  const pings = await runPings(w, pods, out, ctx.signal)

  // deleting the workload: the pods go, kubelet runs CNI DEL, which releases their addresses
  for (const wl of workloads) await show(['delete', wl.kind.toLowerCase(), '-n', wl.metadata.namespace!, wl.metadata.name!])
  for (const r of running) {
    await until(`pod ${r.pod.name} to be deleted`, ctx.signal, async () => ((await cp.kubectl(['get', 'pod', '-n', r.pod.namespace, r.pod.name, '--ignore-not-found', '-o', 'name'])).trim() ? undefined : true))
    await delAll(r.pod, r.uid, r.attachments, { cniPath: ctx.cniPath })
    await topology.removePod(r.pod)
  }
  out(`# kubelet ran CNI DEL for every pod`)
  await show(['get', 'sp'])
  const allocatedAfterDelete = Object.fromEntries(
    (await cp.getJson<{ items: Array<{ metadata: { name: string }; status?: { allocatedIPCount?: number } }> }>(['get', 'sp'])).items.map((p) => [p.metadata.name, p.status?.allocatedIPCount ?? 0]),
  )
  writeFileSync(path.join(dataDir, 'report.json'), JSON.stringify({ pods, endpoints, pings }, null, 2))
  return { id: w.id, machines, controllers, podObjects, pools, endpointsTable, endpointObjects: endpointItems.map((e) => e.metadata.name), endpoints, pods, pings, allocatedAfterDelete }
}

/** The router's address on the segment and each node's NIC, as the namespaces hold them. */
async function machinesOf(topology: Topology): Promise<WalkthroughReport['machines']> {
  const addresses = async (netns: string) =>
    (JSON.parse(await ip('-n', netns, '-4', '-json', 'addr', 'show')) as Array<{ ifname: string; addr_info: Array<{ local: string }> }>).flatMap((l) => l.addr_info.map((a) => ({ ifname: l.ifname, local: a.local })))
  const router = (await addresses(topology.router)).find((a) => a.ifname === 'eth0')?.local ?? ''
  const nodes = []
  for (const n of topology.nodes) {
    const nic = (await addresses(n.netns)).find((a) => a.local === n.address)
    nodes.push({ name: n.name, nic: nic?.ifname ?? '', address: nic?.local ?? '' })
  }
  return { router, nodes }
}

/** What kubelet reports once the sandbox is up and the containers run (no images are pulled here). */
function runningStatus(pod: KubeObj, podIP: string, hostIP: string) {
  const containers = (pod.spec?.containers ?? []) as Array<{ name: string; image: string }>
  const containerStatuses = containers.map((c) => ({ name: c.name, image: c.image, imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: new Date().toISOString() } } }))
  return { status: { phase: 'Running', podIP, podIPs: [{ ip: podIP }], hostIP, conditions: [{ type: 'Ready', status: 'True' }], containerStatuses } }
}

function firstAddress(a: Attachment): string {
  return ((a.result?.ips as Array<{ address: string }> | undefined)?.[0]?.address ?? '').split('/')[0]
}

/** Pod to pod across the nodes (underlay, and overlay where there is a default CNI), pod to its node, pod to the outside address. */
async function runPings(w: Walkthrough, pods: PodReport[], out: (t: string) => void, signal: AbortSignal): Promise<PingReport[]> {
  const onController = pods.find((p) => p.node === 'controller')
  const onWorker = pods.find((p) => p.node !== 'controller')
  if (!onController || !onWorker) throw new Error('the pings need a pod on each node')
  const underlayNic = w.defaultCNI ? 'net1' : 'eth0'
  const addr = (p: PodReport, nic: string) => p.interfaces.find((i) => i.ifName === nic)!.address
  const plan: Array<{ from: PodReport; peer: string; kind: PingReport['kind']; to: string; target: string }> = [
    { from: onController, peer: onWorker.name, kind: 'underlay', to: `${onWorker.name} ${underlayNic} (${onWorker.node})`, target: addr(onWorker, underlayNic) },
    { from: onWorker, peer: onController.name, kind: 'underlay', to: `${onController.name} ${underlayNic} (${onController.node})`, target: addr(onController, underlayNic) },
    ...(w.defaultCNI
      ? [{ from: onController, peer: onWorker.name, kind: 'overlay' as const, to: `${onWorker.name} eth0 (${onWorker.node}, ${w.defaultCNI.plays})`, target: addr(onWorker, 'eth0') }]
      : []),
    { from: onController, peer: onController.node, kind: 'node', to: `its node ${onController.node}`, target: onController.nodeAddress },
    { from: onWorker, peer: onWorker.node, kind: 'node', to: `its node ${onWorker.node}`, target: onWorker.nodeAddress },
    { from: onController, peer: outsideAddress, kind: 'outside', to: 'the outside, behind the router', target: outsideAddress },
    { from: onWorker, peer: outsideAddress, kind: 'outside', to: 'the outside, behind the router', target: outsideAddress },
  ]
  out('\n# pings')
  const reports: PingReport[] = []
  for (const p of plan) {
    // quick pings (5 per second, a second's wait for an answer), printed as they run
    const ping = ['ping', '-n', '-c', '2', '-i', '0.2', '-W', '1', p.target]
    out(`~# kubectl exec ${p.from.name} -- ${ping.join(' ')}        # → ${p.to}`)
    let ok = true
    let text: string
    try {
      text = await sh('ip', ['netns', 'exec', p.from.netns, ...ping], { timeoutMs: 10_000, signal })
    } catch (err) {
      signal.throwIfAborted()
      ok = false
      text = (err as { stdout?: string }).stdout || (err as Error).message
    }
    out(text.replace(/\n$/, ''))
    reports.push({ from: p.from.name, peer: p.peer, kind: p.kind, to: p.to, target: p.target, ok })
  }
  return reports
}
