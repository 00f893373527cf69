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
    /// Queue → shard (the shard count is fixed), and where the configured nodes first put each group.
    public let placement: Placement
    let transport: PeerTransport?
    let router: NodeRouter
    let logger: Logger
    /// Opens a replica of a group in this node's data directory: its shard id, the group's first voters
    /// (recorded when the directory is new), and whether to repair an existing one from its peers.
    let openReplica: @Sendable (ShardID, Set<NodeID>) throws -> ShardReplica
    /// What this node follows of the cluster configuration (`ClusterNode+Membership`).
    let view = Mutex(ClusterView())
    let eventLoop: any EventLoop

    /// True when this node follows a replicated cluster configuration (a cluster with peer links); a node
    /// alone keeps its shards where they are.
    var followsConfiguration: Bool { transport != nil }

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
        eventLoop = group.next()
        let router = NodeRouter(
            nodeID: configuration.nodeID, placement: placement, settings: configuration.shard,
            eventLoop: eventLoop, logger: logger)
        self.router = router
        if var transportConfiguration = configuration.transport, configuration.nodes.count > 1 {
            transportConfiguration.facts = PeerClusterFacts(
                shardCount: placement.shardCount, replicationFactor: placement.replicationFactor,
                clusterKey: configuration.receiptHandleKey)
            transport = try PeerTransport(
                configuration: transportConfiguration, group: group, logger: logger,
                onFrame: { peer, frame in router.deliver(frame, from: peer) },
                onLinkChange: { peer, isUp in if !isUp { router.linkDown(peer) } })
        } else {
            transport = nil
        }
        router.set(transport)
        let transport = self.transport
        var logOptions = SegmentLogOptions()
        logOptions.syncPolicy = configuration.syncPolicy
        let options = logOptions
        let followsConfiguration = transport != nil
        openReplica = { shard, genesis in
            let directory = Self.directory(of: shard, in: configuration.dataDirectory)
            let opened: ShardStorage.Opened
            do {
                // A damaged log is cut at the damage and repaired from the peers that hold what it took.
                opened = try ShardStorage.open(
                    directory: directory, fileSystem: configuration.fileSystem, options: options,
                    peersCanRepair: followsConfiguration || genesis.count > 1)
            } catch {
                throw ClusterError(description: "cannot open the log of \(shard) in \(directory): \(error)")
            }
            if case .corrupt(let file, let offset, let reason) = opened.damage {
                logger.error(
                    "\(shard): corrupt log file \(file) at byte \(offset) (\(reason)); cut there, repairing from peers"
                )
            } else if opened.repair {
                logger.warning("\(shard): a repair from peers was under way; repairing before voting again")
            }
            let log = opened.storage.log
            var raftConfiguration = RaftConfiguration(id: configuration.nodeID)
            // Alone, a node cannot split a vote: it may elect itself after two ticks instead of 10–20.
            raftConfiguration.electionTicks = !followsConfiguration && genesis.count == 1 ? 2 : 10
            raftConfiguration.heartbeatTicks = 1
            let engineConfiguration = QueueEngineConfiguration(
                region: configuration.region, accountId: configuration.accountId, shardId: shard.rawValue,
                receiptHandleKey: configuration.receiptHandleKey, shardCount: placement.shardCount)
            do {
                return try ShardReplica(
                    shard: shard, nodeID: configuration.nodeID, voters: genesis,
                    // Alone, the placement is the configuration; in a cluster, the metadata group's
                    // configuration sets the target once this node has read it.
                    target: followsConfiguration ? nil : placement.replicas(of: shard),
                    storage: opened.storage, engineConfiguration: engineConfiguration,
                    settings: configuration.shard, raftConfiguration: raftConfiguration,
                    seed: UInt64(UInt32.random(in: 0...UInt32.max)) << 32 | UInt64(shard.rawValue),
                    logger: logger,
                    send: { peer, frames in transport?.send(frames, to: peer) ?? false }, onFatal: onFatal,
                    repair: opened.repair,
                    transfer: { target, messages in router.transfer(messages, from: shard, to: target) })
            } catch {
                log.close()
                throw ClusterError(description: "cannot restore \(shard) from \(directory): \(error)")
            }
        }
        var replicas: [ShardID: ShardReplica] = [:]
        do {
            for shard in try Self.hostedAtStart(
                configuration: configuration, placement: placement, follows: followsConfiguration)
            {
                replicas[shard] = try openReplica(shard, Set(placement.replicas(of: shard)))
            }
            if followsConfiguration { try Self.markPlaced(configuration) }
        } catch {
            for replica in replicas.values { replica.stop() }
            throw error
        }
        router.set(replicas)
        followSaved()
        if configuration.join && knownSavedVersion == nil {
            // Placement over the nodes this one was told of says nothing: ask them all until the
            // configuration is read.
            let others = configuration.nodes.filter { $0 != configuration.nodeID }
            router.setRoutes(
                Dictionary(uniqueKeysWithValues: (placement.shards + [placement.metadataGroup]).map { ($0, others) }))
        }
    }

    private var knownSavedVersion: UInt64? { view.withLock { $0.savedVersion } }

    /// A group's directory in the data directory: `shard-N` (the metadata group is `shard-<shardCount>`).
    static func directory(of shard: ShardID, in dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent("shard-\(shard.rawValue)")
    }

    /// The file that says this node's first replicas were placed: from then on it hosts the groups whose
    /// directories it has (replicas move in and out while it runs), not where placement first put them.
    static let placedMarker = "replicas-placed"

    /// The groups a node opens when it starts: alone, placement's; in a cluster, the groups it has
    /// directories of, and at its very first start (no marker) those placement over the configured nodes
    /// gives it, the metadata group included (a node started with `--join` gets none).
    static func hostedAtStart(
        configuration: ClusterConfiguration, placement: Placement, follows: Bool
    ) throws(ClusterError) -> [ShardID] {
        let node = configuration.nodeID
        guard follows else { return placement.shards(hostedBy: node) }
        let groups = placement.shards + [placement.metadataGroup]
        let (fileSystem, dataDirectory) = (configuration.fileSystem, configuration.dataDirectory)
        let names: Set<String>
        do {
            try fileSystem.createDirectory(dataDirectory)
            names = Set(try fileSystem.contentsOfDirectory(dataDirectory))
        } catch {
            throw ClusterError(description: "cannot read the data directory \(dataDirectory): \(error)")
        }
        let present = groups.filter { names.contains("shard-\($0.rawValue)") }
        guard !names.contains(placedMarker), !configuration.join else { return present }
        return Array(Set(present).union(groups.filter { placement.replicas(of: $0).contains(node) })).sorted()
    }

    private static func markPlaced(_ configuration: ClusterConfiguration) throws(ClusterError) {
        let (fileSystem, dataDirectory) = (configuration.fileSystem, configuration.dataDirectory)
        do {
            guard try !fileSystem.contentsOfDirectory(dataDirectory).contains(placedMarker) else { return }
            try ShardStorage.replaceCheckedFile(
                placedMarker, with: [1], directory: dataDirectory, fileSystem: fileSystem)
        } catch {
            throw ClusterError(description: "cannot write \(placedMarker) in \(dataDirectory): \(error)")
        }
    }

    /// Starts the shard threads and the peer links.
    public func start() async throws {
        startShards()
        try await transport?.start()
        startFollowing()
    }

    /// Starts the shard threads only (a node without peers needs nothing else); idempotent.
    public func startShards() {
        for replica in router.hostedReplicas { replica.start() }
    }

    /// Receivers parked on this node right now, waiting for a message.
    public var parkedReceiveCount: Int {
        router.hostedReplicas.reduce(0) { $0 + $1.statistics.withLock { $0.parkedReceives } }
    }

    /// ReceiveMessage commands proposed so far (a parked receiver proposes none until woken).
    public var receiveProposalCount: Int {
        router.hostedReplicas.reduce(0) { $0 + $1.statistics.withLock { $0.receiveProposals } }
    }

    deinit {
        for replica in router.hostedReplicas { replica.stop() }
    }

    /// Stops following the configuration, the peer links and the shard threads (pending requests get
    /// ServiceUnavailable).
    public func shutdown() async {
        stopFollowing()
        await transport?.shutdown()
        for replica in router.hostedReplicas { replica.stop() }
    }

    /// The number of groups with a replica on this node.
    public var hostedShardCount: Int { router.hostedReplicas.count }

    /// The leader of `queue`'s shard as this node last heard (0 when unknown).
    public func leader(ofQueue queue: String) -> NodeID {
        replica(forQueue: queue)?.knownLeader ?? 0
    }

    /// The port peers connect to.
    public var peerPort: Int? { transport?.listenPort }

    private func replica(forQueue name: String) -> ShardReplica? {
        router.replica(placement.shard(forQueue: name))
    }

    private static let notHosted = NodeRouter.notHosted

    /// Applies a command through the log of its queue's shard, on this node or the nodes that host it;
    /// answers once it applied.
    public func apply(_ command: Command) async -> CommandResult {
        if case .cancelMessageMoveTask = command { return await cancelMoveTask(command) }
        guard let name = command.queueName else { return .failure(Self.notHosted) }
        do throws(QueueError) {
            try await checkOtherShards(command)
        } catch {
            return .failure(error)
        }
        return await router.run(command, on: placement.shard(forQueue: name))
    }

    /// What a command's shard cannot check alone: a dead-letter queue, a move task's destination, or the
    /// queues redriving to a move task's source, on other shards. Checked by asking those shards before
    /// proposing (a queue deleted in between is handled when messages reach it: they come back).
    private func checkOtherShards(_ command: Command) async throws(QueueError) {
        guard placement.shardCount > 1 else { return }
        switch command {
        case .createQueue(let name, let attributes, _), .setQueueAttributes(let name, let attributes):
            guard let policy = attributes["RedrivePolicy"], !policy.isEmpty,
                let object = try? JSONSerialization.jsonObject(with: Data(policy.utf8)) as? [String: Any],
                let targetArn = object["deadLetterTargetArn"] as? String
            else { return }
            // Another account's queue is never a dead-letter queue here: refused before its shard is asked,
            // which would tell whether it exists.
            let sourceAccount = AccountScope.split(name).account.map(String.init) ?? configuration.accountId
            guard AccountScope.account(ofArn: targetArn).map(String.init) == sourceAccount else {
                throw .deadLetterTargetMissing(policy)
            }
            let targetShard = placement.shard(forQueue: QueueEngine.routingName(ofArn: targetArn))
            guard targetShard != placement.shard(forQueue: name) else { return }
            _ = try await router.query(
                .checkDeadLetterTarget(arn: targetArn, sourceArn: queueArn(name), policyJSON: policy), on: targetShard)
        case .startMessageMoveTask(let sourceArn, let destinationArn, _):
            let sourceShard = placement.shard(forQueue: QueueEngine.routingName(ofArn: sourceArn))
            // A source that does not exist: its shard says so, with the error SQS gives.
            guard try await router.query(.queueExistsByArn(sourceArn), on: sourceShard).flag else { return }
            var isDeadLetterQueue = false
            for shard in placement.shards where !isDeadLetterQueue {
                isDeadLetterQueue = try await !router.query(.queuesRedriving(toArn: sourceArn), on: shard).names.isEmpty
            }
            guard isDeadLetterQueue else { throw .moveSourceNotDeadLetterQueue(sourceArn) }
            guard let destinationArn else { return }
            let destinationShard = placement.shard(forQueue: QueueEngine.routingName(ofArn: destinationArn))
            guard destinationShard != sourceShard else { return }
            guard try await router.query(.queueExistsByArn(destinationArn), on: destinationShard).flag else {
                throw .moveDestinationMissing
            }
        default:
            return
        }
    }

    private func queueArn(_ name: String) -> String {
        QueueEngine.queueArn(name, region: configuration.region, accountId: configuration.accountId)
    }

    /// A move task's handle names no queue: ask each shard until one knows it.
    private func cancelMoveTask(_ command: Command) async -> CommandResult {
        var last = CommandResult.failure(QueueError(.resourceNotFound, "Task does not exist."))
        for shard in placement.shards {
            let result = await router.run(command, on: shard)
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
        await router.receive(request, waitSeconds: waitSeconds, on: placement.shard(forQueue: request.queueName))
    }

    /// A linearizable query of the shard that holds `queue`, wherever it is hosted.
    public func query(_ query: ShardQuery, queue: String) async throws(QueueError) -> ShardAnswer {
        try await router.query(query, on: placement.shard(forQueue: queue))
    }

    /// A linearizable read (ReadIndex) of this node's own replica of `queue`'s shard; ServiceUnavailable
    /// when this node hosts none (`query` asks the nodes that do).
    public func read<Result: Sendable>(
        queue: String, _ body: @escaping @Sendable (borrowing QueueEngine) throws(QueueError) -> Result
    ) async throws(QueueError) -> Result {
        guard let replica = replica(forQueue: queue) else { throw Self.notHosted }
        return try await replica.read(body)
    }

    /// ListDeadLetterSourceQueues: the queues of every shard whose RedrivePolicy names `name`'s queue.
    public func deadLetterSourceQueues(of name: String, maxResults: Int?, nextToken: String?) async throws(QueueError)
        -> QueueNamePage
    {
        guard try await query(.queueExists(name: name), queue: name).flag else { throw .queueDoesNotExist() }
        let arn = queueArn(name)
        var names: [String] = []
        for shard in placement.shards {
            names += try await router.query(.queuesRedriving(toArn: arn), on: shard).names
        }
        return try QueueEngine.queueNamePage(names, maxResults: maxResults, nextToken: nextToken)
    }

    /// ListQueues over every shard: the queues of `account` (nil: the node's own; `AccountScope`), bare
    /// names merged, sorted, then paged.
    public func listQueues(prefix: String?, account: String? = nil, maxResults: Int?, nextToken: String?)
        async throws(QueueError) -> QueueNamePage
    {
        let scope = account.map { "\($0)/" } ?? ""
        var names: [String] = []
        for shard in placement.shards {
            let stored = try await router.query(.queueNames(prefix: scope + (prefix ?? "")), on: shard).names
            for name in stored {
                let (nameAccount, bare) = AccountScope.split(name)
                if nameAccount.map(String.init) == account { names.append(String(bare)) }
            }
        }
        return try QueueEngine.queueNamePage(names, maxResults: maxResults, nextToken: nextToken)
    }
}
