// The CNI plugins' wire to the Kubernetes API: HTTP/1.1 written by hand over one node:tls
// connection, requests taking turns on it. It exists because loading node:https (http, its agent,
// its parser, undici's lazy exports) costs a plugin ~8 ms at every pod start; the server keeps
// kube/transport.ts. Same Transport contract, same errors, same TLS verification.
import type { Socket } from 'node:net'
import type { SecureContext, TLSSocket } from 'node:tls'
import { ApiError, statusFromResponse } from './errors.ts'
import { requestDeadline, timeoutError } from './deadline.ts'
import { queryString } from './transport.ts'
import type { Connection, RequestOptions, StreamOptions, Transport, TransportOptions } from './transport.ts'

const defaultTimeoutMs = 30_000
const crlf = Buffer.from('\r\n')
const headEnd = Buffer.from('\r\n\r\n')
const maxHeadBytes = 64 * 1024

/** What node:http says when the server closes before the answer is whole. */
function hangUp() {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
}

interface Head {
  status: number
  headers: Map<string, string>
  /** the server keeps the connection open after this answer */
  keepAlive: boolean
}

/** The bytes of one socket as something to await, with room to put back what was read too far. */
function socketReader(socket: Socket) {
  const chunks: Buffer[] = []
  let received = false
  let ended = false
  let failure: Error | undefined
  let wake: (() => void) | undefined
  const poke = () => {
    const w = wake
    wake = undefined
    w?.()
  }
  socket.on('data', (b: Buffer) => {
    chunks.push(b)
    poke()
  })
  socket.on('end', () => {
    ended = true
    poke()
  })
  socket.on('close', () => {
    ended = true
    poke()
  })
  socket.on('error', (err) => {
    failure ??= err
    poke()
  })
  return {
    /** Some answer byte was read on this socket. */
    get received() {
      return received
    },
    get closed() {
      return ended || failure !== undefined
    },
    /** The next bytes; null once the server has closed. */
    async read(): Promise<Buffer | null> {
      for (;;) {
        const next = chunks.shift()
        if (next) {
          received = true
          return next
        }
        if (failure) throw failure
        if (ended) return null
        await new Promise<void>((r) => (wake = r))
      }
    },
    unread(b: Buffer) {
      if (b.length) chunks.unshift(b)
    },
  }
}
type Reader = ReturnType<typeof socketReader>

/** A request written and the head of its answer read; `detach` stops the caller's signal from closing the connection. */
interface Sent {
  conn: { socket: Socket; reader: Reader; used: boolean }
  head: Head
  detach: () => void
}

async function readHead(reader: Reader): Promise<Head> {
  let buf: Buffer = Buffer.alloc(0)
  for (;;) {
    const at = buf.indexOf(headEnd)
    if (at >= 0) {
      reader.unread(buf.subarray(at + 4))
      return parseHead(buf.subarray(0, at).toString('latin1'))
    }
    if (buf.length > maxHeadBytes) throw new Error(`the answer's header is over ${maxHeadBytes} bytes`)
    const more = await reader.read()
    if (!more) throw hangUp()
    buf = buf.length ? Buffer.concat([buf, more]) : more
  }
}

function parseHead(text: string): Head {
  const [statusLine, ...lines] = text.split('\r\n')
  const m = /^HTTP\/1\.([01]) (\d{3})/.exec(statusLine)
  if (!m) throw Object.assign(new Error(`not an HTTP/1.x answer: ${JSON.stringify(statusLine.slice(0, 80))}`), { code: 'HPE_INVALID_CONSTANT' })
  const headers = new Map<string, string>()
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    const seen = headers.get(name)
    headers.set(name, seen === undefined ? value : `${seen}, ${value}`)
  }
  const connection = (headers.get('connection') ?? '').toLowerCase()
  const keepAlive = m[1] === '1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection)
  return { status: Number(m[2]), headers, keepAlive }
}

