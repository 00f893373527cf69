import Foundation
import Logging
import NIOCore
import PeerTransport
import Placement
import QueueEngine
import Raft
import SegmentLog
import Synchronization

/// A node of the cluster: hosts its shard replicas, routes every request to the queue's shard, and
/// carries Raft messages and forwarded commands over the peer links. `ferry serve` without peers is a
/// cluster of one node on this same path.
public final class ClusterNode: Sendable {
    public let configuration: ClusterConfiguration
    public let placement: Placement
    private let replicas: [ShardID: ShardReplica]
    private let transport: PeerTransport?
    private let logger: Logger

    /// Opens (or creates) every hosted shard's log and restores its state. Throws naming the file and
    /// offset when a log is damaged anywhere but its torn tail.
    public init(
        configuration: ClusterConfiguration, group: any EventLoopGroup, logger: Logger,
        onFatal: @escaping @Sendable (String) -> Void
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        let placement = try configuration.placement()
        self.placement = placement
        let replicaBox = ReplicaTable()
        if let transportConfiguration = configuration.transport, configuration.nodes.count > 1 {
            transport = try PeerTransport(
                configuration: transportConfiguration, group: group, logger: logger,
                onFrame: { peer, frame in replicaBox.deliver(frame, from: peer, logger: logger) })
        } else {
            transport = nil
        }
        let transport = self.transport
        var replicas: [ShardID: ShardReplica] = [:]
        var options = SegmentLogOptions()
        options.syncPolicy = configuration.syncPolicy
        for shard in placement.shards(hostedBy: configuration.nodeID) {
            let directory = (configuration.dataDirectory as NSString).appendingPathComponent("shard-\(shard.rawValue)")
            let log: SegmentLog
            var repair = false
            do {
                log = try SegmentLog.open(directory: directory, fileSystem: configuration.fileSystem, options: options)
            } catch .corrupt(let file, let offset, let reason) where placement.replicas(of: shard).count > 1 {
                // Peers hold what the damage took: keep the valid prefix and re-fetch the rest before voting.
                logger.error(
                    "\(shard): corrupt log file \(file) at byte \(offset) (\(reason)); cutting it there and repairing from peers"
                )
                var salvage = options
                salvage.salvageDamage = true
                do {
                    log = try SegmentLog.open(
                        directory: directory, fileSystem: configuration.fileSystem, options: salvage)
                } catch {
                    throw ClusterError(description: "cannot open the log of \(shard) in \(directory): \(error)")
                }
                repair = true
            } catch {
                throw ClusterError(description: "cannot open the log of \(shard) in \(directory): \(error)")
            }
            var raftConfiguration = RaftConfiguration(id: configuration.nodeID)
            // Alone, a node cannot split a vote: it may elect itself after two ticks instead of 10–20.
            raftConfiguration.electionTicks = placement.replicas(of: shard).count == 1 ? 2 : 10
            raftConfiguration.heartbeatTicks = 1
            let engineConfiguration = QueueEngineConfiguration(
                region: configuration.region, accountId: configuration.accountId, shardId: shard.rawValue,
                receiptHandleKey: configuration.receiptHandleKey, shardCount: placement.shardCount)
            do {
                replicas[shard] = try ShardReplica(
                    shard: shard, nodeID: configuration.nodeID, voters: Set(placement.replicas(of: shard)),
                    storage: ShardStorage(log: log), engineConfiguration: engineConfiguration,
                    settings: configuration.shard, raftConfiguration: raftConfiguration,
                    seed: UInt64(UInt32.random(in: 0...UInt32.max)) << 32 | UInt64(shard.rawValue),
                    logger: logger,
                    send: { peer, frames in transport?.send(frames, to: peer) ?? false }, onFatal: onFatal,
                    repair: repair,
                    transfer: { target, messages in
                        replicaBox.transfer(messages, from: shard, to: target, logger: logger)
                    })
            } catch {
                log.close()
                throw ClusterError(description: "cannot restore \(shard) from \(directory): \(error)")
            }
        }
        self.replicas = replicas
        replicaBox.set(replicas)
    }

    /// Starts the shard threads and the peer links.
    public func start() async throws {
        startShards()
        try await transport?.start()
    }

    /// Starts the shard threads only (a node without peers needs nothing else); idempotent.
    public func startShards() {
        for replica in replicas.values { replica.start() }
    }

    /// Receivers parked on this node right now, waiting for a message.
    public var parkedReceiveCount: Int {
        replicas.values.reduce(0) { $0 + $1.statistics.withLock { $0.parkedReceives } }
    }

    /// ReceiveMessage commands proposed so far (a parked receiver proposes none until woken).
    public var receiveProposalCount: Int {
        replicas.values.reduce(0) { $0 + $1.statistics.withLock { $0.receiveProposals } }
    }

    deinit {
        for replica in replicas.values { replica.stop() }
    }

