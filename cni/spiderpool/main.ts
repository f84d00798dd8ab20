// The `spiderpool` IPAM CNI binary. It runs at every pod start: run from source, the compile cache
// keeps Node from type-stripping the same files each time; the single executable has its code
// cache built in. No top-level await, so that the bundle can be the CommonJS script Node's
// single-executable applications run.
import { enableCompileCache } from 'node:module'

if (!process.getBuiltinModule('node:sea')?.isSea()) enableCompileCache()
Promise.all([import('../skel.ts'), import('./index.ts')]).then(([{ runPlugin }, { spiderpoolIPAM }]) =>
  runPlugin(spiderpoolIPAM, { about: 'spiderpool: claims the addresses the admission webhook reserved for the pod (spiderpool-ts)' }),
)
