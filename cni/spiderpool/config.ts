// The `ipam` section of the network config as Spiderpool's IPAM plugin reads it (cni-coordinator
// §A.3), so NADs rendered the Spiderpool way work unchanged, plus our `kubeconfig`. The agent's
// socket and the log-file keys are accepted and unused: this plugin talks to the API and logs
// to stderr, which runtimes keep.
import { CniError, errorCode } from '../errors.ts'
import type { NetConf } from '../skel.ts'
import { isObject } from '../../ipam/json.ts'

/** Where the installer writes the CNI plugins' kubeconfig (the coordinator reads the same file). */
export const defaultKubeconfigPath = '/etc/cni/net.d/spiderpool.d/spiderpool.kubeconfig'

export interface IPAMConfig {
  defaultIPv4IPPool: string[]
  defaultIPv6IPPool: string[]
  cleanGateway: boolean
  matchMasterSubnet: boolean
  kubeconfig: string
}

const logLevels = ['debug', 'info', 'warn', 'error', 'fatal', 'panic']

export function readIPAMConfig(config: NetConf): IPAMConfig {
  const ipam = config.ipam
  if (!isObject(ipam)) throw new CniError(errorCode.invalidNetworkConfig, 'the network config has no ipam section')
  const problems: string[] = []
  const names = (key: string): string[] => {
    const v = ipam[key]
    if (v === undefined || v === null) return []
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) return problems.push(`ipam.${key} is not a list of IPPool names`), []
    return v as string[]
  }
  const flag = (key: string): boolean => {
    const v = ipam[key]
    if (v === undefined || v === null) return false
    if (typeof v !== 'boolean') return problems.push(`ipam.${key} is not true or false`), false
    return v
  }
  const defaultIPv4IPPool = names('default_ipv4_ippool')
  const defaultIPv6IPPool = names('default_ipv6_ippool')
  const cleanGateway = flag('clean_gateway')
  const matchMasterSubnet = flag('match_master_subnet')
  const level = ipam.log_level
  if (level !== undefined && (typeof level !== 'string' || !logLevels.includes(level.toLowerCase()))) {
    problems.push(`ipam.log_level ${JSON.stringify(level)} is not one of ${logLevels.join(', ')}`)
  }
  const kubeconfig = [ipam.kubeconfig, config.kubeconfig].find((v) => v !== undefined && v !== null && v !== '') ?? defaultKubeconfigPath
  if (typeof kubeconfig !== 'string') problems.push('ipam.kubeconfig is not a file path')
  const out: IPAMConfig = { defaultIPv4IPPool, defaultIPv6IPPool, cleanGateway, matchMasterSubnet, kubeconfig: kubeconfig as string }
  if (problems.length) throw new CniError(errorCode.invalidNetworkConfig, problems.length === 1 ? problems[0] : 'invalid ipam section', problems.join('; '))
  return out
}

export interface PodIdentity {
  namespace: string
  name: string
  /** K8S_POD_UID; runtimes send it, but it is optional in CNI_ARGS */
  uid?: string
}

/** The pod the runtime names in CNI_ARGS, or undefined when it names none. */
export function podIdentityOf(args: Record<string, string>): PodIdentity | undefined {
  const namespace = args.K8S_POD_NAMESPACE
  const name = args.K8S_POD_NAME
  if (!namespace || !name) return undefined
  return args.K8S_POD_UID ? { namespace, name, uid: args.K8S_POD_UID } : { namespace, name }
}
