// Every kind the system serves: its CRD facts and its object schema, in one table that the
// validators, the chart's CRD YAML and the local control plane all read.
import { spiderIPPoolCRD, spiderIPPoolSchema } from './spiderippool.ts'
import { spiderSubnetCRD, spiderSubnetSchema } from './spidersubnet.ts'
import { spiderReservedIPCRD, spiderReservedIPSchema } from './spiderreservedip.ts'
import { spiderCoordinatorCRD, spiderCoordinatorSchema } from './spidercoordinator.ts'
import { spiderMultusConfigCRD, spiderMultusConfigSchema } from './spidermultusconfig.ts'
import { spiderEndpointCRD, spiderEndpointSchema } from './spiderendpoint.ts'
import { networkAttachmentDefinitionCRD, networkAttachmentDefinitionSchema } from './networkattachmentdefinition.ts'

/** The OpenAPI v3 subset that CRD schemas use (apiextensions.k8s.io/v1 JSONSchemaProps). */
export interface OpenAPISchema {
  readonly type?: string
  readonly format?: string
  readonly description?: string
  readonly default?: unknown
  readonly enum?: readonly unknown[]
  readonly nullable?: boolean
  readonly minimum?: number
  readonly maximum?: number
  readonly properties?: { readonly [name: string]: OpenAPISchema }
  readonly required?: readonly string[]
  readonly items?: OpenAPISchema
  readonly additionalProperties?: OpenAPISchema | boolean
  readonly [extension: `x-kubernetes-${string}`]: unknown
}

export interface PrinterColumn {
  readonly name: string
  readonly type: string
  readonly jsonPath: string
  readonly description?: string
  readonly format?: string
  readonly priority?: number
}

/** What a CustomResourceDefinition says besides the schema. */
export interface CRDFacts {
  readonly group: string
  readonly version: string
  readonly scope: 'Cluster' | 'Namespaced'
  readonly names: {
    readonly kind: string
    readonly plural: string
    readonly singular?: string
    readonly listKind?: string
    readonly shortNames?: readonly string[]
    readonly categories?: readonly string[]
  }
  readonly additionalPrinterColumns: readonly PrinterColumn[]
  readonly subresources: { readonly status?: {} }
}

export interface KindEntry {
  readonly kind: string
  readonly plural: string
  readonly crd: CRDFacts
  readonly schema: OpenAPISchema
}

function entry<C extends CRDFacts, S extends OpenAPISchema>(crd: C, schema: S) {
  return { kind: crd.names.kind, plural: crd.names.plural, crd, schema }
}

export const kinds = [
  entry(spiderIPPoolCRD, spiderIPPoolSchema),
  entry(spiderSubnetCRD, spiderSubnetSchema),
  entry(spiderReservedIPCRD, spiderReservedIPSchema),
  entry(spiderCoordinatorCRD, spiderCoordinatorSchema),
  entry(spiderMultusConfigCRD, spiderMultusConfigSchema),
  entry(spiderEndpointCRD, spiderEndpointSchema),
  entry(networkAttachmentDefinitionCRD, networkAttachmentDefinitionSchema),
] as const satisfies readonly KindEntry[]

export type KindName = (typeof kinds)[number]['kind']

export function findKind(kind: string): KindEntry | undefined {
  return kinds.find((k) => k.kind === kind)
}
