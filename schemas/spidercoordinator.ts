// SpiderCoordinator: the JSON Schema of the object (openAPIV3Schema of the CRD) and the
// CRD facts the chart needs. Single source for the ajv validator, the TypeScript type and the CRD YAML.

export const spiderCoordinatorCRD = {
  group: 'spiderpool.spidernet.io',
  version: 'v2beta1',
  scope: 'Cluster',
  names: {
    categories: [
      'spiderpool',
    ],
    kind: 'SpiderCoordinator',
    listKind: 'SpiderCoordinatorList',
    plural: 'spidercoordinators',
    shortNames: [
      'scc',
    ],
    singular: 'spidercoordinator',
  },
  additionalPrinterColumns: [],
  subresources: {
    status: {},
  },
} as const

export const spiderCoordinatorSchema = {
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
        hijackCIDR: {
          items: {
            type: 'string',
          },
          type: 'array',
        },
        hostRuleTable: {
          default: 500,
          type: 'integer',
        },
        mode: {
          default: 'auto',
          enum: [
            'auto',
            'underlay',
            'overlay',
            'disabled',
          ],
          type: 'string',
        },
        podCIDRType: {
          enum: [
            'auto',
            'cluster',
            'calico',
            'cilium',
            'none',
          ],
          type: 'string',
        },
        podDefaultRouteNIC: {
          type: 'string',
        },
        podMACPrefix: {
          type: 'string',
        },
        podRPFilter: {
          default: 0,
          type: 'integer',
        },
        policyRoutes: {
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
        tunePodRoutes: {
          default: true,
          type: 'boolean',
        },
        txQueueLen: {
          default: 0,
          type: 'integer',
        },
        vethLinkAddress: {
          type: 'string',
        },
        vethMTU: {
          minimum: 1,
          type: 'integer',
        },
      },
      type: 'object',
    },
    status: {
      properties: {
        overlayPodCIDR: {
          items: {
            type: 'string',
          },
          type: 'array',
        },
        phase: {
          type: 'string',
        },
        reason: {
          type: 'string',
        },
        serviceCIDR: {
          items: {
            type: 'string',
          },
          type: 'array',
        },
      },
      required: [
        'phase',
      ],
      type: 'object',
    },
  },
  type: 'object',
} as const
