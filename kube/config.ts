// Connection settings for the server. A kubeconfig with a token, token file or client certificate,
// and the in-cluster service account, are read by our lean reader; everything else (exec and
// auth-provider credentials, proxies, the default kubeconfig search) by @kubernetes/client-node's
// KubeConfig, loaded only then: importing it costs the server ~70 MiB of RSS. The wire is always our
// transport, so the server and the CNI binary share one implementation.
import type { KubeConfig } from '@kubernetes/client-node'
import { readFileSync } from 'node:fs'
import type https from 'node:https'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { connectionFromKubeconfig, parseKubeconfigText, tokenFromFile } from './kubeconfig.ts'
import { createTransport } from './transport.ts'
import type { Connection, Transport, TransportOptions } from './transport.ts'

export interface ConfigSource {
  /** A kubeconfig file; without it and without inCluster, KUBECONFIG, ~/.kube/config or the in-cluster account, in that order. */
  kubeconfig?: string
  /** The pod's service account (KUBERNETES_SERVICE_HOST/PORT and the mounted token and CA). */
  inCluster?: boolean
  /** Use this context instead of current-context. */
  context?: string
}

// How long a credential from KubeConfig (exec plugin, token file) is reused before asking it again.
const credentialReuseMs = 10_000

function describe(source: ConfigSource) {
  if (source.kubeconfig) return source.kubeconfig
  if (source.inCluster) return 'in-cluster config'
  return 'default kubeconfig'
}

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount'

function inClusterConnection(): Connection {
  const host = process.env.KUBERNETES_SERVICE_HOST
  const port = process.env.KUBERNETES_SERVICE_PORT
  if (!host || !port) throw new Error('in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod?)')
  const read = (name: string) => readFileSync(path.join(serviceAccountDir, name))
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: read('ca.crt'),
    namespace: read('namespace').toString().trim(),
    token: tokenFromFile(path.join(serviceAccountDir, 'token'), 'in-cluster config: the service account token'),
  }
}

type Entry = Record<string, unknown>
const entry = (v: unknown): Entry | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Entry) : undefined)

/** A kubeconfig whose current user and cluster our reader covers: static credentials, no proxy. */
function leanReadable(doc: unknown, context: string | undefined): boolean {
  const d = entry(doc)
  if (!d) return false
  const find = (list: string, name: unknown) => (Array.isArray(d[list]) ? (d[list] as unknown[]).map(entry).find((e) => e?.name === name) : undefined)
  const ctx = entry(find('contexts', context ?? d['current-context'])?.context)
  if (!ctx) return false
  const cluster = entry(find('clusters', ctx.cluster)?.cluster)
  const user = ctx.user === undefined ? {} : entry(find('users', ctx.user)?.user)
  if (!cluster || !user || cluster['proxy-url'] !== undefined) return false
  return ['exec', 'auth-provider', 'username', 'password'].every((k) => user[k] === undefined)
}

async function load(source: ConfigSource): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node')
  const kc = new KubeConfig()
  if (source.kubeconfig) kc.loadFromFile(source.kubeconfig)
  else if (source.inCluster) {
    if (!process.env.KUBERNETES_SERVICE_HOST || !process.env.KUBERNETES_SERVICE_PORT) {
      throw new Error('in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod?)')
    }
    kc.loadFromCluster()
  } else {
    kc.loadFromDefault()
    // loadFromDefault falls back to an unauthenticated http://localhost:8080; never what we want.
    if (kc.getCurrentContext() === 'loaded-context' && kc.getCurrentCluster()?.server === 'http://localhost:8080') {
      throw new Error('no kubeconfig found: give --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a pod')
    }
  }
  if (source.context) {
    if (!kc.getContextObject(source.context)) throw new Error(`${describe(source)}: context "${source.context}" is not in contexts`)
    kc.setCurrentContext(source.context)
  }
  return kc
}

async function httpsOptions(kc: KubeConfig): Promise<https.RequestOptions> {
  const opts: https.RequestOptions = {}
  await kc.applyToHTTPSOptions(opts)
  return opts
}

function bearer(opts: https.RequestOptions, where: string): string | undefined {
  const header = (opts.headers as Record<string, unknown> | undefined)?.Authorization
  if (opts.auth || (typeof header === 'string' && !header.startsWith('Bearer '))) {
    throw new Error(`${where}: only bearer tokens and client certificates are supported (basic auth is not)`)
  }
  return typeof header === 'string' ? header.slice('Bearer '.length) : undefined
}

// KubeConfig reads `token-file` but not kubectl's `tokenFile`, and would connect with no credentials at all.
function kubectlTokenFile(file: string, userName: string): (() => string) | undefined {
  const doc = parseYaml(readFileSync(file, 'utf8')) as { users?: { name?: string; user?: { tokenFile?: unknown } }[] } | null
  const tokenFile = doc?.users?.find((u) => u.name === userName)?.user?.tokenFile
  if (typeof tokenFile !== 'string' || !tokenFile) return undefined
  return tokenFromFile(path.resolve(path.dirname(file), tokenFile), `${file}: users[name="${userName}"].user.tokenFile`)
}

export async function resolveConnection(source: ConfigSource = {}): Promise<Connection> {
  const where = describe(source)
  if (source.inCluster) return inClusterConnection()
  if (source.kubeconfig) {
    const doc = await parseKubeconfigText(readFileSync(source.kubeconfig, 'utf8'), source.kubeconfig)
    if (leanReadable(doc, source.context)) return connectionFromKubeconfig(doc, source.kubeconfig, { context: source.context })
  }
  const kc = await load(source)
  const cluster = kc.getCurrentCluster()
  if (!cluster?.server) throw new Error(`${where}: the current context names no cluster with a server`)
  if (cluster.proxyUrl) throw new Error(`${where}: cluster proxy-url is not supported`)
  let opts: https.RequestOptions
  try {
    opts = await httpsOptions(kc)
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`, { cause: err })
  }
  const user = kc.getCurrentUser()
  const token = bearer(opts, where)
  const connection: Connection = {
    server: cluster.server,
    ca: opts.ca as Buffer | undefined,
    cert: opts.cert as Buffer | undefined,
    key: opts.key as Buffer | undefined,
    insecureSkipTLSVerify: cluster.skipTLSVerify,
    tlsServerName: cluster.tlsServerName,
    namespace: kc.getContextObject(kc.getCurrentContext())?.namespace,
    token: token ?? (source.kubeconfig && user ? kubectlTokenFile(source.kubeconfig, user.name) : undefined),
  }
  if (token && (user?.exec || user?.authProvider)) {
    // Credentials that rotate: ask KubeConfig again now and then.
    let current = token
    let askedAt = Date.now()
    connection.token = async () => {
      if (Date.now() - askedAt > credentialReuseMs) {
        current = bearer(await httpsOptions(kc), where) ?? ''
        askedAt = Date.now()
      }
      return current
    }
  }
  return connection
}

export async function createServerTransport(source: ConfigSource = {}, options: TransportOptions = {}): Promise<Transport> {
  return createTransport(await resolveConnection(source), options)
}
