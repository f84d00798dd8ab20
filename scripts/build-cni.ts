// Builds the CNI plugins as single executables that run on a node without Node.js:
// `npm run build:cni` (or `npx node scripts/build-cni.ts [outDir]`) writes dist/cni/spiderpool and
// dist/cni/coordinator. Each plugin is bundled into one script with esbuild, turned into a
// single-executable blob (with V8's code cache, so start-up skips compiling it) and injected into
// a copy of this Node binary with postject.
import { execFileSync } from 'node:child_process'
import { builtinModules, createRequire } from 'node:module'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Plugin as EsbuildPlugin } from 'esbuild'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export const cniPlugins = {
  spiderpool: 'cni/spiderpool/main.ts',
  coordinator: 'cni/coordinator/main.ts',
} as const

export type CniPluginName = keyof typeof cniPlugins

/** A young generation big enough for a whole CNI command: no scavenge runs (they cost 3–8 ms per command). */
const seaExecArgv = ['--min-semi-space-size=16']

/** The sentinel Node looks for to know a blob was injected (single-executable-applications docs). */
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'

const builtins = new Set(builtinModules.flatMap((m) => (m.startsWith('node:') ? [m] : [m, `node:${m}`])))

/**
 * Node's built-in modules as `require` calls: a single executable's script is CommonJS and can
 * only `require` built-ins, while the sources (and an entry with top-level await) are ESM.
 */
