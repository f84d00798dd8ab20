// One webhook replica in its own process, for the faults that kill one: the webhook server with its
// controllers against the given kubeconfig. It tells its parent its URL and CA when ready, then
// answers "do you lead?" over IPC.
import { startReplica } from '../server/fixtures/replica.ts'
import { defaultSettings, type Settings } from '../../webhooks/settings.ts'

export type ReplicaMessage = { type: 'ready'; url: string; caPem: string } | { type: 'leader'; leader: boolean }

const [kubeconfig, tlsDir, settingsJson] = process.argv.slice(2)
if (!kubeconfig || !tlsDir || !process.send) throw new Error('usage: forked by test/faults/cluster.ts with <kubeconfig> <tls dir> [settings json]')
const settings: Settings = { ...defaultSettings(), ...(settingsJson ? JSON.parse(settingsJson) : {}) }

const server = await startReplica({ kubeconfig, tlsDir, settings, logLevel: process.env.FAULTS_LOG_LEVEL ?? 'silent', syncTimeoutMs: 30_000 })
process.send({ type: 'ready', url: server.url, caPem: server.caPem } satisfies ReplicaMessage)

process.on('message', (m: { type: 'leader' } | { type: 'close' }) => {
  if (m.type === 'close') return void server.close().then(() => process.exit(0))
  process.send!({ type: 'leader', leader: server.controllers?.elector.isLeader() ?? false } satisfies ReplicaMessage)
})
process.on('disconnect', () => process.exit(0))
