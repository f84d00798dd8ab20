// Leaving the machine as it was: what a run made is recorded (the control plane's pid in the
// state directory, namespaces under one prefix), so that the run itself, a Ctrl-C, or the next
// run after a crash can remove it all.
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { ip } from './shell.ts'

export const pidFileName = 'control-plane.pid'

/** whether a process of this pid still exists */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Stops a process by its id: SIGTERM, then SIGKILL when it has not gone within `graceMs`. */
export async function stopProcess(pid: number, graceMs = 5_000): Promise<void> {
  if (!alive(pid)) return
  process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  if (alive(pid)) process.kill(pid, 'SIGKILL')
}

/** The namespaces whose names start with `<prefix>-`, pods (the longer names) first. */
export async function namespacesOf(prefix: string): Promise<string[]> {
  const out = await ip('netns', 'list')
  return out
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => name.startsWith(`${prefix}-`))
    .sort((a, b) => b.length - a.length)
}

/**
 * Removes what a run with this prefix and state directory left: its control plane (only when the
 * recorded pid is still a spiderpool-ts process), its namespaces, and the directory. Says what it removed.
 */
export async function removeLeftovers(prefix: string, stateDir: string): Promise<string[]> {
  const removed: string[] = []
  let pid: number | undefined
  try {
    pid = Number(readFileSync(path.join(stateDir, pidFileName), 'utf8').trim())
  } catch {}
  if (pid && alive(pid)) {
    let cmdline = ''
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    } catch {}
    if (cmdline.includes('spiderpool-ts') && cmdline.includes(stateDir)) {
      await stopProcess(pid)
      removed.push(`control plane (pid ${pid})`)
    }
  }
  for (const name of await namespacesOf(prefix)) {
    await ip('netns', 'del', name).catch(() => {})
    removed.push(`netns ${name}`)
  }
  rmSync(stateDir, { recursive: true, force: true })
  return removed
}

/**
 * On SIGINT or SIGTERM: stops the run (`cleanup` aborts it, waits for its end and its teardown, then
 * sweeps what is left), then exits with 128 + the signal's number. A second signal while that goes on
 * is only acknowledged: leaving then would leave things behind. Returns the function that removes the handlers.
 */
export function cleanupOnSignals(cleanup: () => Promise<void>, log: (line: string) => void): () => void {
  let first: NodeJS.Signals | undefined
  const handler = (signal: NodeJS.Signals) => {
    if (first) {
      log(`${signal}: still cleaning up after ${first}`)
      return
    }
    first = signal
    log(`\n${signal}: cleaning up`)
    cleanup()
      .catch((err: unknown) => log(`cleaning up failed: ${(err as Error).message}`))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return () => {
    process.off('SIGINT', handler)
    process.off('SIGTERM', handler)
  }
}
