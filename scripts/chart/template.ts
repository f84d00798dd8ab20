// A renderer for the subset of Go's text/template (with Helm's functions) that the chart's
// templates use, so the chart can be rendered and tested where no helm binary can be had.
// Anything outside the subset is an error naming the template and line: a template must never
// render silently wrong.
//
// The subset:
//   text, {{ pipeline }}, trim markers {{- and -}}, comments {{/* … */}}
//   if / else if / else / end, with / else / end, range [$k, $v :=] / else / end, define / end
//   operands: .Field.Chain, ., $, $.Field, $var.Field, "string", `raw`, numbers, true, false
//   (pipeline) as an argument; pipes a | f b
//   functions: see `functions` below
import { parse, stringify } from 'yaml'

export class TemplateError extends Error {}

type Value = unknown

interface Position {
  file: string
  line: number
}

type Operand =
  | { kind: 'field'; root: 'dot' | string; chain: string[] }
  | { kind: 'literal'; value: Value }
  | { kind: 'function'; name: string }
  | { kind: 'pipeline'; pipeline: Pipeline }

interface Command {
  operands: Operand[]
}

interface Pipeline {
  declare: string[]
  commands: Command[]
  at: Position
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: Pipeline }
  | { kind: 'if'; branches: { cond: Pipeline; body: Node[] }[]; otherwise: Node[] }
  | { kind: 'with'; pipeline: Pipeline; body: Node[]; otherwise: Node[] }
  | { kind: 'range'; pipeline: Pipeline; body: Node[]; otherwise: Node[] }

interface Token {
  kind: 'text' | 'action'
  text: string
  at: Position
}

const fail = (at: Position, message: string): never => {
  throw new TemplateError(`${at.file}:${at.line}: ${message}`)
}

/** Splits a template into text and actions, applying the trim markers and dropping comments. */
function lex(source: string, file: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  let line = 1
  let trimNext = false
  while (i < source.length) {
    const open = source.indexOf('{{', i)
    let text = source.slice(i, open < 0 ? source.length : open)
    const textLine = line
    line += text.split('\n').length - 1
    if (trimNext) text = text.replace(/^\s+/, '')
    if (open < 0) {
      if (text) tokens.push({ kind: 'text', text, at: { file, line: textLine } })
      break
    }
    const trimBefore = source.startsWith('{{- ', open) || source.startsWith('{{-\n', open)
    if (trimBefore) text = text.replace(/\s+$/, '')
    if (text) tokens.push({ kind: 'text', text, at: { file, line: textLine } })
    const at = { file, line }
    let start = open + (trimBefore ? 3 : 2)
    let close: number
    const rest = source.slice(start).trimStart()
    if (rest.startsWith('/*')) {
      const end = source.indexOf('*/', start)
      if (end < 0) fail(at, 'unclosed comment')
      close = source.indexOf('}}', end)
      if (close < 0 || source.slice(end + 2, close).trim().replace(/^-$/, '') !== '') fail(at, 'a comment must end with */}}')
    } else {
      close = findActionEnd(source, start, at)
    }
    const trimAfter = source[close - 1] === '-' && /\s/.test(source[close - 2] ?? '')
    const inner = source.slice(start, trimAfter ? close - 1 : close)
    line += source.slice(open, close + 2).split('\n').length - 1
    if (!rest.startsWith('/*')) tokens.push({ kind: 'action', text: inner.trim(), at })
    trimNext = trimAfter
    i = close + 2
  }
  return tokens
}

/** The `}}` that ends an action, skipping quoted strings. */
function findActionEnd(source: string, from: number, at: Position): number {
  for (let i = from; i < source.length; i++) {
    const c = source[i]
    if (c === '"') {
      for (i++; i < source.length && source[i] !== '"'; i++) if (source[i] === '\\') i++
    } else if (c === '`') {
      i = source.indexOf('`', i + 1)
      if (i < 0) break
    } else if (c === '}' && source[i + 1] === '}') return i
  }
  return fail(at, 'unclosed action')
}

type Word =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'ident'; value: string }
  | { kind: 'field'; value: string }
  | { kind: 'variable'; value: string }
  | { kind: 'punct'; value: '|' | '(' | ')' | ':=' | ',' | '=' }

