// A read-only stand-in for the Kubernetes API, for the coordinator's reads in namespace tests:
// `node api-server.ts <objects.json> <address>` serves GET <path> from the file (re-read at every
// request, so a test changes the cluster by rewriting it) and prints "listening <port>".
// It runs inside the router namespace, where the nodes reach it; run with no arguments it does nothing.
import { readFileSync } from 'node:fs'
import http from 'node:http'

const [file, address] = process.argv.slice(2)
if (file && address) {
  const server = http.createServer((req, res) => {
    const objects = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    const path = (req.url ?? '').split('?')[0]
    const found = req.method === 'GET' ? objects[path] : undefined
    res.setHeader('Content-Type', 'application/json')
    if (found === undefined) {
      res.statusCode = 404
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${path} not found` }))
      return
    }
    res.end(JSON.stringify(found))
  })
  server.listen(0, address, () => {
    const a = server.address()
    process.stdout.write(`listening ${typeof a === 'object' && a ? a.port : ''}\n`)
  })
  // Ends with the test that started it, even if that test dies without stopping it.
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
}
