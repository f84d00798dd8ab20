// The distribution: `scripts/build-cni.ts` makes single executables that run where there is no
// Node.js, speak CNI, and claim a reservation from a real API (through a YAML kubeconfig too,
// whose parser ships as an asset); `install-cni` copies them and writes the CNI kubeconfig.
import { execFile } from 'node:child_process'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { connectionFromKubeconfig } from '../../kube/kubeconfig.ts'
import { parseRecords, serialiseRecords } from '../../ipam/records.ts'
import { encodeReservation, newReservationToken, reservationAnnotation } from '../../ipam/reservation.ts'
import { startControlPlane } from '../../kube/controlplane/index.ts'
import { resources } from '../../kube/resources.ts'
import { createStore } from '../../kube/store.ts'
import { createTransport } from '../../kube/transport.ts'
import { bundle, buildCni, cniPlugins } from '../../scripts/build-cni.ts'
import { runCli } from '../../server/main.ts'
import { missingRequirements, pings, routerIPv4 } from './harness/cluster.ts'
import { macvlanNetwork } from './harness/networks.ts'
import { addNetworkList, delNetworkList } from './harness/runtime.ts'
import { createNad, createPod, createPool, poolRecords, reservationOfPod, spiderpoolIpam, startSpiderpoolEnv } from './spiderpool-env.ts'

const dir = t.testdir()
const out = path.join(dir, 'dist')
const built = await buildCni(out)
t.strictSame(built.map((f) => path.basename(f)), ['spiderpool', 'coordinator'], 'both plugins built')

/** Runs a built plugin with only the CNI variables: no PATH, so no Node.js to fall back on. */
function runBuilt(file: string, env: Record<string, string>, stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, [], { env, timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }))
    child.stdin?.end(stdin)
  })
}

t.test('neither plugin bundle can load node:http or node:https (~8 ms per pod start); the API is reached over node:tls', async (t) => {
  for (const entry of Object.values(cniPlugins)) {
    const made = await bundle(entry)
    t.notOk(made.builtins.some((m) => /^node:https?2?$/.test(m)), `${entry}: ${made.builtins.join(' ')}`)
    t.ok(made.builtins.includes('node:tls'), `${entry} reaches the API over node:tls`)
  }
  const leaky = path.join(dir, 'leaky.ts')
  writeFileSync(leaky, `import { createTransport } from ${JSON.stringify(path.resolve('kube/transport.ts'))}\nconsole.log(createTransport)\n`)
  await t.rejects(bundle(path.relative(path.resolve('.'), leaky)), /loads node:http/, 'a bundle that would load them fails the build')
})

t.test('`build:cni -- --help` prints the usage and builds nothing; an unknown option is refused', async (t) => {
  const script = path.join(import.meta.dirname, '../../scripts/build-cni.ts')
  const run = (arg: string) =>
    new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(process.execPath, [script, arg], { cwd: dir, timeout: 30_000 }, (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout })),
    )
  const help = await run('--help')
  t.equal(help.code, 0)
  t.match(help.stdout, /^usage: npm run build:cni/)
  t.equal(statSync(path.join(dir, '--help'), { throwIfNoEntry: false }), undefined, 'no directory named --help')
  t.equal((await run('--bogus')).code, 2)
  t.equal(statSync(path.join(dir, '--bogus'), { throwIfNoEntry: false }), undefined)
})

t.test('each executable answers VERSION without Node.js on the PATH, and prints its about line without a command', async (t) => {
  for (const file of built) {
    const r = await runBuilt(file, { CNI_COMMAND: 'VERSION' })
    t.equal(r.code, 0, r.stderr)
    t.strictSame(JSON.parse(r.stdout), { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] })
    t.equal(r.stderr, '', 'no experimental warning')
    const about = await runBuilt(file, {})
    t.match(about.stderr, /spiderpool-ts/)
    t.ok(statSync(file).mode & 0o111, 'executable')
  }
})

