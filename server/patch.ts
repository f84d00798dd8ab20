// The RFC 6902 JSON Patch that turns the object as received into the object as defaulted
// (controller-runtime's PatchResponseFromRaw): objects key by key, arrays element by element.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

export type PatchOperation =
  | { op: 'add'; path: string; value: JsonValue }
  | { op: 'replace'; path: string; value: JsonValue }
  | { op: 'remove'; path: string }

/** One JSON Pointer segment (RFC 6901): `~` → `~0`, `/` → `~1`. */
export function pointerSegment(key: string | number): string {
  return String(key).replaceAll('~', '~0').replaceAll('/', '~1')
}

const isObject = (v: JsonValue): v is { [key: string]: JsonValue } => typeof v === 'object' && v !== null && !Array.isArray(v)

export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]))
  if (isObject(a)) {
    if (!isObject(b)) return false
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]))
  }
  return false
}

/** Both sides must be plain JSON (what JSON.parse gives); the patch applied to `from` yields `to`. */
export function diff(from: JsonValue, to: JsonValue): PatchOperation[] {
  const ops: PatchOperation[] = []
  diffInto(ops, '', from, to)
  return ops
}

function diffInto(ops: PatchOperation[], path: string, from: JsonValue, to: JsonValue): void {
  if (isObject(from) && isObject(to)) {
    for (const key of Object.keys(from)) {
      const at = `${path}/${pointerSegment(key)}`
      if (!Object.hasOwn(to, key)) ops.push({ op: 'remove', path: at })
      else diffInto(ops, at, from[key], to[key])
    }
    for (const key of Object.keys(to)) {
      if (!Object.hasOwn(from, key)) ops.push({ op: 'add', path: `${path}/${pointerSegment(key)}`, value: to[key] })
    }
    return
  }
  if (Array.isArray(from) && Array.isArray(to)) {
    const common = Math.min(from.length, to.length)
    for (let i = 0; i < common; i++) diffInto(ops, `${path}/${i}`, from[i], to[i])
    for (let i = common; i < to.length; i++) ops.push({ op: 'add', path: `${path}/${i}`, value: to[i] })
    // from the end, so that every index still names the element it meant
    for (let i = from.length - 1; i >= common; i--) ops.push({ op: 'remove', path: `${path}/${i}` })
    return
  }
  if (!jsonEqual(from, to)) ops.push({ op: 'replace', path, value: to })
}
