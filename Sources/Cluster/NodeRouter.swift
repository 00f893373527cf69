import Foundation
import Logging
import NIOCore
import PeerTransport
import Placement
import QueueEngine
import Raft
import Synchronization

/// Takes every request of a node to the shard that holds its queue: to the local replica when this node
/// hosts one (which forwards commands to the shard's leader), or as a call over the peer link to a node
/// that hosts one. It also answers the calls other nodes make of this one's replicas, delivers peer
/// frames, and carries outbox messages between shards.
final class NodeRouter: Sendable {
    let nodeID: NodeID
    let placement: Placement
    let settings: ShardSettings
    let logger: Logger
    private let eventLoop: any EventLoop
    private let replicas = Mutex<[ShardID: ShardReplica]>([:])
    private let transport = Mutex<PeerTransport?>(nil)
    private let calls = Mutex(CallTable())

    /// Calls waiting for their reply at once, long polls apart from the rest (so that parked receivers
    /// cannot starve sends and deletes); past these a request for a shard hosted elsewhere gets
    /// ServiceUnavailable.
    static let pendingCallsMax = 10_000
    static let pendingReceiveCallsMax = 20_000

    static let notHosted = QueueError(
        .serviceUnavailable, "This node holds no replica of the queue's shard. Retry the request on another node.")
    static let unreachable = QueueError(
        .serviceUnavailable, "No node holding the queue's shard is reachable from this node. Retry the request.")
    static let timedOut = QueueError(
        .serviceUnavailable, "The node holding the queue's shard did not answer in time. Retry the request.")

    init(nodeID: NodeID, placement: Placement, settings: ShardSettings, eventLoop: any EventLoop, logger: Logger) {
        self.nodeID = nodeID
        self.placement = placement
        self.settings = settings
        self.eventLoop = eventLoop
        self.logger = logger
    }

    func set(_ replicas: [ShardID: ShardReplica]) { self.replicas.withLock { $0 = replicas } }

    func set(_ transport: PeerTransport?) { self.transport.withLock { $0 = transport } }

    func replica(_ shard: ShardID) -> ShardReplica? { replicas.withLock { $0[shard] } }

    // MARK: Routing

    /// Applies a command on `shard`; answers once it applied (on the node that took it).
    func run(_ command: Command, on shard: ShardID) async -> CommandResult {
        if let replica = replica(shard) { return await replica.run(command) }
        switch await call(.command(shard: shard.rawValue, command), on: shard, waitSeconds: 0) {
        case .result(let result): return result
        case .failure(let error): return .failure(error)
        case .answer: return .failure(QueueError(.internalFailure, "A command was answered as a query."))
        }
    }

    /// ReceiveMessage on `shard`, long-polling up to `waitSeconds` (nil: the queue's setting).
    func receive(_ request: ReceiveMessageRequest, waitSeconds: Int?, on shard: ShardID) async -> CommandResult {
        if let replica = replica(shard) { return await replica.runReceive(request, waitSeconds: waitSeconds) }
        let wait = waitSeconds ?? QueueLimits.waitTimeSecondsMax
        switch await call(
            .receive(shard: shard.rawValue, request, waitSeconds: waitSeconds), on: shard, waitSeconds: wait)
        {
        case .result(let result): return result
        case .failure(let error): return .failure(error)
        case .answer: return .failure(QueueError(.internalFailure, "A receive was answered as a query."))
        }
    }

    /// A linearizable query of `shard`.
    func query(_ query: ShardQuery, on shard: ShardID) async throws(QueueError) -> ShardAnswer {
        if let replica = replica(shard) {
            return try await replica.read { engine throws(QueueError) in try query.answer(from: engine) }
        }
        switch await call(.query(shard: shard.rawValue, query), on: shard, waitSeconds: 0) {
        case .answer(let answer): return answer
        case .failure(let error): throw error
        case .result: throw QueueError(.internalFailure, "A query was answered as a command.")
        }
    }

    // MARK: Calls to other nodes

