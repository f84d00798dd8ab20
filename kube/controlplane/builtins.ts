// What kube-apiserver fills in on built-in kinds that readers of them expect: a new namespace is
// Active, a new pod Pending, webhook configurations carry their defaulted policies.
import type { Resource } from './resources.ts'
import type { StoredObject } from './store.ts'

type JsonMap = Record<string, any>

function setDefault(map: JsonMap, key: string, value: unknown): void {
  if (map[key] === undefined || map[key] === null) map[key] = value
}

function defaultWebhooks(object: JsonMap, mutating: boolean): void {
  for (const webhook of Array.isArray(object.webhooks) ? object.webhooks : []) {
    setDefault(webhook, 'failurePolicy', 'Fail')
    setDefault(webhook, 'matchPolicy', 'Equivalent')
    setDefault(webhook, 'namespaceSelector', {})
    setDefault(webhook, 'objectSelector', {})
    setDefault(webhook, 'timeoutSeconds', 10)
    if (mutating) setDefault(webhook, 'reinvocationPolicy', 'Never')
    for (const rule of Array.isArray(webhook.rules) ? webhook.rules : []) setDefault(rule, 'scope', '*')
    if (webhook.clientConfig?.service) setDefault(webhook.clientConfig.service, 'port', 443)
  }
}

/** Defaults of built-in kinds, applied on create and update before admission. */
export function defaultBuiltin(resource: Resource, object: StoredObject): void {
  const o = object as JsonMap
  switch (`${resource.group}/${resource.plural}`) {
    case '/namespaces':
      o.spec = { finalizers: ['kubernetes'], ...(o.spec ?? {}) }
      // kube-apiserver always labels a namespace with its name, so namespaceSelectors can name it
      o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name }
      break
    case '/secrets':
      setDefault(o, 'type', 'Opaque')
      break
    case '/services':
      o.spec ??= {}
      setDefault(o.spec, 'type', 'ClusterIP')
      setDefault(o.spec, 'sessionAffinity', 'None')
      for (const port of Array.isArray(o.spec.ports) ? o.spec.ports : []) {
        setDefault(port, 'protocol', 'TCP')
        setDefault(port, 'targetPort', port.port)
      }
      break
    case '/pods':
      o.spec ??= {}
      setDefault(o.spec, 'restartPolicy', 'Always')
      setDefault(o.spec, 'dnsPolicy', 'ClusterFirst')
      setDefault(o.spec, 'schedulerName', 'default-scheduler')
      setDefault(o.spec, 'terminationGracePeriodSeconds', 30)
      break
    case 'admissionregistration.k8s.io/mutatingwebhookconfigurations':
      defaultWebhooks(o, true)
      break
    case 'admissionregistration.k8s.io/validatingwebhookconfigurations':
      defaultWebhooks(o, false)
      break
  }
}

/** The status kube-apiserver gives a new object of a kind whose status the client may not set. */
export function initialStatus(resource: Resource): unknown {
  if (resource.group !== '') return undefined
  if (resource.plural === 'pods') return { phase: 'Pending' }
  if (resource.plural === 'namespaces') return { phase: 'Active' }
  return undefined
}
