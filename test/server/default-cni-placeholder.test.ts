// The quick start's default CNI (`--set multus.multusCNI.defaultCniCRName=macvlan-conf`) on the
// local default, with the real init command and real kubectl: init creates the `custom`
// placeholder kube-system/macvlan-conf, then the user applies the example's macvlan SMC of the
// same name over it, and expects the macvlan network with the coordinator.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { runCommand } from './fixtures/cli.ts'
import { runKubectl } from '../kube/controlplane/fixtures/controlplane.ts'
import { startLocalDefault } from '../../server/up.ts'
import { defaultSettings } from '../../webhooks/settings.ts'
import type { NetworkAttachmentDefinition, SpiderMultusConfig } from '../../schemas/types.ts'

const example = path.join(import.meta.dirname, '../../../shared/reference/examples/macvlan-underlay.yaml')

/** `spiderpool-ts init` as the chart's Job runs it. */
const init = (kubeconfig: string, args: string[]) => runCommand(['init', '--kubeconfig', kubeconfig, ...args])

t.test('the example macvlan SMC applied over the placeholder init created is accepted, stored as macvlan with the coordinator, and renders macvlan + coordinator', { timeout: 120_000 }, async (t) => {
  const dataDir = t.testdir()
  const local = await startLocalDefault({ dataDir, apiPort: 0, settings: defaultSettings(), logLevel: 'silent' })
  t.teardown(() => local.close())
  const kubeconfig = local.controlPlane.kubeconfigPath
  const kubectl = (args: string[], input?: string) => runKubectl(kubeconfig, path.join(dataDir, 'kubectl-cache'), args, input)
  const getJSON = async <T>(args: string[]): Promise<T> => {
    const r = await kubectl([...args, '-o', 'json'])
    if (r.code !== 0) throw new Error(`kubectl get ${args.join(' ')}: ${r.stderr}`)
    return JSON.parse(r.stdout) as T
  }
  /** The NAD once `until` holds for it. */
  const nad = async (namespace: string, name: string, until: (nad: NetworkAttachmentDefinition) => boolean) => {
    const deadline = Date.now() + 15_000
    for (;;) {
      const r = await kubectl(['get', 'net-attach-def', '-n', namespace, name, '-o', 'json'])
      const last = r.code === 0 ? (JSON.parse(r.stdout) as NetworkAttachmentDefinition) : undefined
      if (last && until(last)) return last
      if (Date.now() > deadline) throw new Error(`NAD ${namespace}/${name} never got there; last seen: ${JSON.stringify(last)}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  const run = await init(kubeconfig, ['--default-multus-config', 'macvlan-conf', '--namespace', 'kube-system', '--timeout', '60'])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /SpiderMultusConfig "kube-system\/macvlan-conf": created\n/)
  const placeholder = await getJSON<SpiderMultusConfig>(['get', 'smc', '-n', 'kube-system', 'macvlan-conf'])
  t.match(placeholder.spec, { cniType: 'custom', customCNI: '', enableCoordinator: false }, 'the placeholder as the webhook stores it (SMC-M-09, SMC-M-10)')
  t.equal(placeholder.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], undefined, 'not kubectl-applied: apply will patch it without deleting anything')

  const applied = await kubectl(['apply', '-f', example])
  t.equal(applied.code, 0, `the example applies unchanged: ${applied.stderr}`)
  t.match(applied.stdout, 'spidermultusconfig.spiderpool.spidernet.io/macvlan-conf configured')

  const stored = await getJSON<SpiderMultusConfig>(['get', 'smc', '-n', 'kube-system', 'macvlan-conf'])
  t.equal(stored.spec?.cniType, 'macvlan')
  t.equal(stored.spec?.enableCoordinator, true, 'the default coordinator, as on a fresh create')
  t.notOk(Object.hasOwn(stored.spec ?? {}, 'customCNI'), "the placeholder's empty customCNI is gone")
  t.match(stored.spec?.coordinator, { mode: 'auto', tunePodRoutes: true }, 'SMC-M-11 coordinator defaults')

  // the oracle: the same SMC created fresh, under another name, where no placeholder was
  const yaml = await readFile(example, 'utf8')
  const fresh = yaml.split(/^---$/m).find((doc) => doc.includes('kind: SpiderMultusConfig'))!.replace('name: macvlan-conf', 'name: macvlan-fresh')
  const created = await kubectl(['create', '-f', '-'], fresh)
  t.equal(created.code, 0, created.stderr)
  const freshSMC = await getJSON<SpiderMultusConfig>(['get', 'smc', '-n', 'kube-system', 'macvlan-fresh'])
  t.same(stored.spec, freshSMC.spec, 'the same spec as a fresh create of the example')

  const rendered = await nad('kube-system', 'macvlan-conf', (n) => (n.spec?.config ?? '').includes('"macvlan"'))
  const config = JSON.parse(rendered.spec!.config!)
  t.same(
    config.plugins.map((p: { type: string }) => p.type),
    ['macvlan', 'coordinator'],
    'a macvlan + coordinator plugin list',
  )
  t.match(config.plugins[0], { type: 'macvlan', master: 'eth0', ipam: { type: 'spiderpool' } })
  const freshNAD = await nad('kube-system', 'macvlan-fresh', () => true)
  t.equal(rendered.spec!.config, freshNAD.spec!.config!.replace('"name":"macvlan-fresh"', '"name":"macvlan-conf"'), 'the bytes a fresh create renders')
})
