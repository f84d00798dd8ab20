import { randomBytes } from 'node:crypto'
import t from 'tap'
import { applySteps, IpError, readIp, renderSteps, standbyShell } from '../../cni/iproute.ts'
import { netnsExists, runIn } from '../../cni/netns.ts'
import { ip, missingRequirements } from './harness/cluster.ts'

t.test('steps render as one shell: consecutive ip lines share one batch per family, sysctls and guarded programs in between', async (t) => {
  const script = renderSteps([
    { ip: 'link set eth0 up', label: 'a' },
    { ip: 'route add 10.0.0.0/8 dev eth0', label: 'b' },
    { ip: 'rule add fwmark 0x1 lookup 100 pref 1000', family: 6, label: 'c' },
    { sysctl: 'net/ipv4/conf/all/rp_filter', value: '0', label: 'd' },
    { exec: ['iptables', '-t', 'mangle', '-A', 'OUTPUT', '-j', 'CONNMARK', '--restore-mark'], unless: ['iptables', '-t', 'mangle', '-C', 'OUTPUT', '-j', 'CONNMARK', '--restore-mark'], label: 'e' },
  ])
  t.equal(
    script,
    [
      'set -e',
      '{',
      "printf '@@%d\\n' 0 >&2",
      "ip -batch - <<'@@EOF'",
      'link set eth0 up',
      'route add 10.0.0.0/8 dev eth0',
      '@@EOF',
      "printf '@@%d\\n' 2 >&2",
      "ip -6 -batch - <<'@@EOF'",
      'rule add fwmark 0x1 lookup 100 pref 1000',
      '@@EOF',
      "printf '@@%d\\n' 3 >&2",
      "printf '%s\\n' '0' > '/proc/sys/net/ipv4/conf/all/rp_filter'",
      "printf '@@%d\\n' 4 >&2",
      "'iptables' '-t' 'mangle' '-C' 'OUTPUT' '-j' 'CONNMARK' '--restore-mark' >/dev/null 2>&1 || 'iptables' '-t' 'mangle' '-A' 'OUTPUT' '-j' 'CONNMARK' '--restore-mark'",
      '} </dev/null',
    ].join('\n') + '\n',
  )
  t.throws(() => renderSteps([{ sysctl: 'net/../../etc/passwd', value: '1', label: 'x' }]), /not a sysctl name/)
  t.throws(() => renderSteps([{ ip: 'route add 1.2.3.4 dev eth0\nlink del eth0', label: 'x' }]), /cannot span lines/)
})

t.test('iptables rules of one family and table render as one iptables-restore for a table without rules, one check and append each otherwise', async (t) => {
  const script = renderSteps([
    { iptables: 4, table: 'mangle', rule: ['PREROUTING', '-m', 'mark', '--mark', '0x1', '-j', 'CONNMARK', '--save-mark'], label: 'a' },
    { iptables: 4, table: 'mangle', rule: ['OUTPUT', '-j', 'CONNMARK', '--restore-mark'], label: 'b' },
    { iptables: 6, table: 'mangle', rule: ['OUTPUT', '-j', 'CONNMARK', '--restore-mark'], label: 'c' },
  ])
  t.equal(
    script,
    [
      'set -e',
      '{',
      "printf '@@%d\\n' 0 >&2",
      "rules=$(iptables-save -t 'mangle' 2>/dev/null) || rules='-A ?'",
      `case "$rules" in *'-A '*)`,
      "'iptables' '-w' '5' '-t' 'mangle' '-C' 'PREROUTING' '-m' 'mark' '--mark' '0x1' '-j' 'CONNMARK' '--save-mark' >/dev/null 2>&1 || 'iptables' '-w' '5' '-t' 'mangle' '-A' 'PREROUTING' '-m' 'mark' '--mark' '0x1' '-j' 'CONNMARK' '--save-mark'",
      "'iptables' '-w' '5' '-t' 'mangle' '-C' 'OUTPUT' '-j' 'CONNMARK' '--restore-mark' >/dev/null 2>&1 || 'iptables' '-w' '5' '-t' 'mangle' '-A' 'OUTPUT' '-j' 'CONNMARK' '--restore-mark'",
      ';;',
      "*) printf '%s\\n' '*mangle' '-A PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark' '-A OUTPUT -j CONNMARK --restore-mark' 'COMMIT' | iptables-restore --wait=5 --noflush ;;",
      'esac',
      "printf '@@%d\\n' 2 >&2",
      "rules=$(ip6tables-save -t 'mangle' 2>/dev/null) || rules='-A ?'",
      `case "$rules" in *'-A '*)`,
      "'ip6tables' '-w' '5' '-t' 'mangle' '-C' 'OUTPUT' '-j' 'CONNMARK' '--restore-mark' >/dev/null 2>&1 || 'ip6tables' '-w' '5' '-t' 'mangle' '-A' 'OUTPUT' '-j' 'CONNMARK' '--restore-mark'",
      ';;',
      "*) printf '%s\\n' '*mangle' '-A OUTPUT -j CONNMARK --restore-mark' 'COMMIT' | ip6tables-restore --wait=5 --noflush ;;",
      'esac',
      '} </dev/null',
    ].join('\n') + '\n',
  )
  const odd = renderSteps([{ iptables: 4, table: 'mangle', rule: ['OUTPUT', '-m', 'comment', '--comment', 'two words', '-j', 'ACCEPT'], label: 'x' }])
  t.notMatch(odd, /iptables-restore/, 'a word iptables-restore would split stays a check and an append')
})

