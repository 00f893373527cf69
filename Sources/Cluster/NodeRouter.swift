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
    /// The nodes that hold each group (queue shards and the metadata group), preferred leader first: from
    /// the cluster configuration once this node has read it, from placement over the configured nodes before.
    private let routes: Mutex<[ShardID: [NodeID]]>
    private let transport = Mutex<PeerTransport?>(nil)
    private let calls = Mutex(NodeCalls<CheckedContinuation<NodeReply, Never>>(nonce: .random(in: 1...UInt32.max)))
    /// The timer of each call waiting for its reply.
    private let timers = Mutex<[UInt64: Scheduled<Void>]>([:])

    static let notHosted = NodeCallFailure.notHosted
    static let unreachable = NodeCallFailure.unreachable
    static let timedOut = NodeCallFailure.timedOut

    init(nodeID: NodeID, placement: Placement, settings: ShardSettings, eventLoop: any EventLoop, logger: Logger) {
        self.nodeID = nodeID
        self.placement = placement
        self.settings = settings
        self.eventLoop = eventLoop
        self.logger = logger
        let groups = placement.shards + [placement.metadataGroup]
        routes = Mutex(Dictionary(uniqueKeysWithValues: groups.map { ($0, placement.replicas(of: $0)) }))
    }

    func set(_ replicas: [ShardID: ShardReplica]) { self.replicas.withLock { $0 = replicas } }

    /// Hosts `replica` from now on (a replica moving to this node).
    func add(_ replica: ShardReplica) { replicas.withLock { $0[replica.shard] = replica } }

    /// Stops routing to this node's replica of `shard` (it left its group); returns it.
    func remove(_ shard: ShardID) -> ShardReplica? { replicas.withLock { $0.removeValue(forKey: shard) } }

    /// This node's replica of `shard` while it is a voter of its group and not repairing: one the group
    /// removed (it waits to be retired), one not added yet or still catching up as a learner (a replica
    /// moving here) serves nothing, so the request goes to a node whose replica does.
    func member(_ shard: ShardID) -> ShardReplica? {
        guard let replica = replica(shard) else { return nil }
        let status = replica.status
        let isVoter = status.voters.contains(nodeID) || status.outgoingVoters.contains(nodeID)
        return isVoter && !status.isRepairing ? replica : nil
    }

    /// Every replica this node hosts.
    var hostedReplicas: [ShardReplica] { replicas.withLock { Array($0.values) } }

    /// The nodes holding each group, from the cluster configuration.
    func setRoutes(_ routes: [ShardID: [NodeID]]) { self.routes.withLock { $0.merge(routes) { $1 } } }

    /// The nodes holding `shard`, preferred leader first.
    func route(_ shard: ShardID) -> [NodeID] { routes.withLock { $0[shard] ?? [] } }

    func set(_ transport: PeerTransport?) { self.transport.withLock { $0 = transport } }

    func replica(_ shard: ShardID) -> ShardReplica? { replicas.withLock { $0[shard] } }

    // MARK: Routing

    /// Applies a command on `shard`; answers once it applied (on the node that took it).
    func run(_ command: Command, on shard: ShardID) async -> CommandResult {
        if let replica = member(shard) { return await replica.run(command) }
        switch await call(.command(shard: shard.rawValue, command), on: shard, waitSeconds: 0) {
        case .result(let result): return result
        case .failure(let error): return .failure(error)
        case .answer: return .failure(QueueError(.internalFailure, "A command was answered as a query."))
        }
    }

    /// ReceiveMessage on `shard`, long-polling up to `waitSeconds` (nil: the queue's setting).
    func receive(_ request: ReceiveMessageRequest, waitSeconds: Int?, on shard: ShardID) async -> CommandResult {
        if let replica = member(shard) { return await replica.runReceive(request, waitSeconds: waitSeconds) }
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
        if let replica = member(shard) {
            return try await replica.read(atShardTime: { engine, time throws(QueueError) in
                try query.answer(from: engine, at: time)
            })
        }
        switch await call(.query(shard: shard.rawValue, query), on: shard, waitSeconds: 0) {
        case .answer(let answer): return answer
        case .failure(let error): throw error
        case .result: throw QueueError(.internalFailure, "A query was answered as a command.")
        }
    }

    // MARK: Calls to other nodes

    /// Milliseconds of the monotonic clock, for the call table.
    private static var nowMilliseconds: Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }

    /// Sends a call to a node hosting `shard` (the preferred leader first, among those linked) and waits
    /// for its reply: at most the proposal timeout plus `waitSeconds`, less when the link drops. A node
    /// that answers it no longer hosts the shard (its replica moved away, and this node's routes are not
    /// yet updated) is passed over for the next one.
    private func call(_ call: NodeCall, on shard: ShardID, waitSeconds: Int) async -> NodeReply {
        guard let transport = transport.withLock({ $0 }) else { return .failure(Self.unreachable) }
        var candidates = route(shard).filter { $0 != nodeID }
        var reply = NodeReply.failure(Self.unreachable)
        while !candidates.isEmpty {
            let now = Self.nowMilliseconds
            guard
                let peer = calls.withLock({ $0.peer(among: candidates, isLinked: transport.isConnected, now: now) })
            else { break }
            reply = await self.call(call, to: peer, over: transport, waitSeconds: waitSeconds)
            guard case .failure(let error) = reply, error == Self.notHosted else { return reply }
            candidates.removeAll { $0 == peer }
        }
        return reply
    }

    private func call(
        _ call: NodeCall, to peer: NodeID, over transport: PeerTransport, waitSeconds: Int
    ) async -> NodeReply {
        let now = Self.nowMilliseconds
        let timeout = NodeCalls<Void>.timeoutMilliseconds(
            proposalTimeoutMilliseconds: settings.proposalTimeoutMilliseconds, waitSeconds: waitSeconds)
        return await withCheckedContinuation { continuation in
            let id = calls.withLock {
                $0.begin(
                    to: peer, isReceive: call.isReceive, timeoutMilliseconds: timeout, now: now, waiter: continuation)
            }
            guard let id else { return continuation.resume(returning: .failure(NodeCallFailure.busy)) }
            let frame: PeerFrame
            do {
                frame = try NodeCallCodec.frame(call, id: id)
            } catch {
                return resume(
                    id, with: .failure(QueueError(.internalFailure, "The request could not be encoded: \(error)")))
            }
            guard transport.send([frame], to: peer) else { return resume(id, with: .failure(Self.unreachable)) }
            let timer = eventLoop.scheduleTask(in: .milliseconds(timeout)) {
                self.timers.withLock { _ = $0.removeValue(forKey: id) }
                let waiter = self.calls.withLock { $0.timedOut(id, now: Self.nowMilliseconds) }
                waiter?.resume(returning: .failure(Self.timedOut))
            }
            timers.withLock { $0[id] = timer }
            // Answered before its timer was kept: cancel it.
            if calls.withLock({ $0.pending[id] == nil }) { timers.withLock { $0.removeValue(forKey: id) }?.cancel() }
        }
    }

    private func resume(_ id: UInt64, with reply: NodeReply) {
        guard let call = calls.withLock({ $0.remove(id) }) else { return }
        timers.withLock { $0.removeValue(forKey: id) }?.cancel()
        call.waiter.resume(returning: reply)
    }

    /// A link went down: its calls will get no reply.
    func linkDown(_ peer: NodeID) {
        for call in calls.withLock({ $0.linkDown(peer) }) {
            timers.withLock { $0.removeValue(forKey: call.id) }?.cancel()
            call.waiter.resume(returning: .failure(Self.unreachable))
        }
    }

    /// Answers a call from another node with this node's replica of the shard.
    private func answer(_ call: NodeCall) async -> NodeReply {
        switch call {
        case .command(let shard, let command):
            guard let replica = member(ShardID(shard)) else { return .failure(Self.notHosted) }
            return .result(await replica.run(command))
        case .receive(let shard, let request, let waitSeconds):
            guard let replica = member(ShardID(shard)) else { return .failure(Self.notHosted) }
            return .result(await replica.runReceive(request, waitSeconds: waitSeconds))
        case .query(let shard, let query):
            guard let replica = member(ShardID(shard)) else { return .failure(Self.notHosted) }
            do throws(QueueError) {
                return .answer(
                    try await replica.read(atShardTime: { engine, time throws(QueueError) in
                        try query.answer(from: engine, at: time)
                    }))
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
                let (id, call) = try NodeCallCodec.decode(NodeCall.self, frame.payload)
                let shard = frame.shard
                Task {
                    let reply = await answer(call)
                    let transport = transport.withLock { $0 }
                    do {
                        let frame = try NodeCallCodec.frame(reply, id: id, shard: shard)
                        if transport?.send([frame], to: peer) != true {
                            logger.notice("the reply to node \(peer)'s call \(id) was dropped (link down or full)")
                        }
                    } catch {
                        logger.error("cannot encode the reply to node \(peer)'s call \(id): \(error)")
                    }
                }
            case .reply:
                let (id, reply) = try NodeCallCodec.decode(NodeReply.self, frame.payload)
                // Late, or not this peer's to answer: nothing.
                guard let waiter = calls.withLock({ $0.replied(id, from: peer) }) else { return }
                timers.withLock { $0.removeValue(forKey: id) }?.cancel()
                waiter.resume(returning: reply)
            case .hello, .ping:
                break
            }
        } catch {
            logger.warning("dropping a \(frame.kind) frame from node \(peer) for shard \(frame.shard): \(error)")
        }
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
