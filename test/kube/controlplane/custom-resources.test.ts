// CRDs created through the API, with real kubectl: their kinds are served from then on (discovery,
// openapi, schema pruning and validation, printer columns), across a restart, and go with the CRD,
// whose watchers see the objects deleted before their watch ends. Our own CRDs stay read-only.
// Optional built-ins: ServiceCIDRs only when the control plane is started to serve them.
import path from 'node:path'
import t from 'tap'
import { openWatch, startTestControlPlane } from './fixtures/controlplane.ts'

const calicoIPPoolsCRD = path.join(import.meta.dirname, '../../server/controllers/fixtures/calico-ippools-crd.yaml')
const pool = (name: string, spec: object) => JSON.stringify({ apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name }, spec })

const crd = (o: { name?: string; group?: string; versions?: object[]; annotations?: object } = {}) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: o.name ?? 'gadgets.example.com', ...(o.annotations ? { annotations: o.annotations } : {}) },
  spec: {
    group: o.group ?? 'example.com',
    scope: 'Namespaced',
    names: { kind: 'Gadget', plural: 'gadgets' },
    versions: o.versions ?? [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
        additionalPrinterColumns: [{ name: 'Size', type: 'integer', jsonPath: '.spec.size' }],
      },
    ],
  },
})

t.test('kubectl apply of a CRD serves its kind: get, strict fields, schema, status, printer columns, restart', async (t) => {
  const plane = await startTestControlPlane(t)
  t.match((await plane.kubectl(['get', 'ippools'])).stderr, /doesn't have a resource type "ippools"/, 'not served before')

  await plane.ok(['apply', '-f', calicoIPPoolsCRD])
  await plane.ok(['wait', '--for=condition=Established', 'crd/ippools.crd.projectcalico.org', '--timeout=10s'])
  const status = JSON.parse(await plane.ok(['get', 'crd', 'ippools.crd.projectcalico.org', '-o', 'json'])).status
  t.match(status, { acceptedNames: { kind: 'IPPool', listKind: 'IPPoolList', plural: 'ippools', singular: 'ippool' }, storedVersions: ['v1'] })

  await plane.ok(['apply', '-f', '-'], pool('default-ipv4-ippool', { cidr: '10.233.64.0/18' }))
  const stored = JSON.parse(await plane.ok(['get', 'ippool', 'default-ipv4-ippool', '-o', 'json']))
  t.match(stored, { apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', spec: { cidr: '10.233.64.0/18', ipipMode: 'Never', vxlanMode: 'Never' } }, 'the schema defaults applied')
  const unknown = await plane.kubectl(['apply', '-f', '-'], pool('p2', { cidr: '10.9.0.0/16', colour: 'red' }))
  t.match(unknown.stderr, 'strict decoding error: unknown field "spec.colour"', 'kubectl asks for strict field validation, as of a real CRD')
  const invalid = await plane.kubectl(['apply', '-f', '-'], pool('p3', { cidr: '10.9.0.0/16', ipipMode: 'Sometimes' }))
  t.match(invalid.stderr, 'The IPPool "p3" is invalid: spec.ipipMode: Unsupported value: "Sometimes": supported values: "Never", "Always", "CrossSubnet"', 'validated against its schema')
  t.match((await plane.kubectl(['apply', '-f', '-'], pool('p4', {}))).stderr, /spec.cidr: Required value/)
  const resources = JSON.parse((await plane.api('GET', '/apis/crd.projectcalico.org/v1')).text)
  t.match(resources, { groupVersion: 'crd.projectcalico.org/v1', resources: [{ name: 'ippools', kind: 'IPPool', namespaced: false }] }, 'in discovery')
  t.ok(JSON.parse((await plane.api('GET', '/openapi/v3')).text).paths['apis/crd.projectcalico.org/v1'], 'in openapi')

  await plane.ok(['apply', '-f', '-'], JSON.stringify(crd()))
  await plane.ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g', namespace: 'default' }, spec: { size: 3 } }))
  t.match(await plane.ok(['get', 'gadgets', '-n', 'default']), /^NAME\s+SIZE\ng\s+3\n/, 'its printer columns (which replace AGE)')

  await plane.restart()
  t.equal(JSON.parse(await plane.ok(['get', 'ippools', '-o', 'json'])).items.length, 1, 'CRD and objects back after a restart')
  t.match(await plane.ok(['get', 'gadgets', '-n', 'default', '-o', 'name']), 'gadget.example.com/g')

  await plane.ok(['delete', 'namespace', 'default', '--wait=false'])
  await plane.ok(['wait', '--for=delete', 'gadget/g', '-n', 'default', '--timeout=10s'])
  t.pass('a terminating namespace takes the namespaced custom objects with it')
})

t.test('a CRD that goes takes its objects, its watchers see them deleted before their watch ends, and its kind is not served', async (t) => {
  const plane = await startTestControlPlane(t)
  await plane.ok(['apply', '-f', calicoIPPoolsCRD])
  await plane.ok(['apply', '-f', '-'], pool('a', { cidr: '10.1.0.0/16' }))
  await plane.ok(['apply', '-f', '-'], pool('b', { cidr: '10.2.0.0/16' }))
  const list = (await plane.api('GET', '/apis/crd.projectcalico.org/v1/ippools')).json
  const watch = await openWatch(plane.cp, `/apis/crd.projectcalico.org/v1/ippools?watch=true&resourceVersion=${list.metadata.resourceVersion}`)
  t.teardown(() => watch.close())

  await plane.ok(['delete', 'crd', 'ippools.crd.projectcalico.org'])
  await watch.ended
  t.same(watch.events.map((e) => `${e.type} ${e.object.metadata.name}`).sort(), ['DELETED a', 'DELETED b'])
  t.equal((await plane.api('GET', '/apis/crd.projectcalico.org/v1/ippools')).status, 404)
  t.equal((await plane.api('GET', '/apis/crd.projectcalico.org/v1')).status, 404, 'gone from discovery')

  await plane.ok(['apply', '-f', calicoIPPoolsCRD])
  t.same(JSON.parse(await plane.ok(['get', 'ippools', '-o', 'json'])).items, [], 'created again: empty')
})

t.test('CRDs this control plane refuses, and ours, which stay read-only', async (t) => {
  const plane = await startTestControlPlane(t)
  const create = (body: object) => plane.api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body })
  const refused = async (body: object, message: RegExp | string, what: string) => {
    const r = await create(body)
    t.equal(r.status, 422, what)
    t.match(r.json.message, message, what)
  }
  await refused(crd({ name: 'gadgets.example.org' }), 'metadata.name: Invalid value: "gadgets.example.org": must be spec.names.plural+"."+spec.group', 'a name that is not plural.group')
  await refused(crd({ name: 'gadgets.spiderpool.spidernet.io', group: 'spiderpool.spidernet.io' }), 'spec.group: Forbidden: the kinds of spiderpool.spidernet.io are built into this control plane', 'our group')
  await refused(crd({ name: 'gadgets.networking.k8s.io', group: 'networking.k8s.io' }), 'protected groups must have approval annotation', 'a protected group')
  const schema = { openAPIV3Schema: { type: 'object' } }
  await refused(crd({ versions: [{ name: 'v1', served: true, storage: true, schema }, { name: 'v2', served: true, storage: false, schema }] }), 'serves one version of a custom resource', 'two served versions')
  await refused(crd({ versions: [{ name: 'v1', served: true, storage: true }] }), 'schemas are required', 'no schema')
  t.equal((await create(crd({ name: 'gadgets.x.k8s.io', group: 'x.k8s.io', annotations: { 'api-approved.kubernetes.io': 'unapproved, experimental-only' } }))).status, 201, 'a protected group with the annotation')

  await plane.ok(['apply', '-f', '-'], JSON.stringify(crd()))
  const moved = await plane.api('PATCH', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com', { body: { spec: { scope: 'Cluster' } }, contentType: 'application/merge-patch+json' })
  t.match(moved, { status: 422, json: { message: /spec.scope: Invalid value: "Cluster": field is immutable/ } })

  const ours = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/spiderippools.spiderpool.spidernet.io'
  t.equal((await plane.api('DELETE', ours)).status, 405, 'ours cannot be deleted')
  t.equal((await plane.api('PUT', ours, { body: (await plane.api('GET', ours)).json })).status, 405, 'nor replaced')
  t.equal((await plane.api('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions')).status, 405, 'nor deleted as a collection')
  t.match(await create({ ...(await plane.api('GET', ours)).json, metadata: { name: 'spiderippools.spiderpool.spidernet.io' } }), { status: 422, json: { message: /built into this control plane/ } }, 'nor created again')
})

t.test('ServiceCIDRs: not served by default (as 1.32), served in the version the control plane is started with', async (t) => {
  const plain = await startTestControlPlane(t)
  t.equal((await plain.api('GET', '/apis/networking.k8s.io/v1/servicecidrs')).status, 404)
  t.equal((await plain.api('GET', '/apis/networking.k8s.io')).status, 404)

  const plane = await startTestControlPlane(t, { apis: { serviceCIDRs: 'v1' } })
  t.same(JSON.parse(await plane.ok(['get', 'servicecidrs', '-o', 'json'])).items, [], 'served, and empty: no default `kubernetes` one without --service-cluster-ip-range')
  await plane.ok(['create', '-f', '-'], JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name: 'extra' }, spec: { cidrs: ['10.100.0.0/16'] } }))
  t.match(JSON.parse(await plane.ok(['get', 'servicecidr', 'extra', '-o', 'json'])), { apiVersion: 'networking.k8s.io/v1', spec: { cidrs: ['10.100.0.0/16'] } })
  t.match((await plane.api('GET', '/apis/networking.k8s.io/v1')).json, { resources: [{ name: 'servicecidrs', namespaced: false }, { name: 'servicecidrs/status' }] })
  t.equal((await plane.api('GET', '/apis/networking.k8s.io/v1beta1/servicecidrs')).status, 404, 'one version only')

  const beta = await startTestControlPlane(t, { apis: { serviceCIDRs: 'v1beta1' } })
  t.equal((await beta.api('GET', '/apis/networking.k8s.io/v1beta1/servicecidrs')).status, 200)
  t.equal((await beta.api('GET', '/apis/networking.k8s.io/v1/servicecidrs')).status, 404)
})
