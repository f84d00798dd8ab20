// The kubeconfig real kubectl uses: cluster (server URL + CA), user (bearer token), context `local`.
import { stringify } from 'yaml'
import { writeFileAtomically } from './persistence.ts'

export interface KubeconfigContent {
  server: string
  caPem: string
  token: string
}

function kubeconfigText({ server, caPem, token }: KubeconfigContent): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'local', user: { token } }],
    contexts: [{ name: 'local', context: { cluster: 'local', user: 'local' } }],
    'current-context': 'local',
    preferences: {},
  })
}

export async function writeKubeconfig(file: string, content: KubeconfigContent): Promise<void> {
  await writeFileAtomically(file, kubeconfigText(content), 0o600)
}
