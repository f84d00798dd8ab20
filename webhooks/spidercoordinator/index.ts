// SpiderCoordinator admission (`spidercoordinators`, cluster-scoped).
import { spiderCoordinatorSchema } from '../../schemas/spidercoordinator.ts'
import type { SpiderCoordinator } from '../../schemas/types.ts'
import type { KindWebhook } from '../kind.ts'
import { defaultSpiderCoordinator } from './default.ts'
import { validateSpiderCoordinator } from './validate.ts'

export const spiderCoordinatorWebhook: KindWebhook<SpiderCoordinator> = {
  kind: 'SpiderCoordinator',
  pathName: 'spidercoordinator',
  resource: 'spidercoordinators',
  namespaced: false,
  schema: spiderCoordinatorSchema,
  default: (coord) => defaultSpiderCoordinator(coord),
  validateCreate: (coord) => validateSpiderCoordinator(coord),
  validateUpdate: (_old, coord) => validateSpiderCoordinator(coord),
}
