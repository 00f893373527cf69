import Foundation
import NIOCore
import PeerTransport
import Placement
import QueueEngine

/// A request to a node for one of its shard replicas.
package enum NodeCall: Sendable, Codable {
    case command(shard: UInt32, Command)
    case receive(shard: UInt32, ReceiveMessageRequest, waitSeconds: Int?)
    case query(shard: UInt32, ShardQuery)

    package var shard: ShardID {
        switch self {
        case .command(let shard, _), .receive(let shard, _, _), .query(let shard, _): ShardID(shard)
        }
    }

    package var isReceive: Bool {
        if case .receive = self { true } else { false }
    }
}

/// The answer to a `NodeCall`.
package enum NodeReply: Sendable, Codable {
    case result(CommandResult)
    case answer(ShardAnswer)
    case failure(QueueError)
}

/// How a request for a shard hosted elsewhere fails at the node that took it.
package enum NodeCallFailure {
    package static let notHosted = QueueError(
        .serviceUnavailable, "This node holds no replica of the queue's shard. Retry the request on another node.")
    package static let unreachable = QueueError(
        .serviceUnavailable, "No node holding the queue's shard is reachable from this node. Retry the request.")
    package static let timedOut = QueueError(
        .serviceUnavailable, "The node holding the queue's shard did not answer in time. Retry the request.")
    /// Too many calls are waiting (`NodeCalls.pendingCallsMax`).
    package static let busy = QueueError(.serviceUnavailable, "The node is overloaded. Retry the request.")
}

/// The frames of calls and replies: the call id (8 bytes, little-endian), then the call or reply as JSON.
package enum NodeCallCodec {
    package static func frame(_ call: NodeCall, id: UInt64) throws -> PeerFrame {
        PeerFrame(kind: .call, shard: call.shard.rawValue, payload: try payload(call, id: id))
    }

    package static func frame(_ reply: NodeReply, id: UInt64, shard: UInt32) throws -> PeerFrame {
        PeerFrame(kind: .reply, shard: shard, payload: try payload(reply, id: id))
    }

    package static func decode<Value: Decodable>(_ type: Value.Type, _ payload: ByteBuffer) throws -> (UInt64, Value) {
        var payload = payload
        guard let id = payload.readInteger(endianness: .little, as: UInt64.self) else {
            throw RaftWireError("a call frame shorter than its id")
        }
        return (id, try JSONDecoder().decode(Value.self, from: Data(payload.readableBytesView)))
    }

    private static func payload(_ value: some Encodable, id: UInt64) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(id, endianness: .little)
        buffer.writeBytes(try JSONEncoder().encode(value))
        return buffer
    }
}

/// The calls a node has made of other nodes' replicas and waits on, as a value with the time as an input:
/// which replica to ask, how many calls may wait at once, when each times out, and which reply is whose.
/// `NodeRouter` is its shell (continuations, timers, the peer transport); the whole-cluster simulator is
/// another. `Waiter` is what the shell resumes with the reply.
package struct NodeCalls<Waiter> {
    package struct Pending {
        package var peer: NodeID
        package var isReceive: Bool
        /// Monotonic milliseconds after which the call has timed out.
        package var deadline: Int64
        package var waiter: Waiter
    }

    /// Calls waiting for their reply at once, long polls apart from the rest (so that parked receivers
    /// cannot starve sends and deletes); past these a call is refused (ServiceUnavailable).
    package static var pendingCallsMax: Int { 10_000 }
    package static var pendingReceiveCallsMax: Int { 20_000 }
    /// How long a peer that let a call time out is passed over for the shard's other replicas.
    package static var avoidFailedPeerMilliseconds: Int64 { 5_000 }

    /// Call ids begin at a per-run nonce (high 32 bits), so a reply to a call of an earlier run of this
    /// process, still on its way from a peer, matches no call of this run.
    package private(set) var nextID: UInt64
    package private(set) var pending: [UInt64: Pending] = [:]
    /// How many of `pending` are long polls.
    package private(set) var pendingReceives = 0
    /// Peers that let a call time out, passed over until the time (monotonic milliseconds).
    private var avoidedUntil: [NodeID: Int64] = [:]

    package init(nonce: UInt32) { nextID = UInt64(max(nonce, 1)) << 32 }

    /// How long a call may wait for its reply: the proposal timeout, two seconds for the links, and the
    /// long poll's wait.
    package static func timeoutMilliseconds(proposalTimeoutMilliseconds: Int, waitSeconds: Int) -> Int64 {
        Int64(proposalTimeoutMilliseconds + 2_000 + waitSeconds * 1_000)
    }

    /// The replica to ask among `replicas` (the preferred leader first): the first linked one not passed
    /// over lately, else the first linked one; nil when none is linked.
    package func peer(among replicas: [NodeID], isLinked: (NodeID) -> Bool, now: Int64) -> NodeID? {
        let linked = replicas.filter(isLinked)
        return linked.first { (avoidedUntil[$0] ?? .min) <= now } ?? linked.first
    }

    /// Registers a call to `peer`; nil when too many calls of its kind are waiting.
    package mutating func begin(
        to peer: NodeID, isReceive: Bool, timeoutMilliseconds: Int64, now: Int64, waiter: Waiter
    )
        -> UInt64?
    {
        if isReceive {
            guard pendingReceives < Self.pendingReceiveCallsMax else { return nil }
            pendingReceives += 1
        } else {
            guard pending.count - pendingReceives < Self.pendingCallsMax else { return nil }
        }
        let id = nextID
        nextID += 1
        pending[id] = Pending(peer: peer, isReceive: isReceive, deadline: now + timeoutMilliseconds, waiter: waiter)
        return id
    }

    /// A reply came from `peer`: the call's waiter, if the call is still waiting and was made of that peer
    /// (a late reply, or one from another node, answers nothing).
    package mutating func replied(_ id: UInt64, from peer: NodeID) -> Waiter? {
        guard pending[id]?.peer == peer else { return nil }
        return remove(id)?.waiter
    }

    /// The call could not be sent, or its shell gave up on it.
    package mutating func remove(_ id: UInt64) -> Pending? {
        guard let call = pending.removeValue(forKey: id) else { return nil }
        if call.isReceive { pendingReceives -= 1 }
        return call
    }

    /// The call timed out: its peer is passed over for a while. Its waiter, if it was still waiting.
    package mutating func timedOut(_ id: UInt64, now: Int64) -> Waiter? {
        guard let call = remove(id) else { return nil }
        avoidedUntil[call.peer] = now + Self.avoidFailedPeerMilliseconds
        avoidedUntil = avoidedUntil.filter { $0.value > now }
        return call.waiter
    }

    /// Every call whose deadline has passed, timed out (for a shell that sweeps rather than arming a
    /// timer per call), in id order.
    package mutating func expired(now: Int64) -> [Waiter] {
        pending.filter { $0.value.deadline <= now }.keys.sorted().compactMap { timedOut($0, now: now) }
    }

    /// A link went down: its calls will get no reply. Their ids and waiters, in id order.
    package mutating func linkDown(_ peer: NodeID) -> [(id: UInt64, waiter: Waiter)] {
        pending.filter { $0.value.peer == peer }.keys.sorted().compactMap { id in remove(id).map { (id, $0.waiter) } }
    }
}
