// Real kubectl (v1.32) against the local control plane: the quick starts' manifests, tables,
// describe, raw discovery, server-side dry run, patch, delete, label selectors, refusals.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { spawn } from 'node:child_process'
import t from 'tap'
import { parse } from 'yaml'
import { startTestControlPlane, words } from './fixtures/controlplane.ts'

const examples = '/work/shared/reference/examples'
const exampleFiles = readdirSync(examples)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => `${examples}/${f}`)

const plane = await startTestControlPlane(t)
const { kubectl, ok } = plane

t.test('every example manifest applies, and applying it again changes nothing', async (t) => {
  for (const file of exampleFiles) {
    const result = await kubectl(['apply', '-f', file])
    t.equal(result.code, 0, `${file}: ${result.stderr}`)
  }
  // files overlap (two of them define 10-6-v4): the last one applied must be unchanged when re-applied
  const last = exampleFiles[exampleFiles.length - 1]
  const again = await ok(['apply', '-f', last])
  t.notMatch(again, /configured|created/, again)
})

t.test('objects read back carry the schema defaults', async (t) => {
  const smc = JSON.parse(await ok(['get', 'smc', '-n', 'kube-system', 'macvlan-conf', '-o', 'json']))
  t.equal(smc.spec.enableCoordinator, true, 'SpiderMultusConfig enableCoordinator defaults to true')
  t.equal(smc.spec.cniType, 'macvlan', 'a given value stays')
  const pool = JSON.parse(await ok(['get', 'sp', 'ippool-test', '-o', 'json']))
  t.equal(pool.spec.default, false, 'SpiderIPPool default defaults to false')
  t.equal(pool.spec.disable, false)
  t.equal(pool.metadata.generation, 1)
  t.match(pool.metadata.uid, /^[0-9a-f-]{36}$/)
  t.match(pool.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  t.match(pool.metadata.resourceVersion, /^\d+$/)
})

t.test('kubectl get -f finds every object of every example', async (t) => {
  for (const file of exampleFiles) {
    const expected = readFileSync(file, 'utf8')
      .split(/^---$/m)
      .map((d) => parse(d))
      .filter(Boolean)
    const got = JSON.parse(await ok(['get', '-f', file, '-o', 'json']))
    const items = got.kind === 'List' ? got.items : [got]
    t.same(
      items.map((o: any) => `${o.kind}/${o.metadata.name}`),
      expected.map((o: any) => `${o.kind}/${o.metadata.name}`),
      file,
    )
  }
})

t.test('kubectl get sp prints the CRD printer columns, priority-10 ones only with -o wide', async (t) => {
  const lines = (await ok(['get', 'sp'])).trim().split('\n')
  t.same(words(lines[0]), ['NAME', 'VERSION', 'SUBNET', 'ALLOCATED-IP-COUNT', 'TOTAL-IP-COUNT', 'DEFAULT'])
  const row = lines.find((l) => l.startsWith('10-6-v4 '))
  t.ok(row, 'a row per pool')
  t.ok(words(row).includes('10.6.0.0/16'), 'the SUBNET cell')
  t.equal(words(row).at(-1), 'false')

  const wide = (await ok(['get', 'sp', '-o', 'wide'])).trim().split('\n')
  t.same(words(wide[0]), ['NAME', 'VERSION', 'SUBNET', 'ALLOCATED-IP-COUNT', 'TOTAL-IP-COUNT', 'DEFAULT', 'DISABLE', 'NODENAME', 'MULTUSNAME', 'APP-NAMESPACE'])
  t.match(wide.find((l) => l.startsWith('ippool-test ')), /\["kube-system\/macvlan-conf"\]/, 'array cells print as JSON')
})

t.test('kubectl get sp,smc -A lists both kinds with the namespace column for the namespaced one', async (t) => {
  const out = await ok(['get', 'sp,smc', '-A'])
  t.match(out, /spiderippool\.spiderpool\.spidernet\.io\/ippool-test/)
  t.match(out, /NAMESPACE\s+NAME\s+AGE/, 'a CRD without printer columns gets NAME and AGE')
  t.match(out, /kube-system\s+spidermultusconfig\.spiderpool\.spidernet\.io\/macvlan-conf\s+\d+s/)
})

t.test('the APP-NAMESPACE column reads an escaped JSONPath key', async (t) => {
  await ok(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderIPPool',
    metadata: { name: 'app-pool' },
    spec: { subnet: '10.9.0.0/16', ipVersion: 4, podAffinity: { matchLabels: { 'ipam.spidernet.io/app-namespace': 'shop' } } },
  }))
  const wide = (await ok(['get', 'sp', 'app-pool', '-o', 'wide'])).trim().split('\n')
  t.equal(words(wide[1]).at(-1), 'shop')
  t.equal(words(wide[1])[1], '4')
})

