// The one CNI dispatcher (after containernetworking/cni pkg/skel): it reads the environment and
// stdin once, validates them, handles versions, parses prevResult, calls the plugin, and prints the
// result or the error. A plugin supplies `{ add, del, check, status?, gc? }` and never sees
// environment variables, stdin or exit codes.
import { CniError, errorCode, errorJson } from './errors.ts'
import { latestVersion, parseResult, resultForVersion, supportedVersions, versionAtLeast } from './version.ts'
import type { Result } from './version.ts'

export type Command = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC'

/** The network configuration a plugin gets on stdin: the CNI keys plus its own. */
export interface NetConf {
  cniVersion?: string
  name: string
  type?: string
  prevResult?: unknown
  [key: string]: unknown
}

export interface CmdArgs {
  command: 'ADD' | 'DEL' | 'CHECK'
  containerId: string
  /** Path of the container's network namespace; may be empty on DEL. */
  netns: string
  ifName: string
  /** CNI_ARGS as key/value pairs (`K8S_POD_NAME`, `K8S_POD_NAMESPACE`, ...). */
  args: Record<string, string>
  path: string[]
  config: NetConf
  /** The config's version, the one the result is printed in. */
  cniVersion: string
  /** The previous plugin's result in the 1.1.0 shape. */
  prevResult?: Result
  /** Writes a line to stderr, which runtimes keep as the plugin's log. */
  log: (line: string) => void
}

export interface Attachment {
  containerID: string
  ifname: string
}

export interface GcArgs {
  path: string[]
  config: NetConf
  cniVersion: string
  /** `cni.dev/valid-attachments`: everything else this network made may be removed. */
  validAttachments: Attachment[]
  log: (line: string) => void
}

export interface StatusArgs {
  path: string[]
  config: NetConf
  cniVersion: string
  log: (line: string) => void
}

export interface Plugin {
  add(args: CmdArgs): Promise<Result>
  del(args: CmdArgs): Promise<void>
  check(args: CmdArgs): Promise<void>
  status?(args: StatusArgs): Promise<void>
  gc?(args: GcArgs): Promise<void>
}

export interface PluginInfo {
  /** Printed on stderr when the plugin is run without CNI_COMMAND. */
  about: string
  supportedVersions?: readonly string[]
}

export interface Invocation {
  env: Record<string, string | undefined>
  readStdin: () => Promise<string>
  /** Identity of the network namespace the plugin runs in, to refuse CNI_NETNS pointing at it. */
  ownNetns?: () => string | undefined
  netnsIdentity?: (path: string) => string | undefined
}

export interface Outcome {
  stdout: string
  stderr: string
  exitCode: number
}

const containerIdPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/

function containerIdProblem(id: string): string | undefined {
  return containerIdPattern.test(id) ? undefined : `invalid characters in containerID "${id}"`
}

