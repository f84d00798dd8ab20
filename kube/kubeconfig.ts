// A lean kubeconfig reader for the CNI binary: JSON first (our installer writes the CNI's
// kubeconfig as JSON, which is also valid YAML), the `yaml` package only for real YAML files.
// It understands what a node-local client needs: server, CA, token / token file, client certificate.
import type { Connection } from './transport.ts'

// getBuiltinModule, not `import`: building the ESM namespace of node:fs costs the CNI binary ~3 ms.
const { readFileSync } = process.getBuiltinModule('node:fs')
const path = process.getBuiltinModule('node:path')

export interface KubeconfigOptions {
  /** Use this context instead of current-context. */
  context?: string
}

export class KubeconfigError extends Error {
  readonly file: string
  readonly field: string

  constructor(file: string, field: string, problem: string) {
    super(`${file}: ${field} ${problem}`)
    this.name = 'KubeconfigError'
    this.file = file
    this.field = field
  }
}

// Rotated tokens (projected service-account tokens) are re-read at most this often, as client-go does.
const tokenRereadMs = 60_000

export async function loadKubeconfig(file: string, options: KubeconfigOptions = {}): Promise<Connection> {
  const text = readFileSync(file, 'utf8')
  return connectionFromKubeconfig(await parseKubeconfigText(text, file), file, options)
}

export async function parseKubeconfigText(text: string, file: string): Promise<unknown> {
  try {
    return JSON.parse(text)
  } catch {}
  const { parse } = await import('yaml')
  try {
    return parse(text)
  } catch (err) {
    throw new KubeconfigError(file, '(document)', `is neither JSON nor YAML: ${(err as Error).message}`)
  }
}

type Entry = Record<string, unknown>

const isEntry = (v: unknown): v is Entry => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Resolves the connection of a parsed kubeconfig; `file` names it in errors and anchors relative paths. */
export function connectionFromKubeconfig(doc: unknown, file: string, options: KubeconfigOptions = {}): Connection {
  const fail = (field: string, problem: string) => new KubeconfigError(file, field, problem)
  if (!isEntry(doc)) throw fail('(document)', 'is not a kubeconfig object')
  const dir = path.dirname(path.resolve(file))

  const named = (list: string, name: string, body: string): Entry => {
    const entries = doc[list]
    const found = Array.isArray(entries) ? entries.find((e) => isEntry(e) && e.name === name) : undefined
    if (!isEntry(found)) throw fail(`${list}[name="${name}"]`, 'is missing')
    if (!isEntry(found[body])) throw fail(`${list}[name="${name}"].${body}`, 'is missing')
    return found[body] as Entry
  }
  const text = (e: Entry, key: string, field: string): string | undefined => {
    const v = e[key]
    if (v === undefined || v === null || v === '') return undefined
    if (typeof v !== 'string') throw fail(`${field}.${key}`, 'is not a string')
    return v
  }
  const base64 = (e: Entry, key: string, field: string): Buffer | undefined => {
    const v = text(e, key, field)
    if (v === undefined) return undefined
    if (!/^[A-Za-z0-9+/=\s]+$/.test(v)) throw fail(`${field}.${key}`, 'is not base64')
    return Buffer.from(v, 'base64')
  }
  const fileContents = (e: Entry, key: string, field: string): Buffer | undefined => {
    const p = text(e, key, field)
    if (p === undefined) return undefined
    try {
      return readFileSync(path.resolve(dir, p))
    } catch (err) {
      throw fail(`${field}.${key}`, `names a file that cannot be read: ${(err as Error).message}`)
    }
  }

  const contextName = options.context ?? (typeof doc['current-context'] === 'string' ? doc['current-context'] : '')
  if (!contextName) throw fail('current-context', 'is missing')
  const context = named('contexts', contextName, 'context')
  const contextField = `contexts[name="${contextName}"].context`
  const clusterName = text(context, 'cluster', contextField)
  if (!clusterName) throw fail(`${contextField}.cluster`, 'is missing')
  const cluster = named('clusters', clusterName, 'cluster')
  const clusterField = `clusters[name="${clusterName}"].cluster`
  const server = text(cluster, 'server', clusterField)
  if (!server) throw fail(`${clusterField}.server`, 'is missing')

  const connection: Connection = {
    server,
    ca: base64(cluster, 'certificate-authority-data', clusterField) ?? fileContents(cluster, 'certificate-authority', clusterField),
    insecureSkipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: text(cluster, 'tls-server-name', clusterField),
    namespace: text(context, 'namespace', contextField),
  }

  const userName = text(context, 'user', contextField)
  if (!userName) return connection
  const user = named('users', userName, 'user')
  const userField = `users[name="${userName}"].user`
  for (const unsupported of ['exec', 'auth-provider', 'username']) {
    if (user[unsupported] !== undefined) throw fail(`${userField}.${unsupported}`, 'is not supported here; use a token, tokenFile or client certificate')
  }
  connection.cert = base64(user, 'client-certificate-data', userField) ?? fileContents(user, 'client-certificate', userField)
  connection.key = base64(user, 'client-key-data', userField) ?? fileContents(user, 'client-key', userField)
  if (connection.cert && !connection.key) throw fail(`${userField}.client-key-data`, 'is missing (client-certificate is set)')
  if (connection.key && !connection.cert) throw fail(`${userField}.client-certificate-data`, 'is missing (client-key is set)')
  const token = text(user, 'token', userField)
  const tokenFile = text(user, 'tokenFile', userField)
  if (token) connection.token = token
  else if (tokenFile) connection.token = tokenFromFile(path.resolve(dir, tokenFile), `${file}: ${userField}.tokenFile`)
  return connection
}

/** A token kept in a file that something else rotates: read now (so a bad path fails at load), re-read every minute. */
export function tokenFromFile(tokenPath: string, label = tokenPath): () => string {
  const read = () => {
    try {
      return readFileSync(tokenPath, 'utf8').trim()
    } catch (err) {
      throw new Error(`${label}: cannot read ${tokenPath}: ${(err as Error).message}`)
    }
  }
  let token = read()
  let readAt = Date.now()
  return () => {
    if (Date.now() - readAt > tokenRereadMs) {
      token = read()
      readAt = Date.now()
    }
    return token
  }
}
