// The Kubernetes API calls the code makes, found with the TypeScript checker: every call of a
// `Store` method (kube/store.ts) and every raw `Transport` request, with the resource traced back
// to where it is named (`resources.X`, a Resource literal), through functions that pass it on.
// A call whose resource cannot be traced is reported as unattributed, never ignored. The chart's
// RBAC test compares the result with the Roles the chart grants.
import { readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { resources } from '../../kube/resources.ts'

export type Component = 'server' | 'cni'

export interface ApiCall {
  component: Component
  group: string
  /** plural, with `/status` for the status subresource */
  resource: string
  verb: string
  /** where the resource is named, and the call it reaches */
  at: string
  call: string
}

export interface Scan {
  calls: ApiCall[]
  /** file:line and why, of each call that could not be traced to a resource */
  unattributed: string[]
  /** raw Transport requests: file:line (these bypass the Store and need a declared list of what they read) */
  rawRequests: { at: string; file: string }[]
  /** resources named with resourcePath() in each file, for checking the raw requests' declarations */
  resourcePaths: Map<string, { group: string; resource: string }[]>
}

export interface ScanOptions {
  root: string
  /** folders scanned, relative to root */
  folders: string[]
  /** files or folders (relative) whose calls are not the deployed system's (the local control plane, `up`) */
  excluded: string[]
}

const storeVerbs: Record<string, { verb: string; status?: boolean }> = {
  get: { verb: 'get' },
  list: { verb: 'list' },
  listAll: { verb: 'list' },
  watch: { verb: 'watch' },
  create: { verb: 'create' },
  update: { verb: 'update' },
  updateStatus: { verb: 'update', status: true },
  patch: { verb: 'patch' },
  delete: { verb: 'delete' },
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name)
    if (statSync(full).isDirectory()) return filesUnder(full)
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [full] : []
  })
}

const unwrap = (e: ts.Expression): ts.Expression => {
  while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isNonNullExpression(e) || ts.isSatisfiesExpression(e) || ts.isTypeAssertionExpression(e)) e = e.expression
  return e
}

interface Concrete {
  group: string
  plural: string
  node: ts.Node
}

