// The SpiderIPPool admission webhook: defaulting and validation wired to the server's contract.
import { spiderIPPoolSchema } from '../../schemas/spiderippool.ts'
import type { SpiderIPPool } from '../../schemas/types.ts'
import type { KindWebhook } from '../kind.ts'
import { defaultIPPool } from './default.ts'
import { validateIPPoolCreate, validateIPPoolDelete, validateIPPoolUpdate } from './validate.ts'

export const spiderIPPoolWebhook: KindWebhook<SpiderIPPool> = {
  kind: 'SpiderIPPool',
  pathName: 'spiderippool',
  resource: 'spiderippools',
  namespaced: false,
  schema: spiderIPPoolSchema,
  default: defaultIPPool,
  validateCreate: validateIPPoolCreate,
  validateUpdate: validateIPPoolUpdate,
  validateDelete: validateIPPoolDelete,
}
