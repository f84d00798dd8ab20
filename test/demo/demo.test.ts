// The demo run non-interactively: all four walkthroughs, then their route tables against
// expected/pod-routes.md (and the complete tables of spec §B.11 / §B.12), modulo addresses; the
// SpiderEndpoint rows; the pods as the controllers and the scheduler make them; the machines as the
// manifests assume them; the pings; the addresses released on delete; nothing left on the machine.
import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { parseAllDocuments } from 'yaml'
import { namespacesOf } from '../../demo/cleanup.ts'
import { startDemo } from '../../demo/demo.ts'
import { defaultExamplesDir, type EndpointRow, type PodReport, type WalkthroughReport } from '../../demo/run.ts'
import { outsideAddress, walkthroughs } from '../../demo/walkthroughs.ts'
import { demoRequirements } from './requirements.ts'

const { skip, fail } = demoRequirements()
// four clusters one after the other: about a minute on an idle machine, more on a busy CI runner
t.setTimeout(360_000)
// as root with the CNI plugins (what .ci/run installs), a missing program fails rather than skips unnoticed
if (fail) t.fail(`the demo cannot run: ${fail}`)
else if (skip) t.plan(0, `the demo needs root, iproute2, ping, kubectl and containernetworking-plugins: ${skip}`)
// one subtest holds the whole run: assertions made after the 30 s walkthroughs, straight on the root
// test, came after tap had ended it on its own, and the subtests of the tables were never run
else t.test('the demo, non-interactively: every walkthrough', (t) => main(t))

/** Sections of pod-routes.md: heading → command ("ip rule", "ip route", "ip route show table 101") → printed lines. */
function printedTables(): Map<string, Map<string, string[]>> {
  const text = readFileSync(path.join(defaultExamplesDir, 'expected/pod-routes.md'), 'utf8')
  const sections = new Map<string, Map<string, string[]>>()
  for (const part of text.split(/^## /m).slice(1)) {
    const blocks = new Map<string, string[]>()
    let current: string[] | undefined
    for (const raw of part.split('\n')) {
      if (!raw.startsWith('    ')) continue
      const line = raw.trim().replace(/\s+\(.*\)$/, '').replace(/\s+/g, ' ')
      if (/^ip (rule|route)/.test(line)) blocks.set(line, (current = []))
      else current?.push(line)
    }
    sections.set(part.split('\n')[0].trim(), blocks)
  }
  return sections
}

/** `line` with each document address replaced by one of ours, in every combination. */
function substitutions(line: string, addresses: Record<string, string[]>): string[] {
  let out = [line]
  for (const [theirs, ours] of Object.entries(addresses)) {
    if (!line.includes(theirs)) continue
    out = out.flatMap((l) => ours.map((o) => l.replaceAll(theirs, o)))
  }
  return out
}

/** What the documents leave out of a line: rule priorities, `src`, `proto kernel`. */
const shortened = (line: string) => line.replace(/^\d+: /, '').replace(/ src \S+$/, '').replace(/ proto kernel/, '')

function contains(ours: string[], printed: string, addresses: Record<string, string[]>): boolean {
  const candidates = substitutions(printed, addresses).map(shortened)
  return ours.some((l) => candidates.includes(shortened(l)) || candidates.includes(l))
}

/** The rows of a printed `kubectl get se -A`, cut at the header's column starts (empty cells stay empty). */
function printedEndpoints(table: string): EndpointRow[] {
  const [header, ...rows] = table.split('\n')
  const starts = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index! }))
  const cell = (row: string, name: string) => {
    const i = starts.findIndex((s) => s.name === name)
    return row.slice(starts[i].at, starts[i + 1]?.at ?? row.length).trim()
  }
  return rows.map((row) => ({ name: cell(row, 'NAME'), interface: cell(row, 'INTERFACE'), ipv4Pool: cell(row, 'IPV4POOL'), ipv4: cell(row, 'IPV4'), node: cell(row, 'NODE') }))
}