t.test('the spiderpool executable claims a reservation from a real API through the YAML kubeconfig the control plane writes', async (t) => {
  const cp = await startControlPlane({ dataDir: path.join(dir, 'cp'), port: 0, admission: false })
  t.teardown(() => cp.close())
  const store = createStore(createTransport({ server: cp.url, ca: cp.caPem, token: cp.token }))
  t.teardown(() => store.transport.close())
  const pool = await store.create(resources.ippools, { metadata: { name: 'p' }, spec: { ipVersion: 4, subnet: '10.6.0.0/16', ips: ['10.6.1.1-10.6.1.9'], gateway: '10.6.0.1' } } as never)
  const token = newReservationToken()
  await store.updateStatus(resources.ippools, { ...pool, status: { allocatedIPs: serialiseRecords([{ ip: '10.6.1.1', pod: 'default/', podUid: '', state: 'reserved', token, nic: 'eth0' }]), allocatedIPCount: 1 } } as never)
  const reservation = encodeReservation({ token, ips: [{ interface: 'eth0', ipv4: '10.6.1.1/16', ipv4Pool: 'p', ipv4Gateway: '10.6.0.1', vlan: 0, cleanGateway: false, routes: [] }] })
  const pod = await store.create(resources.pods, { metadata: { name: 'sea', namespace: 'default', annotations: { [reservationAnnotation]: reservation } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } } as never)
  t.notOk(readFileSync(cp.kubeconfigPath, 'utf8').trimStart().startsWith('{'), 'the kubeconfig is YAML')

  const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '/var/run/netns/sea', CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=sea', CNI_PATH: '/opt/cni/bin' }
  const config = JSON.stringify({ cniVersion: '1.0.0', name: 'net', type: 'macvlan', ipam: { type: 'spiderpool', kubeconfig: cp.kubeconfigPath } })
  const r = await runBuilt(built[0], env, config)
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.strictSame(JSON.parse(r.stdout), { cniVersion: '1.0.0', ips: [{ address: '10.6.1.1/16', gateway: '10.6.0.1' }], routes: [{ dst: '0.0.0.0/0', gw: '10.6.0.1' }] })
  const records = parseRecords((await store.get(resources.ippools, 'p')).status?.allocatedIPs).records
  t.match(records, [{ ip: '10.6.1.1', pod: 'default/sea', podUid: pod.metadata!.uid, state: 'claimed', node: 'n1' }])
})

t.test("with a kubeconfig that names no CA, the executable trusts the node's OpenSSL store (as Go's plugins do), not Node's bundled roots", async (t) => {
  const cp = await startControlPlane({ dataDir: path.join(dir, 'cp-system-store'), port: 0, admission: false })
  t.teardown(() => cp.close())
  const store = createStore(createTransport({ server: cp.url, ca: cp.caPem, token: cp.token }))
  t.teardown(() => store.transport.close())
  await store.create(resources.pods, { metadata: { name: 'sys', namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } } as never)
  const kubeconfig = path.join(dir, 'no-ca.kubeconfig')
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: cp.url } }],
      users: [{ name: 'u', user: { token: cp.token } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  )
  const systemStore = path.join(dir, 'system-ca.pem')
  writeFileSync(systemStore, cp.caPem)
  const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'sys1', CNI_NETNS: '/var/run/netns/sys', CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=sys', CNI_PATH: '/opt/cni/bin' }
  // no pool for the pod: once the API is reached, the plugin refuses for that reason, not for TLS
  const config = JSON.stringify({ cniVersion: '1.0.0', name: 'net', type: 'macvlan', ipam: { type: 'spiderpool', kubeconfig } })
  const untrusted = await runBuilt(built[0], { ...env, SSL_CERT_FILE: path.join(dir, 'missing.pem'), SSL_CERT_DIR: dir }, config)
  t.not(untrusted.code, 0)
  t.match(untrusted.stdout, /certificate/i, 'the API server is not trusted: its CA is in no store the executable reads')
  const trusted = await runBuilt(built[0], { ...env, SSL_CERT_FILE: systemStore, SSL_CERT_DIR: dir }, config)
  t.notMatch(trusted.stdout, /certificate/i, 'trusted once the system store holds the CA')
  t.match(trusted.stdout, /pool/i, trusted.stdout + trusted.stderr)
})

