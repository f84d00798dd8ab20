// The simple JSONPath forms printer columns use: `.a.b`, `.a[0]`, `.a['dotted\.key']`.

type Step = string | number

export function parseJsonPath(path: string): Step[] {
  const text = path.trim().replace(/^\{(.*)\}$/, '$1')
  const steps: Step[] = []
  let i = 0
  while (i < text.length) {
    if (text[i] === '.') {
      let j = i + 1
      while (j < text.length && text[j] !== '.' && text[j] !== '[') j++
      if (j > i + 1) steps.push(text.slice(i + 1, j))
      i = j
    } else if (text[i] === '[') {
      const quote = text[i + 1]
      if (quote === "'" || quote === '"') {
        let key = ''
        let j = i + 2
        for (; j < text.length && text[j] !== quote; j++) key += text[j] === '\\' ? text[++j] : text[j]
        if (text[j + 1] !== ']') throw new Error(`unterminated key in JSONPath ${path}`)
        steps.push(key)
        i = j + 2
      } else {
        const close = text.indexOf(']', i)
        if (close < 0) throw new Error(`unterminated index in JSONPath ${path}`)
        const index = Number(text.slice(i + 1, close))
        if (!Number.isInteger(index)) throw new Error(`unsupported JSONPath index in ${path}`)
        steps.push(index)
        i = close + 1
      }
    } else throw new Error(`unsupported JSONPath ${path}`)
  }
  return steps
}

/** The value at `steps`, or undefined when any step is missing. */
export function evaluateJsonPath(value: unknown, steps: readonly Step[]): unknown {
  let at = value
  for (const step of steps) {
    if (typeof step === 'number') {
      if (!Array.isArray(at)) return undefined
      at = at[step < 0 ? at.length + step : step]
    } else {
      if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined
      at = (at as Record<string, unknown>)[step]
    }
  }
  return at
}
