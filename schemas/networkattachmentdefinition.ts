// NetworkAttachmentDefinition: the JSON Schema of the object (openAPIV3Schema of the CRD) and the
// CRD facts the chart needs. Single source for the ajv validator, the TypeScript type and the CRD YAML.

export const networkAttachmentDefinitionCRD = {
  group: 'k8s.cni.cncf.io',
  version: 'v1',
  scope: 'Namespaced',
  names: {
    plural: 'network-attachment-definitions',
    singular: 'network-attachment-definition',
    kind: 'NetworkAttachmentDefinition',
    shortNames: [
      'net-attach-def',
    ],
  },
  additionalPrinterColumns: [],
  subresources: {},
} as const

export const networkAttachmentDefinitionSchema = {
  type: 'object',
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
      type: 'object',
      properties: {
        config: {
          type: 'string',
        },
      },
    },
  },
} as const
