// The Helm chart rendered without helm (scripts/chart/), with its default values and with each
// seed's `helm install --set` flags: the invariants of issue #6, the webhooks equal to what the
// server registers, and the output applied to the local control plane with the real kubectl.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { renderChart } from '../../scripts/chart/chart.ts'
import { createStore } from '../../kube/store.ts'
import { createServerTransport } from '../../kube/config.ts'
import { parseInitFlags, type InitFlags } from '../../server/main.ts'
import { createDefaultObjects } from '../../server/init.ts'
import { webhookConfigurations } from '../../server/webhook-configurations.ts'
import { allKinds } from '../../webhooks/registry.ts'
import { parseSettings } from '../../webhooks/settings.ts'
import { startTestControlPlane } from '../kube/controlplane/fixtures/controlplane.ts'

const chartDir = path.resolve(import.meta.dirname, '../../charts/spiderpool-ts')
const seedsDir = '/work/shared/reference/seeds'

/** The `--set`s of each seed's `helm install spiderpool` (continuation lines joined; other charts' installs left out). */
function seedFlags(): { seed: string; set: string[] }[] {
  return readdirSync(seedsDir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((seed) => {
      const lines = readFileSync(path.join(seedsDir, seed), 'utf8').replace(/\\\n/g, ' ').split('\n')
      const set = lines
        .filter((l) => !/helm install (?!spiderpool )/.test(l))
        .flatMap((l) => [...l.matchAll(/(?:^|\s)-{1,2}set\s+([\w.]+)=("?)([^\s"`]+)\2/g)].map((m) => `${m[1]}=${m[3].replace(/[.,;:]$/, '')}`))
      return { seed, set: [...new Set(set)] }
    })
}

const seeds = seedFlags()
const byKind = (objects: any[], kind: string) => objects.filter((o) => o.kind === kind)
const one = (objects: any[], kind: string, name?: string) => {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name))
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`)
  return found[0]
}
/** The init Job's flags, as `spiderpool-ts init` parses them. */
const initFlagsOf = (objects: any[]): InitFlags => {
  const [command, ...args] = one(objects, 'Job', 'spiderpool-init').spec.template.spec.containers[0].args as string[]
  if (command !== 'init') throw new Error(`the Job runs ${command}, not init`)
  return parseInitFlags(args)!
}
const settingsOf = (objects: any[]) => parseSettings(parse(one(objects, 'ConfigMap', 'spiderpool-conf').data['conf.yml']))
const withoutCaBundle = (webhooks: any[]) =>
  webhooks.map((w) => {
    const { caBundle: _, ...clientConfig } = w.clientConfig
    return { ...w, clientConfig }
  })

t.test('the seeds ask for the flags issue #6 names', async (t) => {
  const all = seeds.flatMap((s) => s.set.map((x) => x.split('=')[0]))
  for (const key of ['coordinator.mode', 'coordinator.podCIDRType', 'multus.multusCNI.defaultCniCRName', 'plugins.installCNI', 'global.imageRegistryOverride']) t.ok(all.includes(key), key)
})

for (const namespace of ['kube-system', 'spiderpool-system']) {
  t.test(`rendered into ${namespace} with default values`, async (t) => {
    const { objects } = renderChart(chartDir, { namespace })
    const deployment = one(objects, 'Deployment')
    const pod = deployment.spec.template
    const podLabels = pod.metadata.labels
    const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v)

    t.equal(deployment.spec.replicas, 2, 'two webhook replicas')
    t.ok(matches(deployment.spec.selector.matchLabels), 'the Deployment selects its pods')
    const pdb = one(objects, 'PodDisruptionBudget')
    t.equal(pdb.spec.minAvailable, 1, 'PDB minAvailable 1')
    t.same(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels, 'the PDB covers the webhook pods')
    const anti = pod.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution
    t.equal(anti[0].topologyKey, 'kubernetes.io/hostname', 'anti-affinity by host name')
    t.ok(matches(anti[0].labelSelector.matchLabels), 'the anti-affinity selects the replicas themselves')

    const container = pod.spec.containers[0]
    t.match(container.livenessProbe.httpGet, { path: '/healthz', scheme: 'HTTPS', port: 'webhook' })
    t.match(container.readinessProbe.httpGet, { path: '/readyz', scheme: 'HTTPS', port: 'webhook' })
    t.ok(container.ports.some((p: any) => p.name === 'webhook'), 'the probes name a declared port')
    t.ok(container.resources.requests.cpu && container.resources.requests.memory && container.resources.limits.memory, 'resources requested and memory limited')
    t.same(container.args.slice(0, 1), ['webhook'])
    for (const arg of ['--cert-source=secret', '--tls-secret=spiderpool-controller-server-certs', `--namespace=${namespace}`, '--service-name=spiderpool-controller', '--config=/etc/spiderpool/conf.yml']) {
      t.ok(container.args.includes(arg), arg)
    }
    const configMount = container.volumeMounts.find((m: any) => m.mountPath === '/etc/spiderpool')
    t.equal(pod.spec.volumes.find((v: any) => v.name === configMount.name).configMap.name, 'spiderpool-conf', 'conf.yml is the spiderpool-conf ConfigMap')

    const service = one(objects, 'Service')
    t.ok(matches(service.spec.selector), 'the Service selects the webhook pods')
    t.equal(service.spec.ports[0].targetPort, 'webhook')

    const settings = settingsOf(objects)
    t.ok(settings.excludedNamespaces.includes(namespace), 'conf.yml excludes the release namespace from the pod webhook')
    const expected = webhookConfigurations(allKinds, { service: { namespace, name: 'spiderpool-controller', port: 443 } }, '', settings.excludedNamespaces)
    const mutating = one(objects, 'MutatingWebhookConfiguration')
    const validating = one(objects, 'ValidatingWebhookConfiguration')
    t.same(mutating.webhooks, withoutCaBundle(expected.mutating.webhooks), 'mutating webhooks equal what the server registers (paths, rules, policies, selectors)')
    t.same(validating.webhooks, withoutCaBundle(expected.validating.webhooks), 'validating webhooks equal what the server registers')
    t.equal(mutating.metadata.name, expected.mutating.metadata.name)
    t.equal(validating.metadata.name, expected.validating.metadata.name)
    const endpointHook = 'spiderendpoint.spiderpool.spidernet.io'
    for (const w of [...mutating.webhooks, ...validating.webhooks]) {
      // pod start never waits on the endpoint webhook: without it the plugin claims itself
      t.equal(w.failurePolicy, w.name === endpointHook ? 'Ignore' : 'Fail', `${w.name} failurePolicy`)
      t.equal(w.sideEffects, w.name === 'pod.spiderpool.spidernet.io' || w.name === endpointHook ? 'NoneOnDryRun' : 'None', `${w.name} sideEffects`)
      t.ok(w.timeoutSeconds > 0 && w.timeoutSeconds <= 30, `${w.name} timeoutSeconds`)
      t.notOk('caBundle' in w.clientConfig, `${w.name}: no caBundle for an upgrade to blank`)
    }
    const podHook = mutating.webhooks.find((w: any) => w.name === 'pod.spiderpool.spidernet.io')
    t.ok(podHook.namespaceSelector.matchExpressions[0].values.includes(namespace), 'pods of the release namespace never wait on the webhook')

    const ds = one(objects, 'DaemonSet')
    const init = ds.spec.template.spec.initContainers.find((c: any) => c.name === 'install-cni')
    t.same(init.args.slice(0, 1), ['install-cni'])
    const hostPathOf = (mountPath: string) => {
      const mount = init.volumeMounts.find((m: any) => mountPath.startsWith(m.mountPath))
      return ds.spec.template.spec.volumes.find((v: any) => v.name === mount.name).hostPath?.path
    }
    const flag = (name: string) => init.args.find((a: string) => a.startsWith(`--${name}=`)).split('=')[1]
    t.equal(hostPathOf(flag('bin-dir')), '/opt/cni/bin', '--bin-dir is the host /opt/cni/bin')
    t.equal(hostPathOf(flag('kubeconfig-out')), '/etc/cni/net.d', '--kubeconfig-out is under the host /etc/cni/net.d')
    const tokenMount = init.volumeMounts.find((m: any) => flag('token-file').startsWith(m.mountPath))
    const tokenSecret = ds.spec.template.spec.volumes.find((v: any) => v.name === tokenMount.name).secret.secretName
    t.equal(one(objects, 'Secret', tokenSecret).metadata.annotations['kubernetes.io/service-account.name'], ds.spec.template.spec.serviceAccountName, 'the CNI uses its own service account token')

    const accounts = byKind(objects, 'ServiceAccount').map((a) => a.metadata.name)
    t.ok(accounts.includes(pod.spec.serviceAccountName) && accounts.includes(ds.spec.template.spec.serviceAccountName), 'pods run as accounts the chart creates')
    for (const b of [...byKind(objects, 'ClusterRoleBinding'), ...byKind(objects, 'RoleBinding')]) {
      const roles = b.roleRef.kind === 'ClusterRole' ? byKind(objects, 'ClusterRole') : byKind(objects, 'Role').filter((r) => r.metadata.namespace === b.metadata.namespace)
      t.ok(roles.some((r) => r.metadata.name === b.roleRef.name), `${b.kind} ${b.metadata.name} refers to a role the chart creates`)
      for (const s of b.subjects) t.ok(s.namespace === namespace && accounts.includes(s.name), `${b.metadata.name} binds ${s.name}`)
    }
    t.equal(byKind(objects, 'SpiderCoordinator').length + byKind(objects, 'SpiderMultusConfig').length, 0, 'no object the webhook must admit is installed by Helm itself')
    const job = one(objects, 'Job', 'spiderpool-init')
    t.equal(job.metadata.annotations['helm.sh/hook'], 'post-install,post-upgrade', 'init runs after install and after each upgrade')
    t.equal(job.metadata.annotations['helm.sh/hook-delete-policy'], 'before-hook-creation,hook-succeeded', 'a failed init Job stays for its log; a new one replaces it')
    t.ok(job.spec.backoffLimit > 0, 'a failed pod is retried')
    t.equal(job.spec.template.spec.restartPolicy, 'Never')
    t.equal(job.spec.template.spec.serviceAccountName, pod.spec.serviceAccountName, 'init runs as the controller, whose Role grants what it creates')
    t.equal(job.spec.template.spec.hostNetwork, true, 'init, like the webhook, needs no pod network')
    t.same(initFlagsOf(objects), {
      kubeconfig: undefined,
      coordinator: { mode: 'auto', podCIDRType: 'auto', tunePodRoutes: true, hijackCIDR: ['169.254.0.0/16'] },
      multusConfig: undefined,
      timeoutMs: 240_000,
    }, 'the Job asks for the default SpiderCoordinator of values.yaml and no SpiderMultusConfig')
    t.equal(byKind(objects, 'Certificate').length, 0, 'no cert-manager objects by default')
  })
}

t.test('values reach what they configure', async (t) => {
  const render = (...set: string[]) => renderChart(chartDir, { namespace: 'kube-system', set }).objects
  t.match(initFlagsOf(render('coordinator.mode=overlay')).coordinator, { mode: 'overlay' })
  t.match(initFlagsOf(render('coordinator.podCIDRType=none')).coordinator, { podCIDRType: 'none' })
  t.match(initFlagsOf(render('coordinator.tunePodRoutes=false')).coordinator, { tunePodRoutes: false })
  t.same(initFlagsOf(render('coordinator.hijackCIDR={10.96.0.0/12,fd00::/108}')).coordinator!.hijackCIDR, ['10.96.0.0/12', 'fd00::/108'])
  t.same(initFlagsOf(render('coordinator.hijackCIDR={}')).coordinator!.hijackCIDR, [], 'no hijackCIDR is an empty list, not the default')
  t.notOk(byKind(render('coordinator.enabled=false'), 'Job').some((j) => j.metadata.name === 'spiderpool-init'), 'nothing to create, no init Job')

  const withCni = render('multus.multusCNI.defaultCniCRName=macvlan-conf')
  t.same(initFlagsOf(withCni).multusConfig, { name: 'macvlan-conf', namespace: 'kube-system' }, 'the default SpiderMultusConfig in the release namespace, as Spiderpool creates it')
  t.match(settingsOf(withCni), { clusterNetwork: 'macvlan-conf', multusNamespace: 'kube-system' }, 'and it is the clusterNetwork the webhook assumes')
  const onlyCni = initFlagsOf(render('coordinator.enabled=false', 'multus.multusCNI.defaultCniCRName=macvlan-conf'))
  t.equal(onlyCni.coordinator, undefined, 'coordinator.enabled=false: init creates the SpiderMultusConfig only')
  t.equal(onlyCni.multusConfig?.name, 'macvlan-conf')

  const plugins = one(render('plugins.installCNI=true'), 'DaemonSet').spec.template.spec.initContainers
  t.same(plugins.map((c: any) => c.name), ['install-cni-plugins', 'install-cni'], 'installCNI adds the plugins copy before install-cni')
  t.equal(one(render(), 'DaemonSet').spec.template.spec.initContainers.length, 1)

  // every container of every workload runs an image we publish, from the override's registry (a
  // mirror of ghcr.io carries nothing of registry.k8s.io); only the standard plugins' copy runs
  // Spiderpool's plugins image, from ghcr.io as well
  const override = 'ghcr.m.daocloud.io'
  const appVersion = parse(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')).appVersion
  const ourImage = `${override}/spiderpool-ts/spiderpool-ts:${appVersion}`
  const pluginsImage = `${override}/spidernet-io/spiderpool/spiderpool-plugins:v0.9.0`
  for (const set of [[], ['plugins.installCNI=true']]) {
    const mirrored = render(`global.imageRegistryOverride=${override}`, ...set)
    const workloads = mirrored.filter((o) => o.spec?.template?.spec?.containers)
    t.same(workloads.map((w) => `${w.kind}/${w.metadata.name}`).sort(), ['DaemonSet/spiderpool-agent', 'Deployment/spiderpool-controller', 'Job/spiderpool-controller-hook-pre-delete', 'Job/spiderpool-init'], 'the workloads, hook Jobs included')
    for (const w of workloads) {
      const containers = [...(w.spec.template.spec.initContainers ?? []), ...w.spec.template.spec.containers]
      for (const c of containers) t.equal(c.image, c.name === 'install-cni-plugins' ? pluginsImage : ourImage, `${set.join(' ') || 'no --set'}: ${w.kind}/${w.metadata.name} ${c.name}`)
    }
  }

  t.match(settingsOf(render('ipam.enableIPv6=false', 'ipam.enableSpiderSubnet=false', 'ipam.enableIPv4=true')), { enableIPv6: false, enableSpiderSubnet: false, enableIPv4: true })
  const v6 = one(render('ipam.enableIPv4=false'), 'Deployment').spec.template.spec.containers[0].args
  t.ok(v6.includes('--listen=[::]:5722'), 'an IPv6-only cluster listens on [::]')
  t.throws(() => render('coordinator.moed=overlay'), /coordinator\.moed/, 'a mistyped key is an error, not silently ignored')
})

t.test('certManager.enabled: a CA of its own signs the serving certificate, cainjector injects that CA, the Secret is mounted where files mode reads it, no Secret access', async (t) => {
  const { certificateFileNames, issuedElsewhereWarnWithinMs, serviceDnsNames } = await import('../../certs/index.ts')
  // cert-manager's durations as the chart writes them (`8760h`)
  const hours = (duration: string) => Number(/^(\d+)h$/.exec(duration)?.[1] ?? NaN)
  const objects = renderChart(chartDir, { namespace: 'kube-system', set: ['certManager.enabled=true'] }).objects
  const issuers = byKind(objects, 'Issuer')
  t.equal(issuers.length, 2, 'a self-signed Issuer and a CA Issuer')
  const selfSigned = issuers.find((i) => i.spec.selfSigned)
  const caIssuer = issuers.find((i) => i.spec.ca)
  const caCert = byKind(objects, 'Certificate').find((c) => c.spec.isCA)
  t.equal(caCert.spec.isCA, true, 'the CA is a Certificate of its own')
  t.equal(caCert.spec.issuerRef.name, selfSigned.metadata.name, 'self-signed')
  t.equal(caCert.spec.privateKey.rotationPolicy, 'Never', 'a renewed CA keeps its key, so what it signed stays trusted')
  t.ok(hours(caCert.spec.duration) >= 5 * 8760, `long-lived: ${caCert.spec.duration}`)
  t.equal(caIssuer.spec.ca.secretName, caCert.spec.secretName, 'the CA Issuer signs with the CA’s Secret')

  const cert = one(objects, 'Certificate', 'spiderpool-controller-server-certs')
  t.notOk(cert.spec.isCA, 'the serving certificate is no CA')
  t.match(cert.spec.issuerRef, { kind: 'Issuer', name: caIssuer.metadata.name }, 'signed by the CA Issuer, so its ca.crt is the CA, not itself')
  t.not(cert.spec.secretName, caCert.spec.secretName, 'the CA key stays out of the server’s Secret')
  const svc = one(objects, 'Service', 'spiderpool-controller')
  t.same(cert.spec.dnsNames, serviceDnsNames(svc.metadata.name, svc.metadata.namespace), 'issued for the Service’s names')
  t.ok(cert.spec.dnsNames.includes('spiderpool-controller.kube-system.svc'), 'including the one the API server calls')
  t.equal(cert.spec.duration, '8760h', 'certManager.certificateDuration')
  // the server warns when less than 15 days (issuedElsewhereWarnWithinMs) are left: a renewal on time never makes it
  t.ok(hours(cert.spec.renewBefore) * 3_600_000 > issuedElsewhereWarnWithinMs && hours(cert.spec.renewBefore) < hours(cert.spec.duration), `renewBefore ${cert.spec.renewBefore}`)
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    const config = one(objects, kind)
    t.equal(config.metadata.annotations['cert-manager.io/inject-ca-from'], `${cert.metadata.namespace}/${cert.metadata.name}`, `${kind} takes its CA from the serving Certificate’s Secret`)
    t.ok(config.webhooks.every((w: any) => w.clientConfig.service.name === svc.metadata.name && w.clientConfig.service.namespace === svc.metadata.namespace), `${kind} calls the Service the certificate names`)
  }
  const pod = one(objects, 'Deployment').spec.template.spec
  const args = pod.containers[0].args
  t.ok(args.includes('--cert-source=files') && !args.some((a: string) => a.startsWith('--tls-secret')), 'the server only reads the mounted files')
  const tlsDir = args.find((a: string) => a.startsWith('--tls-dir=')).split('=')[1]
  const mount = pod.containers[0].volumeMounts.find((m: any) => m.mountPath === tlsDir)
  t.equal(mount.readOnly, true)
  const volume = pod.volumes.find((v: any) => v.name === mount.name)
  t.equal(volume.secret.secretName, cert.spec.secretName, '--tls-dir is the Certificate’s Secret')
  t.equal(volume.secret.items, undefined, 'every key of the Secret becomes a file of its own name')
  t.same([certificateFileNames.certPem, certificateFileNames.keyPem, certificateFileNames.caPem], ['tls.crt', 'tls.key', 'ca.crt'], 'files mode reads the names cert-manager writes')

  const own = renderChart(chartDir, { namespace: 'kube-system', set: ['certManager.enabled=true', 'certManager.issuerName=corp-ca', 'certManager.issuerKind=ClusterIssuer'] }).objects
  t.equal(byKind(own, 'Issuer').length, 0, 'certManager.issuerName: no CA of the chart')
  t.match(one(own, 'Certificate').spec.issuerRef, { kind: 'ClusterIssuer', name: 'corp-ca' })
  const rules = byKind(objects, 'Role').flatMap((r) => r.rules)
  t.notOk(rules.some((r: any) => r.resources.includes('secrets')), 'no Secret access')
  // cainjector writes the caBundle; the pre-delete clean Job (spiderpoolController.cleanup.enable) still deletes them
  const webhookRules = byKind(objects, 'ClusterRole').flatMap((r) => r.rules).filter((r: any) => r.apiGroups.includes('admissionregistration.k8s.io'))
  t.same(webhookRules.flatMap((r: any) => r.verbs), ['delete'], 'no webhook configuration access but the clean Job’s delete')
  t.notOk(renderChart(chartDir, { namespace: 'kube-system', set: ['certManager.enabled=true', 'spiderpoolController.cleanup.enable=false'] }).objects.filter((o) => o.kind === 'ClusterRole').flatMap((r) => r.rules).some((r: any) => r.apiGroups.includes('admissionregistration.k8s.io')), 'and none at all without it')
})

t.test('kubectl apply of the rendered chart on the local control plane', async (t) => {
  const plane = await startTestControlPlane(t)
  const variants = [{ seed: 'default values', set: [] as string[] }, ...seeds]
  // the CRDs are served by the control plane itself (read-only there): they are compared, not applied
  const served = JSON.parse(await plane.ok(['get', 'crd', '-o', 'json'])).items.map((c: any) => c.metadata.name).sort()
  const crds = renderChart(chartDir, { namespace: 'kube-system', includeCrds: true }).objects.filter((o) => o.kind === 'CustomResourceDefinition')
  t.same(crds.map((c) => c.metadata.name).sort(), served, 'the chart’s crds/ are the kinds the control plane serves')

  for (const { seed, set } of variants) {
    const { objects } = renderChart(chartDir, { namespace: 'kube-system', set })
    // cert-manager kinds are not served there; none are rendered without certManager.enabled
    t.equal(objects.filter((o) => o.apiVersion.startsWith('cert-manager.io/')).length, 0)
    const stream = objects.map((o) => JSON.stringify(o)).join('\n')
    const applied = await plane.kubectl(['apply', '-f', '-'], stream)
    t.equal(applied.code, 0, `${seed} (${set.join(' ') || 'no --set'}) applies: ${applied.stderr}`)
    for (const o of objects) {
      const ref = `${o.kind}/${o.metadata.name}`
      const got = await plane.kubectl(['get', ...(o.metadata.namespace ? ['-n', o.metadata.namespace] : []), o.kind.toLowerCase() + '.' + (o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''), o.metadata.name, '-o', 'json'].map((a) => a.replace(/\.$/, '')))
      t.equal(got.code, 0, `${seed}: ${ref} is stored: ${got.stderr}`)
    }
  }
})

t.test("the init Job's arguments, run against the local control plane, create what each seed's values ask for", async (t) => {
  const plane = await startTestControlPlane(t)
  const transport = await createServerTransport({ kubeconfig: plane.cp.kubeconfigPath })
  t.teardown(() => transport.close())
  const store = createStore(transport)
  for (const { seed, set } of [{ seed: 'default values', set: [] as string[] }, ...seeds]) {
    const flags = initFlagsOf(renderChart(chartDir, { namespace: 'kube-system', set }).objects)
    await plane.kubectl(['delete', 'spidercoordinator', 'default', '--ignore-not-found'])
    await plane.kubectl(['delete', 'smc', '-n', 'kube-system', '--all'])
    await createDefaultObjects(store, { coordinator: flags.coordinator, multusConfig: flags.multusConfig, timeoutMs: 10_000 })
    const coordinator = JSON.parse(await plane.ok(['get', 'spidercoordinator', 'default', '-o', 'json']))
    const value = (key: string, fallback: string) => set.find((x) => x.startsWith(`${key}=`))?.split('=')[1] ?? fallback
    t.match(coordinator.spec, { mode: value('coordinator.mode', 'auto'), podCIDRType: value('coordinator.podCIDRType', 'auto'), hijackCIDR: ['169.254.0.0/16'] }, `${seed}: the SpiderCoordinator`)
    const cni = value('multus.multusCNI.defaultCniCRName', '')
    const smcs = JSON.parse(await plane.ok(['get', 'smc', '-n', 'kube-system', '-o', 'json'])).items
    t.same(smcs.map((x: any) => [x.metadata.name, x.spec.cniType]), cni ? [[cni, 'custom']] : [], `${seed}: the SpiderMultusConfig`)
  }
})

t.test("the Deployment's arguments are ones the server's own flag parser accepts, in both certificate modes", async (t) => {
  const { parseWebhookFlags } = await import('../../server/main.ts')
  for (const set of [[], ['certManager.enabled=true'], ['ipam.enableIPv4=false', 'ipam.enableIPv6=true']]) {
    const objects = renderChart(chartDir, { namespace: 'spiderpool-system', set }).objects
    const deployment = objects.find((o) => o.kind === 'Deployment')!
    const [command, ...args] = deployment.spec.template.spec.containers[0].args as string[]
    t.equal(command, 'webhook')
    const flags = parseWebhookFlags(args)
    t.ok(flags, `parsed with ${set.join(' ') || 'default values'}`)
    t.equal(flags!.namespace, 'spiderpool-system')
    if (set.includes('certManager.enabled=true')) {
      t.equal(flags!.certSource, 'files')
      t.ok(deployment.spec.template.spec.volumes.some((v: any) => v.name === 'tls' && v.secret), 'the cert-manager Secret is mounted')
    } else {
      t.equal(flags!.certSource, 'secret')
      t.equal(flags!.tlsSecret, 'spiderpool-controller-server-certs')
      t.equal(flags!.mutatingWebhookConfiguration, objects.find((o) => o.kind === 'MutatingWebhookConfiguration')!.metadata.name)
      t.equal(flags!.validatingWebhookConfiguration, objects.find((o) => o.kind === 'ValidatingWebhookConfiguration')!.metadata.name)
    }
    t.ok(flags!.shutdownDelayMs > 0, 'readiness drops before the listener closes')
  }
})

t.test("the pre-delete Job runs `spiderpool-ts clean` as the controller, with arguments its own flag parser accepts", async (t) => {
  const { parseCleanFlags } = await import('../../server/main.ts')
  for (const namespace of ['kube-system', 'spiderpool-system']) {
    const objects = renderChart(chartDir, { namespace }).objects
    const job = one(objects, 'Job', 'spiderpool-controller-hook-pre-delete')
    t.equal(job.metadata.namespace, namespace)
    t.equal(job.metadata.annotations['helm.sh/hook'], 'pre-delete', 'runs before helm uninstall deletes anything, while the server account and its roles exist')
    t.equal(job.metadata.annotations['helm.sh/hook-delete-policy'], 'before-hook-creation,hook-succeeded', 'a failed clean Job stays for its log')
    const pod = job.spec.template.spec
    t.equal(pod.serviceAccountName, one(objects, 'Deployment').spec.template.spec.serviceAccountName, 'the server’s ServiceAccount, whose ClusterRole grants what clean does')
    t.equal(pod.restartPolicy, 'Never')
    t.ok(job.spec.backoffLimit > 0, 'a failed pod is retried')
    const [command, ...args] = pod.containers[0].args as string[]
    t.same(pod.containers[0].command, ['spiderpool-ts'])
    t.equal(command, 'clean')
    t.same(parseCleanFlags(args), {
      kubeconfig: undefined,
      mutatingWebhookConfiguration: one(objects, 'MutatingWebhookConfiguration').metadata.name,
      validatingWebhookConfiguration: one(objects, 'ValidatingWebhookConfiguration').metadata.name,
      timeoutMs: 240_000,
    }, 'it deletes the webhook configurations the chart installs, and gives up before Helm’s 5 m')
    const deletes = byKind(objects, 'ClusterRole').flatMap((r) => r.rules).filter((r: any) => r.verbs.includes('delete') && r.apiGroups.includes('admissionregistration.k8s.io'))
    t.same(deletes.flatMap((r: any) => r.resourceNames), ['spiderpool-controller'], 'deletes only our webhook configurations')
  }
  const off = renderChart(chartDir, { namespace: 'kube-system', set: ['spiderpoolController.cleanup.enable=false'] }).objects
  t.notOk(off.some((o) => o.kind === 'Job' && o.metadata.name === 'spiderpool-controller-hook-pre-delete'), 'spiderpoolController.cleanup.enable=false: no hook, as in Spiderpool')
  t.notOk(byKind(off, 'ClusterRole').flatMap((r) => r.rules).some((r: any) => r.verbs.includes('delete') && r.apiGroups.includes('admissionregistration.k8s.io')), 'nor its grants')
})

t.test("the CNI DaemonSet's long-running container is `spiderpool-ts pause` of our image, with arguments it accepts", async (t) => {
  const { parsePauseFlags } = await import('../../cni/pause.ts')
  const objects = renderChart(chartDir, { namespace: 'kube-system' }).objects
  const spec = one(objects, 'DaemonSet').spec.template.spec
  t.same(spec.containers.map((c: any) => c.name), ['pause'])
  const [container] = spec.containers
  t.equal(container.image, one(objects, 'Deployment').spec.template.spec.containers[0].image, 'the image the server runs')
  t.same(container.command, ['spiderpool-ts'])
  t.equal(container.args[0], 'pause')
  t.equal(parsePauseFlags(container.args.slice(1)), true, 'accepted, and not a --help')
  t.notOk(container.volumeMounts, 'no host path: the install is the init container’s')
  t.equal(container.securityContext.runAsNonRoot, true)
})

t.test("the Deployment runs the server with the node flags and malloc settings the benchmarks measure (server/node-options.ts)", async (t) => {
  const { serverEnvironment, serverNodeOptions } = await import('../../server/node-options.ts')
  t.equal(serverEnvironment.NODE_OPTIONS, serverNodeOptions)
  for (const set of [[], ['certManager.enabled=true']]) {
    const deployment = one(renderChart(chartDir, { namespace: 'kube-system', set }).objects, 'Deployment')
    const env = deployment.spec.template.spec.containers[0].env as { name: string; value?: string }[]
    for (const [name, value] of Object.entries(serverEnvironment)) {
      t.equal(env.filter((e) => e.name === name).length, 1, `one ${name} with ${set.join(' ') || 'default values'}`)
      t.equal(env.find((e) => e.name === name)?.value, value, name)
    }
  }
  // node refuses to start on a flag NODE_OPTIONS does not allow
  const started = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(require("node:v8").getHeapStatistics().heap_size_limit))'], { env: { ...process.env, NODE_OPTIONS: serverNodeOptions }, encoding: 'utf8' })
  t.equal(started.status, 0, started.stderr)
  const oldSpace = Number(/--max-old-space-size=(\d+)/.exec(serverNodeOptions)?.[1])
  t.ok(Number(started.stdout) < (oldSpace + 64) * 2 ** 20, `the heap limit (${started.stdout} bytes) follows --max-old-space-size`)
})
