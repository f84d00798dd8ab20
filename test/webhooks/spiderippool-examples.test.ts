import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { spiderIPPoolWebhook } from '../../webhooks/spiderippool/index.ts'
import { spiderSubnetWebhook } from '../../webhooks/spidersubnet/index.ts'
import { spiderReservedIPWebhook } from '../../webhooks/spiderreservedip/index.ts'
import { clusterFromObjects } from '../../webhooks/cluster.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import type { KindWebhook } from '../../webhooks/kind.ts'
import type { KubeObject } from '../../schemas/meta.ts'

const examples = '/work/shared/reference/examples'
const webhooks = new Map<string, KindWebhook>([
  ['SpiderIPPool', spiderIPPoolWebhook as KindWebhook],
  ['SpiderSubnet', spiderSubnetWebhook as KindWebhook],
  ['SpiderReservedIP', spiderReservedIPWebhook as KindWebhook],
])
const expectedLabels: Record<string, string> = {
  '10.6.0.0/16': '10-6-0-0-16',
  '172.81.0.0/16': '172-81-0-0-16',
  '172.18.0.0/16': '172-18-0-0-16',
}

const files = readdirSync(examples).filter((f) => f.endsWith('.yaml'))

t.test('every pool, subnet and reserved IP of the examples defaults and validates without errors', async (t) => {
  let seen = 0
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(join(examples, file), 'utf8'))) {
      const obj = doc.toJS() as KubeObject & { spec: Record<string, unknown> }
      const webhook = obj && webhooks.get(obj.kind ?? '')
      if (!webhook) continue
      seen++
      const ctx = { operation: 'CREATE' as const, settings: defaultSettings(), cluster: clusterFromObjects(), dryRun: false }
      webhook.default(obj, ctx)
      t.same(webhook.validateCreate(obj, ctx), [], `${file}: ${obj.kind} ${obj.metadata?.name}`)
      if (obj.kind === 'SpiderReservedIP') continue
      t.same(obj.metadata?.finalizers, ['spiderpool.spidernet.io'], `${file}: finalizer`)
      t.equal(obj.spec.ipVersion, 4, `${file}: ipVersion derived`)
      const label = obj.kind === 'SpiderIPPool' ? 'ipam.spidernet.io/ippool-cidr' : 'ipam.spidernet.io/subnet-cidr'
      t.equal(obj.metadata?.labels?.[label], expectedLabels[obj.spec.subnet as string], `${file}: ${label}`)
    }
  }
  t.ok(seen >= 4, `${seen} example objects checked`)
})