export function scanApiCalls(o: ScanOptions): Scan {
  const rel = (f: string) => path.relative(o.root, f)
  const isExcluded = (f: string) => o.excluded.some((x) => rel(f) === x || rel(f).startsWith(x.endsWith('/') ? x : `${x}/`))
  const rootNames = o.folders.flatMap((f) => filesUnder(path.join(o.root, f)))
  const program = ts.createProgram(rootNames, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    types: ['node'],
  })
  const checker = program.getTypeChecker()
  const sources = program.getSourceFiles().filter((s) => rootNames.includes(path.resolve(s.fileName)))
  const where = (n: ts.Node) => {
    const s = n.getSourceFile()
    return `${rel(s.fileName)}:${s.getLineAndCharacterOfPosition(n.getStart()).line + 1}`
  }
  const resolved = (s: ts.Symbol | undefined) => (s && s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s)
  const memberOf = (node: ts.Expression, file: string, iface: string): string | undefined => {
    if (!ts.isPropertyAccessExpression(node)) return undefined
    const symbol = checker.getSymbolAtLocation(node.name)
    for (const d of symbol?.declarations ?? []) {
      const owner = d.parent
      if (ts.isInterfaceDeclaration(owner) && owner.name.text === iface && rel(owner.getSourceFile().fileName) === file) return node.name.text
    }
    return undefined
  }

  const calls: ApiCall[] = []
  const unattributed: string[] = []
  const rawRequests: Scan['rawRequests'] = []
  const resourcePaths = new Map<string, { group: string; resource: string }[]>()

  // every call expression, once, for finding the callers of a function
  const allCalls: ts.CallExpression[] = []
  for (const s of sources) {
    const visit = (n: ts.Node): void => {
      if (ts.isCallExpression(n)) allCalls.push(n)
      ts.forEachChild(n, visit)
    }
    visit(s)
  }

  const resourcesSymbol = (() => {
    const file = program.getSourceFile(path.join(o.root, 'kube/resources.ts'))
    const exported = file && checker.getSymbolAtLocation(file)
    return exported && checker.getExportsOfModule(exported).find((x) => x.name === 'resources')
  })()

  const functionSymbol = (fn: ts.SignatureDeclaration): ts.Symbol | undefined => {
    if ((ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn)) && fn.name) return checker.getSymbolAtLocation(fn.name)
    const parent = fn.parent
    if ((ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return checker.getSymbolAtLocation(parent.name)
    return undefined
  }

  /** The resources an expression can be, or an explanation of why it cannot be traced. */
  function trace(e: ts.Expression, seen: Set<ts.Node>): Concrete[] | string {
    e = unwrap(e)
    if (seen.has(e)) return []
    seen.add(e)
    if (ts.isConditionalExpression(e)) {
      const a = trace(e.whenTrue, seen)
      const b = trace(e.whenFalse, seen)
      if (typeof a === 'string') return a
      if (typeof b === 'string') return b
      return [...a, ...b]
    }
    if (ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.expression) && resolved(checker.getSymbolAtLocation(e.expression)) === resourcesSymbol) {
      const r = (resources as Record<string, { group: string; plural: string }>)[e.name.text]
      return r ? [{ group: r.group, plural: r.plural, node: e }] : `${where(e)}: resources.${e.name.text} does not exist`
    }
    if (ts.isObjectLiteralExpression(e)) {
      const text = (name: string) => {
        const p = e.properties.find((x) => ts.isPropertyAssignment(x) && ts.isIdentifier(x.name) && x.name.text === name) as ts.PropertyAssignment | undefined
        return p && ts.isStringLiteral(p.initializer) ? p.initializer.text : undefined
      }
      const group = text('group')
      const plural = text('plural')
      return group !== undefined && plural !== undefined ? [{ group, plural, node: e }] : `${where(e)}: a Resource literal without string group and plural`
    }
    if (ts.isIdentifier(e)) {
      const symbol = resolved(checker.getSymbolAtLocation(e))
      const d = symbol?.valueDeclaration
      if (d && ts.isVariableDeclaration(d) && d.initializer && d.parent.flags & ts.NodeFlags.Const) return trace(d.initializer, seen)
      if (d && ts.isParameter(d)) {
        const fn = d.parent as ts.SignatureDeclaration
        const index = fn.parameters.indexOf(d)
        const fnSymbol = functionSymbol(fn)
        if (!fnSymbol) return `${where(e)}: the resource is a parameter of a function this scan cannot find the callers of`
        const callers = allCalls.filter((c) => resolved(checker.getSymbolAtLocation(c.expression)) === fnSymbol || (ts.isPropertyAccessExpression(c.expression) && resolved(checker.getSymbolAtLocation(c.expression.name)) === fnSymbol))
        const out: Concrete[] = []
        for (const c of callers) {
          if (isExcluded(c.getSourceFile().fileName)) continue
          const arg = c.arguments[index]
          if (!arg) return `${where(c)}: calls ${fnSymbol.name} without its resource argument`
          const got = trace(arg, seen)
          if (typeof got === 'string') return got
          out.push(...got)
        }
        if (out.length === 0 && callers.every((c) => !isExcluded(c.getSourceFile().fileName))) return `${where(e)}: ${fnSymbol.name} passes a resource to the API but nothing in the scanned code calls it`
        return out
      }
    }
    return `${where(e)}: cannot tell which resource \`${e.getText()}\` is`
  }

  const componentsOf = cniClosure(program, sources, o.root)
  for (const s of sources) {
    if (isExcluded(s.fileName) || rel(s.fileName) === 'kube/store.ts') continue
    const visit = (n: ts.Node): void => {
      if (ts.isCallExpression(n)) {
        const method = memberOf(n.expression, 'kube/store.ts', 'Store')
        if (method && storeVerbs[method]) {
          const { verb, status: isStatus } = storeVerbs[method]
          const traced = n.arguments[0] ? trace(n.arguments[0], new Set()) : `${where(n)}: a Store call without a resource`
          if (typeof traced === 'string') unattributed.push(traced)
          else {
            const statusPatch = method === 'patch' && patchesStatus(n.arguments[3])
            if (typeof statusPatch === 'string') unattributed.push(`${where(n)}: ${statusPatch}`)
            for (const c of traced) {
              const file = c.node.getSourceFile().fileName
              if (isExcluded(file)) continue
              for (const component of componentsOf(file)) {
                calls.push({ component, group: c.group, resource: c.plural + (isStatus || statusPatch === true ? '/status' : ''), verb, at: where(c.node), call: where(n) })
              }
            }
          }
        }
        // the plugins' transport adds getAll (pipelined GETs) to the Transport calls
        const raw = memberOf(n.expression, 'kube/transport.ts', 'Transport') ?? memberOf(n.expression, 'kube/tls-transport.ts', 'TlsTransport')
        if (raw && rel(s.fileName) !== 'kube/store.ts') {
          if (raw === 'request' || raw === 'stream' || raw === 'getAll') rawRequests.push({ at: where(n), file: rel(s.fileName) })
        }
        const callee = unwrap(n.expression)
        if (ts.isIdentifier(callee) && callee.text === 'resourcePath' && n.arguments[0] && rel(s.fileName) !== 'kube/store.ts') {
          const traced = trace(n.arguments[0], new Set())
          if (typeof traced === 'string') unattributed.push(traced)
          else {
            const list = resourcePaths.get(rel(s.fileName)) ?? []
            list.push(...traced.map((c) => ({ group: c.group, resource: c.plural })))
            resourcePaths.set(rel(s.fileName), list)
          }
        }
      }
      ts.forEachChild(n, visit)
    }
    visit(s)
  }
  return { calls, unattributed: [...new Set(unattributed)], rawRequests, resourcePaths }
}

