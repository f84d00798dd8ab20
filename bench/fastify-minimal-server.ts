// Calibration for bench/webhook: Fastify over HTTPS with one route that parses the body (Fastify's
// own JSON parser) and answers the bare server's fixed review — what the framework alone costs
// per request on this machine, before any admission work.
import fastify from 'fastify'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { fixedAnswer } from './spiderippool-review.ts'

const [tlsDir] = process.argv.slice(2)
const app = fastify({ https: { key: readFileSync(`${tlsDir}/tls.key`), cert: readFileSync(`${tlsDir}/tls.crt`), minVersion: 'TLSv1.2' } })
app.post('/', async () => fixedAnswer)
await app.listen({ port: 0, host: '127.0.0.1' })
console.log(`listening on https://127.0.0.1:${(app.server.address() as AddressInfo).port}`)
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