/** Linux's dev_valid_name(): what the kernel would refuse as an interface name. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'interface name is empty'
  if (name.length > 15) return `interface name "${name}" is too long (at most 15 characters)`
  if (name === '.' || name === '..') return 'interface name is . or ..'
  if (/[/:\s]/.test(name)) return `interface name "${name}" contains / or : or whitespace characters`
  return undefined
}

const allCommands: readonly Command[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC']

interface Variable {
  name: string
  requiredFor: readonly Command[]
  problem?: (value: string) => string | undefined
}

const environment: readonly Variable[] = [
  { name: 'CNI_COMMAND', requiredFor: allCommands },
  { name: 'CNI_CONTAINERID', requiredFor: ['ADD', 'DEL', 'CHECK'], problem: containerIdProblem },
  { name: 'CNI_NETNS', requiredFor: ['ADD', 'CHECK'] },
  { name: 'CNI_IFNAME', requiredFor: ['ADD', 'DEL', 'CHECK'], problem: interfaceNameProblem },
  { name: 'CNI_ARGS', requiredFor: [] },
  { name: 'CNI_PATH', requiredFor: ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS'] },
]

function readEnvironment(env: Invocation['env'], command: Command): Record<string, string> {
  const values: Record<string, string> = {}
  const missing: string[] = []
  const invalid: string[] = []
  for (const v of environment) {
    const value = env[v.name] ?? ''
    values[v.name] = value
    const required = v.requiredFor.includes(command)
    if (value === '' && required) missing.push(v.name)
    else if (value !== '' && required && v.problem) {
      const problem = v.problem(value)
      if (problem) invalid.push(`${v.name}: ${problem}`)
    }
  }
  if (missing.length) throw new CniError(errorCode.invalidEnvironment, `required env variables [${missing.join(',')}] missing`)
  if (invalid.length) throw new CniError(errorCode.invalidEnvironment, invalid.length === 1 ? invalid[0] : 'invalid env variables', invalid.join('; '))
  return values
}

/** `K=V;K2=V2` into a map; a pair without `=` is refused. */
export function parseCniArgs(text: string): Record<string, string> {
  const args: Record<string, string> = {}
  for (const pair of text.split(';')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new CniError(errorCode.invalidEnvironment, `CNI_ARGS: "${pair}" is not KEY=VALUE`)
    args[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return args
}

function parseConfig(stdin: string): NetConf {
  let config: unknown
  try {
    config = JSON.parse(stdin)
  } catch (err) {
    throw new CniError(errorCode.decodingFailure, `error unmarshalling network config: ${(err as Error).message}`)
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new CniError(errorCode.decodingFailure, 'error unmarshalling network config: not a JSON object')
  const c = config as Record<string, unknown>
  if (c.cniVersion !== undefined && typeof c.cniVersion !== 'string') throw new CniError(errorCode.decodingFailure, 'cniVersion is not a string')
  if (c.name === undefined || c.name === '') throw new CniError(errorCode.invalidNetworkConfig, 'missing network name')
  if (typeof c.name !== 'string' || !containerIdPattern.test(c.name)) throw new CniError(errorCode.invalidNetworkConfig, 'invalid characters found in network name', String(c.name))
  return c as NetConf
}

function checkVersion(command: Command, version: string, supported: readonly string[]) {
  const gate = command === 'CHECK' ? '0.4.0' : command === 'GC' || command === 'STATUS' ? '1.1.0' : undefined
  if (gate && !versionAtLeast(version, gate)) throw new CniError(errorCode.incompatibleVersion, `config version does not allow ${command}`, `config is "${version}", ${command} needs ${gate} or later`)
  if (!supported.includes(version)) {
    throw new CniError(errorCode.incompatibleVersion, 'incompatible CNI versions', `config is "${version}", plugin supports [${supported.map((s) => `"${s}"`).join(' ')}]`)
  }
}

function validAttachments(config: NetConf): Attachment[] {
  const raw = config['cni.dev/valid-attachments']
  if (raw === undefined || raw === null) return []
  const ok = Array.isArray(raw) && raw.every((a) => typeof a?.containerID === 'string' && typeof a?.ifname === 'string')
  if (!ok) throw new CniError(errorCode.decodingFailure, 'cni.dev/valid-attachments is not a list of {containerID, ifname}')
  return raw as Attachment[]
}

/** Runs one CNI command against a plugin; everything it would print and its exit code. */
export async function dispatch(plugin: Plugin, info: PluginInfo, invocation: Invocation): Promise<Outcome> {
  const supported = info.supportedVersions ?? supportedVersions
  let stdout = ''
  let stderr = ''
  const log = (line: string) => {
    stderr += line.endsWith('\n') ? line : `${line}\n`
  }
  let cniVersion = latestVersion
  const commandText = invocation.env.CNI_COMMAND ?? ''
  const command = commandText as Command
  try {
    if (commandText === '') {
      log(info.about)
      log(`CNI protocol versions supported: ${supported.join(', ')}`)
      return { stdout, stderr, exitCode: 0 }
    }
    if (!allCommands.includes(command)) throw new CniError(errorCode.invalidEnvironment, `unknown CNI_COMMAND: ${commandText}`)
    const env = readEnvironment(invocation.env, command)
    if (command === 'VERSION') {
      return { stdout: `${JSON.stringify({ cniVersion: latestVersion, supportedVersions: supported })}\n`, stderr, exitCode: 0 }
    }
    let stdin: string
    try {
      stdin = await invocation.readStdin()
    } catch (err) {
      throw new CniError(errorCode.ioFailure, `error reading from stdin: ${(err as Error).message}`)
    }
    const config = parseConfig(stdin)
    const version = config.cniVersion ?? ''
    if (supported.includes(version)) cniVersion = version
    checkVersion(command, version || '0.1.0', supported)
    const path = env.CNI_PATH.split(':').filter(Boolean)

    if (command === 'GC') {
      await plugin.gc?.({ path, config, cniVersion, validAttachments: validAttachments(config), log })
      return { stdout, stderr, exitCode: 0 }
    }
    if (command === 'STATUS') {
      await plugin.status?.({ path, config, cniVersion, log })
      return { stdout, stderr, exitCode: 0 }
    }

    const netns = env.CNI_NETNS
    if (netns && command !== 'DEL' && invocation.ownNetns && invocation.netnsIdentity) {
      const own = invocation.ownNetns()
      if (own !== undefined && own === invocation.netnsIdentity(netns)) {
        throw new CniError(errorCode.invalidNetns, "plugin's netns and netns from CNI_NETNS should not be the same", netns)
      }
    }
    const args: CmdArgs = {
      command,
      containerId: env.CNI_CONTAINERID,
      netns,
      ifName: env.CNI_IFNAME,
      args: parseCniArgs(env.CNI_ARGS),
      path,
      config,
      cniVersion,
      log,
    }
    if (config.prevResult !== undefined && config.prevResult !== null) args.prevResult = parseResult(config.prevResult)
    if (command === 'ADD') {
      const result = await plugin.add(args)
      stdout = `${JSON.stringify(resultForVersion(result, cniVersion))}\n`
    } else if (command === 'DEL') {
      await plugin.del(args)
    } else {
      await plugin.check(args)
    }
    return { stdout, stderr, exitCode: 0 }
  } catch (err) {
    return { stdout: `${JSON.stringify(errorJson(err, cniVersion))}\n`, stderr, exitCode: 1 }
  }
}

let stdinText: string | undefined

/** The process's stdin, read once: an early reader and the dispatcher share it. */
function processStdin(): string {
  return (stdinText ??= process.getBuiltinModule('node:fs').readFileSync(0, 'utf8'))
}

/**
 * The network config of this process's command, read before the plugin is loaded so that the
 * plugin can start what the command will wait on (its API connection); undefined for commands
 * that read no config, and for a config that does not parse (the dispatcher reports it).
 */
export function earlyConfig(): NetConf | undefined {
  const command = process.env.CNI_COMMAND
  if (command !== 'ADD' && command !== 'DEL' && command !== 'CHECK') return undefined
  try {
    return parseConfig(processStdin())
  } catch {
    return undefined
  }
}

/** The entry of a plugin binary: dispatch with the process's environment and stdin, print, exit. */
export async function runPlugin(plugin: Plugin, info: PluginInfo): Promise<never> {
  const fs = process.getBuiltinModule('node:fs')
  const identity = (path: string) => {
    try {
      const s = fs.statSync(path)
      return `${s.dev}:${s.ino}`
    } catch {
      return undefined
    }
  }
  const outcome = await dispatch(plugin, info, {
    env: process.env,
    readStdin: () => Promise.resolve(processStdin()),
    ownNetns: () => identity('/proc/self/ns/net'),
    netnsIdentity: identity,
  })
  // Pipes and files are written synchronously on Linux, so exiting right after loses nothing.
  if (outcome.stderr) process.stderr.write(outcome.stderr)
  if (outcome.stdout) process.stdout.write(outcome.stdout)
  process.exit(outcome.exitCode)
}
