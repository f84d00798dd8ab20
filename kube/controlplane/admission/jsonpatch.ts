// JSON Patch (RFC 6902) over JSON values, with JSON Pointer (RFC 6901) paths. A patch applies
// whole or not at all: it works on a copy and the first operation that does not apply throws.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: JsonValue }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string }

export class JsonPatchError extends Error {
  override name = 'JsonPatchError'
}

/** The operations of a patch document; throws when it is not an array of well-formed operations. */
export function parseJsonPatch(document: unknown): JsonPatchOperation[] {
  if (!Array.isArray(document)) throw new JsonPatchError('a JSON patch must be an array of operations')
  return document.map((operation, index) => parseOperation(operation, index))
}

function parseOperation(raw: unknown, index: number): JsonPatchOperation {
  const where = `operation ${index}`
  if (!isObject(raw)) throw new JsonPatchError(`${where} is not an object`)
  const { op, path } = raw
  if (typeof path !== 'string') throw new JsonPatchError(`${where} has no string "path"`)
  switch (op) {
    case 'add':
    case 'replace':
    case 'test':
      if (!Object.hasOwn(raw, 'value')) throw new JsonPatchError(`${where} (${op}) has no "value"`)
      return { op, path, value: raw.value as JsonValue }
    case 'remove':
      return { op, path }
    case 'move':
    case 'copy':
      if (typeof raw.from !== 'string') throw new JsonPatchError(`${where} (${op}) has no string "from"`)
      return { op, from: raw.from, path }
    default:
      throw new JsonPatchError(`${where} has unknown op ${JSON.stringify(op)}`)
  }
}

/** `document` with `patch` applied; `document` itself is left as it was. */
export function applyJsonPatch(document: JsonValue, patch: readonly JsonPatchOperation[]): JsonValue {
  let result = structuredClone(document)
  for (const operation of patch) result = applyOperation(result, operation)
  return result
}

function applyOperation(document: JsonValue, operation: JsonPatchOperation): JsonValue {
  switch (operation.op) {
    case 'add':
      return add(document, parsePointer(operation.path), structuredClone(operation.value), operation)
    case 'remove':
      return remove(document, parsePointer(operation.path), operation).document
    case 'replace': {
      const tokens = parsePointer(operation.path)
      const removed = remove(document, tokens, operation).document
      return add(removed, tokens, structuredClone(operation.value), operation)
    }
    case 'move': {
      const from = parsePointer(operation.from)
      const to = parsePointer(operation.path)
      if (to.length > from.length && from.every((token, i) => token === to[i])) {
        throw failed(operation, `cannot move ${JSON.stringify(operation.from)} into its own child ${JSON.stringify(operation.path)}`)
      }
      const { document: rest, value } = remove(document, from, operation)
      return add(rest, to, value, operation)
    }
    case 'copy':
      return add(document, parsePointer(operation.path), structuredClone(valueAt(document, parsePointer(operation.from), operation)), operation)
    case 'test': {
      const actual = valueAt(document, parsePointer(operation.path), operation)
      if (!jsonEqual(actual, operation.value)) throw failed(operation, `the value at ${JSON.stringify(operation.path)} is not the tested value`)
      return document
    }
  }
}

/** RFC 6901: `""` is the whole document; `~1` stands for `/` and `~0` for `~`. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw new JsonPatchError(`path ${JSON.stringify(pointer)} does not start with "/"`)
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~(?![01])/.test(token)) throw new JsonPatchError(`path ${JSON.stringify(pointer)} has a "~" not followed by 0 or 1`)
      return token.replaceAll('~1', '/').replaceAll('~0', '~')
    })
}

function add(document: JsonValue, tokens: readonly string[], value: JsonValue, operation: JsonPatchOperation): JsonValue {
  if (tokens.length === 0) return value
  const parent = containerAt(document, tokens, operation)
  const last = tokens[tokens.length - 1]
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : arrayIndex(last, parent.length, operation)
    parent.splice(index, 0, value)
  } else {
    setMember(parent, last, value)
  }
  return document
}

function remove(document: JsonValue, tokens: readonly string[], operation: JsonPatchOperation): { document: JsonValue; value: JsonValue } {
  if (tokens.length === 0) return { document: null, value: document }
  const parent = containerAt(document, tokens, operation)
  const last = tokens[tokens.length - 1]
  if (Array.isArray(parent)) {
    const index = arrayIndex(last, parent.length - 1, operation)
    const [value] = parent.splice(index, 1)
    return { document, value }
  }
  if (!Object.hasOwn(parent, last)) throw missing(operation, tokens)
  const value = parent[last]
  delete parent[last]
  return { document, value }
}

function valueAt(document: JsonValue, tokens: readonly string[], operation: JsonPatchOperation): JsonValue {
  let current = document
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]
    if (Array.isArray(current)) current = current[arrayIndex(token, current.length - 1, operation)]
    else if (isObject(current) && Object.hasOwn(current, token)) current = current[token]
    else throw missing(operation, tokens.slice(0, i + 1))
  }
  return current
}

/** The array or object that holds the last token of `tokens`. */
function containerAt(document: JsonValue, tokens: readonly string[], operation: JsonPatchOperation): JsonValue[] | { [key: string]: JsonValue } {
  const parent = valueAt(document, tokens.slice(0, -1), operation)
  if (Array.isArray(parent) || isObject(parent)) return parent
  throw failed(operation, `the parent of ${JSON.stringify(operation.path)} is neither an object nor an array`)
}

function arrayIndex(token: string, max: number, operation: JsonPatchOperation): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw failed(operation, `${JSON.stringify(token)} is not an array index`)
  const index = Number(token)
  if (index > max) throw failed(operation, `array index ${index} is out of bounds`)
  return index
}

// defineProperty keeps a `__proto__` member an own data member instead of changing the prototype
function setMember(target: { [key: string]: JsonValue }, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true })
}

function missing(operation: JsonPatchOperation, tokens: readonly string[]): JsonPatchError {
  const pointer = tokens.map((t) => '/' + t.replaceAll('~', '~0').replaceAll('/', '~1')).join('')
  return failed(operation, `the document has no value at ${JSON.stringify(pointer)}`)
}

function failed(operation: JsonPatchOperation, why: string): JsonPatchError {
  return new JsonPatchError(`${operation.op} operation does not apply: ${why}`)
}

function isObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Equality of JSON values: members in any order, array items in order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]))
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]))
  }
  return false
}
