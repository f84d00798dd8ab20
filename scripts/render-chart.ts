// `npm run chart:render -- [--set a.b=c]… [--values FILE]… [--namespace NS] [--name RELEASE] [--include-crds] [--chart DIR]`:
// prints the chart as `helm template` would, rendered by scripts/chart/ (no helm binary needed).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { parse } from 'yaml'
import { renderChart } from './chart/chart.ts'

const defaultChart = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../charts/spiderpool-ts')

try {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    allowPositionals: false,
    options: {
      set: { type: 'string', multiple: true, default: [] },
      values: { type: 'string', short: 'f', multiple: true, default: [] },
      namespace: { type: 'string', short: 'n', default: 'default' },
      name: { type: 'string', default: 'spiderpool' },
      'include-crds': { type: 'boolean', default: false },
      chart: { type: 'string', default: defaultChart },
    },
  })
  const rendered = renderChart(values.chart, {
    releaseName: values.name,
    namespace: values.namespace,
    set: values.set,
    values: values.values.map((f) => parse(readFileSync(f, 'utf8')) ?? {}),
    includeCrds: values['include-crds'],
  })
  process.stdout.write(rendered.manifest)
} catch (err) {
  process.stderr.write(`chart:render: ${(err as Error).message}\n`)
  process.exitCode = 1
}
