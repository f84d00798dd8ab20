// OpenAPI v3 documents, just what kubectl reads: each PATCH operation names its kind and takes
// `fieldValidation`, so kubectl leaves validation to the server; custom resource schemas are included.
// No strategic-merge request body is declared, so kubectl apply patches built-in kinds from its own types.
import { createHash } from 'node:crypto'
import { apiVersionOf, groupVersions, type Resource } from './resources.ts'

const queryParameter = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } })
const pathParameter = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string', uniqueItems: true } })

function schemaName(r: Resource): string {
  const group = r.group === '' ? 'io.k8s.api.core' : r.group.split('.').reverse().join('.')
  return `${group}.${r.version}.${r.kind}`
}

function operations(r: Resource): Record<string, object> {
  const gvk = { group: r.group, version: r.version, kind: r.kind }
  const ref = { $ref: `#/components/schemas/${schemaName(r)}` }
  const json = (schema: object) => ({ content: { 'application/json': { schema } } })
  const op = (action: string, parameters: string[], extra: object = {}) => ({
    operationId: `${action}${r.kind}`,
    parameters: parameters.map(queryParameter),
    responses: { '200': { description: 'OK', ...json(ref) } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    ...extra,
  })
  const writeParameters = ['dryRun', 'fieldManager', 'fieldValidation']
  const item: Record<string, object> = {
    get: op('get', []),
    put: op('put', writeParameters, { requestBody: json(ref) }),
    patch: op('patch', [...writeParameters, 'force']),
    delete: op('delete', ['dryRun', 'gracePeriodSeconds', 'propagationPolicy']),
  }
  const collection: Record<string, object> = {
    get: op('list', ['labelSelector', 'fieldSelector', 'limit', 'continue', 'resourceVersion', 'watch', 'timeoutSeconds']),
    post: op('post', writeParameters, { requestBody: json(ref) }),
  }
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`
  const scope = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`
  const scopeParameters = r.namespaced ? [pathParameter('namespace')] : []
  const paths: Record<string, object> = {
    [scope]: { ...collection, parameters: scopeParameters },
    [`${scope}/{name}`]: { ...item, parameters: [...scopeParameters, pathParameter('name')] },
  }
  if (r.hasStatus) {
    paths[`${scope}/{name}/status`] = {
      get: op('get', []),
      put: op('put', writeParameters, { requestBody: json(ref) }),
      patch: op('patch', [...writeParameters, 'force']),
      parameters: [...scopeParameters, pathParameter('name')],
    }
  }
  return paths
}

function componentSchema(r: Resource): object {
  const gvk = [{ group: r.group, version: r.version, kind: r.kind }]
  if (r.schema) return { ...r.schema, 'x-kubernetes-group-version-kind': gvk }
  return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, 'x-kubernetes-group-version-kind': gvk }
}

function groupVersionDocument(here: readonly Resource[]): object {
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths: Object.assign({}, ...here.map(operations)),
    components: { schemas: Object.fromEntries(here.map((r) => [schemaName(r), componentSchema(r)])) },
  }
}

const hashOf = (text: string) => createHash('sha512').update(text).digest('hex').slice(0, 128).toUpperCase()

/** A serialized document and its hash, kept while the group version serves the same resources. */
const documents = new Map<string, { of: readonly Resource[]; text: string; hash: string }>()

/** Documents by path below /openapi/v3 (`api/v1`, `apis/apps/v1`), serialized when what they describe changes. */
function documentsOf(served: readonly Resource[]): Map<string, { text: string; hash: string }> {
  const out = new Map<string, { text: string; hash: string }>()
  for (const gv of groupVersions(served)) {
    const path = gv.group === '' ? `api/${gv.version}` : `apis/${apiVersionOf(gv)}`
    const here = served.filter((r) => r.group === gv.group && r.version === gv.version)
    let cached = documents.get(path)
    if (!cached || cached.of.length !== here.length || cached.of.some((r, i) => r !== here[i])) {
      const text = JSON.stringify(groupVersionDocument(here))
      documents.set(path, (cached = { of: here, text, hash: hashOf(text) }))
    }
    out.set(path, cached)
  }
  return out
}

export function openAPIRoot(served: readonly Resource[]): string {
  return JSON.stringify({
    paths: Object.fromEntries([...documentsOf(served)].map(([path, d]) => [path, { serverRelativeURL: `/openapi/v3/${path}?hash=${d.hash}` }])),
  })
}

export function openAPIDocument(served: readonly Resource[], path: string): string | undefined {
  return documentsOf(served).get(path)?.text
}

function protobufField(field: number, value: Buffer): Buffer {
  // wire type 2 (length-delimited); lengths here stay below 128, so one varint byte
  return Buffer.concat([Buffer.from([(field << 3) | 2, value.length]), value])
}

/**
 * An empty OpenAPI v2 document (gnostic openapi_v2.Document: swagger = 1, info = 2 {title = 1, version = 2}),
 * in the protobuf kubectl asks for. kubectl validates `kind: List` files client-side against it:
 * kinds it does not describe are left to the server, which validates every item itself.
 */
export const openAPIV2Protobuf = Buffer.concat([
  protobufField(1, Buffer.from('2.0')),
  protobufField(2, Buffer.concat([protobufField(1, Buffer.from('Kubernetes')), protobufField(2, Buffer.from('v1.32.0'))])),
])

export const openAPIV2Json = JSON.stringify({ swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths: {}, definitions: {} })
