// The `spiderpool` IPAM section of a NetworkAttachmentDefinition's CNI config (`spec.config`, a
// single plugin or a conflist with `plugins[]`): whether the NIC asks Spiderpool for addresses,
// and the fields the IPAM plugin reads (ipam-semantics §2.2).
import { isObject } from '../../ipam/json.ts'

export interface SpiderpoolIPAM {
  defaultIPv4IPPool: string[]
  defaultIPv6IPPool: string[]
  cleanGateway: boolean
  /** SR-IOV: the pool subnet must be on the VF's parent PF, which only the node can tell */
  matchMasterSubnet: boolean
}

export type NetconfRead = { ipam: SpiderpoolIPAM | undefined; error?: undefined } | { ipam?: undefined; error: string }

/**
 * The first plugin whose `ipam.type` is `spiderpool`; undefined when there is none, or when the
 * config is empty (Multus then reads it from a file on the node, which admission cannot see).
 */
export function spiderpoolIPAMOf(config: unknown): NetconfRead {
  if (config === undefined || config === null || config === '') return { ipam: undefined }
  if (typeof config !== 'string') return { error: 'spec.config is not a string' }
  let doc: unknown
  try {
    doc = JSON.parse(config)
  } catch (e) {
    return { error: `spec.config is not JSON: ${(e as Error).message}` }
  }
  if (!isObject(doc)) return { error: 'spec.config is not a JSON object' }
  if (doc.plugins !== undefined && !Array.isArray(doc.plugins)) return { error: 'spec.config plugins is not a list' }
  const plugins = Array.isArray(doc.plugins) ? doc.plugins : [doc]
  const at = Array.isArray(doc.plugins) ? (i: number) => `spec.config plugins[${i}].ipam` : () => 'spec.config ipam'
  for (const [i, plugin] of plugins.entries()) {
    const ipam = isObject(plugin) ? plugin.ipam : undefined
    if (!isObject(ipam) || ipam.type !== 'spiderpool') continue
    return readIPAM(ipam, at(i))
  }
  return { ipam: undefined }
}

function readIPAM(ipam: Record<string, unknown>, at: string): NetconfRead {
  const names = (key: string): string[] | string => {
    const v = ipam[key]
    if (v === undefined || v === null) return []
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return `${at}.${key} is not a list of IPPool names`
    return v as string[]
  }
  const flag = (key: string): boolean | string => {
    const v = ipam[key]
    if (v === undefined || v === null) return false
    return typeof v === 'boolean' ? v : `${at}.${key} is not true or false`
  }
  const v4 = names('default_ipv4_ippool')
  const v6 = names('default_ipv6_ippool')
  const clean = flag('clean_gateway')
  const match = flag('match_master_subnet')
  for (const v of [v4, v6, clean, match]) if (typeof v === 'string') return { error: v }
  return {
    ipam: { defaultIPv4IPPool: v4 as string[], defaultIPv6IPPool: v6 as string[], cleanGateway: clean as boolean, matchMasterSubnet: match as boolean },
  }
}
