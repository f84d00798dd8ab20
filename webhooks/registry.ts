// Every kind the admission server serves; the server registers a mutate and a validate route for each.
import type { KindWebhook } from './kind.ts'
import { spiderIPPoolWebhook } from './spiderippool/index.ts'
import { spiderSubnetWebhook } from './spidersubnet/index.ts'
import { spiderReservedIPWebhook } from './spiderreservedip/index.ts'
import { spiderCoordinatorWebhook } from './spidercoordinator/index.ts'
import { spiderMultusConfigWebhook } from './spidermultusconfig/index.ts'

export const allKinds: KindWebhook[] = [
  spiderIPPoolWebhook,
  spiderSubnetWebhook,
  spiderReservedIPWebhook,
  spiderCoordinatorWebhook,
  spiderMultusConfigWebhook,
] as KindWebhook[]