t.test('what kubectl get -o yaml prints (a List) applies back', async (t) => {
  const listed = await ok(['get', 'sp', '-o', 'yaml'])
  t.match(listed, /kind: List/)
  const applied = await kubectl(['apply', '-f', '-'], listed)
  t.equal(applied.code, 0, applied.stderr)
  const specs = (yaml: string) => parse(yaml).items.map((o: any) => o.spec)
  t.same(specs(await ok(['get', 'sp', '-o', 'yaml'])), specs(listed), 'with the same specs')
})

t.test('kubectl describe shows a custom resource', async (t) => {
  const out = await ok(['describe', 'sp', 'ippool-test'])
  t.match(out, /Name:\s+ippool-test/)
  t.match(out, /Kind:\s+SpiderIPPool/)
  t.match(out, /Subnet:\s+172\.18\.0\.0\/16/)
  t.match(out, /Events:\s+<none>/)
})

t.test('kubectl get --raw serves the group version discovery', async (t) => {
  const list = JSON.parse(await ok(['get', '--raw', '/apis/spiderpool.spidernet.io/v2beta1']))
  t.equal(list.kind, 'APIResourceList')
  const pools = list.resources.find((r: any) => r.name === 'spiderippools')
  t.same(pools.shortNames, ['sp'])
  t.same(pools.categories, ['spiderpool'])
  t.equal(pools.namespaced, false)
  t.equal(pools.singularName, 'spiderippool')
  t.ok(list.resources.some((r: any) => r.name === 'spiderippools/status'))
  t.notOk(list.resources.some((r: any) => r.name === 'spidermultusconfigs/status'), 'no status subresource where the CRD has none')
})

t.test('kubectl get spiderpool lists every kind of the category', async (t) => {
  const out = await ok(['get', 'spiderpool', '-A'])
  t.match(out, /spiderippool\.spiderpool\.spidernet\.io\/ippool-test/)
  t.match(out, /spidermultusconfig\.spiderpool\.spidernet\.io\/macvlan-conf/)
})

t.test('kubectl apply --dry-run=server answers the stored form and stores nothing', async (t) => {
  const manifest = JSON.stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'dry' }, spec: { subnet: '10.1.0.0/16' } })
  const shown = JSON.parse(await ok(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], manifest))
  t.equal(shown.spec.default, false, 'defaults applied')
  t.match(shown.metadata.uid, /./)
  const after = await kubectl(['get', 'sp', 'dry'])
  t.equal(after.code, 1)
  t.match(after.stderr, /spiderippools\.spiderpool\.spidernet\.io "dry" not found/)
})

t.test('kubectl patch with a merge patch and a JSON patch (test op included)', async (t) => {
  await ok(['patch', 'sp', 'ippool-test', '--type', 'merge', '-p', '{"spec":{"gateway":"172.18.0.254"}}'])
  t.equal(await ok(['get', 'sp', 'ippool-test', '-o', 'jsonpath={.spec.gateway}']), '172.18.0.254')
  await ok(['patch', 'sp', 'ippool-test', '--type', 'json', '-p', '[{"op":"test","path":"/spec/gateway","value":"172.18.0.254"},{"op":"replace","path":"/spec/gateway","value":"172.18.0.1"}]'])
  t.equal(await ok(['get', 'sp', 'ippool-test', '-o', 'jsonpath={.spec.gateway}']), '172.18.0.1')
  const failed = await kubectl(['patch', 'sp', 'ippool-test', '--type', 'json', '-p', '[{"op":"test","path":"/spec/gateway","value":"nope"},{"op":"remove","path":"/spec/gateway"}]'])
  t.not(failed.code, 0, 'a failing test op refuses the whole patch')
  t.equal(await ok(['get', 'sp', 'ippool-test', '-o', 'jsonpath={.spec.gateway}']), '172.18.0.1')
  const generation = await ok(['get', 'sp', 'ippool-test', '-o', 'jsonpath={.metadata.generation}'])
  t.equal(generation, '3', 'generation counts the two spec changes, not the refused patch')
})

