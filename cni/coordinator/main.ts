// The `coordinator` CNI binary. It runs at every pod start: run from source, the compile cache
// keeps Node from type-stripping the same sources again each time (~120 ms), so it is on before
// anything loads; the single executable has its code cache built in.
import { enableCompileCache } from 'node:module'

if (!process.getBuiltinModule('node:sea')?.isSea()) enableCompileCache()
const { runPlugin } = await import('../skel.ts')
const { coordinatorPlugin } = await import('./index.ts')
await runPlugin(coordinatorPlugin, { about: 'coordinator: routes, rules, neighbours and veth for pods with underlay NICs (spiderpool-ts)' })
