// The server under fuzzing, run as a child process so that a crash is seen as a crash: the real
// webhook server over HTTPS (an empty cluster, or the local default with its control plane).
// It tells its parent where it listens and answers memory samples taken after a full GC.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startWebhookServer } from '../server/webhook.ts'
import { startLocalDefault } from '../server/up.ts'
import { defaultSettings } from '../webhooks/settings.ts'

export interface ServerReady {
  type: 'ready'
  url: string
  caPem: string
  /** with the control plane: its kubeconfig, to read the pools */
  kubeconfig?: string
}

export interface MemorySample {
  type: 'memory'
  rss: number
  heapUsed: number
}

const withControlPlane = process.argv.includes('--control-plane')
const logLevel = process.argv.find((a) => a.startsWith('--log-level='))?.slice('--log-level='.length) ?? 'info'
const dir = mkdtempSync(path.join(tmpdir(), 'fuzz-server-'))
// reservations must not expire during a run: the pod leg compares pool status before and after
const settings = { ...defaultSettings(), reservationTTLSeconds: 24 * 3600 }

const started = withControlPlane
  ? await startLocalDefault({ dataDir: dir, apiPort: 0, settings, logLevel }).then((l) => ({ url: l.webhook.url, caPem: l.webhook.caPem, kubeconfig: l.controlPlane.kubeconfigPath, close: l.close }))
  : await startWebhookServer({ host: '127.0.0.1', port: 0, tlsDir: dir, settings, serviceName: 'spiderpool-controller', namespace: 'kube-system', logLevel })

const collect = (globalThis as { gc?: () => void }).gc
process.on('message', async (m: { type: string }) => {
  if (m.type === 'memory') {
    // twice: the first pass may only queue finalizers
    collect?.()
    await new Promise((r) => setImmediate(r))
    collect?.()
    const { rss, heapUsed } = process.memoryUsage()
    process.send!({ type: 'memory', rss, heapUsed } satisfies MemorySample)
  }
  if (m.type === 'close') {
    await started.close()
    rmSync(dir, { recursive: true, force: true })
    process.disconnect()
  }
})
process.send!({ type: 'ready', url: started.url, caPem: started.caPem, ...('kubeconfig' in started && { kubeconfig: started.kubeconfig }) } satisfies ServerReady)
