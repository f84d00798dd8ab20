// The CNI ADDs of many pods, each running the plugin's own ADD (cni/spiderpool/index.ts `add`):
// read the pod, write its SpiderEndpoint (whose webhook claims the reservation and marks the
// outcome), claim directly only what the mark does not speak for. A pod whose ADD failed with
// "try again later" is run again by kubelet after a pause. Counts every GET, endpoint write,
// pool write and conflict the plugins make; stops at a time budget.
import { isConflict } from '../kube/errors.ts'
import type { Store } from '../kube/store.ts'
import { apiFailure } from '../cni/spiderpool/api.ts'
import { add } from '../cni/spiderpool/index.ts'
import { errorCode } from '../cni/errors.ts'
import type { CmdArgs } from '../cni/skel.ts'

export interface PodToClaim {
  namespace: string
  name: string
  uid: string
  pool: string
  nic: string
}

export interface ClaimOptions {
  /** ADDs in flight at once; 0: all */
  concurrency: number
  /** abandon what is not claimed after this long */
  budgetMs: number
  /** kubelet's pause before it runs a failed ADD again */
  retryPauseMs: number
}

export interface ClaimFigures {
  seconds: number
  /** ADDs that answered with the pod's reserved address */
  claimed: number
  /** given up when the budget ran out (a write then in flight may still have landed) */
  abandoned: number
  gets: number
  /** SpiderEndpoint creates and updates (each one admission of the endpoint webhook) */
  endpointWrites: number
  /** the plugins' own pool status writes (direct claims, fresh allocations) */
  pluginPoolWrites: number
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

/** Pod i's ADD goes through stores[i % stores.length]; `reserved(i)` is the address its reservation names. */
export async function claimAll(stores: readonly Store[], pods: readonly PodToClaim[], reserved: (i: number) => string, o: ClaimOptions): Promise<ClaimFigures> {
  const figures: ClaimFigures = { seconds: 0, claimed: 0, abandoned: 0, gets: 0, endpointWrites: 0, pluginPoolWrites: 0, conflicts: 0, cniRetries: 0, errors: [] }
  const budget = new AbortController()
  const timer = setTimeout(() => budget.abort(new Error('claim budget spent')), o.budgetMs)
  const signal = budget.signal
  const counted = async <T>(count: () => void, write: () => Promise<T>): Promise<T> => {
    count()
    try {
      return await write()
    } catch (err) {
      if (isConflict(err)) figures.conflicts++
      throw err
    }
  }
  const counting = (api: Store): Store => ({
    ...api,
    get: (r, name, options) => {
      figures.gets++
      return api.get(r, name, { ...options, signal })
    },
    create: (r, obj, options) => counted(() => figures.endpointWrites++, () => api.create(r, obj, { ...options, signal })),
    update: (r, obj, options) => counted(() => figures.endpointWrites++, () => api.update(r, obj, { ...options, signal })),
    updateStatus: (r, obj, options) => counted(() => figures.pluginPoolWrites++, () => api.updateStatus(r, obj, { ...options, signal })),
  })
  const countedStores = stores.map(counting)

  const claimOne = async (i: number, store: Store) => {
    const p = pods[i]
    const args: CmdArgs = {
      command: 'ADD',
      containerId: `bench-${p.uid}`,
      netns: '',
      ifName: p.nic,
      args: { K8S_POD_NAMESPACE: p.namespace, K8S_POD_NAME: p.name, K8S_POD_UID: p.uid },
      path: [],
      config: { cniVersion: '0.3.1', name: 'macvlan', type: 'macvlan', ipam: { type: 'spiderpool', default_ipv4_ippool: [p.pool] } },
      cniVersion: '0.3.1',
      log: () => {},
    }
    while (!signal.aborted) {
      try {
        const result = await add(store, args, { namespace: p.namespace, name: p.name, uid: p.uid }, new Date())
        const given = result.ips?.[0]?.address.split('/')[0]
        if (given !== reserved(i)) figures.errors.push(`${p.name}: got ${given}, reserved ${reserved(i)}`)
        else figures.claimed++
        return
      } catch (err) {
        if (signal.aborted) break
        // what the plugin reports as code 11 (still conflicting, API unreachable) kubelet runs again
        const e = apiFailure(err, `ADD of ${p.name}`)
        if (e.code !== errorCode.tryAgainLater) {
          figures.errors.push(`${p.name}: ${e.message}`)
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
      await claimOne(i, countedStores[i % countedStores.length])
    }
  }
  await Promise.all(Array.from({ length: o.concurrency > 0 ? Math.min(o.concurrency, pods.length) : pods.length }, worker))
  clearTimeout(timer)
  figures.seconds = (performance.now() - started) / 1000
  return figures
}
