// The local control plane: a Kubernetes-API-compatible HTTPS server for the single-machine default
// and for tests (not a production store). Real kubectl works against it with dataDir/kubeconfig.
import { mkdir } from 'node:fs/promises'
import { createServer } from 'node:https'
import { isIP, type AddressInfo, type Socket } from 'node:net'
import path from 'node:path'
import { ensureServingCertificate } from '../../certs/index.ts'
import { adminUser, storeAdmissionChain } from './admission-chain.ts'
import { ensureToken } from './auth.ts'
import { defaultBuiltin, initialStatus } from './builtins.ts'
import { customResourceDefinitions } from './crds.ts'
import { applyDefaults } from './decode.ts'
import { writeKubeconfig } from './kubeconfig.ts'
import { prepareForCreate } from './objectmeta.ts'
import { loadState, StatePersistence } from './persistence.ts'
import { crdResource, namespaceResource } from './resources.ts'
import { serveOptionalAPIs, startCRDController, type OptionalAPIs } from './served.ts'
import { createRequestHandler } from './server.ts'
import { Store, type StoredObject } from './store.ts'
import { Watches } from './watch.ts'

export interface Faults {
  writeLatencyMs: number
  /** 0 = off: every Nth write (PUT or PATCH, main resource or status) of one object returns 409. */
  conflictEveryNthWrite: number
  /** every request gets 503 */
  outage: boolean
}

export interface ControlPlaneOptions {
  dataDir: string
  /** 127.0.0.1 */
  host?: string
  /** 0 = any */
  port?: number
  /** default true: call registered webhooks */
  admission?: boolean
  /** built-in APIs served besides the default ones (kube-apiserver's --runtime-config) */
  apis?: OptionalAPIs
}

export interface ControlPlane {
  url: string
  caPem: string
  token: string
  /** dataDir/kubeconfig, 0600 */
  kubeconfigPath: string
  /** mutable, test-only */
  faults: Faults
  /** serves a connection accepted by a listener elsewhere, e.g. in another network namespace */
  acceptConnection(socket: Socket): void
  close(): Promise<void>
}

const systemNamespaces = ['default', 'kube-system', 'kube-public']

/** The namespaces kube-apiserver keeps in existence and the CRDs of our kinds, created or brought up to date. */
function bootstrap(store: Store): void {
  const now = new Date()
  for (const name of systemNamespaces) {
    if (store.get(namespaceResource, undefined, name)) continue
    const namespace: StoredObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }
    prepareForCreate(namespaceResource, namespace, now)
    defaultBuiltin(namespaceResource, namespace)
    namespace.status = initialStatus(namespaceResource)
    store.create(namespaceResource, namespace)
  }
  const wanted = customResourceDefinitions()
  for (const crd of wanted) {
    const existing = store.get(crdResource, undefined, crd.metadata.name!)
    if (!existing) {
      const { status } = crd
      prepareForCreate(crdResource, crd, now)
      store.create(crdResource, { ...crd, status })
    } else if (JSON.stringify([existing.spec, existing.status]) !== JSON.stringify([crd.spec, crd.status])) {
      const generation = (existing.metadata.generation ?? 1) + 1
      store.update(crdResource, { ...existing, spec: crd.spec, status: crd.status, metadata: { ...existing.metadata, generation } })
    }
  }
  const wantedNames = new Set(wanted.map((c) => c.metadata.name))
  const ownGroups = new Set(wanted.map((c) => (c.spec as { group: string }).group))
  // CRDs created through the API (Calico's…) stay; only ours that the schemas no longer have go
  for (const stale of store.list(crdResource)) {
    if (!wantedNames.has(stale.metadata.name) && ownGroups.has((stale.spec as { group?: string } | undefined)?.group ?? '')) store.remove(crdResource, undefined, stale.metadata.name!)
  }
}

function clientHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return isIP(host) === 6 ? `[${host}]` : host
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const dataDir = path.resolve(opts.dataDir)
  const host = opts.host ?? '127.0.0.1'
  await mkdir(dataDir, { recursive: true, mode: 0o700 })

  const token = await ensureToken(path.join(dataDir, 'token'))
  const ipAddresses = ['127.0.0.1', ...(isIP(host) && host !== '0.0.0.0' && host !== '::' ? [host] : [])]
  const tls = await ensureServingCertificate({ dir: path.join(dataDir, 'pki'), service: 'kubernetes', namespace: 'default', dnsNames: ['localhost'], ipAddresses })

  const store = new Store()
  const stateFile = path.join(dataDir, 'state.json')
  const saved = await loadState(stateFile)
  if (saved) {
    // defaults of the current schemas apply to objects stored before them, as on a read from etcd
    for (const { resource, object } of saved.objects) if (resource.custom) applyDefaults(resource, object)
    store.restore(saved)
  }
  const persistence = new StatePersistence(stateFile, store)
  serveOptionalAPIs(store, opts.apis ?? {})
  bootstrap(store)
  const stopCRDController = startCRDController(store)

  const faults: Faults = { writeLatencyMs: 0, conflictEveryNthWrite: 0, outage: false }
  const watches = new Watches(store)
  const admission = opts.admission === false ? undefined : storeAdmissionChain(store)
  let address = ''
  const server = createServer(
    { cert: tls.certPem, key: tls.keyPem },
    createRequestHandler({ store, admission, userInfo: adminUser, watches, faults, token, address: () => address }),
  )
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  address = `${clientHost(host)}:${port}`
  const url = `https://${address}`
  const kubeconfigPath = path.join(dataDir, 'kubeconfig')
  await writeKubeconfig(kubeconfigPath, { server: url, caPem: tls.caPem, token })
  await persistence.flush()

  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      stopCRDController()
      watches.closeAll()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
      await persistence.close()
    })())

  // the https server wraps in TLS what its 'connection' event brings, as it does for its own accepts
  // (whose Nagle it turns off too); none after close, which would not reach them
  const acceptConnection = (socket: Socket) => {
    if (closing) return void socket.destroy()
    socket.setNoDelay(true)
    server.emit('connection', socket)
  }

  return { url, caPem: tls.caPem, token, kubeconfigPath, faults, acceptConnection, close }
}
