// The coordinator plugin: ADD wires the pod's routes, rules, neighbours and veth after the main
// plugin made the interface; DEL removes what it made on the host; CHECK re-plans and expects
// nothing left to do. The I/O (API, namespaces) comes in as dependencies, so tests can pass
// inputs and facts directly.
import { CniError, errorCode } from '../errors.ts'
import { netnsExists } from '../netns.ts'
import type { CmdArgs, Plugin } from '../skel.ts'
import type { Result } from '../version.ts'
import { applyOps, prepareApply } from './apply.ts'
import { netconfMode, resolveConfig } from './config.ts'
import type { CoordinatorInputs, ResolvedConfig } from './config.ts'
import { detectGateways, detectIPConflicts } from './detect.ts'
import { readNetnsFacts } from './facts.ts'
import type { Family, HostFacts, NetnsFacts } from './facts.ts'
import { familiesOf, opText, pendingChanges, planAdd, planDel, podIPsToResolve } from './plan.ts'
import type { Op } from './plan.ts'
import { defaultKubeconfigPath, podRefOf, readCoordinatorInputs } from './inputs.ts'

export const checkFailedCode = 100

export interface Dependencies {
  readInputs(args: CmdArgs): Promise<CoordinatorInputs>
  /** the pod's namespace when `netns` is given, the host's otherwise; `routeGets` may come while it reads; rules of `ruleFamilies` only (default both) */
  readFacts(netns: string | undefined, routeGets?: string[] | Promise<string[]>, ruleFamilies?: Family[]): Promise<HostFacts>
  apply(ops: Op[], netns: string): Promise<void>
  /** starts what `apply` in `netns` will use, while ADD waits for the API */
  prepareApply?(netns: string): void
  randomMac(): string
}

const randomBytes = (n: number) => process.getBuiltinModule('node:crypto').randomBytes(n)

/** A random unicast, locally administered MAC. */
export function randomMac(): string {
  const b = randomBytes(6)
  b[0] = (b[0] & 0xfe) | 0x02
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':')
}

export const productionDependencies: Dependencies = {
  readInputs: (args) => {
    const kubeconfig = typeof args.config.kubeconfig === 'string' && args.config.kubeconfig ? args.config.kubeconfig : defaultKubeconfigPath
    return readCoordinatorInputs(kubeconfig, podRefOf(args.args))
  },
  readFacts: readNetnsFacts,
  apply: applyOps,
  prepareApply,
  randomMac,
}

const dadWaitMs = 10_000
const dadPollMs = 100

/** The pod's namespace once no global IPv6 address the coordinator routes from is still tentative (DAD running). */
async function settledPodFacts(deps: Dependencies, netns: string, names: string[], ruleFamilies?: Family[]): Promise<NetnsFacts> {
  const deadline = Date.now() + dadWaitMs
  for (;;) {
    const pod = await deps.readFacts(netns, [], ruleFamilies)
    const tentative = pod.links.filter((l) => names.includes(l.name)).flatMap((l) => l.addrs.filter((a) => a.family === 6 && !a.linkLocal && a.tentative && !a.dadFailed))
    if (!tentative.length) return pod
    if (Date.now() > deadline) throw new CniError(errorCode.tryAgainLater, `IPv6 duplicate address detection did not finish within ${dadWaitMs / 1000} s`, tentative.map((a) => a.ip).join(', '))
    await new Promise((r) => setTimeout(r, dadPollMs))
  }
}

function requirePrevResult(args: CmdArgs): Result {
  if (!args.prevResult) throw new CniError(errorCode.invalidNetworkConfig, 'prevResult is required: the coordinator runs chained after the plugin that makes the interface')
  return args.prevResult
}

async function resolved(deps: Dependencies, args: CmdArgs): Promise<ResolvedConfig | undefined> {
  if (netconfMode(args.config) === 'disabled') return undefined
  const config = resolveConfig(args.config, await deps.readInputs(args), { requireCoordinator: true })
  return config.mode === 'disabled' ? undefined : config
}

/** The IPs prevResult gives this interface (those without an interface index count as its). */
const ipsOf = (result: Result | undefined, ifName: string) =>
  (result?.ips ?? []).filter((ip) => ip.interface === undefined || result?.interfaces?.[ip.interface]?.name === ifName)

/** The families of the addresses prevResult gives this interface; undefined when it gives none (then every family is read). */
function ipFamiliesOf(result: Result, ifName: string): Family[] | undefined {
  const families = [...new Set(ipsOf(result, ifName).map((ip) => (ip.address.includes(':') ? 6 : 4) as Family))]
  return families.length ? families : undefined
}

/** The gateways of this interface, with the address to ask from. */
const gatewaysOf = (result: Result, ifName: string) =>
  ipsOf(result, ifName)
    .filter((ip) => ip.gateway)
    .map((ip) => ({ family: (ip.address.includes(':') ? 6 : 4) as Family, gateway: ip.gateway!, source: ip.address.split('/')[0] }))

const firstNicOf = (args: CmdArgs) => (typeof args.config.podDefaultCniNic === 'string' && args.config.podDefaultCniNic ? args.config.podDefaultCniNic : 'eth0')

