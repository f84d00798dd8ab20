// SpiderMultusConfig admission (`spidermultusconfigs`, namespaced).
import { spiderMultusConfigSchema } from '../../schemas/spidermultusconfig.ts'
import type { SpiderMultusConfig } from '../../schemas/types.ts'
import type { KindWebhook } from '../kind.ts'
import { defaultSpiderMultusConfig } from './default.ts'
import { validateSpiderMultusConfig } from './validate.ts'

export const spiderMultusConfigWebhook: KindWebhook<SpiderMultusConfig> = {
  kind: 'SpiderMultusConfig',
  pathName: 'spidermultusconfig',
  resource: 'spidermultusconfigs',
  namespaced: true,
  schema: spiderMultusConfigSchema,
  default: (smc, _ctx, oldSMC) => defaultSpiderMultusConfig(smc, oldSMC),
  validateCreate: (smc, ctx) => validateSpiderMultusConfig(smc, ctx.cluster),
  validateUpdate: (oldSMC, smc, ctx) => validateSpiderMultusConfig(smc, ctx.cluster, oldSMC),
}
