// The whole demo: the walkthroughs one after the other, each on machines of its own, and
// everything removed afterwards — after a failure too; what an interrupted run left is removed first.
// Stopping it (Ctrl-C) aborts the run, which then makes nothing more, and waits for its end before
// the last sweep: nothing can be made after the sweep listed what exists.
import { mkdirSync } from 'node:fs'
import { removeLeftovers } from './cleanup.ts'
import { cniPathFor, runWalkthrough, type RunContext, type WalkthroughReport } from './run.ts'
import type { ControlPlane } from './control-plane.ts'
import type { Topology } from './topology.ts'
import { walkthroughs } from './walkthroughs.ts'

export interface DemoOptions {
  prefix: string
  stateDir: string
  examplesDir: string
  /** walkthrough ids; all when empty */
  only: string[]
  /** the built single executables (npm run build:cni) instead of the sources */
  built: boolean
  out: (text: string) => void
}

export interface DemoRun {
  reports: WalkthroughReport[]
  failures: Array<{ id: string; error: string }>
  /** Whether cleanup() has stopped the run: from then on it makes nothing (no namespace, control plane, CNI ADD) and ends. */
  readonly aborted: boolean
  /**
   * Aborts the run, waits for its end (its own teardown included), then removes whatever is left under
   * the prefix and state directory: for a signal handler or a test's teardown.
   */
  cleanup(): Promise<void>
  /** the run's end, after its teardown */
  done: Promise<void>
}

export function startDemo(o: DemoOptions): DemoRun {
  const made: { topology?: Topology; controlPlane?: ControlPlane } = {}
  const controller = new AbortController()
  const { signal } = controller
  const cleanupCurrent = async () => {
    await made.controlPlane?.stop().catch(() => {})
    await made.topology?.teardown().catch(() => {})
    made.controlPlane = undefined
    made.topology = undefined
  }
  let cleaning: Promise<void> | undefined
  const run: DemoRun = {
    reports: [],
    failures: [],
    get aborted() {
      return signal.aborted
    },
    cleanup: () =>
      (cleaning ??= (async () => {
        controller.abort(new Error('cleaning up'))
        await run.done.catch(() => {})
        // the run has ended and made nothing since its teardown listed what exists: this finds it all
        await removeLeftovers(o.prefix, o.stateDir)
      })()),
    done: Promise.resolve(),
  }
  run.done = (async () => {
    const left = await removeLeftovers(o.prefix, o.stateDir)
    if (left.length) o.out(`# removed what an earlier run left: ${left.join(', ')}`)
    mkdirSync(o.stateDir, { recursive: true })
    const ctx: RunContext = { prefix: o.prefix, stateDir: o.stateDir, examplesDir: o.examplesDir, cniPath: cniPathFor(o.stateDir, o.built), out: o.out, signal }
    try {
      for (const w of walkthroughs.filter((w) => o.only.length === 0 || o.only.includes(w.id))) {
        if (signal.aborted) break
        try {
          run.reports.push(await runWalkthrough(w, ctx, made))
        } catch (err) {
          if (signal.aborted) break
          run.failures.push({ id: w.id, error: (err as Error).message })
          o.out(`\n!! ${w.id} failed: ${(err as Error).message}`)
        } finally {
          await cleanupCurrent()
        }
      }
    } finally {
      await removeLeftovers(o.prefix, o.stateDir)
    }
  })()
  return run
}
