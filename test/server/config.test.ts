import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadSettings } from '../../server/config.ts'
import { defaultSettings } from '../../webhooks/settings.ts'

// the conf.yml of Spiderpool's chart, with a few values changed
const confYml = `ipamUnixSocketPath: /var/run/spidernet/spiderpool.sock
enableIPv4: true
enableIPv6: false
enableStatefulSet: true
enableKubevirtStaticIP: true
enableSpiderSubnet: false
enableAutoPoolForApplication: true
enableIPConflictDetection: false
enableGatewayDetection: false
enableValidatingResourcesDeletedWebhook: true
clusterSubnetDefaultFlexibleIPNumber: 3
podResourceInject:
  enabled: true
  namespacesExclude:
    - kube-system
  namespacesInclude: []
tuneSysctlConfig: true
`

t.test('a conf.yml is read into settings; unknown keys are ignored', async (t) => {
  const file = join(t.testdir(), 'conf.yml')
  writeFileSync(file, confYml)
  const settings = await loadSettings(file)
  t.same(settings, {
    ...defaultSettings(),
    enableIPv6: false,
    enableSpiderSubnet: false,
    enableValidatingResourcesDeletedWebhook: true,
    clusterSubnetDefaultFlexibleIPNumber: 3,
    podResourceInject: { enabled: true, namespacesExclude: ['kube-system'], namespacesInclude: [] },
  })
})

t.test('an empty file gives Spiderpool\'s defaults', async (t) => {
  const file = join(t.testdir(), 'conf.yml')
  writeFileSync(file, '')
  t.same(await loadSettings(file), defaultSettings())
})

t.test('a value of the wrong type is an error naming the file and the key', async (t) => {
  const file = join(t.testdir(), 'conf.yml')
  writeFileSync(file, 'enableIPv6: "no"\n')
  await t.rejects(loadSettings(file), { message: new RegExp(`^config ${file}: .*enableIPv6 must be true or false`) })
  writeFileSync(file, 'podResourceInject:\n  namespacesExclude: kube-system\n')
  await t.rejects(loadSettings(file), { message: /conf\.yml: .*podResourceInject\.namespacesExclude/ })
})

t.test('a file that is not YAML is an error naming the file and the line', async (t) => {
  const file = join(t.testdir(), 'conf.yml')
  writeFileSync(file, 'enableIPv4: true\nenableIPv6: [true\n')
  await t.rejects(loadSettings(file), { message: new RegExp(`^config ${file}: .*line`) })
})

t.test('a file that cannot be read is an error naming it', async (t) => {
  const file = join(t.testdir(), 'missing.yml')
  await t.rejects(loadSettings(file), { message: new RegExp(`^config ${file}: cannot read it: .*ENOENT`) })
})
