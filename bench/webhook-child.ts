// The webhook server measured by bench/memory.ts and bench/soak.ts, in its own process so that its
// RSS is its own: the webhook server against the given kubeconfig, answering the bench over IPC
// with its memory (after a full GC when asked; fork it with --expose-gc), what its caches hold, the
// admission requests it has answered, and a heap snapshot on request.
import { readFileSync } from 'node:fs'
import { getHeapSpaceStatistics, getHeapStatistics, writeHeapSnapshot } from 'node:v8'
import { startReplica } from '../test/server/fixtures/replica.ts'
import { parseRecords } from '../ipam/records.ts'

export type WebhookChildQuery =
  | { type: 'memory'; gc: boolean }
  | { type: 'cache' }
  | { type: 'requests' }
  | { type: 'heap-snapshot'; file: string }
  | { type: 'close' }

export interface Memory {
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
  arrayBuffers: number
  /** anonymous memory of the process (V8 heap, malloc, JIT code), from /proc/self/smaps_rollup; undefined elsewhere */
  anonymous?: number
  /** pages freed with MADV_FREE: still counted in RSS until the kernel needs them */
  lazyFree?: number
  /** resident memory by kind of mapping, from /proc/self/smaps: malloc's main heap (`[heap]`), anonymous mappings (V8's pages, other malloc arenas), files (the node binary, libraries) */
  mappings?: { brkHeap: number; anonymousMappings: number; files: number; mallocArenas: number; largestAnonymous: { size: number; rss: number }[]; v8Pages: number }
  /** V8's own malloc (compiler zones and the like), now and at its peak, and the heap's committed physical size */
  v8: { mallocedMemory: number; peakMallocedMemory: number; totalPhysicalSize: number }
  /** V8's heap by space: committed and resident bytes */
  spaces: Record<string, { committed: number; physical: number; used: number }>
  /** memory-reducing GCs the server ran by itself after bursts (server/memory-trim.ts) */
  memoryTrims: number
}

export type WebhookChildMessage =
  | { type: 'ready'; url: string; caPem: string }
  | ({ type: 'memory' } & Memory)
  /** pools and pods in the informer caches, and the records in the pools' status */
  | { type: 'cache'; synced: boolean; pools: number; records: number; pods: number; leader: boolean }
  /** admission requests answered since the start, by path, and by HTTP status */
  | { type: 'requests'; byPath: Record<string, number>; byStatus: Record<string, number> }
  | { type: 'heap-snapshot'; file: string }

const [kubeconfig, tlsDir] = process.argv.slice(2)
if (!kubeconfig || !tlsDir || !process.send) throw new Error('usage: forked by a bench with <kubeconfig> <tls dir>')
const send = (m: WebhookChildMessage) => process.send!(m)

const server = await startReplica({ kubeconfig, tlsDir, logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn', syncTimeoutMs: 60_000 })

const byPath: Record<string, number> = {}
const byStatus: Record<string, number> = {}
server.app.server.on('request', (req: { url?: string }, res: { statusCode: number; once(e: 'finish', f: () => void): void }) => {
  const path = (req.url ?? '').split('?')[0]
  res.once('finish', () => {
    byPath[path] = (byPath[path] ?? 0) + 1
    byStatus[res.statusCode] = (byStatus[res.statusCode] ?? 0) + 1
  })
})

send({ type: 'ready', url: server.url, caPem: server.caPem })

/** One field of /proc/self/smaps_rollup in bytes; undefined where there is none. */
function rollup(field: string): number | undefined {
  try {
    const line = readFileSync('/proc/self/smaps_rollup', 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))
    return line ? Number(line.split(/\s+/)[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

function v8Memory(): Memory['v8'] {
  const h = getHeapStatistics()
  return { mallocedMemory: h.malloced_memory, peakMallocedMemory: h.peak_malloced_memory, totalPhysicalSize: h.total_physical_size }
}

function residentByMapping(): Memory['mappings'] {
  try {
    const sizes = { brkHeap: 0, anonymousMappings: 0, files: 0, mallocArenas: 0 }
    let kind: keyof typeof sizes = 'anonymousMappings'
    let size = 0
    const anonymous: { size: number; rss: number }[] = []
    // V8's regular pages are 256 KiB mappings each, whether in a space or in its pool of freed pages
    let v8Pages = 0
    for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
      const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
      if (header) {
        size = parseInt(header[2], 16) - parseInt(header[1], 16)
        // glibc's arenas of other threads are 64 MiB mappings, aligned to 64 MiB
        const arena = parseInt(header[1], 16) % 2 ** 26 === 0 && size <= 2 ** 26
        kind = header[3] === '[heap]' ? 'brkHeap' : header[3].startsWith('/') ? 'files' : arena ? 'mallocArenas' : 'anonymousMappings'
      } else if (line.startsWith('Rss:')) {
        const rss = Number(line.split(/\s+/)[1]) * 1024
        sizes[kind] += rss
        if (kind === 'anonymousMappings') anonymous.push({ size, rss })
        if (kind === 'anonymousMappings' && size === 256 * 1024) v8Pages += rss
      }
    }
    anonymous.sort((a, b) => b.rss - a.rss)
    return { ...sizes, largestAnonymous: anonymous.slice(0, 6), v8Pages }
  } catch {
    return undefined
  }
}

const gc = (globalThis as { gc?: () => void }).gc
const memory = (collect: boolean): Memory => {
  if (collect) {
    if (!gc) throw new Error('memory after GC asked, but the child was not started with --expose-gc')
    // twice: the first collection's finalizers free more for the second
    gc()
    gc()
  }
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage()
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { committed: s.space_size, physical: s.physical_space_size, used: s.space_used_size }]))
  return { rss, heapUsed, heapTotal, external, arrayBuffers, spaces, memoryTrims: server.memoryTrims, anonymous: rollup('Anonymous'), lazyFree: rollup('LazyFree'), mappings: residentByMapping(), v8: v8Memory() }
}

process.on('message', (m: WebhookChildQuery) => {
  switch (m.type) {
    case 'memory':
      return send({ type: 'memory', ...memory(m.gc) })
    case 'cache': {
      const snapshot = server.cluster!.snapshot
      const pools = snapshot.ippools()
      let records = 0
      for (const p of pools) records += parseRecords((p.status as { allocatedIPs?: string } | undefined)?.allocatedIPs).records?.length ?? 0
      return send({ type: 'cache', synced: server.cluster!.hasSynced(), pools: pools.length, records, pods: snapshot.pods().length, leader: server.controllers?.elector.isLeader() ?? false })
    }
    case 'requests':
      return send({ type: 'requests', byPath: { ...byPath }, byStatus: { ...byStatus } })
    case 'heap-snapshot':
      return send({ type: 'heap-snapshot', file: writeHeapSnapshot(m.file) })
    case 'close':
      void server.close().then(() => process.exit(0))
  }
})
process.on('disconnect', () => process.exit(0))
