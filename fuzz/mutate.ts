// Mutations of valid objects and of their JSON text: hostile values put at random places (wrong
// types, invalid IPs and CIDRs of both families, unicode, huge arrays, deep nesting), fields
// removed, text truncated or its bytes damaged.
import type { Random } from './random.ts'
import type { Json, JsonObject } from './seeds.ts'

const badIPv4 = ['10.0.0.256', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.-1', ' 10.0.0.1', '10.0.0.1 ', '0x0a.0.0.1', '10.0.0.1/33', '10.0.0.1/-1', '10.0.0.0/08', '10.0.0.1/', '/24', '10.0.0.1-', '-10.0.0.1', '10.0.0.9-10.0.0.1', '10.0.0.1-fd00::1', '10.0.0.1--10.0.0.2', '10.0.0.1-10.0.0.2-10.0.0.3', '255.255.255.255/0']
const badIPv6 = ['fd00::1::2', 'fd00:::1', 'gggg::1', 'fd00::/129', 'fd00::1/-0', '::ffff:10.0.0.1', '::ffff:10.0.0.256', 'fe80::1%eth0', 'fd00::1-fd00::', 'fd00::ff-fd00::1', '1:2:3:4:5:6:7:8:9', '[fd00::1]', 'fd00::1/64/64', 'FD00::1', 'fd00:0:0:0:0:0:0:0:1']
const wideRanges = ['0.0.0.0/0', '::/0', '0.0.0.0-255.255.255.255', '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fd00::/8', '10.0.0.0/8', 'fd00::1-fd00::ffff:ffff:ffff:ffff', '10.0.0.0-10.255.255.255']
const goodish = ['10.0.0.1', '10.0.0.0/24', '10.0.0.10-10.0.0.20', 'fd00::1', 'fd00::/64', 'fd00::10-fd00::20', '172.18.0.1', '169.254.0.0/16', '0.0.0.0', '::', '127.0.0.1', '::1']
const unicode = ['', 'é', '\u0000', '\ud800', '\udfff', '\u202e', '\ufeff', '😀'.repeat(50), '名字', 'a\nb', '"', '\\', '${x}', '%s%n', '../../etc/passwd', '<script>', 'ippool-test\u0000x', 'İ', 'ß']
const numbers = [0, -1, 1, 4, 6, 46, 4094, 4095, 65536, -2147483649, 2 ** 31, 2 ** 53, 2 ** 63, 1e308, -1e308, 0.5, -0, Number.MIN_VALUE]

/** A random hostile value; `depth` bounds how deep generated containers go. */
export function hostileValue(r: Random, depth = 0): Json {
  switch (r.int(depth > 2 ? 9 : 13)) {
    case 0: return r.pick(badIPv4)
    case 1: return r.pick(badIPv6)
    case 2: return r.pick(wideRanges)
    case 3: return r.pick(goodish)
    case 4: return r.pick(unicode)
    case 5: return r.pick(numbers)
    case 6: return r.pick([true, false, null])
    case 7: return 'x'.repeat(r.pick([63, 64, 253, 254, 1000, 70_000]))
    case 8: return String(r.int(1_000_000))
    case 9: return Array.from({ length: r.int(5) }, () => hostileValue(r, depth + 1))
    case 10: return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.pick(['ipv4', 'ipv6', 'name', 'spec', 'dst', 'gw', '', '__proto__x', 'interface', r.pick(unicode)]), hostileValue(r, depth + 1)]))
    case 11: return hugeArray(r)
    default: return deepNesting(r)
  }
}

export function hugeArray(r: Random): Json[] {
  const length = r.pick([1_000, 10_000, 50_000])
  const kind = r.int(4)
  return Array.from({ length }, (_, i) =>
    kind === 0 ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : kind === 1 ? `fd00::${i.toString(16)}` : kind === 2 ? `10.0.${i & 255}.0-10.0.${i & 255}.255` : i,
  )
}

/**
 * Arrays or objects nested `depth` deep. Kept as a marker until the body is written
 * (`expandNesting`): JSON.stringify and structuredClone would recurse through them.
 */
export function deepNesting(r: Random, depth = r.pick([100, 998, 999, 1_000, 1_001, 5_000, 20_000])): Json {
  return `\u0001nest:${depth}:${r.pick(['a', 'o'])}`
}

/** JSON text with every nesting marker replaced by the nesting it stands for. */
export function expandNesting(text: string): string {
  return text.replace(/"\\u0001nest:(\d+):(a|o)"/g, (_, depth: string, shape: string) => {
    const n = Number(depth)
    return shape === 'a' ? `${'['.repeat(n)}"10.0.0.1"${']'.repeat(n)}` : `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`
  })
}

/** Paths of every value inside `root` (objects and arrays), root first. */
function paths(root: Json): (string | number)[][] {
  const out: (string | number)[][] = []
  const walk = (v: Json, at: (string | number)[]) => {
    out.push(at)
    if (at.length > 12) return
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...at, i]))
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...at, k])
  }
  walk(root, [])
  return out
}

function parentOf(root: Json, at: (string | number)[]): Json {
  let v = root
  for (const k of at.slice(0, -1)) v = (v as Record<string | number, Json>)[k]
  return v
}

/** A copy of `obj` with 1–3 random changes: a value replaced, removed, or given company. */
export function mutateObject(r: Random, obj: JsonObject): JsonObject {
  const copy = structuredClone(obj)
  const changes = 1 + r.int(3)
  for (let n = 0; n < changes; n++) {
    const all = paths(copy).filter((p) => p.length > 0)
    if (all.length === 0) break
    const at = r.pick(all)
    const parent = parentOf(copy, at) as Record<string | number, Json>
    const key = at[at.length - 1]
    const op = r.int(5)
    if (op === 0 && !Array.isArray(parent)) delete parent[key]
    else if (op === 0) (parent as unknown as Json[]).splice(key as number, 1)
    else if (op === 1 && Array.isArray(parent)) parent.push(hostileValue(r))
    else if (op === 1) parent[`${String(key)}${r.pick(['', 'X', 'Config', '_'])}`] = hostileValue(r)
    else if (op === 2) parent[key] = typeof parent[key] === 'string' ? r.pick(r.chance(0.5) ? [...badIPv4, ...badIPv6] : [...wideRanges, ...goodish]) : hostileValue(r)
    else parent[key] = hostileValue(r)
  }
  return copy
}

/** Damaged JSON text: cut short, bytes flipped, characters inserted or removed. */
export function mutateText(r: Random, text: string): Buffer {
  const bytes = Buffer.from(text)
  switch (r.int(5)) {
    case 0: return bytes.subarray(0, r.int(bytes.length))
    case 1: {
      const copy = Buffer.from(bytes)
      for (let i = 0, n = 1 + r.int(8); i < n && copy.length > 0; i++) copy[r.int(copy.length)] = r.int(256)
      return copy
    }
    case 2: {
      const at = r.int(bytes.length + 1)
      const insert = Buffer.from(r.pick(['{', '}', '[', ']', ',', '"', ':', '\\', 'null', '\u0000', '\ud83d', '\xff\xfe', ',,', '"__proto__":{"x":1},', '"constructor":{"prototype":{}},']))
      return Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at)])
    }
    case 3: {
      const at = r.int(bytes.length)
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + r.int(20))])
    }
    default: return Buffer.concat([bytes, Buffer.from(r.pick([' ', '}', ']', 'x', '\n{}', ',']))])
  }
}
