// What the admission routes log: one line per review carrying its uid, never the object at info.
import { Writable } from 'node:stream'
import t from 'tap'
import { review, testApp, validatePath, mutatePath } from './fixtures/widget.ts'

function capture(level: string) {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    },
  })
  const app = testApp({ logger: { level, stream } })
  return { app, lines }
}

t.test('every admission log line carries the review uid; info lines hold no object body', async (t) => {
  const { app, lines } = capture('debug')
  const secret = 'only-in-the-object-body'
  await app.inject({ method: 'POST', url: mutatePath('widget'), payload: review('CREATE', { uid: 'uid-log-1', object: { metadata: { name: 'w' }, spec: { tags: [secret] } } }) })
  await app.inject({ method: 'POST', url: validatePath('widget'), payload: review('CREATE', { uid: 'uid-log-2', object: { metadata: { name: 'w' }, spec: { size: -1 } } }) })
  await app.inject({ method: 'POST', url: validatePath('bomb'), payload: review('CREATE', { uid: 'uid-log-3', kind: 'Bomb', object: {} }) })
  const reviewed = lines.filter((l) => l.msg === 'admission reviewed')
  t.same(
    reviewed.map((l) => [l.uid, l.kind, l.operation, l.verdict]),
    [
      ['uid-log-1', 'Widget', 'CREATE', 'allowed'],
      ['uid-log-2', 'Widget', 'CREATE', 'denied'],
      ['uid-log-3', 'Bomb', 'CREATE', 'error'],
    ],
  )
  const failure = lines.find((l) => l.msg === 'admission handler failed')
  t.equal(failure?.uid, 'uid-log-3', 'the failure of a rule is logged with the uid')
  t.equal(failure?.level, 50, 'at error level')
  t.match((failure?.err as { message: string }).message, 'the bomb went off')
  t.notOk(JSON.stringify(lines).includes(secret), 'the object is not logged')
})

t.test('at info only refusals and failures are logged: an admitted object is routine', async (t) => {
  const { app, lines } = capture('info')
  await app.inject({ method: 'POST', url: mutatePath('widget'), payload: review('CREATE', { uid: 'uid-quiet', object: { metadata: { name: 'w' }, spec: {} } }) })
  await app.inject({ method: 'POST', url: validatePath('widget'), payload: review('CREATE', { uid: 'uid-loud', object: { metadata: { name: 'w' }, spec: { size: -1 } } }) })
  const reviewed = lines.filter((l) => l.msg === 'admission reviewed')
  t.same(reviewed.map((l) => [l.uid, l.verdict, l.level]), [['uid-loud', 'denied', 30]])
})

t.test('at debug the patch is logged too, with the uid', async (t) => {
  const { app, lines } = capture('debug')
  await app.inject({ method: 'POST', url: mutatePath('widget'), payload: review('CREATE', { uid: 'uid-debug', object: { metadata: { name: 'w' }, spec: {} } }) })
  const patch = lines.find((l) => l.msg === 'patch')
  t.equal(patch?.uid, 'uid-debug')
  t.ok(Array.isArray(patch?.patch))
})
