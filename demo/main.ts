// `npm run demo`: Spiderpool's quick starts end to end on this machine, in network namespaces.
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { cleanupOnSignals } from './cleanup.ts'
import { startDemo } from './demo.ts'
import { defaultExamplesDir } from './run.ts'
import { missingRequirements } from './shell.ts'
import { walkthroughs } from './walkthroughs.ts'

const usage = `Usage: npm run demo -- [flags]      (node demo/main.ts [flags])

Runs Spiderpool's quick-start walkthroughs end to end on this machine, each on machines of its own
built in network namespaces: a switch, a router (the pools' gateway) in front of an outside host
(${'10.7.212.101'}), and two nodes, "controller" and "worker01", whose NIC (ens192, or eth0) is on the
switch. For each walkthrough it starts the local default (spiderpool-ts up) on the controller node,
applies the walkthrough's manifests with kubectl, makes the Deployment's (DaemonSet's) pods as the
controllers would, schedules them, starts them through the CNI chain as kubelet + Multus would
(Calico / Cilium played by Debian's ptp + host-local as eth0; the NADs the SpiderMultusConfig
controller rendered, with our spiderpool IPAM and coordinator), prints kubectl get sp / se, each
pod's ip a / ip rule / ip route and tables, runs the pings, deletes the workload (CNI DEL) and
removes everything. Ctrl-C removes everything too; a run also removes what an interrupted run left.

Walkthroughs: ${walkthroughs.map((w) => w.id).join(', ')}

Prerequisites: root (network namespaces); iproute2 (ip, with netns), iputils-ping, kubectl,
Debian's containernetworking-plugins in /usr/lib/cni (macvlan, ptp, host-local); Node 24 (npm ci).
  apt-get install iproute2 iputils-ping containernetworking-plugins

Flags:
  --only ID[,ID]      run only these walkthroughs
  --built             use the single executables in dist/cni (npm run build:cni) instead of the sources
  --examples DIR      the walkthroughs' manifests (default ../shared/reference/examples)
  --prefix NAME       prefix of the namespaces it makes (default spdemo)
  --state-dir DIR     the control planes' data, CNI state (default $TMPDIR/spiderpool-demo-<prefix>)
  -h, --help          this help
`

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    built: { type: 'boolean', default: false },
    examples: { type: 'string', default: defaultExamplesDir },
    prefix: { type: 'string', default: 'spdemo' },
    'state-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (values.help) {
  process.stdout.write(usage)
  process.exit(0)
}
const only = values.only ? values.only.split(',').map((s) => s.trim()) : []
const unknown = only.filter((id) => !walkthroughs.some((w) => w.id === id))
if (unknown.length) {
  process.stderr.write(`demo: unknown walkthrough ${unknown.join(', ')}; known: ${walkthroughs.map((w) => w.id).join(', ')}\n`)
  process.exit(2)
}
const missing = missingRequirements(['ip', 'ping', 'kubectl', 'sysctl', 'nsenter'])
if (missing) {
  process.stderr.write(`demo: ${missing === 'network namespace tests need root' ? 'the demo needs root (it builds network namespaces)' : missing}\n\n${usage}`)
  process.exit(2)
}

const out = (text: string) => process.stdout.write(`${text}\n`)
const run = startDemo({
  prefix: values.prefix,
  stateDir: values['state-dir'] ?? path.join(tmpdir(), `spiderpool-demo-${values.prefix}`),
  examplesDir: values.examples,
  only,
  built: values.built,
  out,
})
cleanupOnSignals(run.cleanup, out)
await run.done.catch((err: Error) => {
  if (!run.aborted) throw err
})
if (run.aborted) {
  // stopped by a signal: its handler exits with 130 (143) once this cleanup is done
  await run.cleanup()
} else {
  const pings = run.reports.flatMap((r) => r.pings)
  out(`\n════ ${run.reports.length} walkthrough(s) done, ${run.failures.length} failed; ${pings.filter((p) => p.ok).length}/${pings.length} pings answered; everything removed`)
  process.exitCode = run.failures.length || pings.some((p) => !p.ok) ? 1 : 0
}