t.test('steps after a wait are a piece of their own, written to the shell once the wait resolves; each piece keeps the script off its commands\' stdin', async (t) => {
  const script = renderSteps([
    { sysctl: 'net/ipv4/conf/all/rp_filter', value: '0', label: 'a' },
    { waitFor: Promise.resolve(), label: 'b' },
    { ip: 'link set veth0 up', label: 'c' },
  ])
  t.equal(
    script,
    [
      'set -e',
      '{',
      "printf '@@%d\\n' 0 >&2",
      "printf '%s\\n' '0' > '/proc/sys/net/ipv4/conf/all/rp_filter'",
      '} </dev/null',
      '{',
      "printf '@@%d\\n' 2 >&2",
      "ip -batch - <<'@@EOF'",
      'link set veth0 up',
      '@@EOF',
      '} </dev/null',
    ].join('\n') + '\n',
  )
})

const missing = missingRequirements(['ip', 'nsenter'])
t.test('in a network namespace', { skip: missing }, async (t) => {
  const name = `cniip${randomBytes(3).toString('hex')}`
  const netns = `/var/run/netns/${name}`
  await ip('netns', 'add', name)
  t.teardown(() => ip('netns', 'del', name).catch(() => {}))
  await ip('-n', name, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1')

  t.test('readIp answers each query with its JSON, or with the error ip printed for it', async (t) => {
    const [links, bad, rules6] = await readIp(netns, [{ args: 'link show' }, { args: 'route get 10.9.9.9' }, { args: 'rule show', family: 6 }])
    t.ok(Array.isArray(links) && links.some((l) => (l as { ifname: string }).ifname === 'd0'))
    t.match(bad, { error: /unreachable/ })
    t.match(rules6, [{ priority: 0, table: 'local' }, { priority: 32766, table: 'main' }])
  })

  t.test('applySteps names the step that failed, even in the middle of a batch', async (t) => {
    const err = await applySteps(netns, [
      { ip: 'link set d0 up', label: 'bring d0 up' },
      { ip: 'route add 10.8.0.0/16 dev d0', label: 'route to 10.8/16' },
      { ip: 'route add 10.8.0.0/16 dev d0', label: 'the same route again' },
      { ip: 'route add 10.9.0.0/16 dev d0', label: 'never reached' },
    ]).catch((e) => e)
    t.type(err, IpError)
    t.equal(err.step, 'the same route again')
    t.match(err.message, /^the same route again: RTNETLINK answers: File exists/)
    t.notMatch(await runIn(netns, ['ip', 'route']).then((r) => r.stdout), /10\.9\.0\.0/, 'nothing after the failure ran')
  })

  t.test('tolerant steps accept "File exists" or "already gone", an optional sysctl is skipped when the device is missing, a guarded program runs once', async (t) => {
    const steps = [
      { ip: 'rule add pref 1000 lookup 500', family: 6 as const, tolerate: 'exists' as const, label: 'shared rule' },
      { ip: 'link del nosuch0', tolerate: 'missing' as const, label: 'a device already gone' },
      { ip: 'route del 10.99.0.0/16 dev d0', tolerate: 'missing' as const, label: 'a route already gone' },
      { sysctl: 'net/ipv6/conf/nosuchdev/accept_ra', value: '0', ifExists: true, label: 'optional' },
      { sysctl: 'net/ipv4/conf/d0/rp_filter', value: '2', label: 'rp_filter' },
      { exec: ['ip', 'addr', 'add', '10.7.0.1/32', 'dev', 'd1'], unless: ['sh', '-c', 'ip -o addr show dev d1 | grep -q 10.7.0.1'], label: 'address once' },
    ]
    await applySteps(netns, steps)
    await applySteps(netns, steps)
    t.match((await runIn(netns, ['ip', '-6', 'rule'])).stdout, /1000:\s+from all lookup 500/)
    t.equal((await runIn(netns, ['cat', '/proc/sys/net/ipv4/conf/d0/rp_filter'])).stdout.trim(), '2', 'written inside the namespace')
    t.equal((await runIn(netns, ['ip', '-o', 'addr', 'show', 'dev', 'd1'])).stdout.match(/10\.7\.0\.1/g)?.length, 1)
    const err = await applySteps(netns, [{ sysctl: 'net/ipv4/conf/nosuchdev/rp_filter', value: '0', label: 'required sysctl' }]).catch((e) => e)
    t.match(err, { step: 'required sysctl' })
  })

  t.test('iptables rules are appended once: from one iptables-restore in a namespace without rules, one by one where rules are', { skip: missingRequirements(['iptables', 'iptables-save', 'iptables-restore']) }, async (t) => {
    const mark = { iptables: 4 as const, table: 'mangle', rule: ['PREROUTING', '-i', 'd0', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'MARK', '--set-xmark', '0x1/0xffffffff'], label: 'mark' }
    const restore = { iptables: 4 as const, table: 'mangle', rule: ['OUTPUT', '-j', 'CONNMARK', '--restore-mark'], label: 'restore' }
    const rules = async () => (await runIn(netns, ['iptables-save', '-t', 'mangle'])).stdout.split('\n').filter((l) => l.startsWith('-A '))
    await applySteps(netns, [mark, restore])
    t.strictSame(await rules(), ['-A PREROUTING -i d0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff', '-A OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff'])
    await runIn(netns, ['iptables', '-t', 'mangle', '-D', 'OUTPUT', '-j', 'CONNMARK', '--restore-mark'])
    await applySteps(netns, [mark, restore])
    await applySteps(netns, [mark, restore])
    t.strictSame(await rules(), ['-A PREROUTING -i d0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff', '-A OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff'], 'the missing one added, none twice')
    const err = await applySteps(netns, [{ iptables: 4, table: 'mangle', rule: ['NOSUCHCHAIN', '-j', 'ACCEPT'], label: 'a rule in a chain that is not there' }]).catch((e) => e)
    t.match(err, { step: 'a rule in a chain that is not there' })
  })

  t.test('the steps before a wait run while it waits, those after it once it resolves; a rejected wait stops them', async (t) => {
    const rpFilter = async () => (await runIn(netns, ['cat', '/proc/sys/net/ipv4/conf/all/rp_filter'])).stdout.trim()
    const hasRoute = async (dst: string) => (await runIn(netns, ['ip', 'route', 'show', 'table', 'all'])).stdout.includes(dst)
    await runIn(netns, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter'])
    let go!: () => void
    const applied = applySteps(netns, [
      { sysctl: 'net/ipv4/conf/all/rp_filter', value: '2', label: 'before the wait' },
      { waitFor: new Promise<void>((r) => (go = r)), label: 'the go-ahead' },
      { ip: 'route add 10.77.0.0/16 dev d0 table 77', label: 'after the wait' },
    ])
    for (let i = 0; i < 100 && (await rpFilter()) !== '2'; i++) await new Promise((r) => setTimeout(r, 20))
    t.equal(await rpFilter(), '2', 'the sysctl before the wait is written')
    t.notOk(await hasRoute('10.77.0.0/16'), 'the route after it waits')
    go()
    await applied
    t.ok(await hasRoute('10.77.0.0/16'), 'and is added once the wait resolves')

    const stopped = await applySteps(netns, [
      { sysctl: 'net/ipv4/conf/all/rp_filter', value: '1', label: 'before the wait' },
      { waitFor: Promise.reject(new Error('the host failed')), label: 'the go-ahead' },
      { ip: 'route add 10.78.0.0/16 dev d0 table 78', label: 'after the wait' },
    ]).catch((e) => e)
    t.match(stopped, { step: 'the go-ahead' })
    t.notOk(await hasRoute('10.78.0.0/16'), 'nothing after a rejected wait runs')
    const direct = await applySteps(netns, [
      { waitFor: Promise.reject(new Error('the host failed')), label: 'the go-ahead' },
      { ip: 'route add 10.79.0.0/16 dev d0 table 79', label: 'after the wait' },
    ]).catch((e) => e)
    t.match(direct, { step: 'the go-ahead', message: /the host failed/ }, 'the same without a shell')
    t.notOk(await hasRoute('10.79.0.0/16'))
  })

  t.test('a shell started before its steps are known runs them in the namespace, and serves one applySteps only', async (t) => {
    const hasRoute = async (dst: string) => (await runIn(netns, ['ip', 'route', 'show', 'table', 'all'])).stdout.includes(dst)
    const shell = standbyShell(netns)
    await applySteps(netns, [{ ip: 'route add 10.81.0.0/16 dev d0 table 81', label: 'through the standby shell' }], { shell })
    t.ok(await hasRoute('10.81.0.0/16'))
    t.equal(shell.take(), undefined, 'taken once')
    const failed = await applySteps(netns, [{ ip: 'route add 10.81.0.0/16 dev d0 table 81', label: 'the same route again' }], { shell }).catch((e) => e)
    t.match(failed, { step: 'the same route again' }, 'a later applySteps starts its own program')
    const unused = standbyShell(netns)
    unused.close()
    t.equal(unused.take(), undefined, 'a closed standby is not used')
  })

  t.test('netnsExists tells a live namespace from a gone one', async (t) => {
    t.ok(netnsExists(netns))
    t.notOk(netnsExists('/var/run/netns/does-not-exist'))
    t.notOk(netnsExists(''))
  })
})
