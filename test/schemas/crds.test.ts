import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { chartCRDDir, crdFiles } from '../../scripts/gen-crds.ts'
import { kinds } from '../../schemas/index.ts'

const script = new URL('../../scripts/gen-crds.ts', import.meta.url).pathname

t.test('the chart ships exactly the CRDs gen-crds produces from schemas/ (run `npm run gen:crds` after a schema change)', async (t) => {
  const generated = crdFiles()
  t.same(readdirSync(chartCRDDir).sort(), generated.map((f) => f.name).sort(), 'no missing or stale CRD file')
  for (const f of generated) {
    t.equal(readFileSync(join(chartCRDDir, f.name), 'utf8'), f.text, `${f.name} is not hand-edited`)
  }
})

t.test('generating twice gives the same bytes', async (t) => {
  t.same(crdFiles(), crdFiles())
})

t.test('the script writes every kind into the given directory and removes CRD files it no longer generates', async (t) => {
  const dir = t.testdir({ 'spiderpool.spidernet.io_spiderretired.yaml': 'kind: CustomResourceDefinition\n' })
  writeFileSync(join(dir, 'README.md'), 'kept\n')
  execFileSync(process.execPath, [script, dir], { stdio: 'pipe' })
  t.same(readdirSync(dir).sort(), [...crdFiles().map((f) => f.name), 'README.md'].sort())
  for (const f of crdFiles()) t.equal(readFileSync(join(dir, f.name), 'utf8'), f.text)
})

t.test('each file is one apiextensions.k8s.io/v1 CRD named <plural>.<group>, served and stored at its one version', async (t) => {
  t.equal(crdFiles().length, kinds.length)
  for (const k of kinds) {
    const docs = parseAllDocuments(readFileSync(join(chartCRDDir, `${k.crd.group}_${k.plural}.yaml`), 'utf8'))
    t.equal(docs.length, 1, `${k.kind}: one document`)
    const crd = docs[0]!.toJS()
    t.match(crd, {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${k.plural}.${k.crd.group}` },
      spec: { group: k.crd.group, scope: k.crd.scope, names: { kind: k.kind, plural: k.plural } },
    })
    t.same(crd.spec.versions.map((v: { name: string; served: boolean; storage: boolean }) => [v.name, v.served, v.storage]), [[k.crd.version, true, true]])
    t.same(crd.spec.versions[0].schema.openAPIV3Schema, k.schema, `${k.kind}: schema is the one in schemas/`)
  }
})