function words(text: string, at: Position): Word[] {
  const out: Word[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i]
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (c === '"') {
      let j = i + 1
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      if (j >= text.length) fail(at, `unterminated string in {{ ${text} }}`)
      out.push({ kind: 'string', value: JSON.parse(text.slice(i, j + 1)) })
      i = j + 1
    } else if (c === '`') {
      const j = text.indexOf('`', i + 1)
      out.push({ kind: 'string', value: text.slice(i + 1, j) })
      i = j + 1
    } else if (text.startsWith(':=', i)) {
      out.push({ kind: 'punct', value: ':=' })
      i += 2
    } else if ('|(),='.includes(c)) {
      out.push({ kind: 'punct', value: c as '|' })
      i++
    } else {
      const m = /^[^\s|(),"`=]+/.exec(text.slice(i))![0]
      i += m.length
      if (/^-?\d+(\.\d+)?$/.test(m)) out.push({ kind: 'number', value: Number(m) })
      else if (m.startsWith('.')) out.push({ kind: 'field', value: m })
      else if (m.startsWith('$')) out.push({ kind: 'variable', value: m })
      else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(m)) out.push({ kind: 'ident', value: m })
      else fail(at, `unsupported token ${JSON.stringify(m)} in {{ ${text} }}`)
    }
  }
  return out
}

const chainOf = (path: string, at: Position): string[] => {
  if (path === '.') return []
  const parts = path.split('.').slice(1)
  if (parts.some((p) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p))) fail(at, `unsupported field ${path}`)
  return parts
}

function parsePipeline(ws: Word[], at: Position, source: string): Pipeline {
  let pos = 0
  const declare: string[] = []
  const assign = ws.findIndex((w) => w.kind === 'punct' && (w.value === ':=' || w.value === '='))
  if (assign >= 0) {
    if ((ws[assign] as { value: string }).value === '=') fail(at, `assignment with = is not supported: {{ ${source} }}`)
    for (const w of ws.slice(0, assign)) {
      if (w.kind === 'variable' && /^\$[A-Za-z_][A-Za-z0-9_]*$/.test(w.value)) declare.push(w.value)
      else if (!(w.kind === 'punct' && w.value === ',')) fail(at, `bad variable declaration: {{ ${source} }}`)
    }
    pos = assign + 1
  }
  const commands: Command[] = []
  let operands: Operand[] = []
  while (pos < ws.length) {
    const w = ws[pos++]
    if (w.kind === 'punct') {
      if (w.value === '|') {
        if (operands.length === 0) fail(at, `empty command in {{ ${source} }}`)
        commands.push({ operands })
        operands = []
        continue
      }
      if (w.value === '(') {
        let depth = 1
        const start = pos
        while (pos < ws.length && depth > 0) {
          const x = ws[pos++]
          if (x.kind === 'punct' && x.value === '(') depth++
          if (x.kind === 'punct' && x.value === ')') depth--
        }
        if (depth !== 0) fail(at, `unbalanced parentheses in {{ ${source} }}`)
        operands.push({ kind: 'pipeline', pipeline: parsePipeline(ws.slice(start, pos - 1), at, source) })
        continue
      }
      fail(at, `unexpected ${w.value} in {{ ${source} }}`)
    }
    if (w.kind === 'string' || w.kind === 'number') operands.push({ kind: 'literal', value: w.value })
    else if (w.kind === 'field') operands.push({ kind: 'field', root: 'dot', chain: chainOf(w.value, at) })
    else if (w.kind === 'variable') {
      const [name, ...rest] = w.value.split('.')
      operands.push({ kind: 'field', root: name, chain: rest.length ? chainOf('.' + rest.join('.'), at) : [] })
    } else if (w.value === 'true' || w.value === 'false') operands.push({ kind: 'literal', value: w.value === 'true' })
    else if (w.value === 'nil') fail(at, `nil is not supported: {{ ${source} }}`)
    else {
      if (!(w.value in functions)) fail(at, `unsupported function ${w.value} in {{ ${source} }}`)
      operands.push({ kind: 'function', name: w.value })
    }
  }
  if (operands.length === 0) fail(at, `empty pipeline in {{ ${source} }}`)
  commands.push({ operands })
  for (const c of commands) {
    if (c.operands[0].kind !== 'function' && c.operands.length > 1) fail(at, `only a function takes arguments: {{ ${source} }}`)
    if (c.operands.slice(1).some((o) => o.kind === 'function')) fail(at, `a function as an argument needs parentheses: {{ ${source} }}`)
  }
  return { declare, commands, at }
}

const keywords = new Set(['if', 'else', 'end', 'with', 'range', 'define', 'template', 'block', 'break', 'continue'])

export interface Parsed {
  nodes: Node[]
  defines: Map<string, Node[]>
}