    /// Sends a call to a node hosting `shard` (the preferred leader first, among those linked) and waits
    /// for its reply: at most the proposal timeout plus `waitSeconds`, less when the link drops.
    private func call(_ call: NodeCall, on shard: ShardID, waitSeconds: Int) async -> NodeReply {
        guard let transport = transport.withLock({ $0 }) else { return .failure(Self.unreachable) }
        // The first linked replica (the preferred leader first), skipping one that failed a call lately.
        let now = NIODeadline.now()
        let linked = placement.replicas(of: shard).filter { $0 != nodeID && transport.isConnected($0) }
        let avoided = calls.withLock { table in Set(table.avoided.filter { $0.value > now }.keys) }
        guard let peer = linked.first(where: { !avoided.contains($0) }) ?? linked.first else {
            return .failure(Self.unreachable)
        }
        let payload: Data
        do {
            payload = try JSONEncoder().encode(call)
        } catch {
            return .failure(QueueError(.internalFailure, "The request could not be encoded: \(error)"))
        }
        let timeout = TimeAmount.milliseconds(Int64(settings.proposalTimeoutMilliseconds + 2_000 + waitSeconds * 1_000))
        let isReceive: Bool
        if case .receive = call { isReceive = true } else { isReceive = false }
        return await withCheckedContinuation { continuation in
            let id = calls.withLock { table -> UInt64? in
                if isReceive {
                    guard table.pendingReceives < Self.pendingReceiveCallsMax else { return nil }
                    table.pendingReceives += 1
                } else {
                    guard table.pending.count - table.pendingReceives < Self.pendingCallsMax else { return nil }
                }
                let id = table.nextID
                table.nextID += 1
                table.pending[id] = PendingCall(peer: peer, isReceive: isReceive, continuation: continuation)
                return id
            }
            guard let id else { return continuation.resume(returning: .failure(ShardReplica.busy)) }
            var buffer = ByteBuffer()
            buffer.writeInteger(id, endianness: .little)
            buffer.writeBytes(payload)
            guard transport.send([PeerFrame(kind: .call, shard: shard.rawValue, payload: buffer)], to: peer) else {
                return resume(id, with: .failure(Self.unreachable))
            }
            let timer = eventLoop.scheduleTask(in: timeout) {
                self.calls.withLock { $0.avoided[peer] = .now() + Self.avoidFailedPeer }
                self.resume(id, with: .failure(Self.timedOut))
            }
            let answered = calls.withLock { table in
                guard table.pending[id] != nil else { return true }
                table.pending[id]!.timer = timer
                return false
            }
            if answered { timer.cancel() }
        }
    }

    /// How long a node that let a call time out is passed over for the shard's other replicas.
    static let avoidFailedPeer = TimeAmount.seconds(5)

    private func resume(_ id: UInt64, with reply: NodeReply) {
        guard let call = calls.withLock({ $0.remove(id) }) else { return }
        call.timer?.cancel()
        call.continuation.resume(returning: reply)
    }

    /// A link went down: its calls will get no reply.
    func linkDown(_ peer: NodeID) {
        let failed = calls.withLock { table in
            let ids = table.pending.filter { $0.value.peer == peer }.map(\.key)
            return ids.compactMap { table.remove($0) }
        }
        for call in failed {
            call.timer?.cancel()
            call.continuation.resume(returning: .failure(Self.unreachable))
        }
    }

    /// Answers a call from another node with this node's replica of the shard.
    private func answer(_ call: NodeCall) async -> NodeReply {
        switch call {
        case .command(let shard, let command):
            guard let replica = replica(ShardID(shard)) else { return .failure(Self.notHosted) }
            return .result(await replica.run(command))
        case .receive(let shard, let request, let waitSeconds):
            guard let replica = replica(ShardID(shard)) else { return .failure(Self.notHosted) }
            return .result(await replica.runReceive(request, waitSeconds: waitSeconds))
        case .query(let shard, let query):
            guard let replica = replica(ShardID(shard)) else { return .failure(Self.notHosted) }
            do throws(QueueError) {
                return .answer(try await replica.read { engine throws(QueueError) in try query.answer(from: engine) })
            } catch {
                return .failure(error)
            }
        }
    }

    // MARK: Frames from peers

