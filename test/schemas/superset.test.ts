import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'

const referenceCRDDir = '/work/shared/reference/crds'
const chartCRDDir = new URL('../../charts/spiderpool-ts/crds/', import.meta.url).pathname

type Schema = Record<string, any>

function crdsByKind(dir: string): Map<string, Schema> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))
  return new Map(files.map((f) => parse(readFileSync(join(dir, f), 'utf8'))).map((crd) => [crd.spec.names.kind, crd]))
}

/** Every schema node by path: `spec.ips[]` for items, `spec.podAffinity.matchLabels{}` for map values. */
function schemaNodes(schema: Schema, path = '', out = new Map<string, Schema>()): Map<string, Schema> {
  out.set(path, schema)
  for (const [name, child] of Object.entries(schema.properties ?? {})) schemaNodes(child as Schema, path === '' ? name : `${path}.${name}`, out)
  if (schema.items) schemaNodes(schema.items, `${path}[]`, out)
  if (typeof schema.additionalProperties === 'object') schemaNodes(schema.additionalProperties, `${path}{}`, out)
  return out
}

const lowerBounds = ['minimum', 'minLength', 'minItems', 'minProperties'] as const
const upperBounds = ['maximum', 'maxLength', 'maxItems', 'maxProperties'] as const
const mustMatchWhenSet = ['type', 'format', 'pattern'] as const
const mustKeepWhenTrue = ['nullable', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string'] as const

/** What ours refuses (or drops) that the reference accepts, one line per narrowing; empty for a superset. */
function narrowings(reference: Schema, ours: Schema): string[] {
  const found: string[] = []
  const oursByPath = schemaNodes(ours)
  for (const [path, ref] of schemaNodes(reference)) {
    const at = path === '' ? '<root>' : path
    const our = oursByPath.get(path)
    if (our === undefined) {
      found.push(`${at}: missing`)
      continue
    }
    for (const k of mustMatchWhenSet) {
      if (our[k] !== undefined && our[k] !== ref[k]) found.push(`${at}: ${k} ${JSON.stringify(our[k])}, reference ${JSON.stringify(ref[k])}`)
    }
    if (ref.type === undefined && our.type !== undefined) found.push(`${at}: type ${our.type} where the reference has none`)
    for (const k of mustKeepWhenTrue) {
      if (ref[k] === true && our[k] !== true) found.push(`${at}: ${k} dropped`)
    }
    if (our.enum !== undefined) {
      const lost = ref.enum === undefined ? ['(any value)'] : ref.enum.filter((v: unknown) => !our.enum.includes(v))
      if (lost.length > 0) found.push(`${at}: enum lacks ${lost.join(', ')}`)
    }
    for (const k of lowerBounds) {
      if (our[k] !== undefined && !(ref[k] !== undefined && our[k] <= ref[k])) found.push(`${at}: ${k} ${our[k]}, reference ${ref[k] ?? 'none'}`)
    }
    for (const k of upperBounds) {
      if (our[k] !== undefined && !(ref[k] !== undefined && our[k] >= ref[k])) found.push(`${at}: ${k} ${our[k]}, reference ${ref[k] ?? 'none'}`)
    }
    for (const name of our.required ?? []) {
      if (!(ref.required ?? []).includes(name)) found.push(`${at}: requires ${name}`)
    }
    if (our.additionalProperties === false && ref.additionalProperties !== false) found.push(`${at}: additionalProperties false`)
  }
  return found
}

const reference = crdsByKind(referenceCRDDir)
const ours = crdsByKind(chartCRDDir)
const schemaOf = (crd: Schema): Schema => crd.spec.versions[0].schema.openAPIV3Schema

t.test('we ship a CRD for every reference CRD', async (t) => {
  t.ok(reference.size >= 7)
  for (const kind of reference.keys()) t.ok(ours.has(kind), kind)
})

for (const [kind, ref] of reference) {
  t.test(`${kind}: our schema accepts everything the reference schema accepts`, async (t) => {
    t.same(narrowings(schemaOf(ref), schemaOf(ours.get(kind)!)), [])
  })

  t.test(`${kind}: group, version, scope and names are the reference's`, async (t) => {
    const our = ours.get(kind)!
    t.equal(our.spec.group, ref.spec.group)
    t.equal(our.spec.scope, ref.spec.scope)
    t.same(our.spec.versions.map((v: Schema) => v.name), ref.spec.versions.map((v: Schema) => v.name))
    for (const name of ['kind', 'listKind', 'plural', 'singular', 'shortNames', 'categories']) {
      t.same(our.spec.names[name], ref.spec.names[name], name)
    }
  })

  t.test(`${kind}: every reference printer column is shown the same way`, async (t) => {
    const ourColumns = ours.get(kind)!.spec.versions[0].additionalPrinterColumns ?? []
    for (const column of ref.spec.versions[0].additionalPrinterColumns ?? []) {
      const facts = ({ name, type, jsonPath, priority }: Schema) => ({ name, type, jsonPath, priority })
      t.same(ourColumns.map(facts).filter((c: Schema) => c.name === column.name), [facts(column)], column.name)
    }
  })

  t.test(`${kind}: our subresources include the reference's`, async (t) => {
    t.match(ours.get(kind)!.spec.versions[0].subresources ?? {}, ref.spec.versions[0].subresources ?? {})
  })
}

t.test('the superset check notices each way a schema can narrow', async (t) => {
  const pool = schemaOf(reference.get('SpiderIPPool')!)
  const narrowed = (change: (s: Schema) => void): string[] => {
    const copy = structuredClone(pool)
    change(copy)
    return narrowings(pool, copy)
  }
  t.same(narrowed(() => {}), [])
  t.same(narrowed((s) => delete s.properties.spec.properties.gateway), ['spec.gateway: missing'])
  t.same(narrowed((s) => delete s.properties.spec.properties.ips.items), ['spec.ips[]: missing'])
  t.same(narrowed((s) => (s.properties.spec.properties.subnet.type = 'integer')), ['spec.subnet: type "integer", reference "string"'])
  t.same(narrowed((s) => (s.properties.spec.properties.ipVersion.enum = [4])), ['spec.ipVersion: enum lacks 6'])
  t.same(narrowed((s) => (s.properties.spec.properties.gateway.enum = ['10.0.0.1'])), ['spec.gateway: enum lacks (any value)'])
  t.same(narrowed((s) => (s.properties.spec.properties.ipVersion.format = 'int32')), ['spec.ipVersion: format "int32", reference "int64"'])
  t.same(narrowed((s) => (s.properties.status.properties.totalIPCount.minimum = 1)), ['status.totalIPCount: minimum 1, reference 0'])
  t.same(narrowed((s) => (s.properties.status.properties.totalIPCount.maximum = 10)), ['status.totalIPCount: maximum 10, reference none'])
  t.same(narrowed((s) => (s.properties.spec.properties.ips.maxItems = 3)), ['spec.ips: maxItems 3, reference none'])
  t.same(narrowed((s) => s.properties.spec.required.push('ips')), ['spec: requires ips'])
  t.same(narrowed((s) => (s.properties.spec.additionalProperties = false)), ['spec: additionalProperties false'])
  t.same(narrowed((s) => (s.properties.spec.properties.podAffinity.properties.matchLabels.additionalProperties.type = 'integer')), [
    'spec.podAffinity.matchLabels{}: type "integer", reference "string"',
  ])
})
