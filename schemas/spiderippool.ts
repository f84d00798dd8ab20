// SpiderIPPool: the JSON Schema of the object (openAPIV3Schema of the CRD) and the
// CRD facts the chart needs. Single source for the ajv validator, the TypeScript type and the CRD YAML.

export const spiderIPPoolCRD = {
  group: 'spiderpool.spidernet.io',
  version: 'v2beta1',
  scope: 'Cluster',
  names: {
    categories: [
      'spiderpool',
    ],
    kind: 'SpiderIPPool',
    listKind: 'SpiderIPPoolList',
    plural: 'spiderippools',
    shortNames: [
      'sp',
    ],
    singular: 'spiderippool',
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
    {
      description: 'default',
      jsonPath: '.spec.default',
      name: 'DEFAULT',
      type: 'boolean',
    },
    {
      description: 'disable',
      jsonPath: '.spec.disable',
      name: 'DISABLE',
      priority: 10,
      type: 'boolean',
    },
    {
      description: 'nodeName',
      jsonPath: '.spec.nodeName',
      name: 'NodeName',
      priority: 10,
      type: 'string',
    },
    {
      description: 'multusName',
      jsonPath: '.spec.multusName',
      name: 'MultusName',
      priority: 10,
      type: 'string',
    },
    {
      description: 'AppNamespace',
      jsonPath: '.spec.podAffinity.matchLabels[\'ipam\\.spidernet\\.io/app\\-namespace\']',
      name: 'APP-NAMESPACE',
      priority: 10,
      type: 'string',
    },
  ],
  subresources: {
    status: {},
  },
} as const

export const spiderIPPoolSchema = {
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
        default: {
          default: false,
          type: 'boolean',
        },
        disable: {
          default: false,
          type: 'boolean',
        },
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
        multusName: {
          items: {
            type: 'string',
          },
          type: 'array',
        },
        namespaceAffinity: {
          properties: {
            matchExpressions: {
              items: {
                properties: {
                  key: {
                    type: 'string',
                  },
                  operator: {
                    type: 'string',
                  },
                  values: {
                    items: {
                      type: 'string',
                    },
                    type: 'array',
                    "x-kubernetes-list-type": 'atomic',
                  },
                },
                required: [
                  'key',
                  'operator',
                ],
                type: 'object',
              },
              type: 'array',
              "x-kubernetes-list-type": 'atomic',
            },
            matchLabels: {
              additionalProperties: {
                type: 'string',
              },
              type: 'object',
            },
          },
          type: 'object',
          "x-kubernetes-map-type": 'atomic',
        },
        namespaceName: {
          items: {
            type: 'string',
          },
          type: 'array',
        },
        nodeAffinity: {
          properties: {
            matchExpressions: {
              items: {
                properties: {
                  key: {
                    type: 'string',
                  },
                  operator: {
                    type: 'string',
                  },
                  values: {
                    items: {
                      type: 'string',
                    },
                    type: 'array',
                    "x-kubernetes-list-type": 'atomic',
                  },
                },
                required: [
                  'key',
                  'operator',
                ],
                type: 'object',
              },
              type: 'array',
              "x-kubernetes-list-type": 'atomic',
            },
            matchLabels: {
              additionalProperties: {
                type: 'string',
              },
              type: 'object',
            },
          },
          type: 'object',
          "x-kubernetes-map-type": 'atomic',
        },
        nodeName: {
          items: {
            type: 'string',
          },
          type: 'array',
        },
        podAffinity: {
          properties: {
            matchExpressions: {
              items: {
                properties: {
                  key: {
                    type: 'string',
                  },
                  operator: {
                    type: 'string',
                  },
                  values: {
                    items: {
                      type: 'string',
                    },
                    type: 'array',
                    "x-kubernetes-list-type": 'atomic',
                  },
                },
                required: [
                  'key',
                  'operator',
                ],
                type: 'object',
              },
              type: 'array',
              "x-kubernetes-list-type": 'atomic',
            },
            matchLabels: {
              additionalProperties: {
                type: 'string',
              },
              type: 'object',
            },
          },
          type: 'object',
          "x-kubernetes-map-type": 'atomic',
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
        allocatedIPs: {
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
