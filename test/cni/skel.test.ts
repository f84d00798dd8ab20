import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { CniError } from '../../cni/errors.ts'
import { dispatch, parseCniArgs } from '../../cni/skel.ts'
import type { CmdArgs, GcArgs, Invocation, Plugin, StatusArgs } from '../../cni/skel.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

interface Recorder extends Plugin {
  calls: Array<{ command: string; args: CmdArgs | GcArgs | StatusArgs }>
}

/** A plugin that records what it was given; ADD answers prevResult, or `fail` from the config. */
function recorder(): Recorder {
  const calls: Recorder['calls'] = []
  const maybeFail = (args: { config: Record<string, unknown> }) => {
    const f = args.config.fail as { code?: number; msg: string } | undefined
    if (f) throw f.code ? new CniError(f.code, f.msg, 'from the plugin') : new Error(f.msg)
  }
  return {
    calls,
    async add(args) {
      calls.push({ command: 'ADD', args })
      maybeFail(args)
      return args.prevResult ?? { cniVersion: args.cniVersion, ips: [{ address: '10.6.1.10/16', gateway: '10.6.0.1' }] }
    },
    async del(args) {
      calls.push({ command: 'DEL', args })
      maybeFail(args)
    },
    async check(args) {
      calls.push({ command: 'CHECK', args })
    },
    async gc(args) {
      calls.push({ command: 'GC', args })
    },
    async status(args) {
      calls.push({ command: 'STATUS', args })
    },
  }
}

const fullEnv = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/var/run/netns/p1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin:/usr/lib/cni' }
const config = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'macvlan-ens192', type: 'test', ...extra })

async function run(env: Record<string, string | undefined>, stdin = config(), plugin: Plugin = recorder(), more: Partial<Invocation> = {}) {
  const outcome = await dispatch(plugin, { about: 'test plugin' }, { env, readStdin: async () => stdin, ...more })
  return { ...outcome, json: outcome.stdout ? JSON.parse(outcome.stdout) : undefined }
}

t.test('every missing required variable is listed in one error with code 4', async (t) => {
  const r = await run({ CNI_COMMAND: 'ADD' })
  t.equal(r.exitCode, 1)
  t.strictSame(r.json, { cniVersion: '1.1.0', code: 4, msg: 'required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing', details: '' })
  const check = await run({ CNI_COMMAND: 'CHECK', CNI_NETNS: '/x', CNI_PATH: '/p' })
  t.equal(check.json.msg, 'required env variables [CNI_CONTAINERID,CNI_IFNAME] missing')
})

t.test('DEL needs no CNI_NETNS, GC and STATUS need only CNI_PATH', async (t) => {
  const p = recorder()
  const del = await run({ ...fullEnv, CNI_COMMAND: 'DEL', CNI_NETNS: undefined }, config(), p)
  t.equal(del.exitCode, 0)
  t.equal(del.stdout, '', 'DEL prints nothing on success')
  t.equal((p.calls[0].args as CmdArgs).netns, '')
  const gc = await run({ CNI_COMMAND: 'GC' }, config({ cniVersion: '1.1.0' }))
  t.equal(gc.json.msg, 'required env variables [CNI_PATH] missing')
  const ok = await run({ CNI_COMMAND: 'STATUS', CNI_PATH: '/p' }, config({ cniVersion: '1.1.0' }), p)
  t.equal(ok.exitCode, 0)
})

t.test('a container id that is not [a-zA-Z0-9][a-zA-Z0-9_.-]* is refused with code 4 before the plugin runs', async (t) => {
  for (const id of ['-leading-dash', 'has space', 'slash/in', '.hidden']) {
    const p = recorder()
    const r = await run({ ...fullEnv, CNI_CONTAINERID: id }, config(), p)
    t.equal(r.json.code, 4, id)
    t.match(r.json.msg, /CNI_CONTAINERID: invalid characters in containerID/)
    t.equal(p.calls.length, 0)
  }
  t.equal((await run({ ...fullEnv, CNI_CONTAINERID: 'a_b.c-9' })).exitCode, 0)
})

