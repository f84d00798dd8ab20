// Hot reload: a running server swaps its certificate with setSecureContext, and the next connection gets the new one.

import { X509Certificate } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { ensureServingCertificate, startCertificateRenewal, watchCertificateFiles, type ServingPair } from '../../certs/index.ts'
import { writeCertificateFiles } from '../../certs/store.ts'
import { servedFingerprint, startHttpsServer, within } from './fixtures/tls.ts'

const day = 86_400_000
const options = { service: 'svc', namespace: 'ns', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }
const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256

/** Resolves with the next value handed to the returned callback. */
function nextCall<T>(): { callback: (value: T) => void; called: Promise<T>; count: () => number } {
  let resolve!: (value: T) => void
  let calls = 0
  const called = new Promise<T>((r) => (resolve = r))
  return { callback: (value) => (calls++, resolve(value)), called, count: () => calls }
}

t.test('a pair replaced by someone else is handed over, and the next connection gets it', async (t) => {
  const root = t.testdir({ live: {}, elsewhere: {} })
  const dir = join(root, 'live')
  const first = await ensureServingCertificate({ dir, ...options })
  const replacement = await ensureServingCertificate({ dir: join(root, 'elsewhere'), ...options })
  const running = await startHttpsServer(first)
  t.teardown(() => running.close())
  t.equal(await servedFingerprint(running.port, first.caPem, 'svc.ns.svc'), fingerprintOf(first.certPem))

  const changed = nextCall<ServingPair>()
  // polling far beyond the test's wait: only the directory watch can notice in time
  const watcher = watchCertificateFiles(dir, (pair) => {
    running.server.setSecureContext({ cert: pair.certPem, key: pair.keyPem })
    changed.callback(pair)
  }, { debounceMs: 50, pollEveryMs: 600_000 })
  t.teardown(() => watcher.close())

  await writeCertificateFiles(dir, replacement)
  const pair = await within(5000, 'the watcher to notice', changed.called)
  t.equal(pair.certPem, replacement.certPem)
  t.equal(pair.keyPem, replacement.keyPem)
  t.equal(pair.caPem, replacement.caPem)
  t.equal(await servedFingerprint(running.port, replacement.caPem, 'svc.ns.svc'), fingerprintOf(replacement.certPem))
})

t.test('a Secret volume updated the Kubernetes way (..data symlink swap) is noticed', async (t) => {
  const root = t.testdir({ volume: {}, first: {}, second: {} })
  const volume = join(root, 'volume')
  const first = await ensureServingCertificate({ dir: join(root, 'first'), ...options })
  const second = await ensureServingCertificate({ dir: join(root, 'second'), ...options })
  const publish = (version: string, pair: ServingPair): void => {
    mkdirSync(join(volume, version))
    writeFileSync(join(volume, version, 'tls.crt'), pair.certPem)
    writeFileSync(join(volume, version, 'tls.key'), pair.keyPem)
    symlinkSync(version, join(volume, '..data_tmp'))
    renameSync(join(volume, '..data_tmp'), join(volume, '..data'))
  }
  publish('..2024_01_01', first)
  symlinkSync('..data/tls.crt', join(volume, 'tls.crt'))
  symlinkSync('..data/tls.key', join(volume, 'tls.key'))

  const changed = nextCall<ServingPair>()
  const watcher = watchCertificateFiles(volume, changed.callback, { debounceMs: 50, pollEveryMs: 600_000 })
  t.teardown(() => watcher.close())
  publish('..2024_01_02', second)
  const pair = await within(5000, 'the watcher to notice the swap', changed.called)
  t.equal(pair.certPem, second.certPem)
  t.equal(pair.caPem, undefined, 'this Secret has no ca.crt')
})

t.test('polling notices a replacement when no watch event arrives in time', async (t) => {
  const root = t.testdir({ live: {}, elsewhere: {} })
  const dir = join(root, 'live')
  await ensureServingCertificate({ dir, ...options })
  const replacement = await ensureServingCertificate({ dir: join(root, 'elsewhere'), ...options })
  const changed = nextCall<ServingPair>()
  // a debounce far beyond the test's wait: only polling can notice in time
  const watcher = watchCertificateFiles(dir, changed.callback, { debounceMs: 600_000, pollEveryMs: 50 })
  t.teardown(() => watcher.close())
  await writeCertificateFiles(dir, replacement)
  t.equal((await within(5000, 'polling to notice', changed.called)).certPem, replacement.certPem)
})

