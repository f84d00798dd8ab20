// The plugin's access to the Kubernetes API: the lean client on the CNI kubeconfig, reads that
// answer undefined for "not found", and the one pool write the plugin makes — read the pool,
// change its records, write them back on the resourceVersion read, again on a conflict.
import { ApiError, isConflict } from '../../kube/errors.ts'
import { loadKubeconfig } from '../../kube/kubeconfig.ts'
import { resources } from '../../kube/resources.ts'
import { createStore } from '../../kube/store.ts'
import { getOrUndefined } from '../../kube/get-or-undefined.ts'
import type { Store } from '../../kube/store.ts'
import { createTlsTransport } from '../../kube/tls-transport.ts'
import { parseRecords, serialiseRecords } from '../../ipam/records.ts'
import type { PoolRecord } from '../../ipam/records.ts'
import type { SpiderIPPool } from '../../schemas/types.ts'
import { CniError, errorCode } from '../errors.ts'
import type { NetConf } from '../skel.ts'
import { readIPAMConfig } from './config.ts'
import type { PoolChange } from '../../ipam/claim.ts'

const requestTimeoutMs = 10_000

/** Connections opened ahead of the command, by kubeconfig path; the command's connect() takes its one. */
const opened = new Map<string, Promise<Store>>()

export function connect(kubeconfig: string, userAgent = 'spiderpool-ts-ipam'): Promise<Store> {
  const early = opened.get(kubeconfig)
  opened.delete(kubeconfig)
  return early ?? dial(kubeconfig, userAgent)
}

async function dial(kubeconfig: string, userAgent: string): Promise<Store> {
  try {
    // one connection, no node:https: its few requests cost one TLS handshake and no HTTP stack to load
    const transport = createTlsTransport(await loadKubeconfig(kubeconfig), { timeoutMs: requestTimeoutMs, userAgent, soleServer: true })
    transport.open()
    return createStore(transport)
  } catch (err) {
    throw new CniError(errorCode.invalidNetworkConfig, `cannot use the kubeconfig ${kubeconfig}: ${(err as Error).message}`)
  }
}

/**
 * Starts the connection to the API of the kubeconfig the network config names, before the rest of
 * the plugin is loaded: the handshake runs meanwhile. A config it cannot read starts nothing;
 * the command reports it.
 */
export function openEarly(config: NetConf): void {
  let kubeconfig: string
  try {
    kubeconfig = readIPAMConfig(config).kubeconfig
  } catch {
    return
  }
  const store = dial(kubeconfig, 'spiderpool-ts-ipam')
  // a failure is the command's to report, when it takes this connection
  store.catch(() => {})
  opened.set(kubeconfig, store)
}

/** The API did not answer, or answered "not now": worth trying again later (CNI code 11). */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof ApiError) return err.code >= 500 || err.code === 429
  const e = err as { code?: unknown; name?: unknown } | undefined
  return e?.name === 'TimeoutError' || (typeof e?.code === 'string' && networkErrors.has(e.code))
}

const networkErrors = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE', 'ECONNABORTED'])

/** An API failure as a CNI error: code 11 when the API is unreachable, the message saying what was being done. */
export function apiFailure(err: unknown, doing: string): CniError {
  if (err instanceof CniError) return err
  const why = (err as Error)?.message ?? String(err)
  if (isUnavailable(err)) return new CniError(errorCode.tryAgainLater, `${doing}: the Kubernetes API is unavailable`, why)
  return new CniError(errorCode.internal, `${doing}: ${why}`)
}

const maxAttempts = 10
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * One conditional status write of a pool's records: `change` sees the records as read and says
 * what they become; on a conflict the pool is read again and `change` asked again. A pool that
 * does not exist is `change(undefined)`. Resolves with `change`'s value for the records written.
 */
export async function writePool<T>(store: Store, name: string, change: (records: PoolRecord[] | undefined, pool: SpiderIPPool | undefined) => PoolChange<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const pool = await getOrUndefined(store, resources.ippools, name)
    if (!pool) return change(undefined, undefined).value
    const status = (pool.status ?? {}) as NonNullable<SpiderIPPool['status']>
    const parsed = parseRecords(status.allocatedIPs)
    if (parsed.error !== undefined) throw new CniError(errorCode.internal, `IPPool ${name}: ${parsed.error}`)
    const out = change(parsed.records, pool)
    if (!out.changed) return out.value
    const allocatedIPs = serialiseRecords(out.records)
    const next: SpiderIPPool = { ...pool, status: { ...status, allocatedIPs, allocatedIPCount: out.records.length } }
    if (allocatedIPs === undefined) delete next.status!.allocatedIPs
    try {
      await store.updateStatus(resources.ippools, next)
      return out.value
    } catch (err) {
      if (!isConflict(err)) throw err
      if (attempt + 1 >= maxAttempts) throw new CniError(errorCode.tryAgainLater, `IPPool ${name}: still conflicting after ${maxAttempts} attempts`)
      // someone else wrote the pool first (the webhook reserving, another node claiming): a short jittered pause
      await sleep(Math.random() * Math.min(5 * 2 ** attempt, 100))
    }
  }
}
