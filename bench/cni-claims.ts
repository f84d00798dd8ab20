// The CNI claims of many pods as their ADDs would make them: for each pod, the plugin's pool write
// (one GET, one conditional status write, again on a conflict up to its own limit) turning its
// reservation into a claim; a pod whose ADD failed with "try again later" is run again by kubelet
// after a pause. Counts every GET, write and conflict; stops at a time budget.
import { isConflict } from '../kube/errors.ts'
import type { Store } from '../kube/store.ts'
import { isUnavailable, writePool } from '../cni/spiderpool/api.ts'
import { claimRecords, type Claimant } from '../cni/spiderpool/claim.ts'
import { CniError, errorCode } from '../cni/errors.ts'

export interface PodToClaim {
  namespace: string
  name: string
  uid: string
  pool: string
  address: string
  token: string
  nic: string
}

export interface ClaimOptions {
  /** ADDs in flight at once; 0: all */
  concurrency: number
  /** abandon what is not claimed after this long */
  budgetMs: number
  /** kubelet's pause before it runs a failed ADD again */
  retryPauseMs: number
  node: string
}

export interface ClaimFigures {
  seconds: number
  claimed: number
  /** given up when the budget ran out (a write then in flight may still have landed) */
  abandoned: number
  gets: number
  writes: number
  conflicts: number
  /** ADDs that failed with code 11 and were run again */
  cniRetries: number
  errors: string[]
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })

/** Pod i's ADD goes through stores[i % stores.length]. */
export async function claimAll(stores: readonly Store[], pods: readonly PodToClaim[], o: ClaimOptions): Promise<ClaimFigures> {
  const figures: ClaimFigures = { seconds: 0, claimed: 0, abandoned: 0, gets: 0, writes: 0, conflicts: 0, cniRetries: 0, errors: [] }
  const budget = new AbortController()
  const timer = setTimeout(() => budget.abort(new Error('claim budget spent')), o.budgetMs)
  const signal = budget.signal
  const counting = (api: Store): Store => ({
    ...api,
    get: (r, name, options) => {
      figures.gets++
      return api.get(r, name, { ...options, signal })
    },
    updateStatus: async (r, obj, options) => {
      figures.writes++
      try {
        return await api.updateStatus(r, obj, { ...options, signal })
      } catch (err) {
        if (isConflict(err)) figures.conflicts++
        throw err
      }
    },
  })
  const counted = stores.map(counting)

  const claimOne = async (p: PodToClaim, store: Store) => {
    const who: Claimant = { namespace: p.namespace, name: p.name, uid: p.uid, node: o.node, statefulSet: false }
    const wanted = [{ address: p.address, token: p.token, nic: p.nic }]
    while (!signal.aborted) {
      try {
        const outcomes = await writePool(store, p.pool, (records) =>
          records ? claimRecords(records, wanted, who, new Date()) : { records: [], changed: false, value: [{ address: p.address, lost: `IPPool ${p.pool} does not exist` }] },
        )
        const lost = outcomes.find((x) => x.lost !== undefined)
        if (lost) figures.errors.push(`${p.name}: ${lost.lost}`)
        else figures.claimed++
        return
      } catch (err) {
        if (signal.aborted) break
        // what the plugin reports as code 11 (still conflicting, API unreachable)
        const again = (err instanceof CniError && err.code === errorCode.tryAgainLater) || isUnavailable(err)
        if (!again) {
          figures.errors.push(`${p.name}: ${(err as Error).message}`)
          return
        }
        figures.cniRetries++
        await sleep(o.retryPauseMs, signal)
      }
    }
    figures.abandoned++
  }

  const started = performance.now()
  let next = 0
  const worker = async () => {
    while (next < pods.length) {
      const i = next++
      await claimOne(pods[i], counted[i % counted.length])
    }
  }
  await Promise.all(Array.from({ length: o.concurrency > 0 ? Math.min(o.concurrency, pods.length) : pods.length }, worker))
  clearTimeout(timer)
  figures.seconds = (performance.now() - started) / 1000
  return figures
}
