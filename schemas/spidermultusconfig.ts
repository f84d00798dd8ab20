// SpiderMultusConfig: the JSON Schema of the object (openAPIV3Schema of the CRD) and the
// CRD facts the chart needs. Single source for the ajv validator, the TypeScript type and the CRD YAML.

export const spiderMultusConfigCRD = {
  group: 'spiderpool.spidernet.io',
  version: 'v2beta1',
  scope: 'Namespaced',
  names: {
    categories: [
      'spiderpool',
    ],
    kind: 'SpiderMultusConfig',
    listKind: 'SpiderMultusConfigList',
    plural: 'spidermultusconfigs',
    shortNames: [
      'smc',
    ],
    singular: 'spidermultusconfig',
  },
  additionalPrinterColumns: [],
  subresources: {},
} as const

export const spiderMultusConfigSchema = {
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
        chainCNIJsonData: {
          items: {
            type: 'string',
          },
          type: 'array',
        },
        cniType: {
          default: 'custom',
          enum: [
            'macvlan',
            'ipvlan',
            'vlan',
            'sriov',
            'ovs',
            'ib-sriov',
            'ipoib',
            'custom',
          ],
          type: 'string',
        },
        coordinator: {
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
        customCNI: {
          type: 'string',
        },
        disableIPAM: {
          default: false,
          type: 'boolean',
        },
        enableCoordinator: {
          default: true,
          type: 'boolean',
        },
        ibsriov: {
          properties: {
            enableIbKubernetes: {
              default: false,
              type: 'boolean',
            },
            ippools: {
              properties: {
                ipv4: {
                  items: {
                    type: 'string',
                  },
                  type: 'array',
                },
                ipv6: {
                  items: {
                    type: 'string',
                  },
                  type: 'array',
                },
                matchMasterSubnet: {
                  default: false,
                  enum: [
                    true,
                    false,
                  ],
                  type: 'boolean',
                },
              },
              type: 'object',
            },
            linkState: {
              default: 'enable',
              enum: [
                'auto',
                'enable',
                'disable',
              ],
              type: 'string',
            },
            pkey: {
              type: 'string',
            },
            rdmaIsolation: {
              default: true,
              type: 'boolean',
            },
            resourceName: {
              type: 'string',
            },
          },
          type: 'object',
        },
        ipoib: {
          properties: {
            ippools: {
              properties: {
                ipv4: {
                  items: {
                    type: 'string',
                  },
                  type: 'array',
                },
                ipv6: {
                  items: {
                    type: 'string',
                  },
                  type: 'array',
                },
                matchMasterSubnet: {
                  default: false,
                  enum: [
                    true,
                    false,
                  ],
                  type: 'boolean',
                },
              },
              type: 'object',
            },
            master: {
              type: 'string',
            },
          },
          type: 'object',
        },
        ipvlan: {
          properties: {
            bond: {
              properties: {
                mode: {
                  format: 'int32',
                  maximum: 6,
                  minimum: 0,
                  type: 'integer',
                },
                name: {
                  type: 'string',
                },
                options: {
                  type: 'string',
                },
              },
              required: [
                'mode',
                'name',
              ],
              type: 'object',
            },
            ippools: {
              properties: {
                ipv4: {
                  items: {
                    type: 'string',
                  },
                  type: 'array',
                },
                ipv6: {
                  items: {
                    type: 'string',
                  },
                  type: 'array',
                },
                matchMasterSubnet: {
                  default: false,
                  enum: [
                    true,
                    false,
                  ],
                  type: 'boolean',
                },
              },
              type: 'object',
            },
            master: {
              items: {
                type: 'string',
              },
              type: 'array',
            },
            mtu: {
              default: 0,
              format: 'int32',
              minimum: 0,
              type: 'integer',
            },
            rdmaResourceName: {
              type: 'string',
            },
            vlanID: {
              format: 'int32',
              maximum: 4094,
              minimum: 0,
              type: 'integer',
            },
          },
          required: [
            'master',
          ],
          type: 'object',
        },
        macvlan: {
          properties: {
            bond: {
              properties: {
                mode: {
                  format: 'int32',
                  maximum: 6,
                  minimum: 0,
                  type: 'integer',
                },
                name: {
                  type: 'string',
                },
                options: {
                  type: 'string',
                },
              },
              required: [
                'mode',
                'name',
              ],
              type: 'object',
            },
            ippools: {
              properties: {
                ipv4: {
                  items: {
                    type: 'string',
                  },
                  type: 'array',
                },
                ipv6: {
                  items: {
                    type: 'string',
                  },
                  type: 'array',
                },
                matchMasterSubnet: {
                  default: false,
                  enum: [
                    true,
                    false,
                  ],
                  type: 'boolean',
                },
              },
              type: 'object',
            },
            master: {
              items: {
                type: 'string',
              },
              type: 'array',
            },
            mtu: {
              default: 0,
              format: 'int32',
              minimum: 0,
              type: 'integer',
            },
            rdmaResourceName: {
              type: 'string',
            },
            vlanID: {
              format: 'int32',
              maximum: 4094,
              minimum: 0,
              type: 'integer',
            },
          },
          required: [
            'master',
          ],
          type: 'object',
        },
        ovs: {
          properties: {
            bridge: {
              type: 'string',
            },
            deviceID: {
              type: 'string',
            },
            ippools: {
              properties: {
                ipv4: {
                  items: {
                    type: 'string',
                  },
                  type: 'array',
                },
                ipv6: {
                  items: {
                    type: 'string',
                  },
                  type: 'array',
                },
                matchMasterSubnet: {
                  default: false,
                  enum: [
                    true,
                    false,
                  ],
                  type: 'boolean',
                },
              },
              type: 'object',
            },
            trunk: {
              items: {
                properties: {
                  id: {
                    maximum: 4094,
                    minimum: 0,
                    type: 'integer',
                  },
                  maxID: {
                    maximum: 4094,
                    minimum: 0,
                    type: 'integer',
                  },
                  minID: {
                    maximum: 4094,
                    minimum: 0,
                    type: 'integer',
                  },
                },
                type: 'object',
              },
              type: 'array',
            },
            vlan: {
              format: 'int32',
              type: 'integer',
            },
          },
          required: [
            'bridge',
          ],
          type: 'object',
        },
        sriov: {
          properties: {
            ippools: {
              properties: {
                ipv4: {
                  items: {
                    type: 'string',
                  },
                  type: 'array',
                },
                ipv6: {
                  items: {
                    type: 'string',
                  },
                  type: 'array',
                },
                matchMasterSubnet: {
                  default: false,
                  enum: [
                    true,
                    false,
                  ],
                  type: 'boolean',
                },
              },
              type: 'object',
            },
            maxTxRateMbps: {
              minimum: 0,
              type: 'integer',
            },
            minTxRateMbps: {
              minimum: 0,
              type: 'integer',
            },
            mtu: {
              default: 0,
              format: 'int32',
              minimum: 0,
              type: 'integer',
            },
            rdmaIsolation: {
              default: false,
              type: 'boolean',
            },
            resourceName: {
              type: 'string',
            },
            vlanID: {
              format: 'int32',
              maximum: 4094,
              minimum: 0,
              type: 'integer',
            },
          },
          type: 'object',
        },
        vlan: {
          properties: {
            bond: {
              properties: {
                mode: {
                  format: 'int32',
                  maximum: 6,
                  minimum: 0,
                  type: 'integer',
                },
                name: {
                  type: 'string',
                },
                options: {
                  type: 'string',
                },
              },
              required: [
                'mode',
                'name',
              ],
              type: 'object',
            },
            ippools: {
              properties: {
                ipv4: {
                  items: {
                    type: 'string',
                  },
                  type: 'array',
                },
                ipv6: {
                  items: {
                    type: 'string',
                  },
                  type: 'array',
                },
                matchMasterSubnet: {
                  default: false,
                  enum: [
                    true,
                    false,
                  ],
                  type: 'boolean',
                },
              },
              type: 'object',
            },
            master: {
              items: {
                type: 'string',
              },
              type: 'array',
            },
            mtu: {
              default: 0,
              format: 'int32',
              minimum: 0,
              type: 'integer',
            },
            rdmaResourceName: {
              type: 'string',
            },
            vlanID: {
              format: 'int32',
              maximum: 4094,
              minimum: 0,
              type: 'integer',
            },
            vlanMode: {
              default: 'manual',
              enum: [
                'manual',
                'auto',
              ],
              type: 'string',
            },
          },
          required: [
            'master',
          ],
          type: 'object',
        },
      },
      type: 'object',
    },
  },
  type: 'object',
} as const
