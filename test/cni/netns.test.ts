import { randomBytes } from 'node:crypto'
import t from 'tap'
import { inNamespace, netnsExists, runIn } from '../../cni/netns.ts'
import { ip, missingRequirements } from './harness/cluster.ts'

t.test('a program that does not finish in time is killed and reported', async (t) => {
  const started = Date.now()
  await t.rejects(runIn(undefined, ['sleep', '5'], { timeoutMs: 200 }), /sleep 5: no answer within 200 ms/)
  t.ok(Date.now() - started < 2_000)
})

t.test('stdin, stdout, stderr and the exit code come back; a program that cannot start is an error', async (t) => {
  t.strictSame(await runIn(undefined, ['sh', '-c', 'cat; echo oops >&2; exit 3'], { input: 'hello' }), { stdout: 'hello', stderr: 'oops\n', code: 3 })
  await t.rejects(runIn(undefined, ['/nonexistent/program']), /cannot run \/nonexistent\/program/)
})

t.test('a program runs inside the namespace at a path', { skip: missingRequirements(['ip', 'nsenter']) }, async (t) => {
  const name = `cnins${randomBytes(3).toString('hex')}`
  await ip('netns', 'add', name)
  t.teardown(() => ip('netns', 'del', name).catch(() => {}))
  await ip('-n', name, 'link', 'add', 'only-here', 'type', 'veth', 'peer', 'name', 'peer-here')
  const r = await runIn(`/var/run/netns/${name}`, ['ip', '-o', 'link', 'show', 'only-here'])
  t.equal(r.code, 0)
  t.match(r.stdout, /only-here/)
  t.notOk(netnsExists(`/var/run/netns/${name}-gone`))
  t.match((await runIn(`/run/netns/${name}`, ['sh', '-c', 'ip -o link show only-here'])).stdout, /only-here/, 'a program other than ip too')
})

t.test('ip in a namespace `ip netns` named enters it itself (one program start fewer); anything else goes through nsenter', async (t) => {
  t.strictSame(inNamespace('/run/netns/pod-1', ['ip', '-json', 'route']), ['ip', '-n', 'pod-1', '-json', 'route'])
  t.strictSame(inNamespace('/var/run/netns/pod-1', ['ip', 'link']), ['ip', '-n', 'pod-1', 'link'])
  t.strictSame(inNamespace('/run/netns/pod-1', ['sh', '-c', 'x']), ['nsenter', '--net=/run/netns/pod-1', '--', 'sh', '-c', 'x'])
  t.strictSame(inNamespace('/proc/42/ns/net', ['ip', 'link']), ['nsenter', '--net=/proc/42/ns/net', '--', 'ip', 'link'], 'a path outside /run/netns has no name ip knows')
  t.strictSame(inNamespace('/run/netns/sub/pod', ['ip', 'link']), ['nsenter', '--net=/run/netns/sub/pod', '--', 'ip', 'link'])
  t.strictSame(inNamespace(undefined, ['ip', 'link']), ['ip', 'link'])
})