/** The answer's body as it arrives: by Content-Length, chunked, or up to the close. */
async function* bodyOf(reader: Reader, head: Head, method: string): AsyncGenerator<Buffer, void, undefined> {
  if (method === 'HEAD' || head.status === 204 || head.status === 304 || head.status < 200) return
  if (/\bchunked\b/i.test(head.headers.get('transfer-encoding') ?? '')) {
    yield* chunkedBody(reader)
    return
  }
  const length = head.headers.get('content-length')
  if (length !== undefined) {
    let left = Number(length)
    if (!Number.isSafeInteger(left) || left < 0) throw new Error(`bad Content-Length ${JSON.stringify(length)}`)
    while (left > 0) {
      const b = await reader.read()
      if (!b) throw hangUp()
      if (b.length > left) reader.unread(b.subarray(left))
      const part = b.length > left ? b.subarray(0, left) : b
      left -= part.length
      yield part
    }
    return
  }
  head.keepAlive = false
  for (let b = await reader.read(); b; b = await reader.read()) yield b
}

async function* chunkedBody(reader: Reader): AsyncGenerator<Buffer, void, undefined> {
  let buf: Buffer = Buffer.alloc(0)
  const line = async (): Promise<string> => {
    for (;;) {
      const at = buf.indexOf(crlf)
      if (at >= 0) {
        const text = buf.subarray(0, at).toString('latin1')
        buf = buf.subarray(at + 2)
        return text
      }
      if (buf.length > maxHeadBytes) throw new Error('a chunk header is too long')
      const more = await reader.read()
      if (!more) throw hangUp()
      buf = Buffer.concat([buf, more])
    }
  }
  for (;;) {
    const sizeText = (await line()).split(';')[0].trim()
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`bad chunk size ${JSON.stringify(sizeText)}`)
    let left = parseInt(sizeText, 16)
    if (left === 0) break
    while (left > 0) {
      if (!buf.length) {
        const more = await reader.read()
        if (!more) throw hangUp()
        buf = more
      }
      const part = buf.subarray(0, Math.min(left, buf.length))
      buf = buf.subarray(part.length)
      left -= part.length
      yield part
    }
    if ((await line()) !== '') throw new Error('a chunk does not end with CRLF')
  }
  // trailers, up to the empty line
  while ((await line()) !== '');
  reader.unread(buf)
}

export interface TlsTransport extends Transport {
  /** Dials now, so that the TLS handshake runs while the caller prepares its first request. */
  open(): void
  /**
   * GETs written back to back on the connection (HTTP/1.1 pipelining) and answered in order: the
   * round trip is paid once for all of them instead of once each. Each entry settles on its own,
   * an ApiError (a 404, say) failing that entry only.
   */
  getAll<T = unknown>(requests: RequestOptions[]): Promise<PromiseSettledResult<T>[]>
}

export interface TlsTransportOptions extends TransportOptions {
  /**
   * This process talks to this API server alone (a CNI plugin): the kubeconfig's CA becomes the
   * process's default trust (tls.setDefaultCACertificates) instead of the `ca` of a secure context
   * of its own. The trust is the same, those CAs only; a context given `ca` first waits for Node's
   * bundled root certificates to be parsed, ~3 ms at every plugin start.
   */
  soleServer?: boolean
}

