// OpenAPI v3 documents, just what kubectl reads: each PATCH operation names its kind and takes
// `fieldValidation`, so kubectl leaves validation to the server; custom resource schemas are included.
// No strategic-merge request body is declared, so kubectl apply patches built-in kinds from its own types.
import { createHash } from 'node:crypto'
import { apiVersionOf, groupVersions, resources, type Resource } from './resources.ts'

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
  if (r.readOnly) {
    delete item.put
    delete item.patch
    delete item.delete
    delete collection.post
  }
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`
  const scope = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`
  const scopeParameters = r.namespaced ? [pathParameter('namespace')] : []
  const paths: Record<string, object> = {
    [scope]: { ...collection, parameters: scopeParameters },
    [`${scope}/{name}`]: { ...item, parameters: [...scopeParameters, pathParameter('name')] },
  }
  if (r.hasStatus && !r.readOnly) {
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

function groupVersionDocument(group: string, version: string): object {
  const served = resources.filter((r) => r.group === group && r.version === version)
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths: Object.assign({}, ...served.map(operations)),
    components: { schemas: Object.fromEntries(served.map((r) => [schemaName(r), componentSchema(r)])) },
  }
}

/** Documents by path below /openapi/v3 (`api/v1`, `apis/apps/v1`), serialized once. */
const documents = new Map<string, string>(
  groupVersions().map((gv) => [gv.group === '' ? `api/${gv.version}` : `apis/${apiVersionOf(gv)}`, JSON.stringify(groupVersionDocument(gv.group, gv.version))]),
)

const hashOf = (text: string) => createHash('sha512').update(text).digest('hex').slice(0, 128).toUpperCase()

export const openAPIRoot = JSON.stringify({
  paths: Object.fromEntries([...documents].map(([path, text]) => [path, { serverRelativeURL: `/openapi/v3/${path}?hash=${hashOf(text)}` }])),
})

export function openAPIDocument(path: string): string | undefined {
  return documents.get(path)
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
