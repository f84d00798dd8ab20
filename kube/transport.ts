// The one wire implementation to the Kubernetes API, shared by the server and the CNI binary:
// JSON over node:https with a keep-alive agent. It stays lean on purpose (no client library,
// no YAML) because the CNI binary imports it at every pod start.
import type http from 'node:http'
import { ApiError, statusFromResponse } from './errors.ts'
import { requestDeadline, timeoutError } from './deadline.ts'


/** Where the API server is and how to prove who we are to it. */
export interface Connection {
  /** `https://host:port`, optionally with a path prefix. */
  server: string
  /** PEM bundle of the CAs that may sign the server's certificate. */
  ca?: string | Buffer
  /** Client certificate and key (PEM), for certificate authentication. */
  cert?: string | Buffer
  key?: string | Buffer
  insecureSkipTLSVerify?: boolean
  tlsServerName?: string
  /** Bearer token, or a function asked before every request (tokens that rotate on disk). */
  token?: string | (() => string | Promise<string>)
  /** The namespace the kubeconfig context names, for callers that default to it. */
  namespace?: string
}

export interface TransportOptions {
  /** Applies to a request that does not give its own; the whole exchange, body included. */
  timeoutMs?: number
  userAgent?: string
  /** Connections opened at most at once; requests beyond wait for one (default: no limit). */
  maxSockets?: number
}

export type Query = Record<string, string | number | boolean | undefined>

export interface RequestOptions {
  method?: string
  /** Absolute API path (`/api/v1/...`, `/apis/...`), without the server's prefix. */
  path: string
  query?: Query
  /** Sent as JSON unless it is already a string. */
  body?: unknown
  contentType?: string
  /** Defaults to application/json; a `;as=PartialObjectMetadata...` variant asks for metadata only. */
  accept?: string
  timeoutMs?: number
  signal?: AbortSignal
}

export interface StreamOptions extends Omit<RequestOptions, 'timeoutMs'> {
  /** The stream fails when nothing (not even a bookmark) arrives for this long. */
  idleTimeoutMs?: number
}

export interface Transport {
  readonly server: string
  /** One JSON exchange; a non-2xx answer is thrown as ApiError. */
  request<T = unknown>(options: RequestOptions): Promise<T>
  /** A long response of newline-delimited JSON values (a watch); ends when the server ends it. */
  stream(options: StreamOptions): AsyncGenerator<unknown, void, undefined>
  /** Closes the pooled connections. */
  close(): void
}

const defaultTimeoutMs = 30_000

export function queryString(query: Query | undefined): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.append(k, String(v))
  const s = params.toString()
  return s ? `?${s}` : ''
}

export function createTransport(connection: Connection, options: TransportOptions = {}): Transport {
  const url = new URL(connection.server)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`server ${connection.server}: only https:// and http:// are supported`)
  const secure = url.protocol === 'https:'
  // Loaded here, not imported: an ESM import of node:http evaluates every lazy export (undici's WebSocket
  // among them, ~15 ms), and a CNI command that never calls the API (VERSION) should not load TLS at all.
  const tlsClient = secure ? process.getBuiltinModule('node:https') : undefined
  const plainClient = process.getBuiltinModule('node:http')
  const prefix = url.pathname.replace(/\/+$/, '')
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = url.port || (secure ? 443 : 80)
  const maxSockets = options.maxSockets ?? Infinity
  const agent = tlsClient
    ? new tlsClient.Agent({
        keepAlive: true,
        maxSockets,
        ca: connection.ca,
        cert: connection.cert,
        key: connection.key,
        rejectUnauthorized: !connection.insecureSkipTLSVerify,
        servername: connection.tlsServerName,
      })
    : new plainClient.Agent({ keepAlive: true, maxSockets })
  const send = tlsClient ? tlsClient.request : plainClient.request
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs
  const userAgent = options.userAgent ?? 'spiderpool-ts'

  async function headersFor(o: RequestOptions, body: string | undefined) {
    const headers: Record<string, string> = { Accept: o.accept ?? 'application/json', 'User-Agent': userAgent }
    const token = typeof connection.token === 'function' ? await connection.token() : connection.token
    if (token) headers.Authorization = `Bearer ${token}`
    if (body !== undefined) {
      headers['Content-Type'] = o.contentType ?? 'application/json'
      headers['Content-Length'] = String(Buffer.byteLength(body))
    }
    return headers
  }

  // Sends the request and resolves with the response head; `fail` tears the exchange down with an error.
  async function open(o: RequestOptions, idleTimeoutMs?: number) {
    const method = o.method ?? 'GET'
    const label = `${method} ${o.path}`
    o.signal?.throwIfAborted()
    const body = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body)
    const headers = await headersFor(o, body)
    const req = send({ agent, hostname, port, method, path: prefix + o.path + queryString(o.query), headers })
    // Destroying the request makes the response fail with a bare ECONNRESET; keep the real cause to rethrow.
    let cause: Error | undefined
    const fail = (err: unknown) => req.destroy((cause ??= err instanceof Error ? err : new Error(String(err))))
    const onAbort = () => fail(o.signal?.reason)
    o.signal?.addEventListener('abort', onAbort, { once: true })
    if (o.signal?.aborted) onAbort()
    if (idleTimeoutMs) req.setTimeout(idleTimeoutMs, () => fail(timeoutError(label, idleTimeoutMs)))
    const detach = () => o.signal?.removeEventListener('abort', onAbort)
    try {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        req.once('response', resolve)
        req.once('error', reject)
        req.end(body)
      })
      return { req, res, label, fail, detach, cause: () => cause }
    } catch (err) {
      detach()
      throw err
    }
  }

  async function readBody(res: http.IncomingMessage) {
    const chunks: Buffer[] = []
    for await (const chunk of res) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }

  async function request<T>(o: RequestOptions): Promise<T> {
    const ms = o.timeoutMs ?? timeoutMs
    const label = `${o.method ?? 'GET'} ${o.path}`
    const deadline = requestDeadline(o.signal, ms, label)
    try {
      const x = await open({ ...o, signal: deadline.signal })
      try {
        const text = await readBody(x.res)
        const code = x.res.statusCode ?? 0
        if (code < 200 || code > 299) throw new ApiError(statusFromResponse(code, text), label)
        if (!text) return undefined as T
        // Most answers are JSON; a few endpoints (/healthz, /livez) answer plain text.
        return (/\bjson\b/.test(x.res.headers['content-type'] ?? '') ? JSON.parse(text) : text) as T
      } finally {
        x.detach()
      }
    } catch (err) {
      throw deadline.failure(err)
    } finally {
      deadline.dispose()
    }
  }

  async function* stream(o: StreamOptions): AsyncGenerator<unknown, void, undefined> {
    const x = await open(o, o.idleTimeoutMs)
    try {
      const code = x.res.statusCode ?? 0
      if (code < 200 || code > 299) throw new ApiError(statusFromResponse(code, await readBody(x.res)), x.label)
      x.res.setEncoding('utf8')
      let pending = ''
      for await (const chunk of x.res) {
        pending += chunk as string
        let nl: number
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim()
          pending = pending.slice(nl + 1)
          if (line) yield JSON.parse(line)
        }
      }
      if (pending.trim()) yield JSON.parse(pending)
    } catch (err) {
      throw x.cause() ?? err
    } finally {
      x.detach()
      if (!x.res.complete) x.req.destroy()
    }
  }

  return {
    server: connection.server,
    request,
    stream,
    close: () => agent.destroy(),
  }
}
