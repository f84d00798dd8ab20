// The SpiderReservedIP admission webhook: defaulting and validation wired to the server's contract
// (no DELETE rule: deleting a reservation is always allowed).
import { spiderReservedIPSchema } from '../../schemas/spiderreservedip.ts'
import type { SpiderReservedIP } from '../../schemas/types.ts'
import type { KindWebhook } from '../kind.ts'
import { defaultReservedIP } from './default.ts'
import { validateReservedIPCreate, validateReservedIPUpdate } from './validate.ts'

export const spiderReservedIPWebhook: KindWebhook<SpiderReservedIP> = {
  kind: 'SpiderReservedIP',
  pathName: 'spiderreservedip',
  resource: 'spiderreservedips',
  namespaced: false,
  schema: spiderReservedIPSchema,
  default: defaultReservedIP,
  validateCreate: validateReservedIPCreate,
  validateUpdate: validateReservedIPUpdate,
}
