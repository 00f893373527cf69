import PeerTransport
import Placement
import QueueEngine
import Testing

@testable import Cluster

/// The table of a node's calls to other nodes' replicas: which replica is asked, which reply is whose,
/// timeouts, links that drop, and the bounds.
@Suite struct NodeCallsTests {
    typealias Calls = NodeCalls<String>

    /// Node-to-node call ids start from a run nonce: a reply to a call of the previous run (the process
    /// was killed while a peer answered) matches no call of the new run. Before, both runs counted from 1.
    @Test func callIdsOfTwoRunsDoNotOverlap() {
        var first = Calls(nonce: 7)
        let earlier = first.begin(to: 2, isReceive: false, timeoutMilliseconds: 1_000, now: 0, waiter: "earlier run")!
        var second = Calls(nonce: 8)
        let later = second.begin(to: 2, isReceive: false, timeoutMilliseconds: 1_000, now: 0, waiter: "this run")!
        #expect(earlier >> 32 == 7 && later >> 32 == 8)
        #expect(second.replied(earlier, from: 2) == nil)
        #expect(second.replied(later, from: 2) == "this run")
    }

    /// A reply answers its call only when it comes from the node the call was made of, and only once.
    @Test func aReplyIsItsCallsOnlyFromThatPeerAndOnce() {
        var calls = Calls(nonce: 1)
        let id = calls.begin(to: 2, isReceive: false, timeoutMilliseconds: 1_000, now: 0, waiter: "send")!
        #expect(calls.replied(id, from: 3) == nil)
        #expect(calls.replied(id, from: 2) == "send")
        #expect(calls.replied(id, from: 2) == nil)
        #expect(calls.pending.isEmpty)
    }

    /// A call past its deadline times out; its late reply answers nothing, and the peer is passed over for
    /// the shard's other replicas for a while, then asked again.
    @Test func aTimedOutCallsPeerIsPassedOverForAWhile() {
        var calls = Calls(nonce: 1)
        let linked: (UInt64) -> Bool = { _ in true }
        #expect(calls.peer(among: [2, 3], isLinked: linked, now: 0) == 2)
        let id = calls.begin(to: 2, isReceive: false, timeoutMilliseconds: 7_000, now: 0, waiter: "send")!
        #expect(calls.expired(now: 6_999).isEmpty)
        #expect(calls.expired(now: 7_000) == ["send"])
        #expect(calls.replied(id, from: 2) == nil)
        #expect(calls.peer(among: [2, 3], isLinked: linked, now: 7_001) == 3)
        // Only replica left linked: asked anyway.
        #expect(calls.peer(among: [2, 3], isLinked: { $0 == 2 }, now: 7_001) == 2)
        #expect(calls.peer(among: [2, 3], isLinked: linked, now: 7_000 + Calls.avoidFailedPeerMilliseconds) == 2)
        #expect(calls.peer(among: [2, 3], isLinked: { _ in false }, now: 0) == nil)
    }

    /// A link that drops fails the calls made over it at once, and no other.
    @Test func aLinkDownFailsItsCallsOnly() {
        var calls = Calls(nonce: 1)
        _ = calls.begin(to: 2, isReceive: true, timeoutMilliseconds: 1_000, now: 0, waiter: "a")
        _ = calls.begin(to: 3, isReceive: false, timeoutMilliseconds: 1_000, now: 0, waiter: "b")
        _ = calls.begin(to: 2, isReceive: false, timeoutMilliseconds: 1_000, now: 0, waiter: "c")
        #expect(calls.linkDown(2).map(\.waiter) == ["a", "c"])
        #expect(calls.pending.count == 1 && calls.pendingReceives == 0)
    }

    /// Long polls and other calls have bounds of their own, so parked receives cannot starve sends.
    @Test func longPollsAndOtherCallsAreBoundedApart() {
        var calls = Calls(nonce: 1)
        for _ in 0..<Calls.pendingReceiveCallsMax {
            #expect(calls.begin(to: 2, isReceive: true, timeoutMilliseconds: 1, now: 0, waiter: "") != nil)
        }
        #expect(calls.begin(to: 2, isReceive: true, timeoutMilliseconds: 1, now: 0, waiter: "") == nil)
        for _ in 0..<Calls.pendingCallsMax {
            #expect(calls.begin(to: 2, isReceive: false, timeoutMilliseconds: 1, now: 0, waiter: "") != nil)
        }
        #expect(calls.begin(to: 2, isReceive: false, timeoutMilliseconds: 1, now: 0, waiter: "") == nil)
        #expect(calls.expired(now: 1).count == Calls.pendingCallsMax + Calls.pendingReceiveCallsMax)
        #expect(calls.pendingReceives == 0)
    }

    /// Calls and replies cross the link as frames and come back as they left.
    @Test func callsAndRepliesRoundTripAsFrames() throws {
        let call = NodeCall.receive(
            shard: 3, ReceiveMessageRequest(queueName: "q", maxNumberOfMessages: 2), waitSeconds: 5)
        let frame = try NodeCallCodec.frame(call, id: 42)
        #expect(frame.kind == .call && frame.shard == 3)
        let (id, decoded) = try NodeCallCodec.decode(NodeCall.self, frame.payload)
        #expect(id == 42 && decoded.isReceive && decoded.shard.rawValue == 3)
        let reply = try NodeCallCodec.frame(NodeReply.failure(QueueError(.serviceUnavailable, "x")), id: 42, shard: 3)
        let (replyID, decodedReply) = try NodeCallCodec.decode(NodeReply.self, reply.payload)
        guard case .failure(let error) = decodedReply else { Issue.record("decoded \(decodedReply)"); return }
        #expect(replyID == 42 && error.code == .serviceUnavailable)
    }
}