const builtinsByRequire: EsbuildPlugin = {
  name: 'builtins-by-require',
  setup(build) {
    build.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!builtins.has(args.path)) return undefined
      // the require inside the stand-in module is the real one
      return args.namespace === 'builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'builtin' }
    })
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)})`, loader: 'js' }))
  },
}

/** The `yaml` package (read only for a kubeconfig that is not JSON) ships beside the script as an asset: parsing it at every start cost ~5 ms. */
const yamlAsset = 'yaml.cjs'
const yamlFromAsset: EsbuildPlugin = {
  name: 'yaml-from-asset',
  setup(build) {
    build.onResolve({ filter: /^yaml$/ }, () => ({ path: 'yaml', namespace: 'sea-asset' }))
    build.onLoad({ filter: /.*/, namespace: 'sea-asset' }, () => ({
      contents: [
        `const loaded = { exports: {} }`,
        `require('node:vm').compileFunction(require('node:sea').getAsset(${JSON.stringify(yamlAsset)}, 'utf8'), ['module', 'exports', 'require'])(loaded, loaded.exports, require)`,
        `module.exports = loaded.exports`,
      ].join('\n'),
      loader: 'js',
    }))
  },
}

/** The yaml package as one CommonJS script, for the asset. */
async function yamlScript(): Promise<string> {
  const esbuild = await import('esbuild')
  const out = await esbuild.build({ entryPoints: [createRequire(import.meta.url).resolve('yaml')], bundle: true, write: false, platform: 'node', target: 'node24', format: 'cjs', minify: true, legalComments: 'none', logLevel: 'silent' })
  return out.outputFiles[0].text
}

export interface Bundle {
  script: string
  /** the source files in it, relative to the project root */
  sources: string[]
  /** Node's built-in modules it can load: imported, or named to process.getBuiltinModule */
  builtins: string[]
}

/** Loading node:http or node:https costs a plugin ~8 ms at every start; kube/tls-transport.ts is what the plugins use instead. */
const unwantedBuiltins = new Set(['node:http', 'node:https', 'node:http2'])

/** One CommonJS script holding the plugin and everything it imports, Node built-ins and the yaml asset aside. */
export async function bundle(entry: string): Promise<Bundle> {
  const esbuild = await import('esbuild')
  const out = await esbuild.build({
    entryPoints: [path.join(root, entry)],
    bundle: true,
    write: false,
    platform: 'node',
    target: 'node24',
    // ESM keeps top-level await legal; the wrapper below makes the whole bundle one async function
    format: 'esm',
    plugins: [yamlFromAsset, builtinsByRequire],
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
    absWorkingDir: root,
  })
  const code = out.outputFiles[0].text
  if (/\bimport\.meta\b/.test(code)) throw new Error(`${entry}: the bundle uses import.meta, which a CommonJS script cannot`)
  const script = `(async()=>{\n${code}\n})().catch((e)=>{process.stderr.write(String(e?.stack??e)+"\\n");process.exit(1)});\n`
  const sources = Object.keys(out.metafile.inputs).filter((f) => !f.includes(':') && !f.startsWith('node_modules/'))
  const imported = Object.keys(out.metafile.inputs).flatMap((f) => (f.startsWith('builtin:') ? [f.slice('builtin:'.length)] : []))
  const named = [...code.matchAll(/getBuiltinModule\(\s*["'`]([^"'`]+)["'`]/g)].map((m) => m[1])
  const builtins = [...new Set([...imported, ...named].map((m) => (m.startsWith('node:') ? m : `node:${m}`)))].sort()
  const unwanted = builtins.filter((m) => unwantedBuiltins.has(m))
  if (unwanted.length) throw new Error(`${entry}: the bundle loads ${unwanted.join(', ')}; the plugins reach the API through kube/tls-transport.ts`)
  return { script, sources, builtins }
}

/** Bundles the plugin and writes `outDir/<name>`, an executable that carries Node and the plugin. */
export async function buildPlugin(name: CniPluginName, outDir: string, node = process.execPath): Promise<string> {
  const work = mkdtempSync(path.join(tmpdir(), `build-cni-${name}-`))
  try {
    const script = path.join(work, `${name}.cjs`)
    const made = await bundle(cniPlugins[name])
    writeFileSync(script, made.script)
    const yaml = path.join(work, yamlAsset)
    writeFileSync(yaml, await yamlScript())
    const blob = path.join(work, `${name}.blob`)
    const config = path.join(work, 'sea-config.json')
    writeFileSync(config, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, execArgv: seaExecArgv, assets: { [yamlAsset]: yaml } }))
    execFileSync(node, ['--experimental-sea-config', config], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] })
    const executable = path.join(work, name)
    copyFileSync(node, executable)
    chmodSync(executable, 0o755)
    // postject ships no types; its API is inject(file, resource, data, options)
    const { inject } = createRequire(import.meta.url)('postject') as { inject: (file: string, name: string, data: Buffer, o: object) => Promise<void> }
    const warn = console.warn
    // postject warns about ELF notes it does not know; the binary is fine
    console.warn = () => {}
    try {
      await inject(executable, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: seaFuse })
    } finally {
      console.warn = warn
    }
    mkdirSync(outDir, { recursive: true })
    const target = path.join(outDir, name)
    // rename: a runtime executing the old binary keeps it, the next exec gets the new one whole
    renameSync(executable, `${target}.new`)
    renameSync(`${target}.new`, target)
    // what the executable was made of, so that tests can tell whether it is older than its sources
    writeFileSync(`${target}.sources.json`, `${JSON.stringify(made.sources, null, 1)}\n`)
    return target
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

export async function buildCni(outDir = path.join(root, 'dist/cni'), names: CniPluginName[] = Object.keys(cniPlugins) as CniPluginName[]): Promise<string[]> {
  const built: string[] = []
  for (const name of names) built.push(await buildPlugin(name, outDir))
  return built
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = process.argv[2]
  if (arg?.startsWith('-')) {
    // an option is no directory: `npm run build:cni -- --help` once built the plugins into ./--help
    process.stdout.write('usage: npm run build:cni [-- OUTPUT_DIR]  (default dist/cni): bundles each CNI plugin and makes it a single executable\n')
    process.exit(arg === '--help' || arg === '-h' ? 0 : 2)
  }
  const outDir = path.resolve(arg ?? path.join(root, 'dist/cni'))
  for (const file of await buildCni(outDir)) process.stdout.write(`built ${path.relative(process.cwd(), file) || file}\n`)
}
