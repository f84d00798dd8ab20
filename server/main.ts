// The command line: parses flags and runs `webhook` (the admission server) or `up` (the local
// default: control plane + webhook server) until SIGINT or SIGTERM, `init` (the chart's
// default objects) until they exist, or `clean` (the chart's pre-delete cleanup).
import { parseArgs } from 'node:util'
import { isIP } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Server as TLSServer } from 'node:tls'
import { loadSettings } from './config.ts'
import { defaultSettings } from '../webhooks/settings.ts'
import { readFile } from 'node:fs/promises'
import { defaultTlsSecretName, startWebhookServer, type CertificateOptions } from './webhook.ts'
import { webhookConfigurationName } from './webhook-configurations.ts'
import { startLocalDefault } from './up.ts'
import { createDefaultObjects, defaultCoordinatorValues, type CoordinatorValues } from './init.ts'
import { cleanUp } from './clean.ts'
import { createStore } from '../kube/store.ts'
import { createServerTransport } from '../kube/config.ts'

export const usage = `Usage: spiderpool-ts <command> [flags]

Commands:
  up         start the local default on this machine: a Kubernetes-API-compatible control plane,
             the webhook server registered with it, and a kubeconfig for kubectl
  webhook    serve the admission webhooks over HTTPS
  init       create the default SpiderCoordinator (and a default SpiderMultusConfig) unless they
             exist, waiting while the API or the webhook is not ready yet; what the chart's
             post-install Job runs
  clean      delete the webhook configurations and take our finalizer off every object that
             carries it, so nothing waits on a controller that is gone; what the chart's
             pre-delete Job runs
  install-cni
             copy the CNI plugins (spiderpool, coordinator; npm run build:cni) to a node's CNI
             directory and write the kubeconfig they use
  pause      do nothing until SIGTERM or SIGINT: the CNI DaemonSet's container after install-cni

spiderpool-ts up flags:
  --data-dir DIR         state, certificates and kubeconfig (default .data)
  --listen-api HOST:PORT address of the control plane (default 127.0.0.1:6443; port 0 picks a free one)
  --config FILE          Spiderpool's conf.yml (the spiderpool-conf ConfigMap); default: Spiderpool's defaults
  --log-level LEVEL      as for webhook (default info)

spiderpool-ts webhook flags:
  --listen HOST:PORT     address to listen on (default 0.0.0.0:5722; [::1]:5722 for IPv6; port 0 picks a free one)
  --cert-source SOURCE   where the serving certificate lives (default files when --tls-dir is given):
                           secret  in the Secret --tls-secret, shared by every replica: issued when missing,
                                   expiring within 30 days or not for the Service's names (one replica's write
                                   wins, the others take its pair); the CA is put into the caBundle of the
                                   webhook configurations at start and on renewal; renewals by another replica
                                   are picked up within 10 s without a restart. Needs a Kubernetes API.
                           files   the directory --tls-dir (generated there, or mounted from cert-manager's
                                   Secret; its cainjector fills the caBundle, this server does not)
  --tls-dir DIR          with files: directory of ca.crt, ca.key, tls.crt, tls.key; a CA and serving certificate
                         are generated there when missing or expiring, and replaced files are picked up live.
                         Without ca.key (or read-only) the pair is someone else's: served as it is, never
                         written; /readyz answers 503 while it is missing or unusable
  --tls-secret NAME      with secret: the Secret in --namespace (default spiderpool-controller-server-certs)
  --mutating-webhook-configuration NAME
                         with secret: the MutatingWebhookConfiguration whose caBundle is kept (default spiderpool-controller)
  --validating-webhook-configuration NAME
                         with secret: the ValidatingWebhookConfiguration whose caBundle is kept (default spiderpool-controller)
  --client-ca FILE       PEM CA: admission requests must present a client certificate it signed (the API
                         server's, from its admission kubeconfig) or get 401; /healthz, /readyz and /metrics
                         stay open for kubelet probes and metrics scrapers, which carry no such certificate
  --shutdown-delay SECONDS
                         on SIGTERM, how long /readyz answers 503 while requests are still served, so the
                         Service drops this replica before it stops listening (default 0)
  --drain-timeout SECONDS
                         on SIGTERM, how long requests in flight may take before their connections are cut (default 10)
  --config FILE          Spiderpool's conf.yml (the spiderpool-conf ConfigMap); default: Spiderpool's defaults
  --kubeconfig FILE      the cluster to judge against (pools, subnets, namespaces, …); without it the
                         in-cluster service account when running in a pod, else an empty cluster
  --service-name NAME    Service the certificate is issued for (default spiderpool-controller)
  --namespace NS         namespace of that Service (default kube-system)
  --log-level LEVEL      fatal, error, warn, info, debug, trace or silent (default info)
  -h, --help             print this help

spiderpool-ts init flags:
  --kubeconfig FILE      the cluster (default: the in-cluster service account)
  --coordinator-mode MODE
                         spec.mode of the SpiderCoordinator "default" (default auto)
  --coordinator-pod-cidr-type TYPE
                         its spec.podCIDRType (default auto)
  --coordinator-tune-pod-routes true|false
                         its spec.tunePodRoutes (default true)
  --coordinator-hijack-cidr CIDR[,CIDR…]
                         its spec.hijackCIDR, repeatable (default 169.254.0.0/16; an empty value: none)
  --no-coordinator       create no SpiderCoordinator
  --default-multus-config NAME
                         also create a SpiderMultusConfig NAME (cniType custom): Multus' clusterNetwork
  --namespace NS         its namespace (default kube-system)
  --timeout SECONDS      give up after this long while the API or webhook is not ready (default 300)
  An object that exists is left as it is (it is the user's). Exits 0 once all exist; 1 on a
  refusal (422 Invalid, 403 Forbidden, …), at once and with the API's message, or on timeout.

spiderpool-ts clean flags:
  --kubeconfig FILE      the cluster (default: the in-cluster service account)
  --mutating-webhook-configuration NAME
                         the MutatingWebhookConfiguration to delete (default spiderpool-controller)
  --validating-webhook-configuration NAME
                         the ValidatingWebhookConfiguration to delete (default spiderpool-controller)
  --timeout SECONDS      give up after this long while the API is not ready (default 300)
  The webhook configurations go first (the mutating webhook would put the finalizer back), then
  the finalizer spiderpool.spidernet.io leaves every SpiderCoordinator, SpiderIPPool, SpiderSubnet
  and SpiderEndpoint; other finalizers and the objects themselves stay. Exits 0 when done, also
  when there was nothing to do; 1 on a refusal or on timeout.

spiderpool-ts install-cni flags:
  --bin-dir DIR          where the runtime finds CNI plugins (default /opt/cni/bin)
  --kubeconfig-out FILE  the plugins' kubeconfig, JSON, 0600
                         (default /etc/cni/net.d/spiderpool.d/spiderpool.kubeconfig)
  --server URL           the API server (default: the in-cluster one)
  --ca-file FILE         its CA (default: the service account's ca.crt)
  --token-file FILE      the token to use (default: the service account's token)
  --from DIR             the built plugins (default: dist/cni of this package)
`

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export interface WebhookFlags {
  host: string
  port: number
  certSource: 'files' | 'secret'
  /** with certSource files */
  tlsDir?: string
  tlsSecret: string
  mutatingWebhookConfiguration: string
  validatingWebhookConfiguration: string
  clientCa?: string
  shutdownDelayMs: number
  drainTimeoutMs: number
  config?: string
  kubeconfig?: string
  serviceName: string
  namespace: string
  logLevel: string
}

