// Strategic merge patch on built-in kinds, as kubectl apply and kubectl patch send it.
import t from 'tap'
import { applyStrategicMergePatch, listStrategy } from '../../../kube/controlplane/strategic.ts'

const deployment = () => ({
  metadata: { name: 'd', labels: { app: 'd' }, finalizers: ['a'] },
  spec: {
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } },
    template: {
      spec: {
        containers: [
          { name: 'app', image: 'nginx', ports: [{ containerPort: 80, name: 'http' }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
          { name: 'sidecar', image: 'envoy' },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
        tolerations: [{ key: 'x' }],
      },
    },
  },
})

t.test('containers merge by name, their ports by containerPort, env by name; other lists replace', async (t) => {
  const patched = applyStrategicMergePatch(deployment(), {
    spec: {
      template: {
        spec: {
          containers: [{ name: 'app', image: 'nginx:2', ports: [{ containerPort: 443, name: 'https' }], env: [{ name: 'B', value: '3' }] }, { name: 'new', image: 'busybox' }],
          tolerations: [{ key: 'y' }],
        },
      },
    },
  }, 'Deployment') as any
  const [app, sidecar, added] = patched.spec.template.spec.containers
  t.equal(app.image, 'nginx:2')
  t.same(app.ports.map((p: any) => p.containerPort), [80, 443])
  t.same(app.env, [{ name: 'A', value: '1' }, { name: 'B', value: '3' }])
  t.equal(sidecar.image, 'envoy', 'an element the patch does not name stays')
  t.equal(added.name, 'new')
  t.same(patched.spec.template.spec.tolerations, [{ key: 'y' }], 'a list without merge key is replaced')
})

t.test('$patch: delete removes a list element or a map; $patch: replace replaces them', async (t) => {
  const patched = applyStrategicMergePatch(deployment(), {
    spec: {
      strategy: { $patch: 'replace', type: 'Recreate' },
      template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }], volumes: [{ $patch: 'replace' }, { name: 'cache', emptyDir: {} }] } },
    },
  }, 'Deployment') as any
  t.same(patched.spec.strategy, { type: 'Recreate' })
  t.same(patched.spec.template.spec.containers.map((c: any) => c.name), ['app'])
  t.same(patched.spec.template.spec.volumes, [{ name: 'cache', emptyDir: {} }])
  const gone = applyStrategicMergePatch(deployment(), { spec: { strategy: { $patch: 'delete' } } }, 'Deployment') as any
  t.equal(gone.spec.strategy, undefined)
})

t.test('$retainKeys drops the keys it does not list; null deletes a key', async (t) => {
  const patched = applyStrategicMergePatch(deployment(), { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } }, metadata: { labels: { app: null } } }, 'Deployment') as any
  t.same(patched.spec.strategy, { type: 'Recreate' })
  t.same(patched.metadata.labels, {})
})

t.test('$setElementOrder orders merged elements; $deleteFromPrimitiveList removes scalars; finalizers merge as a set', async (t) => {
  const patched = applyStrategicMergePatch(deployment(), {
    metadata: { finalizers: ['b', 'a'] },
    spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'app' }], containers: [{ name: 'app', image: 'nginx:3' }] } } },
  }, 'Deployment') as any
  t.same(patched.spec.template.spec.containers.map((c: any) => `${c.name}:${c.image}`), ['sidecar:envoy', 'app:nginx:3'])
  t.same(patched.metadata.finalizers, ['a', 'b'])
  const trimmed = applyStrategicMergePatch(deployment(), { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }, 'Deployment') as any
  t.same(trimmed.metadata.finalizers, [])
})

t.test('service ports merge by port, container ports by containerPort', async (t) => {
  t.same(listStrategy('Service', ['spec', 'ports']), { mergeKey: 'port' })
  t.same(listStrategy('Pod', ['spec', 'containers', 'ports']), { mergeKey: 'containerPort' })
  t.same(listStrategy('ConfigMap', ['data', 'ports']), {})
  const service = { spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } }
  const patched = applyStrategicMergePatch(service, { spec: { ports: [{ port: 80, targetPort: 9090 }] } }, 'Service') as any
  t.same(patched.spec.ports, [{ port: 80, targetPort: 9090 }, { port: 443 }])
})
