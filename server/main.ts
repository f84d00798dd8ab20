// The command line: `spiderpool-ts webhook …` parses its flags, makes sure a serving certificate
// exists, and starts the app over HTTPS until SIGINT or SIGTERM.
import { parseArgs } from 'node:util'
import { isIP } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Server as TLSServer } from 'node:tls'
import { buildApp } from './app.ts'
import { loadSettings } from './config.ts'
import { defaultSettings } from '../webhooks/settings.ts'
import { clusterFromObjects } from '../webhooks/cluster.ts'
import { allKinds } from '../webhooks/registry.ts'
import { ensureServingCertificate, startCertificateRenewal, watchCertificateFiles } from '../certs/index.ts'

export const usage = `Usage: spiderpool-ts <command> [flags]

Commands:
  webhook    serve the admission webhooks over HTTPS

spiderpool-ts webhook flags:
  --listen HOST:PORT     address to listen on (default 0.0.0.0:5722; [::1]:5722 for IPv6; port 0 picks a free one)
  --tls-dir DIR          directory of ca.crt, ca.key, tls.crt, tls.key; a CA and serving certificate are
                         generated there when missing or expiring, and replaced files are picked up live
  --config FILE          Spiderpool's conf.yml (the spiderpool-conf ConfigMap); default: Spiderpool's defaults
  --kubeconfig FILE      accepted but not used yet: the Kubernetes wiring comes later; until then the
                         webhooks judge against an empty cluster
  --service-name NAME    Service the certificate is issued for (default spiderpool-controller)
  --namespace NS         namespace of that Service (default kube-system)
  --log-level LEVEL      fatal, error, warn, info, debug, trace or silent (default info)
  -h, --help             print this help
`

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export interface WebhookFlags {
  host: string
  port: number
  tlsDir: string
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

/** Flags of `webhook`; undefined when --help was asked. */
export function parseWebhookFlags(args: string[]): WebhookFlags | undefined {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      listen: { type: 'string', default: '0.0.0.0:5722' },
      'tls-dir': { type: 'string' },
      config: { type: 'string' },
      kubeconfig: { type: 'string' },
      'service-name': { type: 'string', default: 'spiderpool-controller' },
      namespace: { type: 'string', default: 'kube-system' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return undefined
  if (!values['tls-dir']) throw new UsageError('--tls-dir DIR is required')
  if (!logLevels.includes(values['log-level'])) {
    throw new UsageError(`--log-level ${values['log-level']}: expected one of ${logLevels.join(', ')}`)
  }
  return {
    ...parseListen(values.listen),
    tlsDir: values['tls-dir'],
    config: values.config,
    kubeconfig: values.kubeconfig,
    serviceName: values['service-name'],
    namespace: values.namespace,
    logLevel: values['log-level'],
  }
}

const unspecified = new Set(['0.0.0.0', '::'])

/** Serves until SIGINT/SIGTERM; resolves once the server has closed. */
async function serveWebhook(flags: WebhookFlags): Promise<void> {
  const settings = flags.config ? await loadSettings(flags.config) : defaultSettings()
  const certificate = {
    dir: flags.tlsDir,
    service: flags.serviceName,
    namespace: flags.namespace,
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1', ...(isIP(flags.host) && !unspecified.has(flags.host) ? [flags.host] : [])],
  }
  const tls = await ensureServingCertificate(certificate)

  const app = buildApp({
    kinds: allKinds,
    settings,
    cluster: () => clusterFromObjects(),
    https: { key: tls.keyPem, cert: tls.certPem },
    logger: { level: flags.logLevel },
  })
  const log = app.log
  const server = app.server as unknown as TLSServer
  const useCertificate = (pair: { certPem: string; keyPem: string }, why: string): void => {
    server.setSecureContext({ cert: pair.certPem, key: pair.keyPem, minVersion: 'TLSv1.2' })
    log.info({ dir: flags.tlsDir }, why)
  }
  const onCertificateError = (err: unknown): void => log.warn({ err }, 'serving certificate check failed')
  const renewal = startCertificateRenewal({ ...certificate, onRenewed: (b) => useCertificate(b, 'serving certificate renewed'), onError: onCertificateError })
  const watcher = watchCertificateFiles(flags.tlsDir, (p) => useCertificate(p, 'serving certificate files replaced'), { onError: onCertificateError })

  try {
    await app.listen({ host: flags.host, port: flags.port })
  } catch (err) {
    renewal.stop()
    watcher.close()
    await app.close()
    throw err
  }
  const address = app.server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  process.stdout.write(`listening on https://${host}:${address.port}\n`)

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      log.info({ signal }, 'shutting down')
      renewal.stop()
      watcher.close()
      app.close().then(resolve, (err) => {
        log.error({ err }, 'closing failed')
        resolve()
      })
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}

/** Runs the command line; the result is the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      process.stdout.write(usage)
      return command === undefined ? 2 : 0
    }
    if (command !== 'webhook') {
      throw new UsageError(command.startsWith('-') ? `unknown flag ${command}: give a command first` : `unknown command ${JSON.stringify(command)}`)
    }
    const flags = parseWebhookFlags(rest)
    if (flags === undefined) {
      process.stdout.write(usage)
      return 0
    }
    await serveWebhook(flags)
    return 0
  } catch (err) {
    const usageProblem = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    process.stderr.write(`spiderpool-ts: ${(err as Error).message}\n`)
    if (usageProblem) process.stderr.write(`Run 'spiderpool-ts --help' for usage.\n`)
    return usageProblem ? 2 : 1
  }
}
