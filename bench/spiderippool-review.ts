// The review bench/webhook sends: the CREATE of a SpiderIPPool as kube-apiserver would send it, with
// ranges, an exclusion, a route and a pod affinity, so that the range, gateway, route and selector rules all have work to do.
// And the one answer the baseline and calibration servers give to every request, whatever it asks.
const pool = {
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderIPPool',
  metadata: { name: 'bench-pool', finalizers: ['spiderpool.spidernet.io'], labels: { 'ipam.spidernet.io/ippool-cidr': '10-6-0-0-16' } },
  spec: {
    ipVersion: 4,
    subnet: '10.6.0.0/16',
    gateway: '10.6.0.1',
    ips: ['10.6.212.100-10.6.212.200', '10.6.213.1-10.6.213.250'],
    excludeIPs: ['10.6.212.150'],
    routes: [{ dst: '172.16.0.0/12', gw: '10.6.0.254' }],
    podAffinity: { matchLabels: { app: 'nginx' } },
    default: false,
    disable: false,
  },
}
export const body = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: '0b3c1b52-5b7e-4d0e-9d64-3f1f6b0c7a11',
    kind: { group: 'spiderpool.spidernet.io', version: 'v2beta1', kind: 'SpiderIPPool' },
    resource: { group: 'spiderpool.spidernet.io', version: 'v2beta1', resource: 'spiderippools' },
    name: 'bench-pool',
    operation: 'CREATE',
    userInfo: { username: 'kubernetes-admin', groups: ['system:masters'] },
    object: pool,
  },
})

export const fixedAnswer = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'fixed', allowed: true, status: { code: 200 } } }