export function createTlsTransport(connection: Connection, options: TlsTransportOptions = {}): TlsTransport {
  const url = new URL(connection.server)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`server ${connection.server}: only https:// and http:// are supported`)
  const secure = url.protocol === 'https:'
  const prefix = url.pathname.replace(/\/+$/, '')
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = Number(url.port || (secure ? 443 : 80))
  const hostHeader = url.host
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs
  const userAgent = options.userAgent ?? 'spiderpool-ts'

  let current: { socket: Socket; reader: Reader; used: boolean } | undefined
  // requests take turns on the one connection
  let turn: Promise<void> = Promise.resolve()
  // made once: a redial reuses it (node:tls would build one per connect)
  let secureContext: SecureContext | undefined

  function dial(): { socket: Socket; reader: Reader; used: boolean } {
    let socket: Socket | TLSSocket
    if (secure) {
      const tls = process.getBuiltinModule('node:tls')
      const net = process.getBuiltinModule('node:net')
      if (!secureContext && options.soleServer && connection.ca !== undefined && !connection.insecureSkipTLSVerify) {
        tls.setDefaultCACertificates([connection.ca])
        secureContext = tls.createSecureContext({ cert: connection.cert, key: connection.key })
      }
      secureContext ??= tls.createSecureContext({ ca: connection.ca, cert: connection.cert, key: connection.key })
      socket = tls.connect({
        host: hostname,
        port,
        secureContext,
        rejectUnauthorized: !connection.insecureSkipTLSVerify,
        // SNI as node:https sends it: the name asked for, else the host unless it is an address
        servername: connection.tlsServerName ?? (net.isIP(hostname) ? undefined : hostname),
      })
    } else {
      socket = process.getBuiltinModule('node:net').connect({ host: hostname, port })
    }
    socket.setNoDelay(true)
    return { socket, reader: socketReader(socket), used: false }
  }

  function drop() {
    current?.socket.destroy()
    current = undefined
  }

  async function headOf(o: RequestOptions, body: string | undefined) {
    const method = o.method ?? 'GET'
    const lines = [`${method} ${prefix}${o.path}${queryString(o.query)} HTTP/1.1`, `Host: ${hostHeader}`, `Accept: ${o.accept ?? 'application/json'}`, `User-Agent: ${userAgent}`]
    const token = typeof connection.token === 'function' ? await connection.token() : connection.token
    if (token) lines.push(`Authorization: Bearer ${token}`)
    if (body !== undefined) lines.push(`Content-Type: ${o.contentType ?? 'application/json'}`, `Content-Length: ${Buffer.byteLength(body)}`)
    return `${lines.join('\r\n')}\r\n\r\n`
  }

  async function bytesOf(o: RequestOptions): Promise<Buffer> {
    const body = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body)
    return Buffer.from((await headOf(o, body)) + (body ?? ''))
  }

  /** Writes the request on the connection (a fresh one when the last was closed) and reads the answer's head. */
  async function send(o: RequestOptions, signal: AbortSignal) {
    return sendBytes(await bytesOf(o), o.method ?? 'GET', signal)
  }

  /** Writes `bytes` (one request, or GETs pipelined) and reads the head of the first answer. */
  async function sendBytes(bytes: Buffer, method: string, signal: AbortSignal): Promise<Sent> {
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted()
      if (current?.reader.closed) drop()
      const conn = (current ??= dial())
      const reused = conn.used
      conn.used = true
      const onAbort = () => conn.socket.destroy()
      signal.addEventListener('abort', onAbort, { once: true })
      try {
        conn.socket.write(bytes)
        const head = await readHead(conn.reader)
        return { conn, head, detach: () => signal.removeEventListener('abort', onAbort) }
      } catch (err) {
        signal.removeEventListener('abort', onAbort)
        drop()
        if (signal.aborted) throw signal.reason
        // the server closed a kept-alive connection as we wrote on it: a read may go again, as Go's client does
        const idempotent = method === 'GET' || method === 'HEAD'
        if (reused && idempotent && attempt === 0 && !conn.reader.received) continue
        throw err
      }
    }
  }

  /** Resolves when the connection is free, with the function that frees it again. */
  function takeTurn(): Promise<() => void> {
    const previous = turn
    let release!: () => void
    turn = new Promise<void>((r) => (release = r))
    return previous.then(() => release)
  }

  /** Runs `work` in its turn, within the request's deadline and the caller's signal. */
  async function exclusive<T>(o: RequestOptions, ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    // the deadline counts from the call, as node:https's does, waiting included
    const deadline = requestDeadline(o.signal, ms, `${o.method ?? 'GET'} ${o.path}`)
    const release = await takeTurn()
    try {
      return await work(deadline.signal)
    } catch (err) {
      drop()
      throw deadline.failure(err)
    } finally {
      release()
      deadline.dispose()
    }
  }

  async function readAll(x: Sent, method: string) {
    const parts: Buffer[] = []
    for await (const part of bodyOf(x.conn.reader, x.head, method)) parts.push(part)
    if (!x.head.keepAlive) drop()
    return Buffer.concat(parts).toString('utf8')
  }

  /** The answer read whole, as the caller gets it: JSON parsed, or an ApiError for a non-2xx. */
  async function answerOf<T>(x: Sent, method: string, label: string): Promise<T> {
    const text = await readAll(x, method)
    const code = x.head.status
    if (code < 200 || code > 299) throw new ApiError(statusFromResponse(code, text), label)
    if (!text) return undefined as T
    // Most answers are JSON; a few endpoints (/healthz, /livez) answer plain text.
    return (/\bjson\b/.test(x.head.headers.get('content-type') ?? '') ? JSON.parse(text) : text) as T
  }

  function request<T>(o: RequestOptions): Promise<T> {
    const method = o.method ?? 'GET'
    return exclusive(o, o.timeoutMs ?? timeoutMs, async (signal) => {
      const x = await send(o, signal)
      try {
        return await answerOf<T>(x, method, `${method} ${o.path}`)
      } finally {
        x.detach()
      }
    })
  }

  function getAll<T>(requests: RequestOptions[]): Promise<PromiseSettledResult<T>[]> {
    const bad = requests.find((o) => (o.method ?? 'GET') !== 'GET')
    if (bad) return Promise.reject(new Error(`getAll pipelines GETs only, not ${bad.method} ${bad.path}`))
    const ms = Math.max(0, ...requests.map((o) => o.timeoutMs ?? timeoutMs))
    return exclusive({ path: requests.map((o) => o.path).join(', ') }, ms, async (signal) => {
      if (requests.length === 0) return []
      const settled: PromiseSettledResult<T>[] = []
      const first = await sendBytes(Buffer.concat(await Promise.all(requests.map(bytesOf))), 'GET', signal)
      let x: Sent | undefined = first
      try {
        for (const [i, o] of requests.entries()) {
          // the server closed the connection after an answer: the rest go again, one by one
          const own = x ? undefined : await send(o, signal)
          x ??= own!
          try {
            settled.push({ status: 'fulfilled', value: await answerOf<T>(x, 'GET', `GET ${o.path}`) })
          } catch (err) {
            // an answer that could not be read whole (the connection broke) fails the lot, as in request()
            if (!(err instanceof ApiError)) throw err
            settled.push({ status: 'rejected', reason: err })
          } finally {
            own?.detach()
          }
          // the next answer comes on the pipelined connection, unless the server closed it after this one
          const conn: Sent['conn'] = x.conn
          x = i + 1 < requests.length && conn === first.conn && current === conn ? { conn, head: await readHead(conn.reader), detach: () => {} } : undefined
        }
        return settled
      } finally {
        first.detach()
      }
    })
  }

  // A watch holds the connection until it ends, so requests queued behind it wait: the plugins never watch.
  async function* stream(o: StreamOptions): AsyncGenerator<unknown, void, undefined> {
    const method = o.method ?? 'GET'
    const label = `${method} ${o.path}`
    const ac = new AbortController()
    const forward = () => ac.abort(o.signal?.reason)
    let idle: ReturnType<typeof setTimeout> | undefined
    const arm = () => {
      if (!o.idleTimeoutMs) return
      clearTimeout(idle)
      idle = setTimeout(() => ac.abort(timeoutError(label, o.idleTimeoutMs!)), o.idleTimeoutMs)
    }
    let whole = false
    const release = await takeTurn()
    try {
      o.signal?.throwIfAborted()
      o.signal?.addEventListener('abort', forward, { once: true })
      arm()
      let x
      try {
        x = await send(o, ac.signal)
      } catch (err) {
        throw ac.signal.aborted ? ac.signal.reason : err
      }
      try {
        if (x.head.status < 200 || x.head.status > 299) throw new ApiError(statusFromResponse(x.head.status, await readAll(x, method)), label)
        const decoder = new TextDecoder()
        let pending = ''
        for await (const part of bodyOf(x.conn.reader, x.head, method)) {
          arm()
          pending += decoder.decode(part, { stream: true })
          let nl: number
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim()
            pending = pending.slice(nl + 1)
            if (line) yield JSON.parse(line)
          }
        }
        whole = true
        if (!x.head.keepAlive) drop()
        if (pending.trim()) yield JSON.parse(pending)
      } catch (err) {
        throw ac.signal.aborted ? ac.signal.reason : err
      } finally {
        x.detach()
      }
    } finally {
      clearTimeout(idle)
      o.signal?.removeEventListener('abort', forward)
      if (!whole) drop()
      release()
    }
  }

  return {
    server: connection.server,
    request,
    getAll,
    stream,
    close: drop,
    open() {
      current ??= dial()
    },
  }
}
