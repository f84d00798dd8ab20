// Request loggers bound on first use write exactly the lines eager pino children would.
import { Writable } from 'node:stream'
import fastify, { type FastifyBaseLogger } from 'fastify'
import t from 'tap'
import { lazyChild } from '../../server/lazy-logger.ts'

/** A real pino logger (Fastify's) writing JSON lines into `lines`, and the bindings of each child() it is asked for. */
function capture(level: string) {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    },
  })
  const root = fastify({ logger: { level, stream } }).log
  const children: unknown[] = []
  const parent: FastifyBaseLogger = Object.create(root, {
    child: {
      value(bindings: Record<string, unknown>, options?: object) {
        children.push(bindings)
        return root.child(bindings, options)
      },
    },
  })
  const written = () => lines.map(({ time: _time, ...rest }) => rest)
  return { parent, root, lines, written, children }
}

t.test('a lazy request logger writes the lines an eager child writes, with every binding', async (t) => {
  const eager = capture('debug')
  const lazy = capture('debug')
  const err = new Error('boom')
  const write = (log: FastifyBaseLogger) => {
    log.info({ kind: 'SpiderIPPool' }, 'admission reviewed')
    log.debug('patch %d', 3)
    log.error({ err }, 'admission handler failed')
  }
  write(eager.parent.child({ reqId: 'req-1' }).child({ uid: 'u-1' }))
  write(lazyChild(lazy.parent, { reqId: 'req-1' }).child({ uid: 'u-1' }))
  t.equal(lazy.lines.length, 3)
  t.same(lazy.written(), eager.written())
  t.same(
    lazy.lines.map((l) => [l.reqId, l.uid, l.msg]),
    [
      ['req-1', 'u-1', 'admission reviewed'],
      ['req-1', 'u-1', 'patch 3'],
      ['req-1', 'u-1', 'admission handler failed'],
    ],
  )
})

t.test('no child logger is made while nothing is written at the level in force', async (t) => {
  const { parent, lines, children } = capture('info')
  const log = lazyChild(parent, { reqId: 'req-1' }).child({ uid: 'u-1' })
  log.debug({ kind: 'SpiderIPPool' }, 'admission reviewed')
  log.trace('nothing')
  t.same(children, [], 'debug and trace lines at info make no child')
  t.equal(lines.length, 0)
  log.info('refused')
  log.warn('again')
  t.same(children, [{ reqId: 'req-1' }], 'the parent is asked once, on the first line written')
  t.same(
    lines.map((l) => [l.reqId, l.uid, l.msg]),
    [
      ['req-1', 'u-1', 'refused'],
      ['req-1', 'u-1', 'again'],
    ],
  )
})

t.test('the level of a lazy logger is its parent\'s until it is set, and then its own', async (t) => {
  const { parent, root, lines } = capture('info')
  const log = lazyChild(parent, { reqId: 'req-2' })
  t.equal(log.level, 'info')
  log.level = 'debug'
  log.debug('now written')
  t.equal(log.level, 'debug')
  t.equal(root.level, 'info', 'the parent keeps its level')
  t.same(lines.map((l) => [l.reqId, l.msg]), [['req-2', 'now written']])
})

t.test('a child given a level of its own is made at once and writes at that level', async (t) => {
  const { parent, lines, children } = capture('info')
  const log = lazyChild(parent, { reqId: 'req-3' }, { level: 'debug' })
  t.same(children, [{ reqId: 'req-3' }])
  log.debug('written at debug')
  t.same(lines.map((l) => l.msg), ['written at debug'])
})

t.test('a parent that cannot tell its levels gets an eager child', async (t) => {
  const made: unknown[] = []
  const silent = (): void => {}
  const parent = {
    level: 'info',
    fatal: silent,
    error: silent,
    warn: silent,
    info: silent,
    debug: silent,
    trace: silent,
    silent,
    child(bindings: unknown) {
      made.push(bindings)
      return parent
    },
  } as unknown as FastifyBaseLogger
  t.equal(lazyChild(parent, { reqId: 'req-4' }), parent)
  t.same(made, [{ reqId: 'req-4' }])
})
