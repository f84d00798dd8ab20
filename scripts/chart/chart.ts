// A chart directory rendered as `helm template` would: values.yaml with the user's values and
// `--set`s over it, every templates/ file rendered with the defines of all of them, files whose
// name starts with `_` giving no output, and optionally the crds/ files first.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse, parseAllDocuments } from 'yaml'
import { parseTemplate, render, TemplateError, type Parsed } from './template.ts'
import { applySet, mergeValues, unknownKeys, ValuesError } from './values.ts'

export interface RenderOptions {
  releaseName?: string
  namespace?: string
  /** `--set` expressions, applied in order */
  set?: string[]
  /** values maps applied before the `--set`s (as `-f` files) */
  values?: Record<string, unknown>[]
  /** the crds/ files too (`helm template --include-crds`) */
  includeCrds?: boolean
}

export interface RenderedFile {
  /** `chart/templates/x.yaml` */
  source: string
  text: string
}

export interface RenderedChart {
  files: RenderedFile[]
  values: Record<string, unknown>
  /** every non-empty document, parsed */
  objects: Record<string, any>[]
  /** all of it as one multi-document stream, each document headed by `# Source:` */
  manifest: string
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function renderChart(chartDir: string, o: RenderOptions = {}): RenderedChart {
  const chart = parse(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8'))
  const defaults = parse(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')) ?? {}
  let values: Record<string, unknown> = defaults
  for (const v of o.values ?? []) values = mergeValues(values, v)
  const sets: Record<string, unknown> = {}
  for (const expression of o.set ?? []) applySet(sets, expression)
  const unknown = unknownKeys(defaults, sets)
  if (unknown.length) throw new ValuesError(`--set of keys the chart does not have (helm would ignore them): ${unknown.join(', ')}`)
  values = mergeValues(values, sets)

  const data = {
    Values: values,
    Release: { Name: o.releaseName ?? 'spiderpool', Namespace: o.namespace ?? 'default', Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1 },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion ?? '' },
  }
  const templatesDir = path.join(chartDir, 'templates')
  const names = readdirSync(templatesDir).filter((f) => /\.(ya?ml|tpl)$/.test(f)).sort()
  const others = readdirSync(templatesDir).filter((f) => !names.includes(f))
  if (others.length) throw new TemplateError(`templates/ holds files this renderer does not know how to treat: ${others.join(', ')}`)
  const parsed = new Map<string, Parsed>()
  const defines = new Map<string, Parsed['nodes']>()
  for (const name of names) {
    const p = parseTemplate(readFileSync(path.join(templatesDir, name), 'utf8'), `${chart.name}/templates/${name}`)
    parsed.set(name, p)
    for (const [k, v] of p.defines) {
      if (defines.has(k)) throw new TemplateError(`${chart.name}/templates/${name}: template "${k}" is defined twice`)
      defines.set(k, v)
    }
  }

  const files: RenderedFile[] = []
  if (o.includeCrds) {
    const crdDir = path.join(chartDir, 'crds')
    for (const name of readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort()) files.push({ source: `${chart.name}/crds/${name}`, text: readFileSync(path.join(crdDir, name), 'utf8') })
  }
  for (const name of names) {
    if (name.startsWith('_')) continue
    files.push({ source: `${chart.name}/templates/${name}`, text: render(parsed.get(name)!.nodes, data, { defines }) })
  }

  const objects: Record<string, any>[] = []
  const documents: string[] = []
  for (const f of files) {
    for (const doc of parseAllDocuments(f.text)) {
      if (doc.errors.length) throw new TemplateError(`${f.source} rendered YAML that does not parse: ${doc.errors[0].message}\n${f.text}`)
      const object = doc.toJS()
      if (object === null || object === undefined) continue
      if (!isMap(object) || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
        throw new TemplateError(`${f.source} rendered a document that is not a Kubernetes object:\n${doc.toString()}`)
      }
      objects.push(object)
      documents.push(`---\n# Source: ${f.source}\n${doc.toString().replace(/^---\n/, '').trimEnd()}\n`)
    }
  }
  return { files, values, objects, manifest: documents.join('') }
}
