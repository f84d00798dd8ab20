// Request loggers whose bindings (request id, review uid) are bound on the first line written:
// pino's child() builds a logger and serialises its bindings on every call, several µs per request
// for lines the level in force mostly never writes (an admitted review logs at debug).
import type { FastifyBaseLogger } from 'fastify'

type Bindings = Parameters<FastifyBaseLogger['child']>[0]
type ChildLoggerOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>

export type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/** A logger that can tell whether a level writes (pino's loggers, and the lazy ones below). */
interface LevelAwareLogger extends FastifyBaseLogger {
  isLevelEnabled(level: string): boolean
}

const levelAware = (logger: FastifyBaseLogger): logger is LevelAwareLogger =>
  typeof (logger as Partial<LevelAwareLogger>).isLevelEnabled === 'function'

/** Whether `logger` writes lines of `level`; a logger that cannot tell is taken to write them. */
export function writesAt(logger: FastifyBaseLogger, level: Level): boolean {
  return levelAware(logger) ? logger.isLevelEnabled(level) : true
}

/**
 * `parent.child(bindings, options)`, created only when a line is written at a level the parent
 * writes (or the level is changed), so lines carry exactly what the eager child's would. A child
 * with a level of its own, or of a parent that cannot tell its levels, is created at once.
 */
export function lazyChild(parent: FastifyBaseLogger, bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
  if (!levelAware(parent) || options?.level !== undefined) return parent.child(bindings, options)
  return new LazyChildLogger(parent, bindings, options)
}

class LazyChildLogger implements LevelAwareLogger {
  #parent: LevelAwareLogger
  #bindings: Bindings
  #options: ChildLoggerOptions | undefined
  #bound: FastifyBaseLogger | undefined

  constructor(parent: LevelAwareLogger, bindings: Bindings, options: ChildLoggerOptions | undefined) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  /** The real child, created once: of the parent's real child when the parent is lazy too. */
  #child(): FastifyBaseLogger {
    const parent = this.#parent
    return (this.#bound ??= (parent instanceof LazyChildLogger ? parent.#child() : parent).child(this.#bindings, this.#options))
  }

  #write(level: Level, args: unknown[]): void {
    if (this.#bound === undefined && !this.#parent.isLevelEnabled(level)) return
    ;(this.#child()[level] as (...a: unknown[]) => void)(...args)
  }

  get level(): string {
    return this.#bound?.level ?? this.#parent.level
  }

  set level(level: string) {
    this.#child().level = level
  }

  isLevelEnabled(level: string): boolean {
    const bound = this.#bound
    if (bound === undefined) return this.#parent.isLevelEnabled(level)
    return levelAware(bound) ? bound.isLevelEnabled(level) : true
  }

  fatal(...args: unknown[]): void {
    this.#write('fatal', args)
  }
  error(...args: unknown[]): void {
    this.#write('error', args)
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args)
  }
  info(...args: unknown[]): void {
    this.#write('info', args)
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args)
  }
  trace(...args: unknown[]): void {
    this.#write('trace', args)
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return lazyChild(this, bindings, options)
  }
}