t.test('an interface name the kernel would refuse is refused with code 4', async (t) => {
  const cases: Record<string, RegExp> = {
    'eth0123456789012': /too long/,
    '.': /is \. or \.\./,
    '..': /is \. or \.\./,
    'net/1': /contains \/ or : or whitespace/,
    'net:1': /contains \/ or : or whitespace/,
    'net 1': /contains \/ or : or whitespace/,
  }
  for (const [name, why] of Object.entries(cases)) {
    const r = await run({ ...fullEnv, CNI_IFNAME: name })
    t.equal(r.json.code, 4, name)
    t.match(r.json.msg, why, name)
  }
  t.equal((await run({ ...fullEnv, CNI_IFNAME: 'eth012345678901' })).exitCode, 0, '15 characters pass')
})

t.test('VERSION prints the supported versions without reading stdin', async (t) => {
  const r = await run({ CNI_COMMAND: 'VERSION' }, 'not json at all')
  t.equal(r.exitCode, 0)
  t.equal(r.stdout, '{"cniVersion":"1.1.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n')
})

t.test('no CNI_COMMAND prints the about text and the versions on stderr and succeeds', async (t) => {
  const r = await run({})
  t.equal(r.exitCode, 0)
  t.equal(r.stdout, '')
  t.match(r.stderr, /^test plugin\nCNI protocol versions supported: 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0\n$/)
})

t.test('an unknown CNI_COMMAND is refused with code 4', async (t) => {
  const r = await run({ ...fullEnv, CNI_COMMAND: 'UPDATE' })
  t.equal(r.json.code, 4)
  t.equal(r.json.msg, 'unknown CNI_COMMAND: UPDATE')
})

t.test('CHECK is refused with code 1 for configs older than 0.4.0 and runs from 0.4.0', async (t) => {
  const p = recorder()
  const r = await run({ ...fullEnv, CNI_COMMAND: 'CHECK' }, config({ cniVersion: '0.3.1' }), p)
  t.equal(r.json.code, 1)
  t.equal(r.json.msg, 'config version does not allow CHECK')
  t.equal(r.json.cniVersion, '0.3.1', 'the error speaks the config version')
  t.equal(p.calls.length, 0)
  t.equal((await run({ ...fullEnv, CNI_COMMAND: 'CHECK' }, config({ cniVersion: '0.4.0' }), p)).exitCode, 0)
  t.equal(p.calls[0].command, 'CHECK')
})

