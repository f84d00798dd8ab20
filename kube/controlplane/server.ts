// HTTP in and out: fault injection, authentication, routing by request path and verb, body
// decoding, content negotiation (JSON, Table, PartialObjectMetadata), Status errors, Warning headers.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { parse as parseYaml } from 'yaml'
import { hasToken } from './auth.ts'
import type { Faults } from './index.ts'
import { parseFieldValidation } from './decode.ts'
import { bindPod } from './binding.ts'
import { apiGroupDocument, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.ts'
import { ApiError, badRequest, conflict, internalError, methodNotAllowed, requestTooLarge, serviceUnavailable, unauthorized, unsupportedMediaType } from './errors.ts'
import { deleteObject, type PropagationPolicy } from './lifecycle.ts'
import { openAPIDocument, openAPIRoot, openAPIV2Json, openAPIV2Protobuf } from './openapi.ts'
import { patchTypeOf } from './patch.ts'
import { decodeProtobufObject } from './protobuf.ts'
import { getObject, listObjects } from './reads.ts'
import { parseRequestPath } from './requestinfo.ts'
import { crdResource, namespaceResource, resourceKey, type Resource } from './resources.ts'
import { findServed, isOwnCRD, servedResources } from './served.ts'
import { objectKey, type StoredObject } from './store.ts'
import { rowObject, toTable, type IncludeObject } from './table.ts'
import type { WatchFormat, Watches } from './watch.ts'
import { createObject, patchObject, updateObject, type WriteContext, type WriteRequest } from './writes.ts'

export interface ServerContext extends WriteContext {
  watches: Watches
  faults: Faults
  token: string
  /** host:port as clients reach the server, for /api's serverAddressByClientCIDRs. */
  address: () => string
}

const maxBodyBytes = 3 * 1024 * 1024

// Go clients read the header's bytes as UTF-8; Node writes header strings as latin1, one byte per character
const warningHeader = (text: string): string => Buffer.from(`299 - ${JSON.stringify(text.replaceAll('\x7f', ''))}`, 'utf8').toString('latin1')

class Reply {
  readonly res: ServerResponse
  readonly warnings: string[] = []

  constructor(res: ServerResponse) {
    this.res = res
  }

  json(code: number, body: unknown): void {
    this.send(code, 'application/json', JSON.stringify(body))
  }

  send(code: number, contentType: string, body: string | Buffer): void {
    if (this.res.headersSent) return
    const headers: Record<string, string | string[]> = { 'Content-Type': contentType, 'Cache-Control': 'no-cache, private' }
    if (this.warnings.length > 0) headers.Warning = [...new Set(this.warnings)].map(warningHeader)
    this.res.writeHead(code, headers)
    this.res.end(body)
  }

  error(error: ApiError): void {
    if (this.res.headersSent) {
      this.res.destroy()
      return
    }
    this.json(error.status.code, error.status)
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > maxBodyBytes) throw requestTooLarge()
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

const bodyMediaTypes = new Set(['application/json', 'application/yaml', 'application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'])

function parseBody(req: IncomingMessage, body: Buffer, options: { optional?: boolean } = {}): unknown {
  if (body.length === 0) {
    if (options.optional) return undefined
    throw badRequest('the request body is empty')
  }
  const mediaType = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase()
  if (mediaType === 'application/vnd.kubernetes.protobuf') return decodeProtobufObject(body)
  if (!bodyMediaTypes.has(mediaType)) {
    throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`)
  }
  const text = body.toString('utf8')
  try {
    if (mediaType === 'application/yaml' || mediaType === 'application/apply-patch+yaml') return parseYaml(text)
    return JSON.parse(text)
  } catch (error) {
    throw badRequest(`error decoding request body: ${(error as Error).message}`)
  }
}

type Negotiated = { as: 'object' } | { as: 'table'; include: IncludeObject } | { as: 'metadata' }

/** The representation asked for in Accept: a Table, PartialObjectMetadata(List), or the object itself. */
function negotiate(accept: string | undefined, query: URLSearchParams): Negotiated {
  for (const entry of (accept ?? '').split(',')) {
    const [mediaType, ...params] = entry.split(';').map((p) => p.trim())
    const values = Object.fromEntries(params.map((p) => p.split('=').map((s) => s.trim())))
    if (mediaType !== 'application/json') continue
    if (values.as === 'Table' && values.g === 'meta.k8s.io') {
      const include = (query.get('includeObject') ?? 'Metadata') as IncludeObject
      if (!['None', 'Metadata', 'Object'].includes(include)) throw badRequest(`includeObject: unsupported value ${JSON.stringify(include)}`)
      return { as: 'table', include }
    }
    if ((values.as === 'PartialObjectMetadata' || values.as === 'PartialObjectMetadataList') && values.g === 'meta.k8s.io') return { as: 'metadata' }
    if (values.as === undefined) return { as: 'object' }
  }
  return { as: 'object' }
}

function parseDryRun(values: string[]): boolean {
  for (const value of values) if (value !== 'All') throw badRequest(`Invalid dry run value: ${value}; supported values: [All]`)
  return values.length > 0
}

const notFoundPath = () => new ApiError(404, 'NotFound', 'the server could not find the requested resource', {})

export function createRequestHandler(ctx: ServerContext): (req: IncomingMessage, res: ServerResponse) => void {
  const writesSeen = new Map<string, number>()

  function injectConflict(resource: Resource, namespace: string | undefined, name: string): void {
    const every = ctx.faults.conflictEveryNthWrite
    const key = `${resourceKey(resource)} ${objectKey(namespace, name)}`
    const seen = (writesSeen.get(key) ?? 0) + 1
    writesSeen.set(key, seen)
    if (every > 0 && seen % every === 0) throw conflict(resource, name)
  }

  async function handle(req: IncomingMessage, reply: Reply): Promise<void> {
    if (ctx.faults.outage) throw serviceUnavailable()
    const url = new URL(req.url ?? '/', 'https://control-plane')
    const pathname = url.pathname.replace(/\/+$/, '') || '/'
    const method = req.method ?? 'GET'

    if (['/healthz', '/livez', '/readyz'].includes(pathname) || /^\/(healthz|livez|readyz)\//.test(pathname)) return reply.send(200, 'text/plain; charset=utf-8', 'ok')
    if (pathname === '/version') return reply.json(200, versionInfo)
    if (!hasToken(req, ctx.token)) throw unauthorized()

    if (pathname === '/openapi/v2') {
      if ((req.headers.accept ?? '').includes('protobuf')) return reply.send(200, 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf', openAPIV2Protobuf)
      return reply.send(200, 'application/json', openAPIV2Json)
    }
    if (pathname === '/openapi/v3') return reply.send(200, 'application/json', openAPIRoot(servedResources(ctx.store)))
    if (pathname.startsWith('/openapi/v3/')) {
      const document = openAPIDocument(servedResources(ctx.store), pathname.slice('/openapi/v3/'.length))
      if (!document) throw notFoundPath()
      return reply.send(200, 'application/json', document)
    }

    const target = parseRequestPath(pathname)
    if (target.type === 'other') throw notFoundPath()
    if (target.type === 'discovery') {
      if (method !== 'GET') throw methodNotAllowed()
      if (target.legacy && target.version === undefined) return reply.json(200, apiVersions(ctx.address()))
      const served = servedResources(ctx.store)
      if (target.group === undefined) return reply.json(200, apiGroupList(served))
      const document = target.version === undefined ? apiGroupDocument(served, target.group) : apiResourceList(served, target.group, target.version)
      if (!document) throw notFoundPath()
      return reply.json(200, document)
    }

    const resource = findServed(ctx.store, target.group, target.version, target.plural)
    if (!resource) throw notFoundPath()
    const namespace = resource === namespaceResource ? undefined : target.namespace
    const { name, subresource } = target
    if (resource.namespaced && namespace === undefined && (name !== undefined || method !== 'GET')) throw notFoundPath()
    if (!resource.namespaced && namespace !== undefined) throw notFoundPath()
    const query = url.searchParams
    // pods/<name>/binding: kube-scheduler's POST of a Binding, the one verb it serves
    if (subresource === 'binding' && resource.group === '' && resource.plural === 'pods' && name !== undefined) {
      if (method !== 'POST') throw methodNotAllowed()
      const body = await readBody(req)
      if (ctx.faults.writeLatencyMs > 0) await sleep(ctx.faults.writeLatencyMs)
      const request: WriteRequest = { resource, namespace, name, subresource, dryRun: parseDryRun(query.getAll('dryRun')), fieldValidation: parseFieldValidation(query.get('fieldValidation')), warnings: reply.warnings }
      return reply.json(201, await bindPod(ctx, request, parseBody(req, body)))
    }
    if (subresource !== undefined && (subresource !== 'status' || !resource.hasStatus)) throw notFoundPath()

    if (method === 'GET') {
      const format = negotiate(req.headers.accept, query)
      if (name !== undefined) {
        const object = getObject(ctx.store, resource, namespace, name)
        if (format.as === 'table') return reply.json(200, toTable(resource, [object], { resourceVersion: object.metadata.resourceVersion }, format.include))
        return reply.json(200, format.as === 'metadata' ? rowObject(object, 'Metadata') : object)
      }
      if (query.get('watch') === 'true' || query.get('watch') === '1') {
        ctx.watches.serve({ resource, namespace, query, format: format as WatchFormat }, reply.res)
        return
      }
      const list = listObjects(ctx.store, resource, namespace, query)
      if (format.as === 'table') return reply.json(200, toTable(resource, list.items, list.metadata, format.include))
      if (format.as === 'metadata') {
        return reply.json(200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: list.metadata, items: list.items.map((o) => rowObject(o, 'Metadata')) })
      }
      return reply.json(200, list)
    }

    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) throw methodNotAllowed()
    // the CRDs of our kinds are the schemas this control plane is built with (a collection delete would take them too)
    if (resource === crdResource && method !== 'POST' && (name === undefined || isOwnCRD(name))) throw methodNotAllowed()
    if ((method === 'POST') !== (name === undefined) && method !== 'DELETE') throw methodNotAllowed()
    if (method === 'POST' && subresource !== undefined) throw methodNotAllowed()

    const body = await readBody(req)
    if (ctx.faults.writeLatencyMs > 0) await sleep(ctx.faults.writeLatencyMs)
    const request: WriteRequest = {
      resource,
      namespace,
      name,
      subresource,
      dryRun: parseDryRun(query.getAll('dryRun')),
      fieldValidation: parseFieldValidation(query.get('fieldValidation')),
      warnings: reply.warnings,
    }

    switch (method) {
      case 'POST':
        return reply.json(201, await createObject(ctx, request, parseBody(req, body)))
      case 'PUT':
        injectConflict(resource, namespace, name!)
        return reply.json(200, await updateObject(ctx, request, parseBody(req, body)))
      case 'PATCH': {
        const patchType = patchTypeOf(req.headers['content-type'], resource)
        injectConflict(resource, namespace, name!)
        return reply.json(200, await patchObject(ctx, request, patchType, parseBody(req, body)))
      }
      case 'DELETE': {
        const options = deleteOptions(parseBody(req, body, { optional: true }), query)
        const dryRun = request.dryRun || options.dryRun
        if (name !== undefined) {
          const deleted = await deleteObject(ctx, { ...options, resource, namespace, name, dryRun, warnings: reply.warnings })
          return reply.json(200, deleted)
        }
        const list = listObjects(ctx.store, resource, namespace, query)
        const deleted: StoredObject[] = []
        for (const object of list.items) {
          try {
            const target = { resource, namespace: object.metadata.namespace, name: object.metadata.name! }
            deleted.push(await deleteObject(ctx, { ...options, ...target, dryRun, warnings: reply.warnings }))
          } catch (error) {
            if (!(error instanceof ApiError && error.status.code === 404)) throw error
          }
        }
        return reply.json(200, { ...list, metadata: { resourceVersion: String(ctx.store.resourceVersion) }, items: deleted })
      }
    }
  }

  return (req, res) => {
    const reply = new Reply(res)
    handle(req, reply).catch((error: unknown) => {
      if (error instanceof ApiError) return reply.error(error)
      process.emitWarning(`control plane: ${req.method} ${req.url} failed: ${(error as Error)?.stack ?? String(error)}`, 'ControlPlaneWarning')
      reply.error(internalError((error as Error)?.message ?? String(error)))
    })
  }
}

interface DeleteOptionsFields {
  propagationPolicy: PropagationPolicy
  preconditions?: { uid?: string; resourceVersion?: string }
  dryRun: boolean
}

function deleteOptions(body: unknown, query: URLSearchParams): DeleteOptionsFields {
  const options = (body ?? {}) as { propagationPolicy?: string; orphanDependents?: boolean; preconditions?: { uid?: string; resourceVersion?: string }; dryRun?: string[] }
  if (typeof options !== 'object' || Array.isArray(options)) throw badRequest('the body of a DELETE must be DeleteOptions')
  const policy = query.get('propagationPolicy') ?? options.propagationPolicy ?? (options.orphanDependents || query.get('orphanDependents') === 'true' ? 'Orphan' : 'Background')
  if (!['Background', 'Foreground', 'Orphan'].includes(policy)) {
    throw badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan"`)
  }
  return {
    propagationPolicy: policy as PropagationPolicy,
    ...(options.preconditions ? { preconditions: options.preconditions } : {}),
    dryRun: parseDryRun(options.dryRun ?? []),
  }
}
