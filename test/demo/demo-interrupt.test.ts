// The demo stopped half-way leaves nothing behind: Ctrl-C (SIGINT) while a walkthrough starts its
// pods, and a walkthrough failing on a manifest the webhook refuses. `node demo/main.ts` as one runs
// it, one walkthrough each (the shortest, macvlan-underlay), checked afterwards from outside: no
// namespace of its prefix, no control plane process, no data directory, no new link on the host.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { alive, namespacesOf, removeLeftovers } from '../../demo/cleanup.ts'
import { defaultExamplesDir } from '../../demo/run.ts'
import { sh } from '../../demo/shell.ts'
import { demoRequirements } from './requirements.ts'

const main = path.resolve(import.meta.dirname, '../../demo/main.ts')
const walkthrough = 'macvlan-underlay'
const { skip, fail } = demoRequirements(['ip', 'ping', 'kubectl', 'sysctl', 'nsenter', 'pgrep'])

t.setTimeout(150_000)
if (fail) t.fail(`the demo tests cannot run: ${fail}`)
else if (skip) t.plan(0, `the demo needs root, iproute2, ping, procps, kubectl and containernetworking-plugins: ${skip}`)
else {
  t.test('Ctrl-C while the pods start: exit 130, nothing left', (t) => interrupted(t))
  t.test('a manifest the webhook refuses: the failure reported, nothing left', (t) => refused(t))
}

interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  output: string
}

/** `node demo/main.ts` with these flags; `onLine` sees each line of its output as it comes. */
function runDemo(t: Test, args: string[], onLine: (line: string, child: ReturnType<typeof spawn>) => void = () => {}): Promise<Finished> {
  const child = spawn(process.execPath, [main, '--only', walkthrough, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let pending = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    output += d
    pending += d
    let newline: number
    while ((newline = pending.indexOf('\n')) >= 0) {
      onLine(pending.slice(0, newline), child)
      pending = pending.slice(newline + 1)
    }
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d))
  // one walkthrough takes about 10 s; a run that hangs is killed, and the test's teardown sweeps
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, output })
    }),
  )
}


/** The links of the host's own namespace, by name. */
async function hostLinks(): Promise<Set<string>> {
  const links = JSON.parse(await sh('ip', ['-json', 'link', 'show'])) as Array<{ ifname: string }>
  return new Set(links.map((l) => l.ifname))
}

/** Names the demo gives links (topology.ts: switch ports, NICs, the bridge; the pods' eth0/net1/veth0 and ptp's host ends). */
const demoLinkName = /^(p-|br0$|ens192$|eth\d+$|net\d+$|veth)/

/** Everything a run with this prefix and state directory could leave is gone. */
async function nothingLeft(t: Test, prefix: string, stateDir: string, linksBefore: Set<string>, pid?: number) {
  t.strictSame(await namespacesOf(prefix), [], `no ${prefix}-* namespace (ip netns list)`)
  if (pid !== undefined) t.notOk(alive(pid), `the control plane (pid ${pid}) has gone`)
  const pgrep = await sh('pgrep', ['-f', stateDir]).then(
    (out) => out.trim(),
    () => '',
  )
  t.equal(pgrep, '', `no process runs from ${stateDir} (pgrep -f)`)
  t.notOk(existsSync(stateDir), 'its state directory is removed')
  const appeared = [...(await hostLinks())].filter((l) => !linksBefore.has(l) && demoLinkName.test(l))
  t.strictSame(appeared, [], 'no link of the demo left on the host')
}

async function interrupted(t: Test) {
  const prefix = `spint${randomBytes(2).toString('hex')}`
  const stateDir = path.join(tmpdir(), `spiderpool-demo-${prefix}`)
  t.teardown(() => removeLeftovers(prefix, stateDir))
  const linksBefore = await hostLinks()
  let pid: number | undefined
  let before: Promise<{ namespaces: string[]; controlPlane: boolean }> | undefined
  const started = Date.now()
  const run = await runDemo(t, ['--prefix', prefix, '--state-dir', stateDir], (line, child) => {
    if (before || !line.startsWith('# kubelet on ')) return
    // the first pod's CNI ADD is next: namespaces and the control plane are all up
    pid = Number(readFileSync(path.join(stateDir, 'control-plane.pid'), 'utf8'))
    const controlPlane = alive(pid)
    child.kill('SIGINT')
    before = namespacesOf(prefix).then((namespaces) => ({ namespaces, controlPlane }))
  })
  t.ok(before, 'the run got as far as starting a pod')
  const seen = await before!
  t.ok(seen.controlPlane, `the control plane (pid ${pid}) ran when SIGINT came`)
  t.ok(seen.namespaces.length >= 4, `namespaces existed then: ${seen.namespaces.join(' ')}`)
  t.equal(run.code, 130, `exit code 130 after SIGINT (${Date.now() - started} ms)`)
  t.match(run.output, /\nSIGINT: cleaning up\n/)
  t.notMatch(run.output, /walkthrough\(s\) done/, 'no summary as if it had run to its end')
  t.notMatch(run.output, /^!! /m, 'the interruption is not reported as a failure of the walkthrough')
  await nothingLeft(t, prefix, stateDir, linksBefore, pid)
}

async function refused(t: Test) {
  const prefix = `spref${randomBytes(2).toString('hex')}`
  const stateDir = path.join(tmpdir(), `spiderpool-demo-${prefix}`)
  const examples = mkdtempSync(path.join(tmpdir(), 'demo-examples-'))
  t.teardown(async () => {
    await removeLeftovers(prefix, stateDir)
    rmSync(examples, { recursive: true, force: true })
  })
  cpSync(defaultExamplesDir, examples, { recursive: true })
  // a pool whose gateway is outside its subnet: the SpiderIPPool webhook refuses it
  const manifest = path.join(examples, `${walkthrough}.yaml`)
  const text = readFileSync(manifest, 'utf8')
  t.match(text, /gateway: 172\.18\.0\.1\n/)
  writeFileSync(manifest, text.replace('gateway: 172.18.0.1', 'gateway: 10.9.0.1'))
  const linksBefore = await hostLinks()
  const run = await runDemo(t, ['--prefix', prefix, '--state-dir', stateDir, '--examples', examples])
  t.equal(run.code, 1, 'non-zero exit')
  t.match(run.output, `$ kubectl apply -f ${manifest}\n`)
  // the failure with kubectl's stderr, which may hold other lines (warnings, client-side throttling) before the error
  const failure = run.output.slice(run.output.indexOf('\n!! ') + 1, run.output.indexOf('\n════ 0 walkthrough'))
  t.match(failure, /^!! macvlan-underlay failed: ip netns exec \S+ kubectl .* apply -f \S+: [\s\S]*The SpiderIPPool "ippool-test" is invalid: spec\.gateway: Invalid value: "10\.9\.0\.1"/, 'the failure and the error kubectl printed')
  t.match(run.output, /0 walkthrough\(s\) done, 1 failed/)
  t.notMatch(run.output, /# kubelet on /, 'no pod was started')
  await nothingLeft(t, prefix, stateDir, linksBefore)
}
