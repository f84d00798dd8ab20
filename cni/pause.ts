// `spiderpool-ts pause`: the CNI DaemonSet's container once install-cni (its init container) has
// put the plugins in place. It only keeps the pod running, so the DaemonSet counts the node as
// done and a new node gets its install, as the pause image did; from our own image, so the chart
// names no image but ours and global.imageRegistryOverride holds for all of them (registry.k8s.io's
// pause is not on the mirrors of ghcr.io). bin/spiderpool-ts loads this file alone: it idles on
// every node, at the memory of a bare node process rather than of the whole command line.
import { parseArgs } from 'node:util'

const usage = `Usage: spiderpool-ts pause

Does nothing until SIGTERM or SIGINT, then exits 0.
`

/** Flags of `pause`: none but --help; false when --help was asked. */
export function parsePauseFlags(args: string[]): boolean {
  const { values } = parseArgs({ args, strict: true, allowPositionals: false, options: { help: { type: 'boolean', short: 'h' } } })
  return !values.help
}

/** Resolves on SIGTERM or SIGINT. As PID 1 a signal's default action is ignored, so both are handled. */
export function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    // signal handlers do not keep node's event loop alive; a timer does
    const alive = setInterval(() => {}, 2 ** 31 - 1)
    const stop = (signal: NodeJS.Signals) => {
      clearInterval(alive)
      process.off('SIGTERM', stop)
      process.off('SIGINT', stop)
      resolve(signal)
    }
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
  })
}

/** The command; the result is the process exit code. */
export async function runPause(args: string[]): Promise<number> {
  try {
    if (!parsePauseFlags(args)) {
      process.stdout.write(usage)
      return 0
    }
  } catch (err) {
    process.stderr.write(`spiderpool-ts: ${(err as Error).message}\nRun 'spiderpool-ts pause --help' for usage.\n`)
    return 2
  }
  await untilStopped()
  return 0
}
