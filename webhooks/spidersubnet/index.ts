// The SpiderSubnet admission webhook: defaulting and validation wired to the server's contract.
import { spiderSubnetSchema } from '../../schemas/spidersubnet.ts'
import type { SpiderSubnet } from '../../schemas/types.ts'
import type { KindWebhook } from '../kind.ts'
import { defaultSubnet } from './default.ts'
import { validateSubnetCreate, validateSubnetDelete, validateSubnetUpdate } from './validate.ts'

export const spiderSubnetWebhook: KindWebhook<SpiderSubnet> = {
  kind: 'SpiderSubnet',
  pathName: 'spidersubnet',
  resource: 'spidersubnets',
  namespaced: false,
  schema: spiderSubnetSchema,
  default: defaultSubnet,
  validateCreate: validateSubnetCreate,
  validateUpdate: validateSubnetUpdate,
  validateDelete: validateSubnetDelete,
}
