// A seeded random source: the same seed gives the same cases, so a failure found once is found again.

export interface Random {
  readonly seed: number
  /** [0, 1) */
  next(): number
  /** integer in [0, n) */
  int(n: number): number
  /** true with probability p */
  chance(p: number): boolean
  pick<T>(items: readonly T[]): T
}

/** mulberry32: small, fast, and good enough to spread cases (not for secrets). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return { seed, next, int, chance: (p) => next() < p, pick: (items) => items[int(items.length)] }
}

/** The random source of case `index` of a run: any one case can be replayed alone. */
export const caseRandom = (seed: number, index: number): Random => seededRandom((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index, 0xc2b2ae35)) >>> 0)