t.test('a strategic merge patch on a built-in kind merges lists by their keys', async (t) => {
  await ok(['patch', 'deployment', 'test-app', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"test-app","image":"nginx:1.27"}]}}}}'])
  const deployment = JSON.parse(await ok(['get', 'deployment', 'test-app', '-o', 'json']))
  const container = deployment.spec.template.spec.containers[0]
  t.equal(container.image, 'nginx:1.27')
  t.equal(container.ports[0].containerPort, 80, 'fields of the merged container stay')
  const refused = await kubectl(['patch', 'sp', 'ippool-test', '-p', '{"spec":{"gateway":"172.18.0.2"}}'])
  t.not(refused.code, 0, 'custom resources take no strategic merge patch')
  t.match(refused.stderr, /unknown format/)
})

t.test('kubectl label and selectors', async (t) => {
  await ok(['label', 'sp', 'ippool-test', 'tier=front'])
  await ok(['label', 'sp', 'app-pool', 'tier=back'])
  const names = async (selector: string) => (await ok(['get', 'sp', '-l', selector, '-o', 'name'])).trim().split('\n').filter(Boolean)
  t.same(await names('tier=front'), ['spiderippool.spiderpool.spidernet.io/ippool-test'])
  t.same(await names('tier in (front,back)'), ['spiderippool.spiderpool.spidernet.io/app-pool', 'spiderippool.spiderpool.spidernet.io/ippool-test'])
  t.same(await names('tier,tier!=front'), ['spiderippool.spiderpool.spidernet.io/app-pool'])
  t.same(await names('!tier'), ['spiderippool.spiderpool.spidernet.io/10-6-v4', 'spiderippool.spiderpool.spidernet.io/v4-pool'])
})

t.test('schema validation refuses ipVersion 5 with 422 naming the field', async (t) => {
  const manifest = JSON.stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'bad' }, spec: { subnet: '10.2.0.0/16', ipVersion: 5 } })
  const result = await kubectl(['apply', '-f', '-'], manifest)
  t.not(result.code, 0)
  t.match(result.stderr, /SpiderIPPool "bad" is invalid: spec.ipVersion: Unsupported value: 5: supported values: "4", "6"/)
})

t.test('an unknown field is refused by kubectl apply (strict field validation)', async (t) => {
  const manifest = JSON.stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'typo' }, spec: { subnet: '10.3.0.0/16', gatway: '10.3.0.1' } })
  const result = await kubectl(['apply', '-f', '-'], manifest)
  t.not(result.code, 0)
  t.match(result.stderr, /BadRequest.*strict decoding error: unknown field "spec.gatway"/)
  const warned = await kubectl(['apply', '--validate=warn', '-f', '-'], manifest)
  t.equal(warned.code, 0)
  t.match(warned.stderr, /Warning: unknown field "spec.gatway"/)
  t.notOk(JSON.parse(await ok(['get', 'sp', 'typo', '-o', 'json'])).spec.gatway, 'the unknown field is pruned')
  const unicode = JSON.stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'typo' }, spec: { subnet: '10.3.0.0/16', 'passerelle ✓': 'x' } })
  const warnedUnicode = await kubectl(['apply', '--validate=warn', '-f', '-'], unicode)
  t.match(warnedUnicode.stderr, /Warning: unknown field "spec.passerelle ✓"/, 'warnings keep their non-ASCII text')
})

