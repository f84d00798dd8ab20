// AdmissionReview v1 (admission.k8s.io/v1) as kube-apiserver sends it to a webhook: the shape the
// server checks a request body against before it reads anything from it.

const groupVersionKind = {
  type: 'object',
  properties: {
    group: { type: 'string' },
    version: { type: 'string' },
    kind: { type: 'string' },
  },
  required: ['group', 'version', 'kind'],
} as const

const groupVersionResource = {
  type: 'object',
  properties: {
    group: { type: 'string' },
    version: { type: 'string' },
    resource: { type: 'string' },
  },
  required: ['group', 'version', 'resource'],
} as const

const embeddedObject = { type: ['object', 'null'] } as const

export const admissionReviewSchema = {
  type: 'object',
  properties: {
    apiVersion: { const: 'admission.k8s.io/v1' },
    kind: { const: 'AdmissionReview' },
    request: {
      type: 'object',
      properties: {
        uid: { type: 'string', minLength: 1 },
        kind: groupVersionKind,
        resource: groupVersionResource,
        subResource: { type: 'string' },
        requestKind: groupVersionKind,
        requestResource: groupVersionResource,
        requestSubResource: { type: 'string' },
        name: { type: 'string' },
        namespace: { type: 'string' },
        operation: { enum: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] },
        userInfo: {
          type: 'object',
          properties: {
            username: { type: 'string' },
            uid: { type: 'string' },
            groups: { type: 'array', items: { type: 'string' } },
            extra: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
          },
        },
        object: embeddedObject,
        oldObject: embeddedObject,
        dryRun: { type: 'boolean' },
        options: embeddedObject,
      },
      required: ['uid', 'kind', 'resource', 'operation'],
    },
  },
  required: ['apiVersion', 'kind', 'request'],
} as const
