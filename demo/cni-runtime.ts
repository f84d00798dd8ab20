// A CNI runtime as libcni is one: it finds each plugin of a network list in CNI_PATH, runs it in
// the node's namespace with the CNI_* variables and the plugin's config on stdin (name,
// cniVersion and prevResult filled in), chains ADD results, runs DEL in reverse order with the
// cached result as prevResult (0.4.0 and later), and CHECK in order with it.
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The sandbox a network is attached to: its namespace, the node (namespace) the plugins run in. */
export interface Sandbox {
  /** the pod's name, sent as K8S_POD_NAME */
  name: string
  /** CNI_NETNS, a path such as /var/run/netns/x */
  netns: string
  containerId: string
  node: { name: string }
}

export interface NetworkList {
  cniVersion: string
  name: string
  plugins: Array<Record<string, unknown> & { type: string }>
}

export interface Attachment {
  pod: Sandbox
  ifName: string
  /** CNI_ARGS pod identity */
  podNamespace?: string
  podUid?: string
}

export class PluginError extends Error {
  readonly plugin: string
  readonly exitCode: number | null
  readonly stdout: string
  readonly stderr: string
  /** the CNI error object the plugin printed, if it printed one */
  readonly cniError?: { cniVersion?: string; code: number; msg: string; details?: string }
  constructor(plugin: string, command: string, exitCode: number | null, stdout: string, stderr: string) {
    let cniError
    try {
      cniError = JSON.parse(stdout)
    } catch {}
    super(`${plugin} ${command} failed (exit ${exitCode}): ${stdout.trim() || stderr.trim()}`)
    this.plugin = plugin
    this.exitCode = exitCode
    this.stdout = stdout
    this.stderr = stderr
    this.cniError = cniError
  }
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** A CNI_PATH directory holding our plugins as executables (Node on their entry files), then Debian's. */
export function pluginDirectory(dir: string, extra: Record<string, string> = {}): string[] {
  mkdirSync(dir, { recursive: true })
  const ours: Record<string, string> = { coordinator: path.join(root, 'cni/coordinator/main.ts'), ...extra }
  for (const [type, entry] of Object.entries(ours)) {
    const file = path.join(dir, type)
    writeFileSync(file, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(entry)} "$@"\n`)
    chmodSync(file, 0o755)
  }
  return [dir, '/usr/lib/cni']
}

export interface RunOptions {
  cniPath: string[]
  timeoutMs?: number
  /** once aborted, no ADD is started (DEL, CHECK still run: they are how things are removed) */
  signal?: AbortSignal
}

export interface Invocation {
  stdout: string
  stderr: string
  exitCode: number | null
}

/** Runs one plugin binary in `netns` (the node) with the given environment and stdin. */
export function execPlugin(netns: string, file: string, env: Record<string, string>, stdin: string, timeoutMs = 60_000): Promise<Invocation> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, file], { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${file} ${env.CNI_COMMAND}: no answer within ${timeoutMs} ms; stderr: ${stderr}`))
    }, timeoutMs)
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.once('close', (exitCode) => {
      clearTimeout(timer)
      resolve({ stdout, stderr, exitCode })
    })
    child.stdin.on('error', () => {})
    child.stdin.end(stdin)
  })
}

function findPlugin(type: string, cniPath: string[]): string {
  for (const dir of cniPath) {
    const file = path.join(dir, type)
    if (statSync(file, { throwIfNoEntry: false })?.isFile()) return file
  }
  throw new Error(`failed to find plugin "${type}" in path [${cniPath.join(' ')}]`)
}

function envFor(command: string, a: Attachment, cniPath: string[]): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: a.pod.containerId,
    CNI_NETNS: a.pod.netns,
    CNI_IFNAME: a.ifName,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${a.podNamespace ?? 'default'};K8S_POD_NAME=${a.pod.name};K8S_POD_INFRA_CONTAINER_ID=${a.pod.containerId}${a.podUid ? `;K8S_POD_UID=${a.podUid}` : ''}`,
    CNI_PATH: cniPath.join(':'),
  }
}

const atLeast040 = (v: string) => {
  const [a, b] = v.split('.').map(Number)
  return a > 0 || b >= 4
}

async function invoke(command: string, list: NetworkList, plugin: NetworkList['plugins'][number], a: Attachment, o: RunOptions, prevResult: unknown) {
  const config = { ...plugin, cniVersion: list.cniVersion, name: list.name, ...(prevResult ? { prevResult } : {}) }
  const r = await execPlugin(a.pod.node.name, findPlugin(plugin.type, o.cniPath), envFor(command, a, o.cniPath), JSON.stringify(config), o.timeoutMs)
  if (r.exitCode !== 0) throw new PluginError(plugin.type, command, r.exitCode, r.stdout, r.stderr)
  return r
}

/** ADD through the list; the last plugin's result (what the runtime caches). */
export async function addNetworkList(list: NetworkList, a: Attachment, o: RunOptions): Promise<Record<string, unknown>> {
  let result: Record<string, unknown> | undefined
  for (const plugin of list.plugins) {
    o.signal?.throwIfAborted()
    const r = await invoke('ADD', list, plugin, a, o, result)
    result = JSON.parse(r.stdout)
  }
  return result!
}

/** DEL through the list in reverse; every plugin runs even when one fails, and the first failure is thrown. */
export async function delNetworkList(list: NetworkList, a: Attachment, o: RunOptions, cachedResult?: unknown): Promise<void> {
  const prev = cachedResult && atLeast040(list.cniVersion) ? cachedResult : undefined
  let first: unknown
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await invoke('DEL', list, plugin, a, o, prev)
    } catch (err) {
      first ??= err
    }
  }
  if (first) throw first
}

export async function checkNetworkList(list: NetworkList, a: Attachment, o: RunOptions, cachedResult: unknown): Promise<void> {
  for (const plugin of list.plugins) await invoke('CHECK', list, plugin, a, o, cachedResult)
}