t.test('install-cni copies both plugins and writes the CNI kubeconfig (JSON, 0600) from the flags', async (t) => {
  const binDir = path.join(dir, 'opt-cni-bin')
  const kubeconfigOut = path.join(dir, 'etc/cni/net.d/spiderpool.d/spiderpool.kubeconfig')
  const ca = path.join(dir, 'ca.crt')
  const tokenFile = path.join(dir, 'token')
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
  writeFileSync(tokenFile, 'sa-token\n')
  const code = await runCli(['install-cni', '--from', out, '--bin-dir', binDir, '--kubeconfig-out', kubeconfigOut, '--server', 'https://10.96.0.1:443', '--ca-file', ca, '--token-file', tokenFile])
  t.equal(code, 0)
  for (const name of ['spiderpool', 'coordinator']) {
    t.equal(statSync(path.join(binDir, name)).size, statSync(path.join(out, name)).size, `${name} copied`)
    t.equal(statSync(path.join(binDir, name)).mode & 0o777, 0o755)
  }
  t.equal(statSync(kubeconfigOut).mode & 0o777, 0o600)
  const doc = JSON.parse(readFileSync(kubeconfigOut, 'utf8'))
  const connection = connectionFromKubeconfig(doc, kubeconfigOut)
  t.equal(connection.server, 'https://10.96.0.1:443')
  t.equal(connection.token, 'sa-token')
  t.equal(String(connection.ca), readFileSync(ca, 'utf8'))
  const r = await runBuilt(path.join(binDir, 'spiderpool'), { CNI_COMMAND: 'VERSION' })
  t.equal(r.code, 0, 'the installed copy runs')
})

const noNamespaces = missingRequirements(['ip', 'nsenter', 'ping', 'iptables', 'ip6tables'])
t.test('the executables as a runtime runs them: macvlan + spiderpool + coordinator, a pod on each node claims its reservation and reaches the other', { skip: noNamespaces }, async (t) => {
  const env = await startSpiderpoolEnv({ nodes: 2, binaries: { dir: out } })
  t.teardown(() => env.stop())
  await createPool(env, 'sea-v4', { subnet: '10.6.0.0/16', ips: ['10.6.30.1-10.6.30.20'], gateway: routerIPv4 })
  const list = macvlanNetwork({ name: 'sea-underlay', ipam: spiderpoolIpam(env, { v4: ['sea-v4'] }), coordinator: { kubeconfig: env.kubeconfig } })
  await createNad(env, 'sea-underlay', list)
  const started = []
  for (const node of env.cluster.nodes) {
    const api = await createPod(env, node, `sea-${node.index}`, { annotations: { 'v1.multus-cni.io/default-network': 'default/sea-underlay' } })
    const pod = await env.cluster.addPod(node, api.metadata.name)
    const result = await addNetworkList(list, { pod, ifName: 'eth0' }, { cniPath: env.cniPath })
    t.strictSame((result.ips as Array<{ address: string }>).map((i) => i.address), [reservationOfPod(api).ips[0].ipv4])
    started.push({ api, pod, result, ip: (result.ips as Array<{ address: string }>)[0].address.split('/')[0] })
  }
  t.ok(await pings(started[0].pod.netnsName, started[1].ip), 'pod → pod on the other node')
  t.ok(await pings(started[0].pod.netnsName, env.cluster.nodes[0].ipv4), 'pod → its node')
  t.match(await poolRecords(env, 'sea-v4'), started.map((s) => ({ podUid: s.api.metadata.uid, state: 'claimed' })))
  for (const s of started) {
    await env.store.delete(resources.pods, s.api.metadata.name, { namespace: 'default' })
    await delNetworkList(list, { pod: s.pod, ifName: 'eth0' }, { cniPath: env.cniPath }, s.result)
  }
  t.strictSame(await poolRecords(env, 'sea-v4'), [])
})