    /// Stops the peer links and the shard threads (pending requests get ServiceUnavailable).
    public func shutdown() async {
        await transport?.shutdown()
        for replica in replicas.values { replica.stop() }
    }

    /// The number of shards with a replica on this node.
    public var hostedShardCount: Int { replicas.count }

    /// The leader of `queue`'s shard as this node last heard (0 when unknown).
    public func leader(ofQueue queue: String) -> NodeID {
        replica(forQueue: queue)?.knownLeader ?? 0
    }

    /// The port peers connect to.
    public var peerPort: Int? { transport?.listenPort }

    private func replica(forQueue name: String) -> ShardReplica? {
        replicas[placement.shard(forQueue: name)]
    }

    private static let notHosted = QueueError(
        .serviceUnavailable, "This node holds no replica of the queue's shard. Retry the request on another node.")
    private static let busy = ShardReplica.busy

    /// Applies a command through the log of its queue's shard; answers once it applied on this node.
    public func apply(_ command: Command) async -> CommandResult {
        if case .cancelMessageMoveTask = command { return await cancelMoveTask(command) }
        guard let name = command.queueName, let replica = replica(forQueue: name) else {
            return .failure(Self.notHosted)
        }
        do throws(QueueError) {
            try await checkOtherShards(command)
        } catch {
            return .failure(error)
        }
        return await replica.run(command)
    }

    /// What a command's shard cannot check alone: a dead-letter queue, a move task's destination, or the
    /// queues redriving to a move task's source, on other shards. Checked by reading those shards before
    /// proposing (a queue deleted in between is handled when messages reach it: they come back).
    private func checkOtherShards(_ command: Command) async throws(QueueError) {
        guard placement.shardCount > 1 else { return }
        switch command {
        case .createQueue(let name, let attributes, _), .setQueueAttributes(let name, let attributes):
            guard let policy = attributes["RedrivePolicy"], !policy.isEmpty,
                let object = try? JSONSerialization.jsonObject(with: Data(policy.utf8)) as? [String: Any],
                let targetArn = object["deadLetterTargetArn"] as? String
            else { return }
            let targetShard = placement.shard(forQueue: QueueEngine.routingName(ofArn: targetArn))
            guard targetShard != placement.shard(forQueue: name), let target = replicas[targetShard] else { return }
            let sourceArn = queueArn(name)
            try await Self.read(target) { engine throws(QueueError) in
                try engine.checkDeadLetterTarget(arn: targetArn, sourceArn: sourceArn, policyJSON: policy)
            }
        case .startMessageMoveTask(let sourceArn, let destinationArn, _):
            guard let source = replica(forQueue: QueueEngine.routingName(ofArn: sourceArn)),
                try await Self.read(source, { engine in engine.queueExists(arn: sourceArn) })
            else { return }  // the source's shard answers that it does not exist
            var isDeadLetterQueue = false
            for shard in placement.shards where !isDeadLetterQueue {
                guard let replica = replicas[shard] else { throw Self.notHosted }
                isDeadLetterQueue = try await !Self.read(replica) { $0.queues(redrivingTo: sourceArn) }.isEmpty
            }
            guard isDeadLetterQueue else { throw .moveSourceNotDeadLetterQueue(sourceArn) }
            guard let destinationArn,
                let destination = replica(forQueue: QueueEngine.routingName(ofArn: destinationArn)),
                destination !== source
            else { return }
            guard try await Self.read(destination, { engine in engine.queueExists(arn: destinationArn) }) else {
                throw .moveDestinationMissing
            }
        default:
            return
        }
    }

    private func queueArn(_ name: String) -> String {
        "arn:aws:sqs:\(configuration.region):\(configuration.accountId):\(name)"
    }

    /// A move task's handle names no queue: ask each shard until one knows it.
    private func cancelMoveTask(_ command: Command) async -> CommandResult {
        var last = CommandResult.failure(QueueError(.resourceNotFound, "Task does not exist."))
        for shard in replicas.keys.sorted() {
            let result = await replicas[shard]!.run(command)
            if case .failure(let error) = result, error.code == .resourceNotFound {
                last = result
                continue
            }
            return result
        }
        return last
    }

    /// ReceiveMessage, long-polling up to `waitSeconds` (nil: the queue's ReceiveMessageWaitTimeSeconds).
    public func receive(_ request: ReceiveMessageRequest, waitSeconds: Int?) async -> CommandResult {
        guard let replica = replica(forQueue: request.queueName) else { return .failure(Self.notHosted) }
        return await withCheckedContinuation { continuation in
            if !replica.post(.receive(request, waitSeconds: waitSeconds, continuation)) {
                continuation.resume(returning: .failure(Self.busy))
            }
        }
    }

