// How many programs an underlay ADD starts, and in which namespace: every start costs a pod's
// start-up time, so the count is pinned. Each program the plugin may start is a logging stand-in
// first on PATH that records its name and network namespace, then runs the real one.
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { coordinatorPath, startApi } from '../harness/api.ts'
import { createCluster, missingRequirements, routerIPv4 } from '../harness/cluster.ts'
import { hostLocal, macvlanNetwork } from '../harness/networks.ts'
import { addNetworkList, execPlugin, pluginDirectory } from '../harness/runtime.ts'

const programs = ['ip', 'nsenter', 'sh', 'iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore', 'arping', 'ndisc6']
const missing = missingRequirements(['ip', 'nsenter', 'iptables', 'iptables-save', 'iptables-restore'])
if (missing) t.plan(0, missing)
else await main()

async function main() {
  const cluster = await createCluster({ nodes: 1 })
  t.teardown(() => cluster.teardown())
  const api = await startApi(cluster, {
    [coordinatorPath]: {
      apiVersion: 'spiderpool.spidernet.io/v2beta1',
      kind: 'SpiderCoordinator',
      metadata: { name: 'default' },
      spec: { mode: 'auto', podCIDRType: 'cluster', tunePodRoutes: true, hostRuleTable: 500, podRPFilter: 0, hijackCIDR: ['169.254.0.0/16'], vethMTU: 1500 },
      status: { phase: 'Synced', serviceCIDR: ['10.233.0.0/18'], overlayPodCIDR: ['10.233.64.0/18'] },
    },
  })
  t.teardown(() => api.stop())
  const cniPath = pluginDirectory(path.join(cluster.dir, 'bin'))
  const [node] = cluster.nodes

  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin'])
  const real = (p: string) => dirs.map((d) => path.join(d, p)).find((f) => statSync(f, { throwIfNoEntry: false })?.isFile())
  const standIns = path.join(cluster.dir, 'counted')
  const log = path.join(cluster.dir, 'started.log')
  mkdirSync(standIns, { recursive: true })
  for (const p of programs) {
    const file = real(p)
    if (!file) continue
    writeFileSync(path.join(standIns, p), `#!/bin/sh\necho "${p} $(readlink /proc/$$/ns/net)" >> '${log}'\nexec '${file}' "$@"\n`)
    chmodSync(path.join(standIns, p), 0o755)
  }
  const netnsId = (file: string) => `net:[${statSync(file).ino}]`

  t.test('an underlay IPv4 ADD starts 8 programs: one ip read and one ip write for the node and for the pod (the pod read by ip -n, written in the shell), one nsenter for that shell, one iptables-save and -restore in the pod', async (t) => {
    const pod = await cluster.addPod(node, 'counted')
    const list = macvlanNetwork({
      cniVersion: '1.0.0',
      ipam: hostLocal(path.join(cluster.dir, 'leases'), [[{ subnet: '10.6.0.0/16', rangeStart: '10.6.1.10', rangeEnd: '10.6.1.50', gateway: routerIPv4 }]], [{ dst: '0.0.0.0/0' }]),
      coordinator: { kubeconfig: api.kubeconfig },
    })
    const prevResult = await addNetworkList({ ...list, plugins: [list.plugins[0]] }, { pod, ifName: 'eth0' }, { cniPath })
    writeFileSync(log, '')
    const r = await execPlugin(
      node.name,
      path.join(cniPath[0], 'coordinator'),
      {
        PATH: `${standIns}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: pod.containerId,
        CNI_NETNS: pod.netns,
        CNI_IFNAME: 'eth0',
        CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.name}`,
        CNI_PATH: cniPath.join(':'),
      },
      JSON.stringify({ ...list.plugins[1], cniVersion: list.cniVersion, name: list.name, prevResult }),
    )
    t.equal(r.exitCode, 0, r.stdout + r.stderr)
    const started = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '))
    const inNode = started.filter(([, ns]) => ns === netnsId(`/var/run/netns/${node.name}`)).map(([p]) => p).sort()
    const inPod = started.filter(([, ns]) => ns === netnsId(pod.netns)).map(([p]) => p).sort()
    const elsewhere = started.filter(([, ns]) => ns !== netnsId(`/var/run/netns/${node.name}`) && ns !== netnsId(pod.netns)).map(([p]) => p)
    t.strictSame(elsewhere, ['ip'], "nothing starts elsewhere but the runtime's `ip netns exec`")
    t.strictSame(inNode, ['ip', 'ip', 'ip', 'nsenter'], 'ip -n enters the pod itself')
    t.strictSame(inPod, ['ip', 'iptables-restore', 'iptables-save', 'sh'])
    const mangle = await execPlugin(pod.netnsName, real('iptables-save')!, {}, '')
    t.equal(mangle.stdout.split('\n').filter((l) => l.startsWith('-A ')).length, 3, 'the three reply-path rules are in the pod')
  })
}