    func deliver(_ frame: PeerFrame, from peer: NodeID) {
        do {
            switch frame.kind {
            case .raft, .forward, .forwardRejected, .snapshotChunk, .snapshotAck:
                guard let replica = replica(ShardID(frame.shard)) else { return }
                switch frame.kind {
                case .raft:
                    let message = try RaftWireCodec.decodeMessage(frame.payload)
                    guard message.from == peer else {
                        throw RaftWireError("message from \(message.from) on node \(peer)'s link")
                    }
                    replica.post(.raft(message))
                case .forward:
                    replica.post(.forwarded(from: peer, try ProposalEnvelope.decodeBatch(frame.payload)))
                case .snapshotChunk:
                    replica.post(.snapshotChunk(from: peer, try SnapshotChunk(decoding: frame.payload)))
                case .snapshotAck:
                    replica.post(.snapshotAck(from: peer, try SnapshotAck(decoding: frame.payload)))
                default:
                    replica.post(.forwardRejected(try ForwardRejection(decoding: frame.payload, proposer: nodeID)))
                }
            case .call:
                let (id, call) = try Self.decode(NodeCall.self, frame.payload)
                let shard = frame.shard
                Task {
                    let reply = await answer(call)
                    var buffer = ByteBuffer()
                    buffer.writeInteger(id, endianness: .little)
                    do {
                        buffer.writeBytes(try JSONEncoder().encode(reply))
                    } catch {
                        logger.error("cannot encode the reply to node \(peer)'s call \(id): \(error)")
                        return
                    }
                    let transport = transport.withLock { $0 }
                    if transport?.send([PeerFrame(kind: .reply, shard: shard, payload: buffer)], to: peer) != true {
                        logger.notice("the reply to node \(peer)'s call \(id) was dropped (link down or full)")
                    }
                }
            case .reply:
                let (id, reply) = try Self.decode(NodeReply.self, frame.payload)
                let caller = calls.withLock { $0.pending[id]?.peer }
                guard caller == peer else { return }  // late, or not this peer's to answer
                resume(id, with: reply)
            case .hello, .ping:
                break
            }
        } catch {
            logger.warning("dropping a \(frame.kind) frame from node \(peer) for shard \(frame.shard): \(error)")
        }
    }

    private static func decode<Value: Decodable>(_ type: Value.Type, _ payload: ByteBuffer) throws -> (UInt64, Value) {
        var payload = payload
        guard let id = payload.readInteger(endianness: .little, as: UInt64.self) else {
            throw RaftWireError("a call frame shorter than its id")
        }
        return (id, try JSONDecoder().decode(Value.self, from: Data(payload.readableBytesView)))
    }

    // MARK: Moving messages between shards

    /// Imports outbox messages of `source` into `target` (wherever its replicas are), then settles them
    /// on `source`; tells `source` when done either way.
    func transfer(_ messages: [TransferredMessage], from source: ShardID, to target: ShardID) {
        guard let sourceReplica = replica(source) else { return }
        Task {
            let imported = await run(.importMessages(sourceShard: source.rawValue, messages: messages), on: target)
            var succeeded = false
            if case .imported(let returned) = imported {
                let returnedIds = Set(returned)
                let settled = await sourceReplica.run(
                    .settleOutbox(
                        delivered: messages.map(\.id).filter { !returnedIds.contains($0) }, returned: returned))
                if case .failure(let error) = settled {
                    logger.notice("\(source): settling \(messages.count) messages moved to \(target): \(error)")
                } else {
                    succeeded = true
                }
            } else {
                logger.notice("\(source): moving \(messages.count) messages to \(target): \(imported); will retry")
            }
            sourceReplica.post(.transferFinished(target: target, succeeded: succeeded))
        }
    }
}

/// A request to a node for one of its shard replicas.
enum NodeCall: Sendable, Codable {
    case command(shard: UInt32, Command)
    case receive(shard: UInt32, ReceiveMessageRequest, waitSeconds: Int?)
    case query(shard: UInt32, ShardQuery)
}

/// The answer to a `NodeCall`.
enum NodeReply: Sendable, Codable {
    case result(CommandResult)
    case answer(ShardAnswer)
    case failure(QueueError)
}

struct PendingCall {
    var peer: NodeID
    var isReceive: Bool
    var continuation: CheckedContinuation<NodeReply, Never>
    var timer: Scheduled<Void>?
}

struct CallTable {
    /// Call ids begin at a random run nonce (high 32 bits), so a reply to a call of an earlier run of this
    /// process, still on its way from a peer, matches no call of this run.
    var nextID: UInt64 = UInt64(UInt32.random(in: 1...UInt32.max)) << 32
    var pending: [UInt64: PendingCall] = [:]
    /// How many of `pending` are long polls.
    var pendingReceives = 0
    /// Peers that let a call time out, passed over until the deadline.
    var avoided: [NodeID: NIODeadline] = [:]

    mutating func remove(_ id: UInt64) -> PendingCall? {
        guard let call = pending.removeValue(forKey: id) else { return nil }
        if call.isReceive { pendingReceives -= 1 }
        return call
    }
}
