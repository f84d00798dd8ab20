// The claim mark (ipam/claim.ts): what the endpoint webhook writes on the SpiderEndpoint and the
// CNI plugin reads to know whether it still has to claim. The record rules themselves are tested
// with the plugin (test/cni/spiderpool-claim.test.ts).
import t from 'tap'
import { decodeClaimMark, encodeClaimMark, lostByMark, nicClaimOf } from '../../ipam/claim.ts'

const mark = {
  uid: 'uid-1',
  interfaces: {
    net1: nicClaimOf([
      { address: '10.6.0.5', claimed: 'now' },
      { address: 'fd00::5', lost: 'fd00::5 is reserved for another Pod' },
    ]),
  },
}

t.test('a mark reads back as written', async (t) => {
  t.same(mark.interfaces.net1, { claimed: ['10.6.0.5'], lost: { 'fd00::5': 'fd00::5 is reserved for another Pod' } })
  t.same(decodeClaimMark(encodeClaimMark(mark)), mark)
})

t.test('what is not a mark reads as none, never as an exception', async (t) => {
  for (const text of [undefined, 7, 'nope', 'null', '[]', '{"uid":1,"interfaces":{}}', '{"uid":"u","interfaces":{"net1":{"claimed":"10.6.0.5"}}}', '{"uid":"u","interfaces":{"net1":{"claimed":[],"lost":{"a":1}}}}']) {
    t.equal(decodeClaimMark(text), undefined, JSON.stringify(text))
  }
})

t.test('the mark says which addresses of the NIC were lost, and nothing lost when all were claimed', async (t) => {
  t.same([...lostByMark(mark, 'uid-1', 'net1', ['10.6.0.5', 'fd00::5'])!], [['fd00::5', 'fd00::5 is reserved for another Pod']])
  t.same([...lostByMark(mark, 'uid-1', 'net1', ['10.6.0.5'])!], [], 'all claimed')
  t.same([...lostByMark(mark, 'uid-1', 'net1', ['fd00:0::5'])!], [['fd00:0::5', 'fd00::5 is reserved for another Pod']], 'the same address in another spelling')
})

t.test('a mark of another uid, another NIC or other addresses does not speak for the NIC: the plugin claims itself', async (t) => {
  t.equal(lostByMark(mark, 'uid-2', 'net1', ['10.6.0.5']), undefined, 'another uid')
  t.equal(lostByMark({ ...mark, uid: '' }, '', 'net1', ['10.6.0.5']), undefined, 'no uid')
  t.equal(lostByMark(mark, 'uid-1', 'eth0', ['10.6.0.5']), undefined, 'another NIC')
  t.equal(lostByMark(mark, 'uid-1', 'net1', ['10.6.0.6']), undefined, 'an address the mark does not name')
  t.equal(lostByMark(undefined, 'uid-1', 'net1', ['10.6.0.5']), undefined, 'no mark')
})