/** true when the options literal says `status: true`, false when it says nothing of it, else why not. */
function patchesStatus(options: ts.Expression | undefined): boolean | string {
  if (!options) return false
  const e = unwrap(options)
  if (!ts.isObjectLiteralExpression(e)) return 'patch options that are not an object literal: cannot tell whether the status is patched'
  const p = e.properties.find((x) => x.name && ts.isIdentifier(x.name) && x.name.text === 'status')
  if (!p) return e.properties.some((x) => ts.isSpreadAssignment(x)) ? 'patch options with a spread: cannot tell whether the status is patched' : false
  if (ts.isPropertyAssignment(p) && (p.initializer.kind === ts.SyntaxKind.TrueKeyword || p.initializer.kind === ts.SyntaxKind.FalseKeyword)) return p.initializer.kind === ts.SyntaxKind.TrueKeyword
  return 'patch options with a computed status: cannot tell whether the status is patched'
}

/**
 * Which component runs the code of a file: cni/ is the CNI plugins (and install-cni); everything
 * else is the server, and also the CNI when a cni/ file imports it (statically, not `import type`).
 */
function cniClosure(program: ts.Program, sources: readonly ts.SourceFile[], root: string): (file: string) => Component[] {
  const byName = new Map(sources.map((s) => [path.resolve(s.fileName), s]))
  const importsOf = (s: ts.SourceFile): string[] => {
    const out: string[] = []
    for (const st of s.statements) {
      if ((ts.isImportDeclaration(st) && !st.importClause?.isTypeOnly) || (ts.isExportDeclaration(st) && !st.isTypeOnly && st.moduleSpecifier)) {
        const spec = (st.moduleSpecifier as ts.StringLiteral).text
        if (spec.startsWith('.')) out.push(path.resolve(path.dirname(s.fileName), spec))
      }
    }
    return out
  }
  const cni = new Set<string>()
  const stack = [...byName.keys()].filter((f) => path.relative(root, f).startsWith('cni/'))
  while (stack.length) {
    const f = stack.pop()!
    if (cni.has(f)) continue
    cni.add(f)
    const s = byName.get(f) ?? program.getSourceFile(f)
    if (s) stack.push(...importsOf(s))
  }
  return (file) => {
    const f = path.resolve(file)
    if (path.relative(root, f).startsWith('cni/')) return ['cni']
    return cni.has(f) ? ['server', 'cni'] : ['server']
  }
}
