// Starts the API stand-in in the router namespace and writes the kubeconfig the coordinator uses.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { routerIPv4 } from './cluster.ts'
import type { Cluster } from './cluster.ts'

export interface Api {
  kubeconfig: string
  /** Replaces what the API serves: path → object. */
  serve(objects: Record<string, unknown>): void
  stop(): void
}

const serverFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'api-server.ts')

export const coordinatorPath = '/apis/spiderpool.spidernet.io/v2beta1/spidercoordinators/default'
export const podPath = (namespace: string, name: string) => `/api/v1/namespaces/${namespace}/pods/${name}`

export async function startApi(cluster: Cluster, objects: Record<string, unknown>): Promise<Api> {
  const file = path.join(cluster.dir, 'api-objects.json')
  const serve = (o: Record<string, unknown>) => writeFileSync(file, JSON.stringify(o))
  serve(objects)
  const child = spawn('ip', ['netns', 'exec', cluster.router, process.execPath, serverFile, file, routerIPv4], { stdio: ['pipe', 'pipe', 'inherit'] })
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the API stand-in did not start within 10 s')), 10_000)
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /listening (\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the API stand-in exited with ${code}`))
    })
  })
  const kubeconfig = path.join(cluster.dir, 'coordinator.kubeconfig')
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server: `http://${routerIPv4}:${port}` } }],
      users: [{ name: 'cni', user: { token: 'test-token' } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'cni' } }],
      'current-context': 'test',
    }),
  )
  return {
    kubeconfig,
    serve,
    stop: () => {
      child.stdin.end()
      child.kill()
    },
  }
}
