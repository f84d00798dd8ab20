// SpiderEndpoint: the JSON Schema of the object (openAPIV3Schema of the CRD) and the
// CRD facts the chart needs. Single source for the ajv validator, the TypeScript type and the CRD YAML.

export const spiderEndpointCRD = {
  group: 'spiderpool.spidernet.io',
  version: 'v2beta1',
  scope: 'Namespaced',
  names: {
    categories: [
      'spiderpool',
    ],
    kind: 'SpiderEndpoint',
    listKind: 'SpiderEndpointList',
    plural: 'spiderendpoints',
    shortNames: [
      'se',
    ],
    singular: 'spiderendpoint',
  },
  additionalPrinterColumns: [
    {
      description: 'interface',
      jsonPath: '.status.current.ips[0].interface',
      name: 'INTERFACE',
      type: 'string',
    },
    {
      description: 'ipv4Pool',
      jsonPath: '.status.current.ips[0].ipv4Pool',
      name: 'IPV4POOL',
      type: 'string',
    },
    {
      description: 'ipv4',
      jsonPath: '.status.current.ips[0].ipv4',
      name: 'IPV4',
      type: 'string',
    },
    {
      description: 'ipv6Pool',
      jsonPath: '.status.current.ips[0].ipv6Pool',
      name: 'IPV6POOL',
      type: 'string',
    },
    {
      description: 'ipv6',
      jsonPath: '.status.current.ips[0].ipv6',
      name: 'IPV6',
      type: 'string',
    },
    {
      description: 'node',
      jsonPath: '.status.current.node',
      name: 'NODE',
      type: 'string',
    },
  ],
  subresources: {},
} as const

export const spiderEndpointSchema = {
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
    status: {
      properties: {
        current: {
          properties: {
            ips: {
              items: {
                properties: {
                  cleanGateway: {
                    type: 'boolean',
                  },
                  interface: {
                    type: 'string',
                  },
                  ipv4: {
                    type: 'string',
                  },
                  ipv4Gateway: {
                    type: 'string',
                  },
                  ipv4Pool: {
                    type: 'string',
                  },
                  ipv6: {
                    type: 'string',
                  },
                  ipv6Gateway: {
                    type: 'string',
                  },
                  ipv6Pool: {
                    type: 'string',
                  },
                  mac: {
                    type: 'string',
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
                  vlan: {
                    default: 0,
                    format: 'int64',
                    maximum: 4094,
                    minimum: 0,
                    type: 'integer',
                  },
                },
                required: [
                  'interface',
                ],
                type: 'object',
              },
              type: 'array',
            },
            node: {
              type: 'string',
            },
            uid: {
              type: 'string',
            },
          },
          required: [
            'ips',
            'node',
            'uid',
          ],
          type: 'object',
        },
        ownerControllerName: {
          type: 'string',
        },
        ownerControllerType: {
          type: 'string',
        },
      },
      required: [
        'current',
        'ownerControllerName',
        'ownerControllerType',
      ],
      type: 'object',
    },
  },
  type: 'object',
} as const
