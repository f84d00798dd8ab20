// install-cni on its own: the in-cluster service account as the default source of the server, CA
// and token, and nothing on the node touched when something is missing.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { installCni, installCniCommand } from '../../cni/install.ts'
import { loadKubeconfig } from '../../kube/kubeconfig.ts'

function layout(t: import('tap').Test) {
  const dir = t.testdir()
  const from = path.join(dir, 'dist')
  mkdirSync(from)
  writeFileSync(path.join(from, 'spiderpool'), 'ipam binary')
  writeFileSync(path.join(from, 'coordinator'), 'coordinator binary')
  const account = path.join(dir, 'serviceaccount')
  mkdirSync(account)
  writeFileSync(path.join(account, 'ca.crt'), 'CA PEM\n')
  writeFileSync(path.join(account, 'token'), 'account-token\n')
  return { dir, from, account, binDir: path.join(dir, 'bin'), kubeconfigOut: path.join(dir, 'net.d/spiderpool.d/spiderpool.kubeconfig') }
}

t.test('in a pod: the server from KUBERNETES_SERVICE_HOST/PORT (IPv6 in brackets), CA and token from the service account', async (t) => {
  const l = layout(t)
  const installed = installCni({ from: l.from, binDir: l.binDir, kubeconfigOut: l.kubeconfigOut, serviceAccountDir: l.account, env: { KUBERNETES_SERVICE_HOST: 'fd00:96::1', KUBERNETES_SERVICE_PORT: '443' } })
  t.strictSame(installed.plugins, [path.join(l.binDir, 'spiderpool'), path.join(l.binDir, 'coordinator')])
  t.equal(readFileSync(path.join(l.binDir, 'spiderpool'), 'utf8'), 'ipam binary')
  const connection = await loadKubeconfig(l.kubeconfigOut)
  t.equal(connection.server, 'https://[fd00:96::1]:443')
  t.equal(connection.token, 'account-token')
  t.equal(String(connection.ca), 'CA PEM\n')
  t.equal(statSync(l.kubeconfigOut).mode & 0o777, 0o600)
  t.strictSame(readFileSync(l.kubeconfigOut, 'utf8').trimStart()[0], '{', 'JSON, which the plugins read without a YAML parser')
})

t.test('installing again replaces the files in place', async (t) => {
  const l = layout(t)
  const o = { from: l.from, binDir: l.binDir, kubeconfigOut: l.kubeconfigOut, server: 'https://api:6443', serviceAccountDir: l.account }
  installCni(o)
  writeFileSync(path.join(l.from, 'spiderpool'), 'a newer binary')
  writeFileSync(path.join(l.account, 'token'), 'rotated')
  installCni(o)
  t.equal(readFileSync(path.join(l.binDir, 'spiderpool'), 'utf8'), 'a newer binary')
  t.equal((await loadKubeconfig(l.kubeconfigOut)).token, 'rotated')
})

t.test('nothing is written when the server, a credential or a built plugin is missing', async (t) => {
  const l = layout(t)
  const base = { from: l.from, binDir: l.binDir, kubeconfigOut: l.kubeconfigOut, serviceAccountDir: l.account }
  t.throws(() => installCni({ ...base, env: {} }), { message: /no --server, and KUBERNETES_SERVICE_HOST/ })
  t.throws(() => installCni({ ...base, server: 'https://api', tokenFile: path.join(l.dir, 'none') }), { message: /cannot read the token .*none/ })
  t.throws(() => installCni({ ...base, server: 'https://api', from: path.join(l.dir, 'empty') }), { message: /no built plugin .*empty\/spiderpool: run npm run build:cni first/ })
  t.notOk(existsSync(l.binDir))
  t.notOk(existsSync(l.kubeconfigOut))
})

t.test('the command: flags, what it did, --help', async (t) => {
  const l = layout(t)
  const lines: string[] = []
  const installed = installCniCommand(['--from', l.from, '--bin-dir', l.binDir, '--kubeconfig-out', l.kubeconfigOut, '--server', 'https://api:6443', '--ca-file', path.join(l.account, 'ca.crt'), '--token-file', path.join(l.account, 'token')], (x) => lines.push(x))
  t.ok(installed)
  t.strictSame(lines, [`installed ${path.join(l.binDir, 'spiderpool')}`, `installed ${path.join(l.binDir, 'coordinator')}`, `wrote ${l.kubeconfigOut}`])
  t.equal(installCniCommand(['--help']), undefined)
  t.throws(() => installCniCommand(['--bogus']), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' })
})

t.test('bin/spiderpool-ts install-cni loads only the installer: it fits the chart limit of the node containers', async (t) => {
  const l = layout(t)
  const bin = path.resolve(import.meta.dirname, '../../bin/spiderpool-ts')
  // the child reports its own peak resident memory as it exits
  const peak = `data:text/javascript,process.on('exit',()=>process.stderr.write('maxRSS '+process.resourceUsage().maxRSS))`
  const run = spawnSync(process.execPath, ['--import', peak, bin, 'install-cni', '--from', l.from, '--bin-dir', l.binDir, '--kubeconfig-out', l.kubeconfigOut, '--server', 'https://api:6443', '--ca-file', path.join(l.account, 'ca.crt'), '--token-file', path.join(l.account, 'token')], { encoding: 'utf8' })
  t.equal(run.status, 0, run.stderr)
  t.match(run.stdout, `wrote ${l.kubeconfigOut}`)
  const limits = (parse(readFileSync(path.resolve(import.meta.dirname, '../../charts/spiderpool-ts/values.yaml'), 'utf8')) as any).spiderpoolAgent.resources.limits
  const limitMiB = Number(/^(\d+)Mi$/.exec(limits.memory)![1])
  const peakMiB = Number(/maxRSS (\d+)/.exec(run.stderr)![1]) / 1024
  // the whole command line (server/main.ts) peaks near 125 MiB: loaded, it would not leave this margin
  t.ok(peakMiB < limitMiB * 0.8, `peaked at ${peakMiB.toFixed(0)} MiB, limit ${limits.memory}`)
})
