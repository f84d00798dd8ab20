// What the coordinator reads from the Kubernetes API at every ADD, CHECK and DEL: the pod (for
// its default-route-nic annotation) and the SpiderCoordinator `default`, both with the lean
// client, in parallel, within a deadline. This is the work Spiderpool's agent did for it.
import { ApiError, isNotFound } from '../../kube/errors.ts'
import { loadKubeconfig } from '../../kube/kubeconfig.ts'
import { resourcePath, resources } from '../../kube/resources.ts'
import { createTlsTransport } from '../../kube/tls-transport.ts'
import type { SpiderCoordinator } from '../../schemas/types.ts'
import { CniError, errorCode } from '../errors.ts'
import { coordinatorName } from './config.ts'
import type { CoordinatorInputs } from './config.ts'

/** Where the installer puts the CNI plugins' kubeconfig unless the network config says `kubeconfig`. */
export const defaultKubeconfigPath = '/etc/cni/net.d/spiderpool.d/spiderpool.kubeconfig'
const apiTimeoutMs = 10_000

export interface PodRef {
  namespace: string
  name: string
}

/** The pod named by CNI_ARGS, if the runtime named one. */
export function podRefOf(args: Record<string, string>): PodRef | undefined {
  const namespace = args.K8S_POD_NAMESPACE
  const name = args.K8S_POD_NAME
  return namespace && name ? { namespace, name } : undefined
}

interface PodObject {
  metadata?: { annotations?: Record<string, string> }
}

export async function readCoordinatorInputs(kubeconfigPath: string, pod: PodRef | undefined, timeoutMs = apiTimeoutMs): Promise<CoordinatorInputs> {
  // node:tls first: the API read is the longest of the ADD's three, and its handshake needs it
  process.getBuiltinModule('node:tls')
  let transport
  try {
    // one connection, no node:https: its few requests cost one TLS handshake and no HTTP stack to load
    transport = createTlsTransport(await loadKubeconfig(kubeconfigPath), { timeoutMs, userAgent: 'spiderpool-ts-coordinator', soleServer: true })
  } catch (err) {
    throw new CniError(errorCode.invalidNetworkConfig, `cannot use the kubeconfig ${kubeconfigPath}: ${(err as Error).message}`)
  }
  const paths = [resourcePath(resources.coordinators, { name: coordinatorName }), ...(pod ? [resourcePath(resources.pods, { namespace: pod.namespace, name: pod.name })] : [])]
  try {
    // both reads in one round trip: written back to back, answered in order
    const answers = await transport.getAll(paths.map((path) => ({ path })))
    const [coordinator, podObject] = answers.map((answer, i) => {
      if (answer.status === 'fulfilled') return answer.value
      if (isNotFound(answer.reason)) return undefined
      throw unreadable(paths[i], answer.reason)
    }) as [SpiderCoordinator | undefined, PodObject | undefined]
    return { coordinator, podAnnotations: podObject?.metadata?.annotations ?? {} }
  } catch (err) {
    throw err instanceof CniError ? err : unreadable(paths.join(', '), err)
  } finally {
    transport.close()
  }
}

function unreadable(path: string, err: unknown): CniError {
  const why = err instanceof ApiError ? err.message : `${path}: ${(err as Error).message}`
  return new CniError(errorCode.tryAgainLater, 'cannot read from the Kubernetes API', why)
}