export function createCoordinator(deps: Dependencies = productionDependencies): Plugin {
  return {
    async add(args) {
      const prev = requirePrevResult(args)
      if (netconfMode(args.config) === 'disabled') return prev
      if (!netnsExists(args.netns)) throw new CniError(errorCode.unknownContainer, `the network namespace ${args.netns} does not exist`)
      // The first NIC's name is only ever in the network config, so the pod and the host can be read
      // while the API answers; the host read asks its route lookups once the pod's addresses are known.
      // The plan looks only at rules of the interface's families: those prevResult gives it are read
      // now, and the pod and host again in the rare case that the interface has others (SLAAC).
      // The API read starts first: it is the longest of the three.
      const expected = ipFamiliesOf(prev, args.ifName)
      const configRead = resolved(deps, args)
      configRead.catch(() => {})
      const podRead = settledPodFacts(deps, args.netns, [args.ifName, firstNicOf(args)], expected)
      const hostRead = deps.readFacts(undefined, podRead.then((pod) => podIPsToResolve(pod, args.ifName)), expected)
      hostRead.catch(() => {})
      // once the API read is on its way, with nothing else for this thread to do until it answers
      const prepare = deps.prepareApply && setImmediate(deps.prepareApply, args.netns)
      const [config, podAsExpected] = await Promise.all([configRead, podRead]).catch((err) => {
        if (prepare) clearImmediate(prepare)
        throw err
      })
      if (!config) {
        if (prepare) clearImmediate(prepare)
        return prev
      }
      let pod = podAsExpected
      let families = familiesOf(pod, args.ifName)
      let host: HostFacts | Promise<HostFacts> = hostRead
      if (expected && [...families].some((f) => !expected.includes(f))) {
        pod = await settledPodFacts(deps, args.netns, [args.ifName, firstNicOf(args)])
        families = familiesOf(pod, args.ifName)
        host = deps.readFacts(undefined, podIPsToResolve(pod, args.ifName))
      }
      const cur = pod.links.find((l) => l.name === args.ifName)!
      if (config.detectIPConflict) {
        await detectIPConflicts(args.netns, args.ifName, cur.addrs.filter((a) => !a.linkLocal && families.has(a.family)))
      }
      if (config.detectGateway) await detectGateways(args.netns, args.ifName, gatewaysOf(prev, args.ifName))
      const plan = planAdd({ config, containerId: args.containerId, ifName: args.ifName, netns: args.netns, pod, host: await host, vethMacs: { pod: deps.randomMac(), host: deps.randomMac() } })
      for (const w of plan.warnings) args.log(`coordinator: ${w}`)
      await deps.apply(plan.ops, args.netns)
      if (!plan.newMac) return prev
      // The result says what the interface is now, unlike Spiderpool's, which keeps the old MAC.
      return { ...prev, interfaces: prev.interfaces?.map((i) => (i.name === args.ifName && i.sandbox ? { ...i, mac: plan.newMac } : i)) }
    },

    async check(args) {
      requirePrevResult(args)
      const config = await resolved(deps, args)
      if (!config) return
      if (!netnsExists(args.netns)) throw new CniError(errorCode.unknownContainer, `the network namespace ${args.netns} does not exist`)
      const pod = await deps.readFacts(args.netns)
      const host = await deps.readFacts(undefined, podIPsToResolve(pod, args.ifName))
      const plan = planAdd({ config, containerId: args.containerId, ifName: args.ifName, netns: args.netns, pod, host, vethMacs: { pod: '', host: '' } })
      const pending = pendingChanges(plan)
      if (pending.length) throw new CniError(checkFailedCode, `the network of ${args.ifName} is not as the coordinator set it up`, pending.map((o) => `${o.where}: ${opText(o)}`).join('; '))
    },

    async del(args) {
      if (netconfMode(args.config) === 'disabled') return
      let inputs: CoordinatorInputs = {}
      try {
        inputs = await deps.readInputs(args)
      } catch (err) {
        args.log(`coordinator: DEL goes on without the API: ${(err as Error).message}`)
      }
      let config: Pick<ResolvedConfig, 'mode' | 'firstNic' | 'hostRuleTable'>
      try {
        config = resolveConfig(args.config, inputs, { requireCoordinator: false })
      } catch (err) {
        args.log(`coordinator: DEL goes on with defaults: ${(err as CniError).message} ${(err as CniError).details ?? ''}`)
        const table = args.config.hostRuleTable
        config = { mode: 'auto', firstNic: firstNicOf(args), hostRuleTable: Number.isInteger(table) ? (table as number) : 500 }
      }
      if (config.mode === 'disabled') return
      let pod: NetnsFacts | undefined
      if (netnsExists(args.netns)) {
        try {
          pod = await deps.readFacts(args.netns)
        } catch (err) {
          args.log(`coordinator: cannot read the pod's namespace, going on without it: ${(err as Error).message}`)
        }
      }
      const host = await deps.readFacts(undefined)
      const prevAddrs = ipsOf(args.prevResult, args.ifName).map((ip) => ip.address.split('/')[0])
      const ops = planDel({ config, containerId: args.containerId, ifName: args.ifName, pod, host, prevAddrs })
      await deps.apply(ops, args.netns)
    },
  }
}

export const coordinatorPlugin = createCoordinator()