class UsageError extends Error {}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (all interfaces). */
export function parseListen(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':')
  if (colon < 0) throw new UsageError(`--listen ${text}: expected HOST:PORT`)
  let host = text.slice(0, colon)
  const portText = text.slice(colon + 1)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  else if (host.includes(':')) throw new UsageError(`--listen ${text}: write an IPv6 address in brackets, [${host}]:${portText}`)
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`--listen ${text}: port must be a number from 0 to 65535`)
  return { host: host === '' ? '0.0.0.0' : host, port }
}

function seconds(flag: string, text: string): number {
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new UsageError(`${flag} ${text}: expected a number of seconds, 0 or more`)
  return Math.round(value * 1000)
}

/** Flags of `webhook`; undefined when --help was asked. */
export function parseWebhookFlags(args: string[]): WebhookFlags | undefined {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      listen: { type: 'string', default: '0.0.0.0:5722' },
      'cert-source': { type: 'string' },
      'tls-dir': { type: 'string' },
      'tls-secret': { type: 'string', default: defaultTlsSecretName },
      'mutating-webhook-configuration': { type: 'string', default: webhookConfigurationName },
      'validating-webhook-configuration': { type: 'string', default: webhookConfigurationName },
      'client-ca': { type: 'string' },
      'shutdown-delay': { type: 'string', default: '0' },
      'drain-timeout': { type: 'string', default: '10' },
      config: { type: 'string' },
      kubeconfig: { type: 'string' },
      'service-name': { type: 'string', default: 'spiderpool-controller' },
      namespace: { type: 'string', default: 'kube-system' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return undefined
  const certSource = values['cert-source'] ?? (values['tls-dir'] !== undefined ? 'files' : undefined)
  if (certSource === undefined) throw new UsageError('--tls-dir DIR is required, or --cert-source=secret to keep the certificate in a Secret')
  if (certSource !== 'files' && certSource !== 'secret') throw new UsageError(`--cert-source ${certSource}: expected secret or files`)
  if (certSource === 'files' && !values['tls-dir']) throw new UsageError('--tls-dir DIR is required with --cert-source=files')
  if (certSource === 'secret' && values['tls-dir'] !== undefined) throw new UsageError('--tls-dir is for --cert-source=files; with secret the certificate lives in --tls-secret')
  if (!logLevels.includes(values['log-level'])) {
    throw new UsageError(`--log-level ${values['log-level']}: expected one of ${logLevels.join(', ')}`)
  }
  return {
    ...parseListen(values.listen),
    certSource,
    tlsDir: values['tls-dir'],
    tlsSecret: values['tls-secret'],
    mutatingWebhookConfiguration: values['mutating-webhook-configuration'],
    validatingWebhookConfiguration: values['validating-webhook-configuration'],
    clientCa: values['client-ca'],
    shutdownDelayMs: seconds('--shutdown-delay', values['shutdown-delay']),
    drainTimeoutMs: seconds('--drain-timeout', values['drain-timeout']),
    config: values.config,
    kubeconfig: values.kubeconfig,
    serviceName: values['service-name'],
    namespace: values.namespace,
    logLevel: values['log-level'],
  }
}

export interface UpFlags {
  dataDir: string
  apiHost: string
  apiPort: number
  config?: string
  logLevel: string
}

/** Flags of `up`; undefined when --help was asked. */
export function parseUpFlags(args: string[]): UpFlags | undefined {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      'data-dir': { type: 'string', default: '.data' },
      'listen-api': { type: 'string', default: '127.0.0.1:6443' },
      config: { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return undefined
  if (!logLevels.includes(values['log-level'])) {
    throw new UsageError(`--log-level ${values['log-level']}: expected one of ${logLevels.join(', ')}`)
  }
  const api = parseListen(values['listen-api'])
  return { dataDir: values['data-dir'], apiHost: api.host, apiPort: api.port, config: values.config, logLevel: values['log-level'] }
}

export interface InitFlags {
  kubeconfig?: string
  /** undefined with --no-coordinator */
  coordinator?: CoordinatorValues
  multusConfig?: { name: string; namespace: string }
  timeoutMs: number
}

const splitList = (values: string[]) => values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '')

/** Flags of `init`; undefined when --help was asked. */
export function parseInitFlags(args: string[]): InitFlags | undefined {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    allowNegative: true,
    options: {
      kubeconfig: { type: 'string' },
      coordinator: { type: 'boolean', default: true },
      'coordinator-mode': { type: 'string', default: defaultCoordinatorValues.mode },
      'coordinator-pod-cidr-type': { type: 'string', default: defaultCoordinatorValues.podCIDRType },
      'coordinator-tune-pod-routes': { type: 'string', default: String(defaultCoordinatorValues.tunePodRoutes) },
      'coordinator-hijack-cidr': { type: 'string', multiple: true },
      'default-multus-config': { type: 'string' },
      namespace: { type: 'string', default: 'kube-system' },
      timeout: { type: 'string', default: '300' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return undefined
  const tune = values['coordinator-tune-pod-routes']
  if (tune !== 'true' && tune !== 'false') throw new UsageError(`--coordinator-tune-pod-routes ${tune}: expected true or false`)
  const hijack = values['coordinator-hijack-cidr']
  if (values['default-multus-config'] === '') throw new UsageError('--default-multus-config: give a name')
  if (!values.coordinator && values['default-multus-config'] === undefined) throw new UsageError('--no-coordinator without --default-multus-config: nothing to create')
  return {
    kubeconfig: values.kubeconfig,
    coordinator: values.coordinator
      ? {
          mode: values['coordinator-mode'],
          podCIDRType: values['coordinator-pod-cidr-type'],
          tunePodRoutes: tune === 'true',
          hijackCIDR: hijack === undefined ? [...defaultCoordinatorValues.hijackCIDR] : splitList(hijack),
        }
      : undefined,
    multusConfig: values['default-multus-config'] === undefined ? undefined : { name: values['default-multus-config'], namespace: values.namespace },
    timeoutMs: seconds('--timeout', values.timeout),
  }
}

export interface CleanFlags {
  kubeconfig?: string
  mutatingWebhookConfiguration: string
  validatingWebhookConfiguration: string
  timeoutMs: number
}

/** Flags of `clean`; undefined when --help was asked. */
export function parseCleanFlags(args: string[]): CleanFlags | undefined {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      kubeconfig: { type: 'string' },
      'mutating-webhook-configuration': { type: 'string', default: webhookConfigurationName },
      'validating-webhook-configuration': { type: 'string', default: webhookConfigurationName },
      timeout: { type: 'string', default: '300' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return undefined
  for (const flag of ['mutating-webhook-configuration', 'validating-webhook-configuration'] as const) {
    if (values[flag] === '') throw new UsageError(`--${flag}: give a name`)
  }
  return {
    kubeconfig: values.kubeconfig,
    mutatingWebhookConfiguration: values['mutating-webhook-configuration'],
    validatingWebhookConfiguration: values['validating-webhook-configuration'],
    timeoutMs: seconds('--timeout', values.timeout),
  }
}

async function runClean(flags: CleanFlags): Promise<void> {
  const transport = await createServerTransport(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : { inCluster: true })
  try {
    const log = (line: string) => process.stdout.write(`${line}\n`)
    const done = await cleanUp(createStore(transport), { ...flags, log })
    if (done.length === 0) log('nothing to clean')
  } finally {
    transport.close()
  }
}

async function runInit(flags: InitFlags): Promise<void> {
  const transport = await createServerTransport(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : { inCluster: true })
  try {
    const log = (line: string) => process.stdout.write(`${line}\n`)
    await createDefaultObjects(createStore(transport), { coordinator: flags.coordinator, multusConfig: flags.multusConfig, timeoutMs: flags.timeoutMs, log })
  } finally {
    transport.close()
  }
}

/** Resolves on SIGINT or SIGTERM, after `stop` has run. */
function untilSignal(log: { info(o: object, m: string): void; error(o: object, m: string): void }, stop: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      log.info({ signal }, 'shutting down')
      stop().then(resolve, (err) => {
        log.error({ err }, 'closing failed')
        resolve()
      })
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

async function serveWebhook(flags: WebhookFlags): Promise<void> {
  const settings = flags.config ? await loadSettings(flags.config) : defaultSettings()
  const kube = flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : process.env.KUBERNETES_SERVICE_HOST ? { inCluster: true } : undefined
  if (flags.certSource === 'secret' && !kube) throw new UsageError('--cert-source=secret needs a Kubernetes API: give --kubeconfig FILE or run in a pod')
  const clientCaPem = flags.clientCa === undefined ? undefined : await readFile(flags.clientCa, 'utf8')
  const certificate: CertificateOptions =
    flags.certSource === 'files'
      ? { source: 'files', dir: flags.tlsDir! }
      : {
          source: 'secret',
          secretName: flags.tlsSecret,
          mutatingWebhookConfiguration: flags.mutatingWebhookConfiguration,
          validatingWebhookConfiguration: flags.validatingWebhookConfiguration,
        }
  const server = await startWebhookServer({ ...flags, certificate, clientCaPem, settings, kube })
  if (!kube) server.app.log.warn('no --kubeconfig and not in a pod: judging against an empty cluster (cross-object rules see nothing)')
  process.stdout.write(`listening on ${server.url}\n`)
  await untilSignal(server.app.log, server.close)
}

async function runUp(flags: UpFlags): Promise<void> {
  const settings = flags.config ? await loadSettings(flags.config) : defaultSettings()
  const local = await startLocalDefault({ dataDir: flags.dataDir, apiHost: flags.apiHost, apiPort: flags.apiPort, settings, logLevel: flags.logLevel })
  const kubeconfig = local.controlPlane.kubeconfigPath
  process.stdout.write(
    [
      `control plane   ${local.controlPlane.url}`,
      `webhook server  ${local.webhook.url} (registered with the control plane)`,
      `kubeconfig      ${kubeconfig}`,
      '',
      'Try:',
      `  export KUBECONFIG=${kubeconfig}`,
      '  kubectl apply -f ../shared/reference/examples/macvlan-underlay.yaml',
      '  kubectl get sp',
      '',
      'Ctrl-C stops everything; state is kept in the data directory.',
      '',
    ].join('\n'),
  )
  await untilSignal(local.webhook.app.log, local.close)
}

/** Runs the command line; the result is the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      process.stdout.write(usage)
      return command === undefined ? 2 : 0
    }
    if (command === 'install-cni') {
      // loaded only here: the server never needs the CNI side
      const { installCniCommand } = await import('../cni/install.ts')
      if (installCniCommand(rest) === undefined) process.stdout.write(usage)
      return 0
    }
    if (command === 'pause') {
      // bin/spiderpool-ts runs it without loading this file; here for runCli's callers
      const { runPause } = await import('../cni/pause.ts')
      return await runPause(rest)
    }
    if (command === 'clean') {
      const flags = parseCleanFlags(rest)
      if (flags === undefined) process.stdout.write(usage)
      else await runClean(flags)
      return 0
    }
    if (command === 'init') {
      const flags = parseInitFlags(rest)
      if (flags === undefined) process.stdout.write(usage)
      else await runInit(flags)
      return 0
    }
    if (command === 'webhook' || command === 'up') {
      const flags = command === 'webhook' ? parseWebhookFlags(rest) : parseUpFlags(rest)
      if (flags === undefined) {
        process.stdout.write(usage)
        return 0
      }
      await (command === 'webhook' ? serveWebhook(flags as WebhookFlags) : runUp(flags as UpFlags))
      return 0
    }
    throw new UsageError(command.startsWith('-') ? `unknown flag ${command}: give a command first` : `unknown command ${JSON.stringify(command)}`)
  } catch (err) {
    const usageProblem = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    process.stderr.write(`spiderpool-ts: ${(err as Error).message}\n`)
    if (usageProblem) process.stderr.write(`Run 'spiderpool-ts --help' for usage.\n`)
    return usageProblem ? 2 : 1
  }
}
