// The fuzzer's side of the wire: the server in a child process, and requests to it over HTTPS
// with a deadline each.
import { fork, type ChildProcess } from 'node:child_process'
import { Agent, request } from 'node:https'
import path from 'node:path'
import type { MemorySample, ServerReady } from './server.ts'
import type { Answer } from './check.ts'

export interface ServerUnderTest {
  ready: ServerReady
  child: ChildProcess
  /** set when the process ended before it was asked to */
  exited: { code: number | null; signal: string | null } | undefined
  /** lines the server logged at error level or above */
  errorLines: string[]
  /** bytes the server logged, and its longest line */
  logged: { bytes: number; longestLine: number }
  stderrTail(): string
  memory(): Promise<MemorySample>
  close(): Promise<void>
}

export async function startServer(o: { controlPlane?: boolean; logLevel?: string } = {}): Promise<ServerUnderTest> {
  const args = [...(o.controlPlane ? ['--control-plane'] : []), `--log-level=${o.logLevel ?? 'info'}`]
  const child = fork(path.join(import.meta.dirname, 'server.ts'), args, { execArgv: ['--expose-gc'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  const errorLines: string[] = []
  let closing = false
  let stderr = ''
  let pending = ''
  const logged = { bytes: 0, longestLine: 0 }
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    logged.bytes += chunk.length
    const lines = (pending + chunk).split('\n')
    pending = lines.pop()!
    for (const line of lines) logged.longestLine = Math.max(logged.longestLine, line.length)
    for (const line of lines) if (/"level":(5|6)\d/.test(line) && errorLines.length < 100) errorLines.push(line.slice(0, 2000))
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8000)))
  const server: ServerUnderTest = {
    ready: undefined as unknown as ServerReady,
    child,
    exited: undefined,
    errorLines,
    logged,
    stderrTail: () => stderr,
    memory: () =>
      new Promise((resolve, reject) => {
        const onMessage = (m: MemorySample) => {
          if (m.type !== 'memory') return
          child.off('message', onMessage)
          resolve(m)
        }
        child.on('message', onMessage)
        child.send({ type: 'memory' }, (err) => err && reject(err))
      }),
    close: async () => {
      closing = true
      if (server.exited || child.exitCode !== null) return
      const gone = new Promise((r) => child.once('exit', r))
      child.send({ type: 'close' })
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await gone
      clearTimeout(timer)
    },
  }
  child.once('exit', (code, signal) => {
    if (!closing) server.exited = { code, signal }
  })
  server.ready = await new Promise<ServerReady>((resolve, reject) => {
    child.once('message', (m: ServerReady) => resolve(m))
    child.once('exit', (code) => reject(new Error(`the server did not start (exit ${code}): ${stderr}`)))
  })
  return server
}

export interface Sender {
  send(o: { method: string; path: string; contentType: string | undefined; body: Buffer }): Promise<Answer>
  close(): void
}

export function sender(url: string, caPem: string, o: { concurrency: number; timeoutMs: number }): Sender {
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency, ca: caPem })
  return {
    close: () => agent.destroy(),
    send: ({ method, path, contentType, body }) =>
      new Promise((resolve, reject) => {
        const headers: Record<string, string | number> = { 'content-length': body.length }
        if (contentType !== undefined) headers['content-type'] = contentType
        const req = request(new URL(path, url), { method, agent, headers }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            clearTimeout(timer)
            resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') })
          })
          res.on('error', reject)
        })
        const timer = setTimeout(() => req.destroy(new Error(`no answer in ${o.timeoutMs} ms`)), o.timeoutMs)
        req.on('error', (err) => {
          clearTimeout(timer)
          reject(err)
        })
        req.end(body)
      }),
  }
}
