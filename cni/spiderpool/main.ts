// The `spiderpool` IPAM CNI binary. It runs at every pod start: run from source, the compile cache
// keeps Node from type-stripping the same files each time; the single executable has its code
// cache built in. No top-level await, so that the bundle can be the CommonJS script Node's
// single-executable applications run. The API connection is opened first, from the config on
// stdin: its TLS handshake runs while the rest of the plugin loads.
import { enableCompileCache } from 'node:module'

if (!process.getBuiltinModule('node:sea')?.isSea()) enableCompileCache()
Promise.all([import('../skel.ts'), import('./api.ts')]).then(([{ earlyConfig, runPlugin }, { openEarly }]) => {
  const config = earlyConfig()
  if (config) openEarly(config)
  return import('./index.ts').then(({ spiderpoolIPAM }) =>
    runPlugin(spiderpoolIPAM, { about: 'spiderpool: claims the addresses the admission webhook reserved for the pod (spiderpool-ts)' }),
  )
})
