// The whole demo: the walkthroughs one after the other, each on machines of its own, and
// everything removed afterwards — after a failure too; what an interrupted run left is removed first.
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
  /** Removes what is still running (for a signal handler); the run's own finally does the same. */
  cleanup(): Promise<void>
  done: Promise<void>
}

export function startDemo(o: DemoOptions): DemoRun {
  const made: { topology?: Topology; controlPlane?: ControlPlane } = {}
  let cleaning: Promise<void> | undefined
  const cleanupCurrent = async () => {
    await made.controlPlane?.stop().catch(() => {})
    await made.topology?.teardown().catch(() => {})
    made.controlPlane = undefined
    made.topology = undefined
  }
  const run: DemoRun = {
    reports: [],
    failures: [],
    cleanup: () =>
      (cleaning ??= (async () => {
        await cleanupCurrent()
        await removeLeftovers(o.prefix, o.stateDir)
      })()),
    done: Promise.resolve(),
  }
  run.done = (async () => {
    const left = await removeLeftovers(o.prefix, o.stateDir)
    if (left.length) o.out(`# removed what an earlier run left: ${left.join(', ')}`)
    mkdirSync(o.stateDir, { recursive: true })
    const ctx: RunContext = { prefix: o.prefix, stateDir: o.stateDir, examplesDir: o.examplesDir, cniPath: cniPathFor(o.stateDir, o.built), out: o.out }
    try {
      for (const w of walkthroughs.filter((w) => o.only.length === 0 || o.only.includes(w.id))) {
        if (cleaning) break
        try {
          run.reports.push(await runWalkthrough(w, ctx, made))
        } catch (err) {
          if (cleaning) break
          run.failures.push({ id: w.id, error: (err as Error).message })
          o.out(`\n!! ${w.id} failed: ${(err as Error).message}`)
        } finally {
          await cleanupCurrent()
        }
      }
    } finally {
      await run.cleanup()
    }
  })()
  return run
}
