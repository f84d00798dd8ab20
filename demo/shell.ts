// Running programs as root in network namespaces: iproute2, `ip netns exec`, ping; and what a
// machine needs for that.
import { execFile } from 'node:child_process'
import { statSync } from 'node:fs'
import path from 'node:path'

/** Runs a program to completion within a deadline; a non-zero exit is an error carrying stderr. */
export function sh(file: string, args: string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: options.timeoutMs ?? 20_000, killSignal: 'SIGKILL', env: options.env, maxBuffer: 16 << 20, signal: options.signal }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(new Error(`${file} ${args.join(' ')}: ${stderr || err.message}`), { stdout, stderr }))
      else resolve(stdout)
    })
    child.stdin?.on('error', () => {})
    child.stdin?.end(options.input ?? '')
  })
}

export const ip = (...args: string[]) => sh('ip', args)
export const inNetns = (netns: string, file: string, ...args: string[]) => sh('ip', ['netns', 'exec', netns, file, ...args])

/** Whether no IPv6 address in `netns` is tentative (duplicate address detection done) within `timeoutMs`. */
export async function dadDone(netns: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while ((await ip('-n', netns, '-6', 'addr', 'show', 'tentative')).trim()) {
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 100))
  }
  return true
}

/** Waits (at most 10 s) until no IPv6 address in `netns` is tentative, so that its state stops changing. */
export async function settled(netns: string): Promise<void> {
  if (!(await dadDone(netns, 10_000))) throw new Error(`IPv6 addresses in ${netns} are still tentative after 10 s`)
}

/** Whether `from` gets an answer to one ping of `to` within a second (at most 3 tries). */
export async function pings(from: string, to: string): Promise<boolean> {
  for (let i = 0; i < 3; i++) {
    try {
      await inNetns(from, 'ping', '-n', '-c', '1', '-W', '1', to)
      return true
    } catch {}
  }
  return false
}

/** Why the namespace tests cannot run here (not root, a program missing), or undefined. */
export function missingRequirements(programs: string[]): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespace tests need root'
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])
  const missing = programs.filter((p) => !dirs.some((d) => statSync(path.join(d, p), { throwIfNoEntry: false })?.isFile()))
  return missing.length ? `missing programs: ${missing.join(', ')}` : undefined
}
