// The patch types of PATCH requests: JSON merge patch (RFC 7386), JSON patch (RFC 6902, with `test`)
// and strategic merge patch (built-in kinds only, as kube-apiserver).
import { isDeepStrictEqual } from 'node:util'
import { ApiError, badRequest, unsupportedMediaType } from './errors.ts'
import { applyStrategicMergePatch } from './strategic.ts'
import type { Resource } from './resources.ts'

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply'

const patchTypes: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
}

const acceptedForCustom = 'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml'
const acceptedForBuiltin = 'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json'

/** The patch type of a request, or 415 for media types the resource does not take. */
export function patchTypeOf(contentType: string | undefined, resource: Resource): PatchType {
  const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase()
  const type = patchTypes[mediaType]
  if (type === undefined || (type === 'strategic' && resource.custom) || type === 'apply') {
    throw unsupportedMediaType(
      `the body of the request was in an unknown format - accepted media types include: ${resource.custom ? acceptedForCustom : acceptedForBuiltin}`,
    )
  }
  return type
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return structuredClone(patch)
  const result: Record<string, unknown> = isMap(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key]
    else result[key] = applyMergePatch(result[key], value)
  }
  return result
}

interface Operation {
  op: string
  path: string
  from?: string
  value?: unknown
}

// kube-apiserver answers a JSON patch that does not apply with this generic 422.
function patchFailed(reason: string): ApiError {
  return new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {
    causes: [{ reason: 'UnexpectedServerResponse', message: reason }],
  })
}

function pointerTokens(pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw patchFailed(`invalid JSON pointer ${JSON.stringify(pointer)}`)
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
}

type Container = Record<string, unknown> | unknown[]

/** The container holding the last token of `pointer`, and that token. */
function locate(document: unknown, pointer: string): { parent: Container; key: string } {
  const tokens = pointerTokens(pointer)
  if (tokens.length === 0) throw patchFailed('the root of the document cannot be patched')
  let at: unknown = document
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(at)) at = at[arrayIndex(at, token, false)]
    else if (isMap(at) && Object.hasOwn(at, token)) at = at[token]
    else throw patchFailed(`doc is missing path: ${JSON.stringify(pointer)}: missing value`)
  }
  if (!Array.isArray(at) && !isMap(at)) throw patchFailed(`doc is missing path: ${JSON.stringify(pointer)}: missing value`)
  return { parent: at, key: tokens[tokens.length - 1] }
}

function arrayIndex(array: unknown[], token: string, forInsert: boolean): number {
  if (forInsert && token === '-') return array.length
  if (!/^(0|[1-9]\d*)$/.test(token)) throw patchFailed(`invalid array index ${JSON.stringify(token)}`)
  const index = Number(token)
  if (index > array.length || (!forInsert && index === array.length)) throw patchFailed(`index out of bounds: ${index}`)
  return index
}

function read(document: unknown, pointer: string): unknown {
  if (pointer === '') return document
  const { parent, key } = locate(document, pointer)
  if (Array.isArray(parent)) return parent[arrayIndex(parent, key, false)]
  if (!Object.hasOwn(parent, key)) throw patchFailed(`doc is missing key: ${JSON.stringify(pointer)}: missing value`)
  return parent[key]
}

function add(document: unknown, pointer: string, value: unknown): void {
  const { parent, key } = locate(document, pointer)
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true), 0, value)
  else parent[key] = value
}

function remove(document: unknown, pointer: string): unknown {
  const { parent, key } = locate(document, pointer)
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, false), 1)[0]
  if (!Object.hasOwn(parent, key)) throw patchFailed(`unable to remove nonexistent key: ${key}: missing value`)
  const value = parent[key]
  delete parent[key]
  return value
}

export function applyJsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch')
  const document = { root: structuredClone(target) }
  const rooted = (path: string) => `/root${path}`
  for (const raw of operations as Operation[]) {
    if (!isMap(raw) || typeof raw.path !== 'string') throw patchFailed('operation has no path')
    const path = rooted(raw.path)
    switch (raw.op) {
      case 'add':
        add(document, path, structuredClone(raw.value))
        break
      case 'remove':
        remove(document, path)
        break
      case 'replace':
        read(document, path)
        remove(document, path)
        add(document, path, structuredClone(raw.value))
        break
      case 'move': {
        if (typeof raw.from !== 'string') throw patchFailed('move operation has no from')
        add(document, path, remove(document, rooted(raw.from)))
        break
      }
      case 'copy':
        if (typeof raw.from !== 'string') throw patchFailed('copy operation has no from')
        add(document, path, structuredClone(read(document, rooted(raw.from))))
        break
      case 'test':
        if (!isDeepStrictEqual(read(document, path), raw.value)) throw patchFailed(`testing value ${raw.path} failed: test failed`)
        break
      default:
        throw patchFailed(`Unexpected kind: ${String(raw.op)}`)
    }
  }
  return document.root
}

export function applyPatch(type: PatchType, target: Record<string, unknown>, patch: unknown, resource: Resource): unknown {
  switch (type) {
    case 'merge':
      return applyMergePatch(target, patch)
    case 'json':
      return applyJsonPatch(target, patch)
    case 'strategic':
      return applyStrategicMergePatch(target, patch, resource.kind)
    case 'apply':
      throw unsupportedMediaType('server-side apply is not supported by the local control plane')
  }
}
