// `spiderpool-ts install-cni`: puts the CNI plugins on a node (run as an init container with the
// host's /opt/cni/bin and /etc/cni/net.d mounted) — the single executables `npm run build:cni`
// made, and the kubeconfig they read the API with, from the pod's service account or the flags.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { defaultKubeconfigPath } from './spiderpool/config.ts'

export const pluginNames = ['spiderpool', 'coordinator'] as const
export const defaultBinDir = '/opt/cni/bin'
export const defaultFrom = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cni')
export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount'

export interface InstallOptions {
  /** where the built plugins are */
  from: string
  binDir: string
  kubeconfigOut: string
  /** the API server; default: the in-cluster one (KUBERNETES_SERVICE_HOST/PORT) */
  server?: string
  caFile?: string
  tokenFile?: string
  /** the pod's service account mount, for what the flags do not give */
  serviceAccountDir?: string
  env?: Record<string, string | undefined>
}

export interface Installed {
  plugins: string[]
  kubeconfig: string
}

/** Written beside the target and renamed over it: a runtime never runs (or reads) half a file. */
function replaceFile(target: string, write: (tmp: string) => void): void {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`)
  write(tmp)
  renameSync(tmp, target)
}

function inClusterServer(env: Record<string, string | undefined>): string {
  const host = env.KUBERNETES_SERVICE_HOST
  const port = env.KUBERNETES_SERVICE_PORT
  if (!host || !port) throw new Error('no --server, and KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT are not set (not in a pod?)')
  return `https://${isIP(host) === 6 ? `[${host}]` : host}:${port}`
}

/** The CNI plugins' kubeconfig: JSON (which the plugins read without a YAML parser), the CA and token inline. */
export function cniKubeconfig(server: string, caPem: Buffer, token: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'spiderpool', cluster: { server, 'certificate-authority-data': caPem.toString('base64') } }],
    users: [{ name: 'spiderpool-cni', user: { token } }],
    contexts: [{ name: 'spiderpool', context: { cluster: 'spiderpool', user: 'spiderpool-cni' } }],
    'current-context': 'spiderpool',
  }
}

export function installCni(o: InstallOptions): Installed {
  const env = o.env ?? process.env
  const account = o.serviceAccountDir ?? serviceAccountDir
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file)
    } catch (err) {
      throw new Error(`cannot read the ${what} ${file}: ${(err as Error).message}`)
    }
  }
  // everything is read and checked before anything on the node changes
  const server = o.server ?? inClusterServer(env)
  const ca = read(o.caFile ?? path.join(account, 'ca.crt'), 'CA certificate')
  const token = read(o.tokenFile ?? path.join(account, 'token'), 'token').toString('utf8').trim()
  for (const name of pluginNames) {
    if (!statSync(path.join(o.from, name), { throwIfNoEntry: false })?.isFile()) throw new Error(`no built plugin ${path.join(o.from, name)}: run npm run build:cni first`)
  }

  mkdirSync(o.binDir, { recursive: true })
  const plugins = pluginNames.map((name) => {
    const target = path.join(o.binDir, name)
    replaceFile(target, (tmp) => {
      copyFileSync(path.join(o.from, name), tmp)
      chmodSync(tmp, 0o755)
    })
    return target
  })
  mkdirSync(path.dirname(o.kubeconfigOut), { recursive: true })
  replaceFile(o.kubeconfigOut, (tmp) => writeFileSync(tmp, `${JSON.stringify(cniKubeconfig(server, ca, token), null, 2)}\n`, { mode: 0o600 }))
  chmodSync(o.kubeconfigOut, 0o600)
  return { plugins, kubeconfig: o.kubeconfigOut }
}

/** The command: parses its flags, installs, says what it did; undefined when --help was asked. */
export function installCniCommand(args: string[], print: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Installed | undefined {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      'bin-dir': { type: 'string', default: defaultBinDir },
      'kubeconfig-out': { type: 'string', default: defaultKubeconfigPath },
      server: { type: 'string' },
      'ca-file': { type: 'string' },
      'token-file': { type: 'string' },
      from: { type: 'string', default: defaultFrom },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return undefined
  const installed = installCni({
    from: values.from,
    binDir: values['bin-dir'],
    kubeconfigOut: values['kubeconfig-out'],
    server: values.server,
    caFile: values['ca-file'],
    tokenFile: values['token-file'],
  })
  for (const p of installed.plugins) print(`installed ${p}`)
  print(`wrote ${installed.kubeconfig}`)
  return installed
}
