// A TCP round-robin in front of webhook replicas, as a Service spreads connections over its pods:
// each connection goes whole to the next replica, TLS passes through untouched.
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'

export interface Upstream {
  host: string
  port: number
}

export interface RoundRobinProxy {
  /** host:port to dial */
  address: string
  /** connections handed to each upstream, in the order given */
  connections: number[]
  close(): Promise<void>
}

export async function startRoundRobinProxy(upstreams: Upstream[], host = '127.0.0.1'): Promise<RoundRobinProxy> {
  const connections = upstreams.map(() => 0)
  const open = new Set<Socket>()
  let next = 0
  const server = createServer((client) => {
    const i = next++ % upstreams.length
    connections[i]++
    const upstream = connect(upstreams[i].port, upstreams[i].host)
    for (const s of [client, upstream]) {
      open.add(s)
      s.setNoDelay(true)
      s.on('close', () => open.delete(s))
    }
    // either side failing ends the exchange for both
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end)
    upstream.on('error', end)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // a Service takes connections in the kernel with no accept queue to overflow; 511 (the default) drops SYNs in a burst
    server.listen({ port: 0, host, backlog: 4096 }, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    address: `${host}:${port}`,
    connections,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const s of open) s.destroy()
      await closed
    },
  }
}
