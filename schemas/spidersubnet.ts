// SpiderSubnet: the JSON Schema of the object (openAPIV3Schema of the CRD) and the
// CRD facts the chart needs. Single source for the ajv validator, the TypeScript type and the CRD YAML.

export const spiderSubnetCRD = {
  group: 'spiderpool.spidernet.io',
  version: 'v2beta1',
  scope: 'Cluster',
  names: {
    categories: [
      'spiderpool',
    ],
    kind: 'SpiderSubnet',
    listKind: 'SpiderSubnetList',
    plural: 'spidersubnets',
    shortNames: [
      'ss',
    ],
    singular: 'spidersubnet',
  },
  additionalPrinterColumns: [
    {
      description: 'ipVersion',
      jsonPath: '.spec.ipVersion',
      name: 'VERSION',
      type: 'string',
    },
    {
      description: 'subnet',
      jsonPath: '.spec.subnet',
      name: 'SUBNET',
      type: 'string',
    },
    {
      description: 'allocatedIPCount',
      jsonPath: '.status.allocatedIPCount',
      name: 'ALLOCATED-IP-COUNT',
      type: 'integer',
    },
    {
      description: 'totalIPCount',
      jsonPath: '.status.totalIPCount',
      name: 'TOTAL-IP-COUNT',
      type: 'integer',
    },
  ],
  subresources: {
    status: {},
  },
} as const

export const spiderSubnetSchema = {
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
        excludeIPs: {
          items: {
            type: 'string',
          },
          type: 'array',
        },
        gateway: {
          type: 'string',
        },
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
        routes: {
          items: {
            properties: {
              dst: {
                type: 'string',
              },
              gw: {
                type: 'string',
              },
            },
            required: [
              'dst',
              'gw',
            ],
            type: 'object',
          },
          type: 'array',
        },
        subnet: {
          type: 'string',
        },
      },
      required: [
        'subnet',
      ],
      type: 'object',
    },
    status: {
      properties: {
        allocatedIPCount: {
          format: 'int64',
          minimum: 0,
          type: 'integer',
        },
        controlledIPPools: {
          type: 'string',
        },
        totalIPCount: {
          format: 'int64',
          minimum: 0,
          type: 'integer',
        },
      },
      type: 'object',
    },
  },
  type: 'object',
} as const