t.test('two replaces from the same stale copy: the second gets 409 Conflict', async (t) => {
  const copy = JSON.parse(await ok(['get', 'cm', 'kubeadm-config', '-n', 'kube-system', '-o', 'json']))
  copy.data.first = '1'
  await ok(['replace', '-f', '-'], JSON.stringify(copy))
  copy.data.second = '2'
  const second = await kubectl(['replace', '-f', '-'], JSON.stringify(copy))
  t.not(second.code, 0)
  t.match(second.stderr, /Conflict.*Operation cannot be fulfilled on configmaps "kubeadm-config": the object has been modified; please apply your changes to the latest version and try again/)
})

t.test('kubectl delete removes the object, a second delete is NotFound', async (t) => {
  await ok(['delete', 'sp', 'typo'])
  const again = await kubectl(['delete', 'sp', 'typo'])
  t.equal(again.code, 1)
  t.match(again.stderr, /NotFound.*"typo" not found/)
})

t.test('kubectl get -w streams changes as table rows', async (t) => {
  const watcher = spawn('/usr/bin/kubectl', ['--kubeconfig', plane.cp.kubeconfigPath, '--cache-dir', `${plane.dataDir}/.kubectl-cache`, 'get', 'sp', '-w', '--request-timeout=20s'], {
    env: { PATH: process.env.PATH ?? '/usr/bin', HOME: plane.dataDir },
  })
  const killer = setTimeout(() => watcher.kill(), 20_000)
  let out = ''
  const seen = new Promise<void>((resolve) =>
    watcher.stdout.on('data', (chunk: Buffer) => {
      out += chunk
      if (/watched-pool/.test(out)) resolve()
    }),
  )
  await new Promise((r) => setTimeout(r, 500))
  await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'watched-pool' }, spec: { subnet: '10.4.0.0/16', ipVersion: 4 } }))
  await seen
  watcher.kill()
  clearTimeout(killer)
  t.match(out, /watched-pool\s+4\s+10\.4\.0\.0\/16/)
})

t.test('kubectl create namespace, configmap and secret send protobuf, which is decoded', async (t) => {
  await ok(['create', 'namespace', 'team-a'])
  await ok(['create', 'configmap', 'settings', '-n', 'team-a', '--from-literal=mode=fast', '--from-literal=empty='])
  await ok(['create', 'secret', 'generic', 'login', '-n', 'team-a', '--from-literal=password=hunter2'])
  const namespace = JSON.parse(await ok(['get', 'namespace', 'team-a', '-o', 'json']))
  t.equal(namespace.status.phase, 'Active')
  t.match(namespace.metadata.uid, /^[0-9a-f-]{36}$/)
  const configMap = JSON.parse(await ok(['get', 'configmap', 'settings', '-n', 'team-a', '-o', 'json']))
  t.same(configMap.data, { mode: 'fast', empty: '' })
  const secret = JSON.parse(await ok(['get', 'secret', 'login', '-n', 'team-a', '-o', 'json']))
  t.same(secret.data, { password: Buffer.from('hunter2').toString('base64') })
  t.equal(secret.type, 'Opaque')
  const deployment = await kubectl(['create', 'deployment', 'web', '--image=nginx'])
  t.not(deployment.code, 0, 'other kinds in protobuf are refused')
  t.match(deployment.stderr, /send Deployment as JSON \(kubectl apply\) instead/)
})

t.test('requests without the token get 401 Unauthorized', async (t) => {
  const none = await plane.api('GET', '/api/v1/namespaces', { token: null })
  t.equal(none.status, 401)
  t.match(none.json, { kind: 'Status', reason: 'Unauthorized', code: 401 })
  const wrong = await plane.api('GET', '/api/v1/namespaces', { token: 'x'.repeat(64) })
  t.equal(wrong.status, 401)
  t.equal((await plane.api('GET', '/healthz', { token: null })).status, 200, 'health needs no token')
})

t.test('the kubeconfig and the token file are private to the owner', async (t) => {
  t.equal(statSync(plane.cp.kubeconfigPath).mode & 0o777, 0o600)
  t.equal(statSync(`${plane.dataDir}/token`).mode & 0o777, 0o600)
  const config = parse(readFileSync(plane.cp.kubeconfigPath, 'utf8'))
  t.equal(config['current-context'], 'local')
  t.equal(config.clusters[0].cluster.server, plane.cp.url)
  t.equal(config.users[0].user.token, plane.cp.token)
})
