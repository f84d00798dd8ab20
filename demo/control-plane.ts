// The local default (`spiderpool-ts up`) run on the controller node, where its API address is
// reachable from every node's CNI plugins, and real kubectl beside it. An aborted `signal` stops it
// from being started, stops a start under way (the process is stopped before the promise rejects),
// and ends kubectl calls.
import { spawn } from 'node:child_process'
import { mkdirSync, openSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pidFileName, stopProcess } from './cleanup.ts'
import { sh } from './shell.ts'

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/spiderpool-ts')

export interface ControlPlane {
  /** the kubeconfig `up` wrote; its server is the controller node's address */
  kubeconfig: string
  /** Runs kubectl on the controller node; resolves with its stdout, rejects with its stderr. */
  kubectl(args: string[], input?: string): Promise<string>
  /** kubectl … -o json, parsed */
  getJson<T = Record<string, unknown>>(args: string[]): Promise<T>
  stop(): Promise<void>
}

/** Starts `spiderpool-ts up` in `netns`, listening on `address`:6443, its state in `dataDir`. */
export async function startControlPlane(o: { netns: string; address: string; dataDir: string; stateDir: string; signal?: AbortSignal }): Promise<ControlPlane> {
  o.signal?.throwIfAborted()
  mkdirSync(o.dataDir, { recursive: true })
  const log = openSync(path.join(o.dataDir, 'up.log'), 'a')
  const child = spawn('ip', ['netns', 'exec', o.netns, process.execPath, cli, 'up', '--data-dir', o.dataDir, '--listen-api', `${o.address}:6443`, '--log-level', 'warn'], {
    // no CNI config directory: podCIDRType `auto` takes the cluster's pod CIDR (kubeadm-config)
    env: { ...process.env, SPIDERPOOL_CNI_CONFIG_DIR: path.join(o.dataDir, 'no-cni-config') },
    stdio: ['ignore', 'pipe', log],
  })
  // `ip netns exec` execs the program: this pid is the control plane's own
  writeFileSync(path.join(o.stateDir, pidFileName), String(child.pid))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) await stopProcess(child.pid)
    await exited
  }
  let aborted: (() => void) | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the control plane did not start within 60 s; see ${path.join(o.dataDir, 'up.log')}`)), 60_000)
      aborted = () => reject(o.signal!.reason)
      o.signal?.addEventListener('abort', aborted, { once: true })
      let out = ''
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d
        if (/^kubeconfig\s/m.test(out)) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`the control plane exited with ${code}; see ${path.join(o.dataDir, 'up.log')}`))
      })
    })
  } catch (err) {
    // not handed to the caller, so not stopped by it: stopped here
    await stop()
    throw err
  } finally {
    if (aborted) o.signal?.removeEventListener('abort', aborted)
  }
  const kubeconfig = path.join(o.dataDir, 'kubeconfig')
  const kubectl = (args: string[], input?: string) => sh('ip', ['netns', 'exec', o.netns, 'kubectl', '--kubeconfig', kubeconfig, ...args], { input, timeoutMs: 30_000, signal: o.signal })
  return {
    kubeconfig,
    kubectl,
    getJson: async <T,>(args: string[]) => JSON.parse(await kubectl([...args, '-o', 'json'])) as T,
    stop,
  }
}