t.test('a half-written replacement (new certificate, old key) is not handed over until the key follows', async (t) => {
  const root = t.testdir({ live: {}, elsewhere: {} })
  const dir = join(root, 'live')
  await ensureServingCertificate({ dir, ...options })
  const replacement = await ensureServingCertificate({ dir: join(root, 'elsewhere'), ...options })
  const changed = nextCall<ServingPair>()
  const watcher = watchCertificateFiles(dir, changed.callback, { debounceMs: 20, pollEveryMs: 20 })
  t.teardown(() => watcher.close())

  await writeCertificateFiles(dir, { certPem: replacement.certPem })
  await sleep(300)
  t.equal(changed.count(), 0)
  await writeCertificateFiles(dir, { keyPem: replacement.keyPem })
  t.equal((await within(5000, 'the completed pair', changed.called)).keyPem, replacement.keyPem)
  await sleep(200)
  t.equal(changed.count(), 1, 'handed over once')
})

t.test('files rewritten with the same content are not handed over again', async (t) => {
  const dir = t.testdir()
  const first = await ensureServingCertificate({ dir, ...options })
  const changed = nextCall<ServingPair>()
  const watcher = watchCertificateFiles(dir, changed.callback, { debounceMs: 20, pollEveryMs: 20 })
  t.teardown(() => watcher.close())
  await writeCertificateFiles(dir, first)
  await sleep(300)
  t.equal(changed.count(), 0)
})

t.test('after close() nothing is handed over', async (t) => {
  const root = t.testdir({ live: {}, elsewhere: {} })
  const dir = join(root, 'live')
  await ensureServingCertificate({ dir, ...options })
  const replacement = await ensureServingCertificate({ dir: join(root, 'elsewhere'), ...options })
  const changed = nextCall<ServingPair>()
  watchCertificateFiles(dir, changed.callback, { debounceMs: 20, pollEveryMs: 20 }).close()
  await writeCertificateFiles(dir, replacement)
  await sleep(300)
  t.equal(changed.count(), 0)
})

t.test('the renewal timer renews a certificate within 30 days of its end, and the next connection gets the new one', async (t) => {
  const dir = t.testdir()
  // on the real clock, so that the client accepts the renewed certificate as valid now
  const first = await ensureServingCertificate({ dir, ...options, leafValidityMs: 29 * day })
  const running = await startHttpsServer(first)
  t.teardown(() => running.close())

  const renewed = nextCall<{ certPem: string; caPem: string; renewed: boolean }>()
  const renewal = startCertificateRenewal({
    dir,
    ...options,
    checkEveryMs: 50,
    onRenewed: (bundle) => {
      running.server.setSecureContext({ cert: bundle.certPem, key: bundle.keyPem })
      renewed.callback(bundle)
    },
  })
  t.teardown(() => renewal.stop())

  const bundle = await within(10_000, 'the renewal', renewed.called)
  t.equal(bundle.renewed, true)
  t.equal(bundle.caPem, first.caPem, 'the CA is kept, so the registered caBundle still verifies')
  t.equal(readFileSync(join(dir, 'tls.crt'), 'utf8'), bundle.certPem)
  t.equal(await servedFingerprint(running.port, first.caPem, 'svc.ns.svc'), fingerprintOf(bundle.certPem))
  t.not(fingerprintOf(bundle.certPem), fingerprintOf(first.certPem))
})

t.test('the renewal timer leaves a certificate far from its end alone', async (t) => {
  const dir = t.testdir()
  const first = await ensureServingCertificate({ dir, ...options })
  let checks = 0
  const renewed = nextCall<unknown>()
  const renewal = startCertificateRenewal({
    dir,
    ...options,
    checkEveryMs: 20,
    now: () => (checks++, new Date()),
    onRenewed: renewed.callback,
  })
  t.teardown(() => renewal.stop())
  await within(5000, 'a few checks', (async () => { while (checks < 5) await sleep(20) })())
  t.equal(renewed.count(), 0)
  t.equal(readFileSync(join(dir, 'tls.crt'), 'utf8'), first.certPem)
})

t.test('after stop() the renewal timer checks no more', async (t) => {
  const dir = t.testdir()
  await ensureServingCertificate({ dir, ...options })
  let checks = 0
  const renewal = startCertificateRenewal({ dir, ...options, checkEveryMs: 20, now: () => (checks++, new Date()), onRenewed: () => {} })
  await within(5000, 'a first check', (async () => { while (checks < 1) await sleep(10) })())
  renewal.stop()
  const after = checks
  await sleep(200)
  t.equal(checks, after)
})

t.test('a failed check is reported and the next one still runs', async (t) => {
  const dir = t.testdir()
  await ensureServingCertificate({ dir, ...options })
  const errors: unknown[] = []
  let checks = 0
  const renewal = startCertificateRenewal({
    dir,
    ...options,
    ipAddresses: ['not-an-ip'],
    checkEveryMs: 20,
    now: () => (checks++, new Date()),
    onRenewed: () => {},
    onError: (err) => errors.push(err),
  })
  t.teardown(() => renewal.stop())
  await within(5000, 'two failed checks', (async () => { while (errors.length < 2) await sleep(10) })())
  t.match(errors[0], { message: /not an IP address/ })
})
