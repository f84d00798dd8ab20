// TypeScript types of the Spiderpool kinds, derived from their JSON Schemas (no hand-written twin).
import type { FromSchema, JSONSchema } from 'json-schema-to-ts'
import type { ObjectMeta } from './meta.ts'
import type { spiderIPPoolSchema } from './spiderippool.ts'
import type { spiderSubnetSchema } from './spidersubnet.ts'
import type { spiderReservedIPSchema } from './spiderreservedip.ts'
import type { spiderCoordinatorSchema } from './spidercoordinator.ts'
import type { spiderMultusConfigSchema } from './spidermultusconfig.ts'
import type { spiderEndpointSchema } from './spiderendpoint.ts'
import type { networkAttachmentDefinitionSchema } from './networkattachmentdefinition.ts'

type Props<S> = S extends { properties: infer P } ? P : never
type Part<S, K extends string> = K extends keyof Props<S> ? (Props<S>[K] extends JSONSchema ? FromSchema<Props<S>[K], { keepDefaultedPropertiesOptional: true }> : never) : never

/** An object of a kind: typed spec/status from the schema, typed metadata. */
export type Kind<S, K extends string> = {
  apiVersion?: string
  kind?: K
  metadata: ObjectMeta
} & ('spec' extends keyof Props<S> ? { spec: Part<S, 'spec'> } : {}) &
  ('status' extends keyof Props<S> ? { status?: Part<S, 'status'> } : {})

export type SpiderIPPool = Kind<typeof spiderIPPoolSchema, 'SpiderIPPool'>
export type SpiderSubnet = Kind<typeof spiderSubnetSchema, 'SpiderSubnet'>
export type SpiderReservedIP = Kind<typeof spiderReservedIPSchema, 'SpiderReservedIP'>
export type SpiderCoordinator = Kind<typeof spiderCoordinatorSchema, 'SpiderCoordinator'>
export type SpiderMultusConfig = Kind<typeof spiderMultusConfigSchema, 'SpiderMultusConfig'>
export type SpiderEndpoint = Kind<typeof spiderEndpointSchema, 'SpiderEndpoint'>
export type NetworkAttachmentDefinition = Kind<typeof networkAttachmentDefinitionSchema, 'NetworkAttachmentDefinition'>

export type IPPoolSpec = SpiderIPPool['spec']
export type SubnetSpec = SpiderSubnet['spec']
export type CoordinatorSpec = SpiderCoordinator['spec']
export type MultusConfigSpec = SpiderMultusConfig['spec']
