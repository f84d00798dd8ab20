// What a request path addresses, parsed as kube-apiserver's RequestInfoFactory does:
// /api/v1/namespaces/<ns>/<plural>/<name>/<subresource>, /apis/<group>/<version>/<plural>/<name>, ...

export type RequestTarget =
  | { type: 'resource'; group: string; version: string; namespace?: string; plural: string; name?: string; subresource?: string }
  | { type: 'discovery'; group?: string; version?: string; legacy: boolean }
  | { type: 'other' }

// `namespaces/<name>/status` and `/finalize` address the namespace itself, not a resource inside it
const namespaceSubresources = new Set(['status', 'finalize'])

export function parseRequestPath(pathname: string): RequestTarget {
  let parts: string[]
  try {
    parts = pathname.split('/').filter((p) => p !== '').map(decodeURIComponent)
  } catch {
    return { type: 'other' }
  }
  let group: string
  let version: string | undefined
  let rest: string[]
  if (parts[0] === 'api') {
    group = ''
    version = parts[1]
    rest = parts.slice(2)
    if (version === undefined) return { type: 'discovery', legacy: true }
  } else if (parts[0] === 'apis') {
    if (parts.length === 1) return { type: 'discovery', legacy: false }
    group = parts[1]
    version = parts[2]
    rest = parts.slice(3)
    if (version === undefined) return { type: 'discovery', group, legacy: false }
  } else return { type: 'other' }
  if (rest.length === 0) return { type: 'discovery', group, version, legacy: group === '' }

  let namespace: string | undefined
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1]
    if (rest.length > 2 && !namespaceSubresources.has(rest[2])) rest = rest.slice(2)
  }
  if (rest.length > 3) return { type: 'other' }
  const [plural, name, subresource] = rest
  return { type: 'resource', group, version, namespace, plural, name, subresource }
}
