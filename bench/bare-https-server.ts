// Baseline for bench/webhook: a bare node:https server that reads the body and answers one fixed
// review — the least any HTTPS admission server can do per request on this machine.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'

const [tlsDir] = process.argv.slice(2)
const answer = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response: { uid: 'fixed', allowed: true, status: { code: 200 } },
})
const server = createServer(
  { key: readFileSync(`${tlsDir}/tls.key`), cert: readFileSync(`${tlsDir}/tls.crt`), minVersion: 'TLSv1.2', keepAlive: true },
  (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString())
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) })
      res.end(answer)
    })
  },
)
server.listen(0, '127.0.0.1', () => console.log(`listening on https://127.0.0.1:${(server.address() as AddressInfo).port}`))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