/** The objects of a walkthrough's example manifest. */
function manifestObjects(id: string): any[] {
  const file = walkthroughs.find((w) => w.id === id)!.manifests.at(-1)!
  return parseAllDocuments(readFileSync(path.join(defaultExamplesDir, file), 'utf8')).map((d) => d.toJS())
}

const byKey = <T>(rows: T[]) => rows.map((r) => JSON.stringify(r)).sort()

async function main(t: Test) {
  const prefix = `spdt${randomBytes(2).toString('hex')}`
  const output: string[] = []
  const run = startDemo({ prefix, stateDir: path.join(tmpdir(), `spiderpool-demo-${prefix}`), examplesDir: defaultExamplesDir, only: [], built: false, out: (l) => output.push(l) })
  t.teardown(() => run.cleanup())
  await run.done
  t.strictSame(run.failures, [], 'every walkthrough ran to the end')
  t.strictSame(await namespacesOf(prefix), [], 'no namespace is left behind')
  const report = (id: string) => run.reports.find((r) => r.id === id) as WalkthroughReport
  const printed = printedTables()
  const section = (start: string) => [...printed.entries()].find(([h]) => h.startsWith(start))![1]
  const nic = (p: PodReport, name: string) => p.interfaces.find((i) => i.ifName === name)!
  /** An overlay pod's addresses as the tables name them: eth0 (e), its gateway (g) and /24, net1 (m), the node (n). */
  const overlayAddresses = (p: PodReport) => {
    const g = nic(p, 'eth0').gateway!
    return { e: nic(p, 'eth0').address, g, m: nic(p, 'net1').address, n: p.nodeAddress, podSubnet: g.replace(/\.1$/, '.0/24') }
  }

  const text = output.join('\n')
  t.test('the output shows what the walkthroughs print', async (t) => {
    for (const s of ['$ kubectl get sp', '$ kubectl get se -A', '/ # ip a', '/ # ip rule', '/ # ip route', '/ # ip route show table 101', 'ping statistics', 'INTERFACE   IPV4POOL']) t.ok(text.includes(s), s)
    t.notMatch(text, /tentative/, 'no IPv6 address is printed while still in duplicate address detection')
    t.notMatch(text, /kubectl patch pod \S+ .*nodeName/, 'pods are not placed by patching spec.nodeName')
  })

  const expectations = [
    { id: 'calico-overlay', nic: 'net1', pool: '10-6-v4', range: /^10\.6\.212\.(1\d\d|200)\/16$/, owner: 'ReplicaSet', workload: 'nginx' },
    { id: 'cilium-overlay', nic: 'net1', pool: '10-6-v4', range: /^10\.6\.212\.2([0-3]\d|40)\/16$/, owner: 'ReplicaSet', workload: 'nginx' },
    { id: 'macvlan-underlay', nic: 'eth0', pool: 'ippool-test', range: /^172\.18\.30\.(13[1-9]|140)\/16$/, owner: 'ReplicaSet', workload: 'test-app' },
    { id: 'cilium-kpr-underlay', nic: 'eth0', pool: 'v4-pool', range: /^172\.81\.0\.1([01]\d|20)\/16$/, owner: 'DaemonSet', workload: 'ipvlan' },
  ]
  for (const e of expectations) {
    t.test(`${e.id}: one SpiderEndpoint row per pod (NIC, pool, IP from the pool, node), every ping answered, the addresses released on delete`, async (t) => {
      const r = report(e.id)
      t.equal(r.pods.length, 2)
      t.strictSame(new Set(r.pods.map((p) => p.node)), new Set(['controller', 'worker01']), 'one pod on each node')
      for (const p of r.pods) {
        const rows = r.endpoints.filter((x) => x.name === p.name)
        t.equal(rows.length, 1, `${p.name}: one row`)
        t.match(rows[0], { interface: e.nic, ipv4Pool: e.pool, ipv4: e.range, node: p.node })
        t.equal(rows[0].ipv4.split('/')[0], nic(p, e.nic).address, 'the address the pod got')
      }
      t.strictSame(r.endpointObjects.slice().sort(), r.pods.map((p) => p.name).sort(), 'one SpiderEndpoint per pod, named after it')
      t.strictSame(byKey(printedEndpoints(r.endpointsTable)), byKey(r.endpoints), 'the printed kubectl get se rows are the SpiderEndpoints')
      t.ok(text.includes(`$ kubectl get se -A\n${r.endpointsTable}\n`), 'that table is the one printed')
      for (const p of r.pings) t.ok(p.ok, `${p.from} → ${p.to} (${p.target})`)
      t.ok(Object.values(r.allocatedAfterDelete).every((n) => n === 0), 'nothing stays allocated once the pods are gone')
      t.match(r.pools, new RegExp(`${e.pool}\\s+4\\s+\\S+\\s+2\\s`), 'kubectl get sp counts the two pods')
    })

    t.test(`${e.id}: the pods as the ${e.owner} controller and the scheduler make them`, async (t) => {
      const r = report(e.id)
      t.equal(r.controllers.length, 1)
      const owner = r.controllers[0]
      t.match(owner, { kind: e.owner, namespace: 'default', name: e.owner === 'ReplicaSet' ? new RegExp(`^${e.workload}-[bcdfghjklmnpqrstvwxz2456789]+$`) : e.workload })
      t.strictSame(r.podObjects.map((p) => p.name).sort(), r.pods.map((p) => p.name).sort(), 'the pods the API holds are the ones started')
      for (const p of r.podObjects) {
        t.match(p.name, new RegExp(`^${owner.name}-[bcdfghjklmnpqrstvwxz2456789]{5}$`), `${p.name}: named by the API server from generateName`)
        t.equal(p.generateName, `${owner.name}-`)
        t.strictSame(p.ownerReferences, [{ apiVersion: 'apps/v1', kind: e.owner, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true }], `${p.name}: owned by its ${e.owner}`)
        const node = r.pods.find((x) => x.name === p.name)!.node
        t.ok(text.includes(`# the scheduler binds default/${p.name} to ${node}\n# kubelet on ${node} starts default/${p.name};`), `${p.name}: bound to ${node}, then started there`)
      }
    })

    t.test(`${e.id}: the machines are the ones the manifests name: the router is the pool's gateway, the nodes' NIC the macvlan master`, async (t) => {
      const r = report(e.id)
      const objects = manifestObjects(e.id)
      const pool = objects.find((o) => o.kind === 'SpiderIPPool' && o.metadata.name === e.pool)
      const smc = objects.find((o) => o.kind === 'SpiderMultusConfig')
      t.equal(r.machines.router, pool.spec.gateway, `the router's address is ${e.pool}'s gateway`)
      t.strictSame(
        r.machines.nodes.map((n) => n.name),
        ['controller', 'worker01'],
      )
      for (const n of r.machines.nodes) {
        t.equal(n.nic, smc.spec.macvlan.master[0], `${n.name}'s NIC is the SpiderMultusConfig's master`)
        t.equal(n.address, r.pods.find((p) => p.node === n.name)!.nodeAddress)
      }
    })

    t.test(`${e.id}: the ping plan: each pod pings the other node's pod${e.nic === 'net1' ? ' (net1 both ways, eth0 once)' : ''}, its own node and ${outsideAddress}`, async (t) => {
      const r = report(e.id)
      const onController = r.pods.find((p) => p.node === 'controller')!
      const onWorker = r.pods.find((p) => p.node === 'worker01')!
      const expected = [
        { from: onController.name, peer: onWorker.name, kind: 'underlay', target: nic(onWorker, e.nic).address },
        { from: onWorker.name, peer: onController.name, kind: 'underlay', target: nic(onController, e.nic).address },
        ...(e.nic === 'net1' ? [{ from: onController.name, peer: onWorker.name, kind: 'overlay', target: nic(onWorker, 'eth0').address }] : []),
        { from: onController.name, peer: 'controller', kind: 'node', target: onController.nodeAddress },
        { from: onWorker.name, peer: 'worker01', kind: 'node', target: onWorker.nodeAddress },
        { from: onController.name, peer: outsideAddress, kind: 'outside', target: outsideAddress },
        { from: onWorker.name, peer: outsideAddress, kind: 'outside', target: outsideAddress },
      ]
      t.strictSame(byKey(r.pings.map(({ from, peer, kind, target }) => ({ from, peer, kind, target }))), byKey(expected))
      for (const p of r.pings) {
        t.ok(text.includes(`~# kubectl exec ${p.from} -- ping -n -c 2 -i 0.2 -W 1 ${p.target}        # → ${p.to}\n`), `printed with the flags it runs with: ${p.from} → ${p.target}`)
      }
    })
  }

  t.test('calico-overlay: the tables are §B.12 and contain what the Calico walkthrough prints', async (t) => {
    const doc = section('Overlay mode, default route kept on eth0')
    for (const p of report('calico-overlay').pods) {
      const { e, g, m, n, podSubnet } = overlayAddresses(p)
      t.strictSame(p.rules, ['0: from all lookup local', `32764: from ${e} lookup 100`, `32765: from ${m} lookup 101`, '32766: from all lookup main', '32767: from all lookup default'])
      t.strictSame(
        p.tables.main,
        [
          `default via ${g} dev eth0`,
          `${g} dev eth0 scope link src ${e}`,
          `${podSubnet} via ${g} dev eth0 src ${e}`,
          `10.6.0.0/16 dev net1 proto kernel scope link src ${m}`,
          `${n} dev eth0 scope link src ${e}`,
          `10.233.64.0/18 via ${g} dev eth0 src ${e}`,
          `10.233.0.0/18 via ${g} dev eth0 src ${e}`,
          `169.254.0.0/16 via ${g} dev eth0 src ${e}`,
        ].sort(),
      )
      t.strictSame(p.tables['100'], [`default via ${g} dev eth0`])
      t.strictSame(p.tables['101'], [`${g} dev eth0 scope link src ${e}`, `${n} dev eth0 scope link src ${e}`, `default via 10.6.0.1 dev net1`, `10.6.0.0/16 dev net1 scope link src ${m}`].sort())
      // ptp's node end (g) answers for the node, as 10.6.212.132 does in the document; its rule names the node for net1's address (see the document's note)
      const addresses = { '10.6.212.132': [n, g, m], '10.233.73.210': [e], '10.6.212.145': [m], '169.254.1.1': [g] }
      const ours: Record<string, string[]> = { 'ip rule': p.rules, 'ip route': p.tables.main, 'ip route show table 100': p.tables['100'], 'ip route show table 101': p.tables['101'] }
      for (const [command, lines] of doc) {
        for (const line of lines) {
          // the document's table 101 also lists the cluster CIDRs; §B.12 (the code) routes them in main only
          if (command === 'ip route show table 101' && /^10\.233\.(0|64)\.0\/18 via/.test(line)) {
            t.ok(contains(p.tables.main, line, addresses) && !contains(p.tables['101'], line, addresses), `table 101 as printed, in main as §B.12 says: "${line}"`)
          } else t.ok(contains(ours[command], line, addresses), `${command}: "${line}"`)
        }
      }
    }
  })

  t.test('cilium-overlay: default route on net1; the tables are §B.12 with default-route-nic net1, eth0 routes in 101 where the document prints 100 (§E.1 4)', async (t) => {
    const doc = section('Overlay mode, default route moved to net1')
    for (const p of report('cilium-overlay').pods) {
      const { e, g, m, n, podSubnet } = overlayAddresses(p)
      t.strictSame(p.rules, ['0: from all lookup local', `32765: from ${e} lookup 101`, '32766: from all lookup main', '32767: from all lookup default'])
      t.strictSame(
        p.tables.main,
        [
          `default via 10.6.0.1 dev net1`,
          `10.6.0.0/16 dev net1 proto kernel scope link src ${m}`,
          `${g} dev eth0 scope link src ${e}`,
          `${podSubnet} via ${g} dev eth0 src ${e}`,
          `${n} dev eth0 scope link src ${e}`,
          `10.233.64.0/18 via ${g} dev eth0 src ${e}`,
          `10.233.0.0/18 via ${g} dev eth0 src ${e}`,
          `169.254.0.0/16 via ${g} dev eth0 src ${e}`,
        ].sort(),
      )
      t.strictSame(
        p.tables['101'],
        [
          `default via ${g} dev eth0`,
          `${g} dev eth0 scope link src ${e}`,
          `${podSubnet} via ${g} dev eth0 src ${e}`,
          `${n} dev eth0 scope link src ${e}`,
          `10.233.64.0/18 via ${g} dev eth0 src ${e}`,
          `10.233.0.0/18 via ${g} dev eth0 src ${e}`,
          `169.254.0.0/16 via ${g} dev eth0 src ${e}`,
        ].sort(),
      )
      t.notOk('100' in p.tables, 'no table 100')
      const addresses = { '10.233.120.101': [e], '10.233.65.96': [g], '10.6.212.131': [n], '10.6.212.132': [g], '10.6.212.202': [m] }
      for (const line of doc.get('ip route')!) t.ok(contains(p.tables.main, line, addresses), `ip route: "${line}"`)
      for (const line of doc.get('ip route show table 100')!) t.ok(contains(p.tables['101'], line, addresses), `table 100 as printed, in 101: "${line}"`)
      t.ok(contains(p.rules, 'from 10.233.120.101 lookup 101', addresses), "the rule for eth0's address, to 101")
      t.notOk(p.rules.some((r) => r.includes(' to ')), 'none of the printed `to …` rules')
    }
  })

  for (const [id, podCIDRRoute] of [
    ['macvlan-underlay', true],
    ['cilium-kpr-underlay', false],
  ] as const) {
    t.test(`${id}: the tables are §B.11${podCIDRRoute ? '' : ' without the pod CIDR (podCIDRType none)'} and contain what the underlay walkthrough prints`, async (t) => {
      const doc = section('Underlay mode')
      for (const p of report(id).pods) {
        const a = nic(p, 'eth0').address
        const gw = nic(p, 'eth0').gateway!
        const n = p.nodeAddress
        const subnet = `${gw.split('.').slice(0, 2).join('.')}.0.0/16`
        t.strictSame(p.rules, ['0: from all lookup local', '1000: from all fwmark 0x1 lookup 100', '32766: from all lookup main', '32767: from all lookup default'])
        t.strictSame(
          p.tables.main,
          [
            `default via ${gw} dev eth0`,
            `${subnet} dev eth0 proto kernel scope link src ${a}`,
            `${n} dev veth0 scope link src ${a}`,
            ...(podCIDRRoute ? [`10.233.64.0/18 via ${n} dev veth0 src ${a}`] : []),
            `10.233.0.0/18 via ${n} dev veth0 src ${a}`,
            `169.254.0.0/16 via ${n} dev veth0 src ${a}`,
          ].sort(),
        )
        t.strictSame(p.tables['100'], [`default via ${n} dev veth0 src ${a}`])
        t.strictSame(p.tables['101'], [`${n} dev veth0 scope link src ${a}`])
        // the document's 10.233.64.0/18 is its service CIDR ("as printed")
        const addresses = { '10.6.212.101': [n], '10.6.212.241': [a], '10.6.0.0/16': [subnet], '10.6.0.1': [gw], '10.233.64.0/18': ['10.233.64.0/18', '10.233.0.0/18'] }
        for (const line of doc.get('ip route')!) t.ok(contains(p.tables.main, line, addresses), `ip route: "${line}"`)
      }
    })
  }
}
