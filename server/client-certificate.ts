// With --client-ca, only a caller presenting a certificate signed by that CA (the API server) may send
// admission reviews. Probes and metrics stay open: kubelet and Prometheus carry no such certificate,
// and those paths neither change nor reveal cluster state.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { TLSSocket } from 'node:tls'

const openPaths = new Set(['/healthz', '/readyz', '/metrics'])

export async function requireClientCertificate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const path = request.url.split('?', 1)[0]
  if (openPaths.has(path)) return
  const socket = request.raw.socket as TLSSocket
  if (socket.authorized) return
  request.log.warn({ reason: socket.authorizationError ? String(socket.authorizationError) : 'no client certificate' }, 'admission request without a trusted client certificate refused')
  await reply.code(401).send({ error: 'Unauthorized', message: 'a client certificate signed by the configured client CA is required' })
}
