// The CustomResourceDefinition objects of our custom resources, as `kubectl get crd` shows them (read-only).
import { resources, type Resource } from './resources.ts'
import type { StoredObject } from './store.ts'

function crdObject(r: Resource): StoredObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${r.plural}.${r.group}` },
    spec: {
      group: r.group,
      names: crdNames(r),
      scope: r.namespaced ? 'Namespaced' : 'Cluster',
      versions: [
        {
          name: r.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: r.schema },
          subresources: r.hasStatus ? { status: {} } : {},
          ...(r.printerColumns.length > 0 ? { additionalPrinterColumns: r.printerColumns } : {}),
        },
      ],
      conversion: { strategy: 'None' },
    },
    status: {
      acceptedNames: crdNames(r),
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
      ],
      storedVersions: [r.version],
    },
  }
}

function crdNames(r: Resource) {
  return {
    kind: r.kind,
    listKind: `${r.kind}List`,
    plural: r.plural,
    singular: r.singular,
    ...(r.shortNames.length > 0 ? { shortNames: [...r.shortNames] } : {}),
    ...(r.categories.length > 0 ? { categories: [...r.categories] } : {}),
  }
}

export const customResourceDefinitions = (): StoredObject[] => resources.filter((r) => r.custom).map(crdObject)
