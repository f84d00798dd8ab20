import t, { type Test } from 'tap'
import { spiderReservedIPWebhook as webhook } from '../../webhooks/spiderreservedip/index.ts'
import { clusterFromObjects } from '../../webhooks/cluster.ts'
import { defaultSettings, type Settings } from '../../webhooks/settings.ts'
import { isRefusal, type FieldError, type ValidationResult } from '../../webhooks/field.ts'
import type { AdmissionContext, Operation } from '../../webhooks/kind.ts'
import type { SpiderReservedIP } from '../../schemas/types.ts'

const ctx = (operation: Operation, settings: Partial<Settings> = {}): AdmissionContext => ({
  operation,
  settings: { ...defaultSettings(), ...settings },
  cluster: clusterFromObjects(),
  dryRun: false,
})
const rip = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): SpiderReservedIP =>
  ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderReservedIP', metadata: { name: 'reserved', ...metadata }, spec }) as SpiderReservedIP
const defaulted = (r: SpiderReservedIP) => {
  webhook.default(r, ctx('CREATE'))
  return r
}
const fieldErrors = (t: Test, r: ValidationResult): FieldError[] => {
  if (isRefusal(r)) {
    t.fail(`unexpected refusal: ${r.message}`)
    return []
  }
  return r
}
const create = (t: Test, r: SpiderReservedIP, settings: Partial<Settings> = {}) => fieldErrors(t, webhook.validateCreate(r, ctx('CREATE', settings)))
const update = (t: Test, old: SpiderReservedIP, r: SpiderReservedIP) => fieldErrors(t, webhook.validateUpdate(old, r, ctx('UPDATE')))
const texts = (errors: FieldError[]) => errors.map((e) => `${e.field}: ${e.detail}`)
const terminating = { deletionTimestamp: '2026-01-01T00:00:00Z' }

t.test('the webhook is registered as Spiderpool registers it, without a DELETE rule', async (t) => {
  t.match(webhook, { kind: 'SpiderReservedIP', pathName: 'spiderreservedip', resource: 'spiderreservedips', namespaced: false })
  t.equal(webhook.validateDelete, undefined)
})

t.test('RIP-M-01 a terminating ReservedIP is not mutated', async (t) => {
  t.same(defaulted(rip({ ips: ['10.0.0.2', '10.0.0.1'] }, terminating)).spec, { ips: ['10.0.0.2', '10.0.0.1'] })
  t.same(defaulted(rip({ ips: ['10.0.0.2', '10.0.0.1'] })).spec, { ips: ['10.0.0.1-10.0.0.2'], ipVersion: 4 })
})

t.test('RIP-M-02 an empty ips list is not mutated', async (t) => {
  t.same(defaulted(rip({ ips: [] })).spec, { ips: [] })
  t.same(defaulted(rip({})).spec, {})
  t.equal(defaulted(rip({ ips: ['10.0.0.1'] })).spec.ipVersion, 4)
})

t.test('RIP-M-03 ipVersion comes from the first entry only; an unreadable first entry stops', async (t) => {
  t.equal(defaulted(rip({ ips: ['10.0.0.1-10.0.0.9'] })).spec.ipVersion, 4)
  t.equal(defaulted(rip({ ips: ['fd00::1-fd00::9', '10.0.0.1'] })).spec.ipVersion, 6)
  const bad = defaulted(rip({ ips: ['10.0.0.9-10.0.0.1', '10.0.0.20', '10.0.0.21'] }))
  t.equal(bad.spec.ipVersion, undefined)
  t.same(bad.spec.ips, ['10.0.0.9-10.0.0.1', '10.0.0.20', '10.0.0.21'])
})

t.test('RIP-M-04 several ips entries are merged; a list with a bad entry is kept', async (t) => {
  t.same(defaulted(rip({ ips: ['172.18.40.10', '172.18.40.1-172.18.40.2', '172.18.40.2-172.18.40.3'] })).spec.ips, ['172.18.40.1-172.18.40.3', '172.18.40.10'])
  t.same(defaulted(rip({ ips: ['abcd:1234::a', 'abcd:1234::1-abcd:1234::2', 'abcd:1234::2-abcd:1234::3'] })).spec.ips, ['abcd:1234::1-abcd:1234::3', 'abcd:1234::a'])
  t.same(defaulted(rip({ ips: ['10.0.0.1', 'fd00::1'] })).spec.ips, ['10.0.0.1', 'fd00::1'])
  t.same(defaulted(rip({ ips: ['10.0.0.1-10.0.0.1'] })).spec.ips, ['10.0.0.1-10.0.0.1'], 'a single entry is not merged')
})

