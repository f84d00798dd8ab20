// The annotations a SpiderMultusConfig is read by, and SMC-V-01..V-05 on them.
import { invalid, type FieldError } from '../field.ts'
import type { ClusterSnapshot } from '../cluster.ts'
import type { SpiderMultusConfig } from '../../schemas/types.ts'

/** The name of the generated NetworkAttachmentDefinition, when not the SMC's own name. */
export const nadNameAnnotation = 'multus.spidernet.io/cr-name'
export const cniVersionAnnotation = 'multus.spidernet.io/cni-version'
export const rdmaResourceInjectAnnotation = 'cni.spidernet.io/rdma-resource-inject'
export const networkResourceInjectAnnotation = 'cni.spidernet.io/network-resource-inject'
/** Copied to labels (SMC-M-13) so that the Pod webhook can find the SMCs of a group. */
export const injectAnnotations = [rdmaResourceInjectAnnotation, networkResourceInjectAnnotation] as const
export const supportedCNIVersions = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const

const annotationsField = 'metadata.annotations'

const annotationsOf = (smc: SpiderMultusConfig): Record<string, string> => smc.metadata?.annotations ?? {}
const has = (annotations: Record<string, string>, key: string) => Object.hasOwn(annotations, key)

/** SMC-V-01, SMC-V-02: the NAD name is chosen once. */
export function checkNADNameUnchanged(oldSMC: SpiderMultusConfig, smc: SpiderMultusConfig): FieldError[] {
  const before = annotationsOf(oldSMC)
  const after = annotationsOf(smc)
  if (!has(after, nadNameAnnotation)) return []
  const name = after[nadNameAnnotation]
  // SMC-V-01
  if (has(before, nadNameAnnotation) && before[nadNameAnnotation] !== name) {
    const was = before[nadNameAnnotation]
    return [invalid(annotationsField, was, `it's unsupported to change customized Multus net-attach-def resource name from '${was}' to '${name}'`)]
  }
  // SMC-V-02 (dropping the annotation is allowed)
  if (!has(before, nadNameAnnotation)) {
    return [invalid(annotationsField, name, `it's unsupported to changed Multus net-attach-def '${oldSMC.metadata?.name ?? ''}' to customized name '${name}'`)]
  }
  return []
}

/** SMC-V-03, SMC-V-04, SMC-V-05 */
export function checkAnnotations(smc: SpiderMultusConfig, cluster: ClusterSnapshot): FieldError[] {
  const annotations = annotationsOf(smc)
  const errs: FieldError[] = []
  const custom = has(annotations, nadNameAnnotation)
  const nadName = custom ? annotations[nadNameAnnotation] : (smc.metadata?.name ?? '')
  // SMC-V-03
  const nameProblems = custom ? dns1123SubdomainProblems(nadName) : []
  if (nameProblems.length > 0) {
    errs.push(invalid(annotationsField, nadName, `invalid custom net-attach-def resource name, err: [${nameProblems.join(' ')}]`))
  } else {
    // SMC-V-04: an unowned NAD is adopted, one owned by another SMC is not taken over
    const namespace = smc.metadata?.namespace ?? 'default'
    const nad = cluster.networkAttachmentDefinition(namespace, nadName)
    const owner = nad?.metadata?.ownerReferences?.find((ref) => ref.kind === 'SpiderMultusConfig' && ref.name !== smc.metadata?.name)
    if (owner) {
      errs.push(
        invalid(
          annotationsField,
          nadName,
          `the net-attach-def ${namespace}/${nadName} already exists and is managed by SpiderMultusConfig ${namespace}/${owner.name}.`,
        ),
      )
    }
  }
  // SMC-V-05
  if (has(annotations, cniVersionAnnotation)) {
    const version = annotations[cniVersionAnnotation]
    if (!(supportedCNIVersions as readonly string[]).includes(version)) {
      errs.push(invalid(annotationsField, version, `unsupported CNI version ${version}`))
    }
  }
  return errs
}

const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** Kubernetes' IsDNS1123Subdomain, with its messages. */
export function dns1123SubdomainProblems(value: string): string[] {
  const problems: string[] = []
  if (typeof value !== 'string') value = String(value)
  if (new TextEncoder().encode(value).length > 253) problems.push('must be no more than 253 characters')
  if (!dns1123Subdomain.test(value)) {
    problems.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    )
  }
  return problems
}