t.test('GC and STATUS are refused with code 1 before 1.1.0; GC gets the valid attachments', async (t) => {
  for (const command of ['GC', 'STATUS']) {
    const r = await run({ CNI_COMMAND: command, CNI_PATH: '/p' }, config({ cniVersion: '1.0.0' }))
    t.equal(r.json.code, 1, command)
    t.equal(r.json.msg, `config version does not allow ${command}`)
  }
  const p = recorder()
  const attachments = [{ containerID: 'c1', ifname: 'eth0' }]
  const r = await run({ CNI_COMMAND: 'GC', CNI_PATH: '/p' }, config({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': attachments }), p)
  t.equal(r.exitCode, 0)
  t.strictSame((p.calls[0].args as GcArgs).validAttachments, attachments)
})

t.test('a config version the plugin does not support is refused with code 1, a missing one counting as 0.1.0', async (t) => {
  const r = await run(fullEnv, config({ cniVersion: '0.2.0' }))
  t.equal(r.json.code, 1)
  t.equal(r.json.msg, 'incompatible CNI versions')
  t.equal(r.json.details, 'config is "0.2.0", plugin supports ["0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]')
  const none = await run(fullEnv, JSON.stringify({ name: 'n' }))
  t.match(none.json.details, /^config is "0\.1\.0"/)
})

t.test('the config is checked before plugin code: JSON (code 6), network name (code 7)', async (t) => {
  const p = recorder()
  t.equal((await run(fullEnv, '{"name":', p)).json.code, 6)
  const noName = await run(fullEnv, JSON.stringify({ cniVersion: '1.0.0' }), p)
  t.strictSame([noName.json.code, noName.json.msg], [7, 'missing network name'])
  const badName = await run(fullEnv, config({ name: 'bad name' }), p)
  t.strictSame([badName.json.code, badName.json.msg, badName.json.details], [7, 'invalid characters found in network name', 'bad name'])
  t.equal(p.calls.length, 0)
})

t.test('prevResult reaches the plugin in the 1.1.0 shape and the result goes out in the config version', async (t) => {
  const p = recorder()
  const prevResult = { cniVersion: '0.3.1', interfaces: [{ name: 'eth0', sandbox: '/var/run/netns/p1' }], ips: [{ version: '4', interface: 0, address: '10.6.1.10/16', gateway: '10.6.0.1' }] }
  const r = await run(fullEnv, config({ cniVersion: '0.3.1', prevResult }), p)
  t.strictSame((p.calls[0].args as CmdArgs).prevResult?.ips, [{ address: '10.6.1.10/16', gateway: '10.6.0.1', interface: 0 }])
  t.strictSame(r.json, { ...prevResult, dns: {} })
  const bad = await run(fullEnv, config({ prevResult: { ips: [{ address: 'nope' }] } }))
  t.equal(bad.json.code, 6)
})

t.test('CNI_ARGS reach the plugin as pairs; a pair without = is refused with code 4', async (t) => {
  t.strictSame(parseCniArgs('IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web-0;'), { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'ns', K8S_POD_NAME: 'web-0' })
  const p = recorder()
  await run({ ...fullEnv, CNI_ARGS: 'K8S_POD_NAME=web-0;K8S_POD_NAMESPACE=ns' }, config(), p)
  t.equal((p.calls[0].args as CmdArgs).args.K8S_POD_NAME, 'web-0')
  const bad = await run({ ...fullEnv, CNI_ARGS: 'K8S_POD_NAME' })
  t.equal(bad.json.code, 4)
  t.match(bad.json.msg, /^CNI_ARGS: "K8S_POD_NAME" is not KEY=VALUE/)
})

t.test("a CNI_NETNS that is the plugin's own namespace is refused with code 8", async (t) => {
  const r = await run(fullEnv, config(), recorder(), { ownNetns: () => 'nsfs:4026531840', netnsIdentity: () => 'nsfs:4026531840' })
  t.equal(r.json.code, 8)
})

t.test('plugin errors become {cniVersion, code, msg, details} on stdout with exit code 1', async (t) => {
  const coded = await run(fullEnv, config({ fail: { code: 11, msg: 'try later' } }))
  t.equal(coded.exitCode, 1)
  t.strictSame(coded.json, { cniVersion: '1.0.0', code: 11, msg: 'try later', details: 'from the plugin' })
  const plain = await run({ ...fullEnv, CNI_COMMAND: 'DEL' }, config({ fail: { msg: 'boom' } }))
  t.strictSame(plain.json, { cniVersion: '1.0.0', code: 999, msg: 'boom', details: '' })
  t.strictSame(Object.keys(plain.json), ['cniVersion', 'code', 'msg', 'details'])
})

interface ChildRun {
  stdout: string
  stderr: string
  code: number
}

function runCoordinator(env: Record<string, string>, stdin: string): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [path.join(root, 'cni/coordinator/main.ts')], { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err)
      else resolve({ stdout, stderr, code: err ? (err.code as number) : 0 })
    })
    child.stdin?.end(stdin)
  })
}

t.test('the coordinator binary answers VERSION, and prints CNI errors on stdout with exit code 1', async (t) => {
  const version = await runCoordinator({ CNI_COMMAND: 'VERSION' }, '')
  t.equal(version.code, 0)
  t.strictSame(JSON.parse(version.stdout), { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] })

  const missing = await runCoordinator({ CNI_COMMAND: 'ADD', CNI_PATH: '/usr/lib/cni' }, config())
  t.equal(missing.code, 1)
  t.strictSame(JSON.parse(missing.stdout), { cniVersion: '1.1.0', code: 4, msg: 'required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME] missing', details: '' })

  const noPrev = await runCoordinator({ ...fullEnv }, config({ type: 'coordinator' }))
  t.equal(noPrev.code, 1)
  t.match(JSON.parse(noPrev.stdout), { cniVersion: '1.0.0', code: 7, msg: /prevResult is required/ })
})

t.test('a disabled coordinator binary passes prevResult through in the config version, without reading the API', async (t) => {
  const prevResult = { cniVersion: '0.3.1', ips: [{ address: '10.6.212.145/16', gateway: '10.6.0.1' }], routes: [{ dst: '0.0.0.0/0', gw: '10.6.0.1' }], dns: {} }
  for (const mode of ['disable', 'disabled']) {
    const r = await runCoordinator(fullEnv, config({ cniVersion: '0.3.1', type: 'coordinator', mode, kubeconfig: '/nonexistent', prevResult }))
    t.equal(r.code, 0, mode)
    t.strictSame(JSON.parse(r.stdout), { ...prevResult, ips: [{ version: '4', address: '10.6.212.145/16', gateway: '10.6.0.1' }] })
  }
})