t.test('RIP-V-01 an absent ipVersion is refused with the ReservedIP wording', async (t) => {
  t.same(texts(create(t, rip({ ips: ['nonsense'] }))), ["spec.ipVersion: is not generated correctly, 'spec.ips' is empty or 'spec.ips[0]' may be invalid"])
  t.same(create(t, rip({ ipVersion: 4 })), [], 'a version without ips is valid')
})

t.test('RIP-V-02 an ipVersion other than 4 or 6 is unsupported', async (t) => {
  t.match(create(t, rip({ ipVersion: 0, ips: ['10.0.0.1'] })), [{ field: 'spec.ipVersion', type: 'FieldValueNotSupported', value: 0, detail: 'supported values: "4", "6"' }])
  t.same(create(t, rip({ ipVersion: 6, ips: ['fd00::1'] })), [])
})

t.test('RIP-V-03 a disabled family is forbidden', async (t) => {
  t.same(texts(create(t, rip({ ipVersion: 4, ips: ['10.0.0.1'] }), { enableIPv4: false })), ['spec.ipVersion: IPv4 is disabled'])
  t.same(texts(create(t, rip({ ipVersion: 6, ips: ['fd00::1'] }), { enableIPv6: false })), ['spec.ipVersion: IPv6 is disabled'])
  t.same(create(t, rip({ ipVersion: 6, ips: ['fd00::1'] }), { enableIPv4: false }), [])
})

t.test('RIP-V-04 every entry is a strict range of the family, each bad one reported at its index', async (t) => {
  t.same(texts(create(t, rip({ ipVersion: 4, ips: ['10.0.0.9-10.0.0.1', 'fd00::1', '10.0.0.1', 'garbage'] }))), [
    "spec.ips[0]: invalid IP range format in IPv4 '10.0.0.9-10.0.0.1'",
    "spec.ips[1]: invalid IP range format in IPv4 'fd00::1'",
    "spec.ips[3]: invalid IP range format in IPv4 'garbage'",
  ])
  t.same(texts(create(t, rip({ ipVersion: 6, ips: ['fd00::9-fd00::1'] }))), ["spec.ips[0]: invalid IP range format in IPv6 'fd00::9-fd00::1'"])
  t.same(create(t, rip({ ipVersion: 6, ips: ['fd12:3456:789a:baba::1-fd12:3456:789a:ffff:ffff:ffff:ffff:ffff'] })), [])
  t.same(update(t, rip({ ipVersion: 4 }), rip({ ipVersion: 4, ips: ['10.0.0.1-x'] })).map((e) => e.field), ['spec.ips[0]'], 'also on UPDATE')
})

t.test('RIP-V-05 only the update that starts the deletion passes a terminating ReservedIP', async (t) => {
  const live = rip({ ipVersion: 4, ips: ['10.0.0.1'] })
  const dying = rip({ ipVersion: 4, ips: ['garbage'] }, terminating)
  t.same(update(t, live, dying), [], 'new has the deletion timestamp, old not: allowed without further checks')
  t.same(webhook.validateUpdate(dying, dying, ctx('UPDATE')), { reason: 'Forbidden', message: 'cannot update a terminating ReservedIP' })
})

t.test('RIP-V-06 ipVersion cannot change once set', async (t) => {
  t.match(update(t, rip({ ipVersion: 4, ips: ['10.0.0.1'] }), rip({ ipVersion: 6, ips: ['fd00::1'] })), [{ field: 'spec.ipVersion', type: 'FieldValueForbidden', detail: 'is not changeable' }])
  t.same(update(t, rip({ ips: ['fd00::1'] }), rip({ ipVersion: 6, ips: ['fd00::1'] })), [])
})
