// Builds the CNI plugins as single executables that run on a node without Node.js:
// `npm run build:cni` (or `npx node scripts/build-cni.ts [outDir]`) writes dist/cni/spiderpool and
// dist/cni/coordinator. Each plugin is bundled into one script with esbuild and shipped as an
// asset beside V8's code cache of every function in it; a small loader is the single-executable
// blob's main script, and the blob is injected into a copy of this Node binary with postject.
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

/**
 * The executables' node options.
 * - A young generation big enough for a whole CNI command: no scavenge runs (they cost 3–8 ms per command).
 * - OpenSSL's certificate store instead of Node's bundled one: loading node:tls otherwise parses
 *   ~150 bundled root certificates on a second thread (~8 ms of CPU beside every pod start, and
 *   freeing them at exit). The plugins trust their kubeconfig's CA alone (kube/tls-transport.ts,
 *   `soleServer`); a kubeconfig without one trusts the node's system store, as Spiderpool's Go
 *   plugins do.
 */
const seaExecArgv = ['--min-semi-space-size=16', '--use-openssl-ca']

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

/** One script holding the plugin and everything it imports (Node built-ins and the yaml asset aside): a function of `require`, which the loader calls. */
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
  // one function of the single executable's `require`, which the loader calls
  const script = `(function(require){(async()=>{\n${code}\n})().catch((e)=>{process.stderr.write(String(e?.stack??e)+"\\n");process.exit(1)})})\n`
  const sources = Object.keys(out.metafile.inputs).filter((f) => !f.includes(':') && !f.startsWith('node_modules/'))
  const imported = Object.keys(out.metafile.inputs).flatMap((f) => (f.startsWith('builtin:') ? [f.slice('builtin:'.length)] : []))
  const named = [...code.matchAll(/getBuiltinModule\(\s*["'`]([^"'`]+)["'`]/g)].map((m) => m[1])
  const builtins = [...new Set([...imported, ...named].map((m) => (m.startsWith('node:') ? m : `node:${m}`)))].sort()
  const unwanted = builtins.filter((m) => unwantedBuiltins.has(m))
  if (unwanted.length) throw new Error(`${entry}: the bundle loads ${unwanted.join(', ')}; the plugins reach the API through kube/tls-transport.ts`)
  return { script, sources, builtins }
}

/**
 * Makes V8's code cache of `scriptFile` with every function in it compiled: the cache Node makes
 * for a single executable's main script holds only the functions compiled before it runs (its top
 * level), so each start compiled the rest again as they were first called (~4 ms per pod start).
 * It runs in a node with the executables' options, because V8 refuses a cache made under other
 * flags; --no-lazy is on only while compiling and is off again when the cache is written, for the
 * same reason. The loader (`loaderScript`) reports a refused cache on stderr.
 */
function writeCodeCache(scriptFile: string, filename: string, cacheFile: string, node: string): void {
  const maker = [
    `const [scriptFile, filename, cacheFile] = process.argv.slice(1)`,
    `const { readFileSync, writeFileSync } = require('node:fs')`,
    `const { setFlagsFromString } = require('node:v8')`,
    `const { Script } = require('node:vm')`,
    `setFlagsFromString('--no-lazy')`,
    `const script = new Script(readFileSync(scriptFile, 'utf8'), { filename })`,
    `setFlagsFromString('--lazy')`,
    `writeFileSync(cacheFile, script.createCachedData())`,
  ].join('\n')
  execFileSync(node, [...seaExecArgv, '-e', maker, scriptFile, filename, cacheFile], { stdio: ['ignore', 'ignore', 'pipe'] })
}

const pluginAsset = 'plugin.js'
const cacheAsset = 'plugin.cache'

/** The executable's main script: runs the plugin from its asset with the code cache beside it. */
function loaderScript(name: CniPluginName): string {
  return [
    `const { getAsset } = require('node:sea')`,
    `const { Script } = require('node:vm')`,
    `const script = new Script(getAsset(${JSON.stringify(pluginAsset)}, 'utf8'), { filename: ${JSON.stringify(`${name}.js`)}, cachedData: new Uint8Array(getAsset(${JSON.stringify(cacheAsset)})) })`,
    `if (script.cachedDataRejected) process.stderr.write(${JSON.stringify(`${name}: V8 refused the code cache built in; every start compiles the plugin again\n`)})`,
    `script.runInThisContext()(require)`,
  ].join('\n')
}

/** Bundles the plugin and writes `outDir/<name>`, an executable that carries Node and the plugin. */
export async function buildPlugin(name: CniPluginName, outDir: string, node = process.execPath): Promise<string> {
  const work = mkdtempSync(path.join(tmpdir(), `build-cni-${name}-`))
  try {
    const script = path.join(work, pluginAsset)
    const made = await bundle(cniPlugins[name])
    writeFileSync(script, made.script)
    const cache = path.join(work, cacheAsset)
    writeCodeCache(script, `${name}.js`, cache, node)
    const loader = path.join(work, 'loader.cjs')
    writeFileSync(loader, loaderScript(name))
    const yaml = path.join(work, yamlAsset)
    writeFileSync(yaml, await yamlScript())
    const blob = path.join(work, `${name}.blob`)
    const config = path.join(work, 'sea-config.json')
    const assets = { [pluginAsset]: script, [cacheAsset]: cache, [yamlAsset]: yaml }
    writeFileSync(config, JSON.stringify({ main: loader, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, execArgv: seaExecArgv, assets }))
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
