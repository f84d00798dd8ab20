// SpiderReservedIP: the JSON Schema of the object (openAPIV3Schema of the CRD) and the
// CRD facts the chart needs. Single source for the ajv validator, the TypeScript type and the CRD YAML.

export const spiderReservedIPCRD = {
  group: 'spiderpool.spidernet.io',
  version: 'v2beta1',
  scope: 'Cluster',
  names: {
    categories: [
      'spiderpool',
    ],
    kind: 'SpiderReservedIP',
    listKind: 'SpiderReservedIPList',
    plural: 'spiderreservedips',
    shortNames: [
      'sr',
    ],
    singular: 'spiderreservedip',
  },
  additionalPrinterColumns: [
    {
      description: 'ipVersion',
      jsonPath: '.spec.ipVersion',
      name: 'VERSION',
      type: 'string',
    },
  ],
  subresources: {},
} as const

export const spiderReservedIPSchema = {
  properties: {
    apiVersion: {
      type: 'string',
    },
    kind: {
      type: 'string',
    },
    metadata: {
      type: 'object',
    },
    spec: {
      properties: {
        ipVersion: {
          enum: [
            4,
            6,
          ],
          format: 'int64',
          type: 'integer',
        },
        ips: {
          items: {
            type: 'string',
          },
          type: 'array',
        },
      },
      type: 'object',
    },
  },
  type: 'object',
} as const
