// `spiderpool-ts pause`, the CNI DaemonSet's long-running container, run as the container runs it.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'

const bin = path.resolve(import.meta.dirname, '../../bin/spiderpool-ts')

function start(args: string[]) {
  // not tap's environment: its NODE_OPTIONS loaders would be measured too
  const child = spawn(process.execPath, [bin, 'pause', ...args], { env: { PATH: process.env.PATH ?? '/usr/bin' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })))
  return { child, exited, stderr: () => stderr }
}

const residentMiB = (pid: number) => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`idles until ${signal}, then exits 0`, { timeout: 30_000 }, async (t) => {
    const p = start([])
    t.teardown(() => p.child.kill('SIGKILL'))
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    t.equal(p.child.exitCode, null, 'still running')
    // the whole command line (server/main.ts) is about 125 MiB resident; pause alone a bare node process
    const rss = residentMiB(p.child.pid!)
    t.ok(rss < 96, `${rss.toFixed(0)} MiB resident: the CLI is not loaded (the chart's limit is 128Mi)`)
    p.child.kill(signal)
    t.same(await p.exited, { code: 0, signal: null }, p.stderr())
  })
}

t.test('an unknown flag is a usage error, exit 2', async (t) => {
  const p = start(['--forever'])
  t.same(await p.exited, { code: 2, signal: null })
  t.match(p.stderr(), /Unknown option '--forever'/)
})
