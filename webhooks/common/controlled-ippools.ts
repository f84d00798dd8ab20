// A SpiderSubnet's `status.controlledIPPools`: a JSON string
// `{"<pool>": {"ips": ["<range>", …], "application": "…"}}` — the IPs handed to each pool.
import { isObject } from '../../ipam/json.ts'

export interface ControlledIPPool {
  pool: string
  ips: string[]
}

export type ControlledIPPoolsParse = { pools: ControlledIPPool[]; error?: undefined } | { pools?: undefined; error: string }

/** Pools in name order; an absent or empty record is no pool. */
export function parseControlledIPPools(text: string | undefined | null): ControlledIPPoolsParse {
  if (text === undefined || text === null || text.trim() === '') return { pools: [] }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    return { error: (e as Error).message }
  }
  if (doc === null) return { pools: [] }
  if (!isObject(doc)) return { error: 'status.controlledIPPools is not a JSON object' }
  const pools: ControlledIPPool[] = []
  for (const pool of Object.keys(doc).sort()) {
    const entry = doc[pool]
    if (entry !== null && !isObject(entry)) return { error: `the entry of IPPool ${pool} is not a JSON object` }
    const ips = entry?.ips ?? []
    if (!Array.isArray(ips) || ips.some((x) => typeof x !== 'string')) return { error: `the ips of IPPool ${pool} are not a list of strings` }
    pools.push({ pool, ips })
  }
  return { pools }
}
