// One HTTPS POST to a webhook, verified against its caBundle and bounded by its timeout. Errors are
// worded like Go's net/http ones (`Post "<url>": ...`) because kube-apiserver passes those on to the user.

import { Agent, request } from 'node:https'
import { isIP } from 'node:net'
import { defaultServicePort, type WebhookClientConfig } from './types.ts'

/** Where a Service reference is reached; on one machine every Service is a local port. */
export type ServiceResolver = (namespace: string, name: string, port: number) => { host: string; port: number }

export interface WebhookEndpoint {
  /** the URL the error messages show, as kube-apiserver would show it */
  displayUrl: string
  host: string
  port: number
  /** path and query */
  path: string
  /** the name the serving certificate must carry; for an IP address, the address itself */
  servername?: string
  hostHeader: string
  ca?: string
}

export class WebhookClientError extends Error {
  override name = 'WebhookClientError'
}

/** The endpoint of a client config, with the `timeout` query parameter kube-apiserver adds. Throws what makes no client. */
export function webhookEndpoint(config: WebhookClientConfig, timeoutSeconds: number, resolveService: ServiceResolver): WebhookEndpoint {
  const ca = caBundlePem(config.caBundle)
  const timeout = `timeout=${timeoutSeconds}s`
  if (config.url !== undefined) {
    let url: URL
    try {
      url = new URL(config.url)
    } catch {
      throw new WebhookClientError(`parse ${JSON.stringify(config.url)}: invalid URL`)
    }
    if (url.protocol !== 'https:') throw new WebhookClientError(`webhook URL ${JSON.stringify(config.url)} does not use https`)
    url.search = timeout
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
    return {
      displayUrl: url.href,
      host,
      port: url.port ? Number(url.port) : 443,
      path: url.pathname + url.search,
      ...(isIP(host) ? {} : { servername: host }),
      hostHeader: url.host,
      ...(ca ? { ca } : {}),
    }
  }
  if (config.service) {
    const { namespace, name, path = '/', port = defaultServicePort } = config.service
    const dnsName = `${name}.${namespace}.svc`
    const reached = resolveService(namespace, name, port)
    const pathAndQuery = `${path.startsWith('/') ? path : `/${path}`}?${timeout}`
    return {
      displayUrl: `https://${dnsName}:${port}${pathAndQuery}`,
      host: reached.host,
      port: reached.port,
      path: pathAndQuery,
      servername: dnsName,
      hostHeader: `${dnsName}:${port}`,
      ...(ca ? { ca } : {}),
    }
  }
  throw new WebhookClientError('clientConfig has neither url nor service')
}

function caBundlePem(caBundle: string | undefined): string | undefined {
  if (caBundle === undefined || caBundle === '') return undefined
  const pem = Buffer.from(caBundle, 'base64').toString('utf8')
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new WebhookClientError('unable to load root certificates: unable to parse bytes as PEM block')
  return pem
}

export interface WebhookReply {
  statusCode: number
  body: string
}

// Connections to a webhook are kept and reused, as kube-apiserver's transport keeps them: a new TLS
// handshake per admission would cost more than the admission. An idle kept socket does not hold a
// closing webhook server open (Fastify closes idle connections) nor this process (Node unrefs it).
const agents = new Map<string, Agent>()
const maxAgents = 64

function agentFor(endpoint: WebhookEndpoint): Agent {
  const key = JSON.stringify([endpoint.host, endpoint.port, endpoint.servername ?? '', endpoint.ca ?? ''])
  let agent = agents.get(key)
  if (!agent) {
    if (agents.size >= maxAgents) {
      const [oldest, idle] = agents.entries().next().value!
      idle.destroy()
      agents.delete(oldest)
    }
    agent = new Agent({ keepAlive: true, scheduling: 'lifo' })
    agents.set(key, agent)
  }
  return agent
}

/** A kept connection the server had closed just as it was reused: nothing reached the webhook, so one retry on a new connection is safe. */
const closedUnderUs = (error: Error & { code?: string }) => error.code === 'ECONNRESET' || error.code === 'EPIPE'

/** POSTs `body`; rejects with a WebhookClientError when no complete reply arrives within `timeoutMs`. */
export function postToWebhook(endpoint: WebhookEndpoint, body: string, timeoutMs: number): Promise<WebhookReply> {
  return post(endpoint, body, timeoutMs, agentFor(endpoint))
}

function post(endpoint: WebhookEndpoint, body: string, timeoutMs: number, agent: Agent | false): Promise<WebhookReply> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    let settled = false
    const finish = (outcome: () => void) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      outcome()
    }
    const fail = (why: string) => finish(() => reject(new WebhookClientError(`Post ${JSON.stringify(endpoint.displayUrl)}: ${why}`)))

    const req = request(
      {
        method: 'POST',
        host: endpoint.host,
        port: endpoint.port,
        path: endpoint.path,
        ...(endpoint.servername ? { servername: endpoint.servername } : {}),
        ...(endpoint.ca ? { ca: endpoint.ca } : {}),
        agent,
        headers: {
          host: endpoint.hostHeader,
          'content-type': 'application/json',
          accept: 'application/json, */*',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => finish(() => resolve({ statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })))
        res.on('error', (error) => fail(transportErrorText(error, endpoint)))
        res.on('close', () => {
          if (!res.complete) fail('unexpected EOF')
        })
      },
    )
    const timer = setTimeout(() => {
      fail('context deadline exceeded')
      req.destroy()
    }, timeoutMs)
    req.on('error', (error: Error & { code?: string }) => {
      if (agent && req.reusedSocket && closedUnderUs(error) && !settled) {
        settled = true
        clearTimeout(timer)
        post(endpoint, body, Math.max(1, timeoutMs - (Date.now() - started)), false).then(resolve, reject)
        return
      }
      fail(transportErrorText(error, endpoint))
    })
    req.end(body)
  })
}

const unknownAuthority = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
])

function transportErrorText(error: Error & { code?: string }, endpoint: WebhookEndpoint): string {
  const address = `${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`
  switch (error.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${address}: connect: connection refused`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${endpoint.host}: no such host`
    case 'ECONNRESET':
      return `read tcp ${address}: read: connection reset by peer`
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid'
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `tls: failed to verify certificate: x509: ${error.message}`
  }
  if (error.code && unknownAuthority.has(error.code)) return 'tls: failed to verify certificate: x509: certificate signed by unknown authority'
  return error.message
}