/** Parses one template file; its `define`s are returned apart. */
export function parseTemplate(source: string, file: string): Parsed {
  const tokens = lex(source, file)
  const defines = new Map<string, Node[]>()
  let pos = 0
  const keywordOf = (t: Token) => (t.kind === 'action' ? /^([a-z]+)\b/.exec(t.text)?.[1] : undefined)

  // Parses until one of `stops` (an `end`, `else` …) and returns the stopping token.
  function block(stops: string[], opener?: Token): { nodes: Node[]; stop?: Token } {
    const nodes: Node[] = []
    while (pos < tokens.length) {
      const t = tokens[pos++]
      if (t.kind === 'text') {
        nodes.push({ kind: 'text', text: t.text })
        continue
      }
      const kw = keywordOf(t)
      if (kw && stops.includes(kw)) return { nodes, stop: t }
      const rest = kw && keywords.has(kw) ? t.text.slice(kw.length).trim() : t.text
      const pipe = () => parsePipeline(words(rest, t.at), t.at, t.text)
      switch (kw && keywords.has(kw) ? kw : undefined) {
        case undefined:
          nodes.push({ kind: 'action', pipeline: parsePipeline(words(t.text, t.at), t.at, t.text) })
          break
        case 'if': {
          const branches = [{ cond: pipe(), body: [] as Node[] }]
          let otherwise: Node[] = []
          for (;;) {
            const b = block(['else', 'end'], t)
            branches[branches.length - 1].body = b.nodes
            if (b.stop!.text === 'end') break
            const elseRest = b.stop!.text.slice(4).trim()
            if (elseRest.startsWith('if ')) {
              branches.push({ cond: parsePipeline(words(elseRest.slice(3), b.stop!.at), b.stop!.at, b.stop!.text), body: [] })
              continue
            }
            if (elseRest !== '') fail(b.stop!.at, `unsupported {{ ${b.stop!.text} }}`)
            const e = block(['end'], t)
            otherwise = e.nodes
            break
          }
          nodes.push({ kind: 'if', branches, otherwise })
          break
        }
        case 'with':
        case 'range': {
          const pipeline = pipe()
          if (kw === 'with' && pipeline.declare.length) fail(t.at, `variables in with are not supported: {{ ${t.text} }}`)
          if (pipeline.declare.length > 2) fail(t.at, `range declares at most two variables: {{ ${t.text} }}`)
          const b = block(['else', 'end'], t)
          let otherwise: Node[] = []
          if (b.stop!.text !== 'end') {
            if (b.stop!.text !== 'else') fail(b.stop!.at, `unsupported {{ ${b.stop!.text} }} in ${kw}`)
            otherwise = block(['end'], t).nodes
          }
          nodes.push({ kind: kw as 'with' | 'range', pipeline, body: b.nodes, otherwise })
          break
        }
        case 'define': {
          if (opener) fail(t.at, 'define must be at the top level')
          const name = words(rest, t.at)
          if (name.length !== 1 || name[0].kind !== 'string') fail(t.at, `define takes one quoted name: {{ ${t.text} }}`)
          const b = block(['end'], t)
          if (b.stop!.text !== 'end') fail(b.stop!.at, `unsupported {{ ${b.stop!.text} }} in define`)
          defines.set((name[0] as { value: string }).value, b.nodes)
          break
        }
        case 'end':
        case 'else':
          fail(t.at, `{{ ${t.text} }} without an open block`)
          break
        default:
          fail(t.at, `unsupported action {{ ${t.text} }}`)
      }
    }
    if (opener) fail(opener.at, `{{ ${opener.text} }} is never closed with {{ end }}`)
    return { nodes }
  }
  const { nodes } = block([])
  return { nodes, defines }
}

// ---------- evaluation ----------

export interface RenderContext {
  defines: Map<string, Node[]>
}

interface Scope {
  dot: Value
  vars: Map<string, Value>
  ctx: RenderContext
  depth: number
}

const isMap = (v: Value): v is Record<string, Value> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Go's truth: false, 0, nil, empty string, empty map or list are false. */
export function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false
  if (Array.isArray(v)) return v.length > 0
  if (isMap(v)) return Object.keys(v).length > 0
  return true
}

/** How a value prints in text: maps, lists and missing values must go through toYaml/toJson. */
function printed(v: Value, at: Position, what: string): string {
  if (typeof v === 'string') return v
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v)
  if (typeof v === 'boolean') return String(v)
  if (v === undefined || v === null) return fail(at, `${what} is empty (nil): printing it would give "<no value>"; use default or if`)
  return fail(at, `${what} is a ${Array.isArray(v) ? 'list' : 'map'}: print it with toYaml or toJson`)
}

