// Pool names with shell wildcards (`*`, `?`, `[…]`), matched as Go's filepath.Match matches
// them, which is what Spiderpool uses (ipam-semantics §2.3).

/** Spiderpool's HasWildcardInStr: `?`, `*`, or both `[` and `]`. */
export const hasWildcard = (name: string): boolean => name.includes('?') || name.includes('*') || (name.includes('[') && name.includes(']'))

const regexSpecial = /[\\^$.*+?()[\]{}|/-]/g
const literal = (c: string) => c.replace(regexSpecial, '\\$&')

/** The pattern as an anchored RegExp, or undefined when Go would answer ErrBadPattern. */
export function globPattern(pattern: string): RegExp | undefined {
  let out = ''
  let i = 0
  const escaped = (): string | undefined => {
    // one class character: `\x` is x; an unescaped `-` or `]` here is malformed
    if (i >= pattern.length) return undefined
    let c = pattern[i]
    if (c === '-' || c === ']') return undefined
    if (c === '\\') {
      i++
      if (i >= pattern.length) return undefined
      c = pattern[i]
    }
    i++
    return c
  }
  while (i < pattern.length) {
    const c = pattern[i]
    if (c === '*') {
      out += '[^/]*'
      i++
    } else if (c === '?') {
      out += '[^/]'
      i++
    } else if (c === '\\') {
      if (i + 1 >= pattern.length) return undefined
      out += literal(pattern[i + 1])
      i += 2
    } else if (c === '[') {
      i++
      let negated = false
      if (pattern[i] === '^') {
        negated = true
        i++
      }
      let cls = ''
      let ranges = 0
      for (;;) {
        if (i < pattern.length && pattern[i] === ']' && ranges > 0) {
          i++
          break
        }
        const lo = escaped()
        if (lo === undefined) return undefined
        let hi = lo
        if (pattern[i] === '-') {
          i++
          const h = escaped()
          if (h === undefined) return undefined
          hi = h
        }
        cls += lo === hi ? literal(lo) : `${literal(lo)}-${literal(hi)}`
        ranges++
      }
      out += negated ? `[^${cls}]` : `[${cls}]`
    } else {
      out += literal(c)
      i++
    }
  }
  try {
    return new RegExp(`^${out}$`)
  } catch {
    // a range written high-to-low: Go matches nothing with it, the RegExp engine refuses it
    return /(?!)/
  }
}
