import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { openAPIValidator, type SchemaValidator } from '../../schemas/validate.ts'

const referenceCRDDir = '/work/shared/reference/crds'
const examplesDir = '/work/shared/reference/examples'
const chartCRDDir = new URL('../../charts/spiderpool-ts/crds/', import.meta.url).pathname

interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name: string }
  spec: Record<string, any>
}

function yamlDocs(file: string): any[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS())
}

/** kind → validator compiled from the openAPIV3Schema of each CRD file in `dir`. */
function validatorsOfCRDs(dir: string): Map<string, SchemaValidator> {
  const byKind = new Map<string, SchemaValidator>()
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    for (const crd of yamlDocs(join(dir, file))) {
      byKind.set(crd.spec.names.kind, openAPIValidator(crd.spec.versions[0].schema.openAPIV3Schema))
    }
  }
  return byKind
}

const ours = validatorsOfCRDs(chartCRDDir)
const reference = validatorsOfCRDs(referenceCRDDir)

const examples: Manifest[] = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => yamlDocs(join(examplesDir, f)))
  .filter((o) => o?.apiVersion === 'spiderpool.spidernet.io/v2beta1')

function bothSay(obj: Manifest) {
  return { ours: ours.get(obj.kind)!(obj), reference: reference.get(obj.kind)!(obj) }
}

t.test('the examples hold Spiderpool objects of the kinds we ship', async (t) => {
  t.ok(examples.length >= 8, `${examples.length} objects`)
  for (const obj of examples) {
    t.ok(ours.has(obj.kind), `our chart has a CRD for ${obj.kind}`)
    t.ok(reference.has(obj.kind), `the reference has a CRD for ${obj.kind}`)
  }
})

t.test('every example object is valid under both our chart CRD and the reference CRD', async (t) => {
  for (const obj of examples) {
    t.same(bothSay(obj), { ours: [], reference: [] }, `${obj.kind} ${obj.metadata.name}`)
  }
})

const firstExample = (kind: string) => (): Manifest => structuredClone(examples.find((o) => o.kind === kind)!)
const examplePool = firstExample('SpiderIPPool')
const exampleMacvlanConfig = firstExample('SpiderMultusConfig')

/** The example with one change to its spec. */
function changed(example: () => Manifest, change: (spec: Record<string, any>) => void): Manifest {
  const obj = example()
  change(obj.spec)
  return obj
}

const wrong: { what: string; field: string; obj: Manifest }[] = [
  { what: 'SpiderIPPool ipVersion 5', field: 'spec.ipVersion', obj: changed(examplePool, (s) => (s.ipVersion = 5)) },
  { what: 'SpiderIPPool without subnet', field: 'spec.subnet', obj: changed(examplePool, (s) => delete s.subnet) },
  { what: 'SpiderIPPool ips holding a number', field: 'spec.ips[1]', obj: changed(examplePool, (s) => s.ips.push(7)) },
  { what: 'SpiderMultusConfig macvlan vlanID 5000', field: 'spec.macvlan.vlanID', obj: changed(exampleMacvlanConfig, (s) => (s.macvlan.vlanID = 5000)) },
  { what: 'SpiderMultusConfig cniType flannel', field: 'spec.cniType', obj: changed(exampleMacvlanConfig, (s) => (s.cniType = 'flannel')) },
  { what: 'SpiderMultusConfig macvlan without master', field: 'spec.macvlan.master', obj: changed(exampleMacvlanConfig, (s) => delete s.macvlan.master) },
  { what: 'SpiderMultusConfig macvlan bond mode 7', field: 'spec.macvlan.bond.mode', obj: changed(exampleMacvlanConfig, (s) => (s.macvlan.bond = { name: 'bond0', mode: 7 })) },
]

for (const w of wrong) {
  t.test(`${w.what} is refused by both, at ${w.field}`, async (t) => {
    const said = bothSay(w.obj)
    t.same(said.ours.map((e) => e.field), [w.field], 'ours')
    t.same(said.reference.map((e) => e.field), [w.field], 'reference')
  })
}
