// How a plan's ops become the steps of each namespace: which run while the host makes its changes.
import t from 'tap'
import { stepsIn } from '../../../cni/coordinator/apply.ts'
import type { Op } from '../../../cni/coordinator/plan.ts'

const ops: Op[] = [
  { where: 'host', op: 'veth-add', name: 'vethabc', mac: '02:00:00:00:00:01', peer: 'veth0', peerMac: '02:00:00:00:00:02', mtu: 1500, peerNetns: '/var/run/netns/p' },
  { where: 'host', op: 'sysctl', key: 'net/ipv6/conf/vethabc/accept_ra', value: '0', ifExists: true },
  { where: 'host', op: 'link-up', dev: 'vethabc' },
  { where: 'pod', op: 'link-up', dev: 'veth0' },
  { where: 'pod', op: 'rule-add', rule: { family: 6, fwmark: '0x1', table: 100, priority: 1000 } },
  { where: 'pod', op: 'rule-add', rule: { family: 4, fwmark: '0x1', table: 100, priority: 1000 } },
  { where: 'pod', op: 'iptables', family: 4, table: 'mangle', chain: 'OUTPUT', rule: ['-j', 'CONNMARK', '--restore-mark'] },
  { where: 'pod', op: 'sysctl', key: 'net/ipv4/conf/all/rp_filter', value: '0' },
]
const kinds = (steps: ReturnType<typeof stepsIn>) => steps.map((s) => ('ip' in s ? `ip ${s.ip}` : 'sysctl' in s ? `sysctl ${s.sysctl}` : 'iptables' in s ? 'iptables' : 'waitFor' in s ? 'wait' : 'exec'))

t.test("in the pod the sysctls and iptables rules run while the host works, the ip lines wait for the host's changes (IPv6 rules last)", async (t) => {
  const hostDone = Promise.resolve()
  const pod = stepsIn('pod', ops, hostDone)
  t.strictSame(kinds(pod), ['sysctl net/ipv4/conf/all/rp_filter', 'iptables', 'wait', 'ip link set veth0 up', 'ip rule add fwmark 0x1 lookup 100 pref 1000', 'ip rule add fwmark 0x1 lookup 100 pref 1000'])
  t.equal((pod[2] as { waitFor: Promise<unknown> }).waitFor, hostDone)
  t.match(pod[5], { family: 6 })
})

t.test('a pod without ip lines waits for nothing; on the host the sysctls come after the ip lines that make the veth', async (t) => {
  t.strictSame(kinds(stepsIn('pod', ops.filter((o) => o.op === 'sysctl' || o.op === 'iptables'), Promise.resolve())), ['sysctl net/ipv4/conf/all/rp_filter', 'iptables'])
  t.strictSame(kinds(stepsIn('host', ops)), [
    'ip link add vethabc mtu 1500 address 02:00:00:00:00:01 type veth peer name veth0 mtu 1500 address 02:00:00:00:00:02 netns /var/run/netns/p',
    'ip link set vethabc up',
    'sysctl net/ipv6/conf/vethabc/accept_ra',
  ])
})