    /// A linearizable read (ReadIndex) of the engine that holds `queue`.
    public func read<Result: Sendable>(
        queue: String, _ body: @escaping @Sendable (borrowing QueueEngine) throws(QueueError) -> Result
    ) async throws(QueueError) -> Result {
        guard let replica = replica(forQueue: queue) else { throw Self.notHosted }
        return try await Self.read(replica, body)
    }

    private static func read<Result: Sendable>(
        _ replica: ShardReplica, _ body: @escaping @Sendable (borrowing QueueEngine) throws(QueueError) -> Result
    ) async throws(QueueError) -> Result {
        let outcome: Swift.Result<Result, QueueError> = await withCheckedContinuation { continuation in
            let run: ReadBody = { engine, error in
                if let error { return continuation.resume(returning: .failure(error)) }
                switch engine {
                case .some(let engine):
                    do throws(QueueError) {
                        continuation.resume(returning: .success(try body(engine)))
                    } catch {
                        continuation.resume(returning: .failure(error))
                    }
                case .none:
                    continuation.resume(returning: .failure(Self.busy))
                }
            }
            if !replica.post(.read(run)) { continuation.resume(returning: .failure(Self.busy)) }
        }
        return try outcome.get()
    }

    /// ListDeadLetterSourceQueues: the queues of every shard whose RedrivePolicy names `name`'s queue.
    public func deadLetterSourceQueues(of name: String, maxResults: Int?, nextToken: String?) async throws(QueueError)
        -> QueueNamePage
    {
        let arn = try await read(queue: name) { engine throws(QueueError) in
            _ = try engine.deadLetterSourceQueues(of: name, maxResults: nil, nextToken: nil)
            return engine.queueArn(name)
        }
        var names: [String] = []
        for shard in placement.shards {
            guard let replica = replicas[shard] else { throw Self.notHosted }
            names += try await Self.read(replica) { engine in engine.queues(redrivingTo: arn) }
        }
        return try QueueEngine.queueNamePage(names, maxResults: maxResults, nextToken: nextToken)
    }

    /// ListQueues over every shard: names merged, sorted, then paged.
    public func listQueues(prefix: String?, maxResults: Int?, nextToken: String?) async throws(QueueError)
        -> QueueNamePage
    {
        var names: [String] = []
        for shard in placement.shards {
            guard let replica = replicas[shard] else { throw Self.notHosted }
            names += try await Self.read(replica) { engine in engine.queueNames(prefix: prefix) }
        }
        return try QueueEngine.queueNamePage(names, maxResults: maxResults, nextToken: nextToken)
    }
}

/// The replica table, set once after every replica exists; frames arriving before are dropped.
private final class ReplicaTable: Sendable {
    private let table = Mutex<[ShardID: ShardReplica]>([:])

    func set(_ replicas: [ShardID: ShardReplica]) { table.withLock { $0 = replicas } }

    /// Imports outbox messages of `source` into `target` (through that shard's leader, wherever it is),
    /// then settles them on `source`; tells `source` when done either way.
    func transfer(_ messages: [TransferredMessage], from source: ShardID, to target: ShardID, logger: Logger) {
        let (sourceReplica, targetReplica) = table.withLock { ($0[source], $0[target]) }
        guard let sourceReplica else { return }
        guard let targetReplica else {
            logger.error("\(source): cannot move messages to \(target), which has no replica on this node")
            sourceReplica.post(.transferFinished)
            return
        }
        Task {
            let imported = await targetReplica.run(.importMessages(sourceShard: source.rawValue, messages: messages))
            if case .imported(let returned) = imported {
                let returnedIds = Set(returned)
                let settled = await sourceReplica.run(
                    .settleOutbox(
                        delivered: messages.map(\.id).filter { !returnedIds.contains($0) }, returned: returned))
                if case .failure(let error) = settled {
                    logger.notice("\(source): settling \(messages.count) messages moved to \(target): \(error)")
                }
            } else {
                logger.notice("\(source): moving \(messages.count) messages to \(target): \(imported); will retry")
            }
            sourceReplica.post(.transferFinished)
        }
    }

    func deliver(_ frame: PeerFrame, from peer: NodeID, logger: Logger) {
        guard let replica = table.withLock({ $0[ShardID(frame.shard)] }) else { return }
        do {
            switch frame.kind {
            case .raft:
                let message = try RaftWireCodec.decodeMessage(frame.payload)
                guard message.from == peer else {
                    throw RaftWireError("message from \(message.from) on node \(peer)'s link")
                }
                replica.post(.raft(message))
            case .forward:
                replica.post(.forwarded(from: peer, try ProposalEnvelope.decodeBatch(frame.payload)))
            case .forwardRejected:
                replica.post(.forwardRejected(try ForwardRejection(decoding: frame.payload)))
            case .hello, .ping:
                break
            }
        } catch {
            logger.warning("dropping a frame from node \(peer) for shard \(frame.shard): \(error)")
        }
    }
}