/** Helm's toYaml: sigs.k8s.io/yaml output (sorted keys, lists not indented), without the final newline. */
export function toYaml(v: Value): string {
  if (v === undefined || v === null) return 'null'
  return stringify(v, { sortMapEntries: true, indentSeq: false, lineWidth: 0, version: '1.1' }).replace(/\n$/, '')
}

const indentLines = (n: number, s: string) =>
  s
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n')

type Fn = (at: Position, scope: Scope, ...args: Value[]) => Value

const str = (at: Position, name: string, v: Value): string => {
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return fail(at, `${name} expects a string, got ${v === undefined || v === null ? 'nil' : Array.isArray(v) ? 'a list' : typeof v}`)
}
const int = (at: Position, name: string, v: Value): number => (Number.isInteger(v) ? (v as number) : fail(at, `${name} expects a whole number, got ${JSON.stringify(v)}`))
const arity = (at: Position, name: string, args: Value[], n: number) => {
  if (args.length !== n) fail(at, `${name} takes ${n} argument${n === 1 ? '' : 's'}, got ${args.length}`)
}

const functions: Record<string, Fn> = {
  default: (at, _s, ...a) => (arity(at, 'default', a, 2), truthy(a[1]) ? a[1] : a[0]),
  required: (at, _s, ...a) => (arity(at, 'required', a, 2), truthy(a[1]) || a[1] === false || a[1] === 0 ? a[1] : fail(at, str(at, 'required', a[0]))),
  quote: (at, _s, ...a) => (arity(at, 'quote', a, 1), JSON.stringify(a[0] === undefined || a[0] === null ? '' : str(at, 'quote', a[0]))),
  toYaml: (at, _s, ...a) => (arity(at, 'toYaml', a, 1), toYaml(a[0])),
  fromYamlArray: (at, _s, ...a) => {
    arity(at, 'fromYamlArray', a, 1)
    const v = parse(str(at, 'fromYamlArray', a[0]))
    return Array.isArray(v) ? v : fail(at, 'fromYamlArray: the text is not a YAML list')
  },
  toJson: (at, _s, ...a) => (arity(at, 'toJson', a, 1), JSON.stringify(a[0] ?? null)),
  indent: (at, _s, ...a) => (arity(at, 'indent', a, 2), indentLines(int(at, 'indent', a[0]), str(at, 'indent', a[1]))),
  nindent: (at, _s, ...a) => (arity(at, 'nindent', a, 2), '\n' + indentLines(int(at, 'nindent', a[0]), str(at, 'nindent', a[1]))),
  b64enc: (at, _s, ...a) => (arity(at, 'b64enc', a, 1), Buffer.from(str(at, 'b64enc', a[0])).toString('base64')),
  trim: (at, _s, ...a) => (arity(at, 'trim', a, 1), str(at, 'trim', a[0]).trim()),
  lower: (at, _s, ...a) => (arity(at, 'lower', a, 1), str(at, 'lower', a[0]).toLowerCase()),
  printf: (at, _s, ...a) => {
    let i = 1
    const out = str(at, 'printf', a[0]).replace(/%([sdv%])/g, (_m, verb: string) => {
      if (verb === '%') return '%'
      if (i >= a.length) fail(at, 'printf: too few arguments')
      const v = a[i++]
      return verb === 'd' ? String(int(at, 'printf %d', v)) : printed(v, at, 'printf argument')
    })
    if (/%[^sdv%]/.test(str(at, 'printf', a[0]))) fail(at, `printf: only %s %d %v %% are supported`)
    if (i !== a.length) fail(at, 'printf: too many arguments')
    return out
  },
  eq: (at, _s, ...a) => (arity(at, 'eq', a, 2), a[0] === a[1]),
  ne: (at, _s, ...a) => (arity(at, 'ne', a, 2), a[0] !== a[1]),
  not: (at, _s, ...a) => (arity(at, 'not', a, 1), !truthy(a[0])),
  and: (at, _s, ...a) => {
    if (a.length < 2) fail(at, 'and takes at least 2 arguments')
    return a.find((v) => !truthy(v)) ?? a[a.length - 1]
  },
  or: (at, _s, ...a) => {
    if (a.length < 2) fail(at, 'or takes at least 2 arguments')
    return a.find((v) => truthy(v)) ?? a[a.length - 1]
  },
  include: (at, scope, ...a) => {
    arity(at, 'include', a, 2)
    const name = str(at, 'include', a[0])
    const body = scope.ctx.defines.get(name) ?? fail(at, `include: no template "${name}" is defined`)
    if (scope.depth > 50) fail(at, `include "${name}": nested too deep`)
    return renderNodes(body, { dot: a[1], vars: new Map([['$', a[1]]]), ctx: scope.ctx, depth: scope.depth + 1 })
  },
}

