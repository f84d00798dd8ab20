// Baseline for bench/webhook: a bare node:https server that reads the body and answers one fixed
// review — the least any HTTPS admission server can do per request on this machine.
// A second argument, BUSY_MICROSECONDS, makes it busy-wait that long per request before answering:
// the bench's calibration of what a handler's own work costs on the machine, free of any framework.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { fixedAnswer } from './spiderippool-review.ts'

const [tlsDir, busy = '0'] = process.argv.slice(2)
const busyMs = Number(busy) / 1000
const answer = JSON.stringify(fixedAnswer)
const server = createServer(
  { key: readFileSync(`${tlsDir}/tls.key`), cert: readFileSync(`${tlsDir}/tls.crt`), minVersion: 'TLSv1.2', keepAlive: true },
  (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString())
      if (busyMs > 0) for (const until = performance.now() + busyMs; performance.now() < until; );
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) })
      res.end(answer)
    })
  },
)
server.listen(0, '127.0.0.1', () => console.log(`listening on https://127.0.0.1:${(server.address() as AddressInfo).port}`))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