function field(v: Value, chain: string[], at: Position, shown: string): Value {
  let cur = v
  let path = shown
  for (const key of chain) {
    if (!isMap(cur)) fail(at, `${path || '.'} is ${cur === undefined || cur === null ? 'nil' : `not a map (${JSON.stringify(cur)})`}: cannot read .${key}`)
    if (!Object.hasOwn(cur as object, key)) fail(at, `${path}.${key} does not exist (a template may only read keys the chart defines)`)
    cur = (cur as Record<string, Value>)[key]
    path += `.${key}`
  }
  return cur
}

function operand(o: Operand, scope: Scope, at: Position): Value {
  switch (o.kind) {
    case 'literal':
      return o.value
    case 'pipeline':
      return evalPipeline(o.pipeline, scope)
    case 'function':
      return fail(at, `function ${o.name} used as a value`)
    case 'field': {
      if (o.root === 'dot') return field(scope.dot, o.chain, at, '')
      if (!scope.vars.has(o.root)) fail(at, `undefined variable ${o.root}`)
      return field(scope.vars.get(o.root), o.chain, at, o.root)
    }
  }
}

function evalPipeline(p: Pipeline, scope: Scope): Value {
  let piped: Value
  let first = true
  for (const c of p.commands) {
    const [head, ...args] = c.operands
    if (head.kind === 'function') {
      const values = args.map((a) => operand(a, scope, p.at))
      if (!first) values.push(piped)
      piped = functions[head.name](p.at, scope, ...values)
    } else {
      if (!first) fail(p.at, 'a value cannot take a piped argument; pipe into a function')
      piped = operand(head, scope, p.at)
    }
    first = false
  }
  if (p.declare.length) {
    if (p.declare.length !== 1) fail(p.at, 'only range declares two variables')
    scope.vars.set(p.declare[0], piped)
    return ''
  }
  return piped
}

function renderNodes(nodes: Node[], scope: Scope): string {
  let out = ''
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        out += n.text
        break
      case 'action': {
        const v = evalPipeline(n.pipeline, scope)
        if (!n.pipeline.declare.length) out += printed(v, n.pipeline.at, 'the value')
        break
      }
      case 'if': {
        const branch = n.branches.find((b) => truthy(evalPipeline(b.cond, { ...scope, vars: new Map(scope.vars) })))
        out += renderNodes(branch ? branch.body : n.otherwise, { ...scope, vars: new Map(scope.vars) })
        break
      }
      case 'with': {
        const v = evalPipeline(n.pipeline, scope)
        out += truthy(v) ? renderNodes(n.body, { ...scope, dot: v, vars: new Map(scope.vars) }) : renderNodes(n.otherwise, { ...scope, vars: new Map(scope.vars) })
        break
      }
      case 'range': {
        const { declare } = n.pipeline
        const v = evalPipeline({ ...n.pipeline, declare: [] }, scope)
        let entries: [Value, Value][]
        if (Array.isArray(v)) entries = v.map((x, i) => [i, x])
        else if (isMap(v)) entries = Object.keys(v).sort().map((k) => [k, v[k]])
        else if (v === undefined || v === null) entries = []
        else entries = fail(n.pipeline.at, `range over ${JSON.stringify(v)}: only lists and maps`)
        if (entries.length === 0) out += renderNodes(n.otherwise, { ...scope, vars: new Map(scope.vars) })
        for (const [k, x] of entries) {
          const vars = new Map(scope.vars)
          if (declare.length === 1) vars.set(declare[0], x)
          if (declare.length === 2) {
            vars.set(declare[0], k)
            vars.set(declare[1], x)
          }
          out += renderNodes(n.body, { ...scope, dot: x, vars })
        }
        break
      }
    }
  }
  return out
}

/** Renders parsed nodes with `data` as `.` and `$`. */
export function render(nodes: Node[], data: Value, ctx: RenderContext): string {
  return renderNodes(nodes, { dot: data, vars: new Map([['$', data]]), ctx, depth: 0 })
}

/** Parses and renders one template on its own (its defines available to it). */
export function renderTemplate(source: string, data: Value, file = 'template'): string {
  const parsed = parseTemplate(source, file)
  return render(parsed.nodes, data, { defines: parsed.defines })
}

export const supportedFunctions = Object.keys(functions)
