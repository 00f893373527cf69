import Foundation
import Logging
import NIOCore
import PeerTransport
import Placement
import QueueEngine
import Raft
import SegmentLog
import Synchronization

/// What a node follows of the cluster configuration.
struct ClusterView {
    /// The configuration as last read from the metadata group.
    var metadata: ClusterMetadata?
    var isRefreshing = false
    var isStopped = false
    var task: RepeatedTask?
    /// The target last given to each hosted replica.
    var postedTargets: [ShardID: [NodeID]] = [:]
    /// Since when (monotonic ms) each hosted replica has been out of its settled group.
    var retirableSince: [ShardID: Int64] = [:]
    /// The version of the configuration kept in the data directory.
    var savedVersion: UInt64?
}

/// A node follows the cluster configuration the metadata group keeps (`ClusterMetadata`): every
/// `MembershipSettings.refreshMilliseconds` it reads it (a linearizable read of the metadata group, on
/// this node or a node that hosts it) and
/// - links to every member node and to no removed one;
/// - routes each group's requests to the nodes that hold it;
/// - opens a replica of every group whose voters or target name it (a learner, caught up by the group's
///   leader), gives every replica it hosts its group's target (the leader moves the group there, one
///   `MoveStep` at a time), and stops a replica its group left, deleting its files;
/// - as a joining node, says it has started (`activate`);
/// - as a group's leader, reports the group's voters when they differ from the configuration's;
/// - as the metadata group's leader, points shards that are not where placement over the active nodes
///   puts them at their new replicas, `movingShardsMax` at a time (`ClusterMetadata.nextTargets`).
/// At its first start the metadata group's first leader records the configured cluster.
extension ClusterNode {
    /// Starts following the configuration (nothing for a node alone).
    func startFollowing() {
        guard followsConfiguration else { return }
        let interval = TimeAmount.milliseconds(Int64(configuration.membership.refreshMilliseconds))
        let task = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: interval) { [weak self] _ in
            guard let self else { return }
            Task { await self.refresh() }
        }
        view.withLock { view in
            if view.isStopped { task.cancel() } else { view.task = task }
        }
    }

    func stopFollowing() {
        view.withLock { view in
            view.isStopped = true
            view.task?.cancel()
            view.task = nil
        }
    }

    /// The configuration as this node last read it (nil before its first read, or for a node alone).
    public var knownMetadata: ClusterMetadata? { view.withLock { $0.metadata } }

    /// Every replica this node hosts, as of its last tick.
    public var replicaStatuses: [ReplicaStatus] {
        router.hostedReplicas.map(\.status).sorted { $0.shard < $1.shard }
    }

    /// The configuration, read from the metadata group now (linearizable).
    public func readMetadata() async throws(QueueError) -> ClusterMetadata {
        guard followsConfiguration else {
            throw QueueError(.invalidParameterValue, "A node alone has no cluster configuration.")
        }
        guard
            case .clusterMetadata(let metadata?) = try await router.query(.clusterMetadata, on: placement.metadataGroup)
        else {
            throw QueueError(
                .serviceUnavailable, "The cluster configuration is not recorded yet. Retry the request.")
        }
        return metadata
    }

    /// Proposes a change of the configuration to the metadata group; answers once it applied.
    public func changeCluster(_ command: MetadataCommand) async -> CommandResult {
        guard followsConfiguration else {
            return .failure(QueueError(.invalidParameterValue, "A node alone has no cluster configuration."))
        }
        // What the log's codec cannot carry is refused before it is proposed.
        if case .addNode(let id, let peerAddress, let sqsAddress) = command {
            for address in [peerAddress, sqsAddress] where !ClusterMetadata.isAddress(address) {
                return .failure(QueueError(.invalidParameterValue, "\"\(address.prefix(64))\" is not host:port."))
            }
            guard id >= 1 else { return .failure(QueueError(.invalidParameterValue, "Node ids start at 1.")) }
        }
        return await router.run(.changeCluster(command), on: placement.metadataGroup)
    }

    /// One round: read the configuration, then bring this node in line with it.
    func refresh() async {
        let begins = view.withLock { view -> Bool in
            guard !view.isRefreshing, !view.isStopped else { return false }
            view.isRefreshing = true
            return true
        }
        guard begins else { return }
        defer { view.withLock { $0.isRefreshing = false } }
        let group = placement.metadataGroup
        let read: ShardAnswer
        do {
            read = try await router.query(.clusterMetadata, on: group)
        } catch {
            // No leader reachable now: keep following the last configuration read, and retire nothing on
            // the strength of one read after the outage.
            view.withLock { $0.retirableSince = [:] }
            return
        }
        guard case .clusterMetadata(let metadata?) = read else {
            // Nothing recorded yet: the metadata group's replicas record the configured cluster (the first
            // entry applied wins; the others change nothing).
            if !configuration.join, router.replica(group) != nil, let initial = initialMetadata() {
                _ = await router.run(.initializeCluster(initial), on: group)
            }
            return
        }
        view.withLock { $0.metadata = metadata }
        follow(metadata)
        await act(on: metadata)
    }

    /// The cluster as configured at its first start.
    func initialMetadata() -> ClusterMetadata? {
        let configured = configuration.transport?.peers ?? [:]
        let records = configuration.nodes.map { id in
            NodeRecord(
                id: id,
                peerAddress: configuration.peerAddresses[id]
                    ?? (id == configuration.nodeID ? configuration.transport?.listen : configured[id])?.description
                    ?? "",
                sqsAddress: configuration.sqsAddresses[id] ?? "", state: .active)
        }
        // An address the configuration cannot record (not host:port, or too long) is left unknown.
        let recordable = records.map { record in
            var record = record
            if !ClusterMetadata.isAddress(record.peerAddress) { record.peerAddress = "" }
            if !ClusterMetadata.isAddress(record.sqsAddress) { record.sqsAddress = "" }
            return record
        }
        return try? ClusterMetadata(
            shardCount: placement.shardCount, replicationFactor: configuration.replicationFactor, nodes: recordable)
    }

    /// Links, routes and replicas as `metadata` says.
    private func follow(_ metadata: ClusterMetadata) {
        let me = configuration.nodeID
        linkAndRoute(metadata)
        save(metadata)
        let now = ShardReplica.monotonicMilliseconds()
        for (index, replicas) in metadata.shards.enumerated() {
            let shard = ShardID(UInt32(index))
            let isNamed = replicas.voters.contains(me) || replicas.target.contains(me)
            if let replica = router.replica(shard) {
                let retire = view.withLock { view -> Bool in
                    guard !isNamed, !replicas.isMoving else {
                        view.retirableSince[shard] = nil
                        if view.postedTargets[shard] != replicas.target {
                            view.postedTargets[shard] = replicas.target
                            replica.post(.setTarget(replicas.target))
                        }
                        return false
                    }
                    // The configuration's voters are as the group's leader last reported them, which may be
                    // older than the group: the replica itself must also be out of its group's membership
                    // (or never have received anything of it).
                    let status = replica.status
                    let isOut =
                        !(status.voters + status.outgoingVoters + status.learners).contains(me)
                        || (status.isRepairing && status.appliedIndex == 0)
                    guard isOut else {
                        view.retirableSince[shard] = nil
                        return false
                    }
                    let since = view.retirableSince[shard] ?? now
                    view.retirableSince[shard] = since
                    return now - since >= configuration.membership.retireAfterMilliseconds
                }
                if retire { self.retire(shard) }
            } else if isNamed, replicas.target.contains(me) {
                host(shard, metadata: metadata, target: replicas.target)
            }
        }
    }

    /// The file in the data directory that keeps the last configuration read, so that a node restarted
    /// after the cluster changed around it (its configured peers removed, the metadata group moved to
    /// nodes added later) links to the current members and asks them, not only its configured nodes.
    static let savedConfigurationName = "cluster-configuration"

    /// Keeps `metadata` when it is newer than the saved one.
    private func save(_ metadata: ClusterMetadata) {
        let isNewer = view.withLock { view -> Bool in
            guard metadata.version != view.savedVersion else { return false }
            view.savedVersion = metadata.version
            return true
        }
        guard isNewer else { return }
        do {
            try ShardStorage.replaceCheckedFile(
                Self.savedConfigurationName, with: Array(try JSONEncoder().encode(metadata)),
                directory: configuration.dataDirectory, fileSystem: configuration.fileSystem)
        } catch {
            view.withLock { $0.savedVersion = nil }
            logger.warning("cannot keep the cluster configuration in \(configuration.dataDirectory): \(error)")
        }
    }

    /// The configuration this node last read, as kept in its data directory (nil: none, or damaged).
    static func savedConfiguration(_ configuration: ClusterConfiguration) -> ClusterMetadata? {
        guard
            case .valid(let bytes) = ShardStorage.readCheckedFile(
                savedConfigurationName, directory: configuration.dataDirectory, fileSystem: configuration.fileSystem,
                bytesMax: 16 << 20)
        else { return nil }
        return try? JSONDecoder().decode(ClusterMetadata.self, from: Data(bytes))
    }

    /// At start: links and routes as the configuration last read says, until it is read again.
    func followSaved() {
        guard followsConfiguration, let saved = Self.savedConfiguration(configuration) else { return }
        view.withLock { $0.savedVersion = saved.version }
        linkAndRoute(saved)
    }

    /// Peer links to every member, routes to the nodes that hold each group.
    private func linkAndRoute(_ metadata: ClusterMetadata) {
        let me = configuration.nodeID
        var peers: [NodeID: PeerAddress] = [:]
        let configured = configuration.transport?.peers ?? [:]
        for record in metadata.nodeList where record.id != me && record.state != .removed {
            // A node recorded without an address (configured without one) keeps the configured address.
            if let address = PeerAddress(parsing: record.peerAddress) ?? configured[record.id] {
                peers[record.id] = address
            }
        }
        // Before the first read, the configured nodes stay linked too (one may be what answers the read).
        if view.withLock({ $0.metadata == nil }) {
            for (id, address) in configured where id != me && peers[id] == nil && metadata.nodes[id]?.state != .removed
            {
                peers[id] = address
            }
        }
        transport?.setPeers(peers)
        var routes: [ShardID: [NodeID]] = [:]
        for (index, replicas) in metadata.shards.enumerated() {
            routes[ShardID(UInt32(index))] = replicas.voters + replicas.target.filter { !replicas.voters.contains($0) }
        }
        router.setRoutes(routes)
    }

    /// Opens an empty replica of `shard` here (a learner once the group's leader adds it).
    private func host(_ shard: ShardID, metadata: ClusterMetadata, target: [NodeID]) {
        guard !view.withLock({ $0.isStopped }) else { return }
        do {
            try ShardStorage.createForRepair(
                directory: Self.directory(of: shard, in: configuration.dataDirectory),
                fileSystem: configuration.fileSystem)
            let replica = try openReplica(shard, metadata.genesisVoters(of: shard))
            replica.post(.setTarget(target))
            view.withLock {
                $0.postedTargets[shard] = target
                $0.retirableSince[shard] = nil
            }
            router.add(replica)
            replica.start()
            logger.notice("\(shard): hosting a new replica here (target \(target))")
        } catch {
            logger.error("\(shard): cannot open a replica here: \(error)")
        }
    }

    /// Stops this node's replica of `shard`, which its group removed, and deletes its files.
    private func retire(_ shard: ShardID) {
        guard let replica = router.remove(shard) else { return }
        replica.stop()
        view.withLock {
            $0.postedTargets[shard] = nil
            $0.retirableSince[shard] = nil
        }
        let directory = Self.directory(of: shard, in: configuration.dataDirectory)
        do {
            try Self.removeDirectory(directory, fileSystem: configuration.fileSystem)
            logger.notice("\(shard): this node's replica left its group; stopped and its files deleted")
        } catch {
            logger.error("\(shard): this node's replica left its group; cannot delete \(directory): \(error)")
        }
    }

    /// Deletes a replica's directory: renamed first (so a crash half-way leaves no `shard-N` behind to be
    /// opened again), then emptied.
    static func removeDirectory(_ directory: String, fileSystem: any FileSystem) throws {
        let retired = directory + ".retired-\(UInt64.random(in: 1...UInt64.max))"
        try fileSystem.rename(directory, to: retired)
        if fileSystem is PosixFileSystem {
            try FileManager.default.removeItem(atPath: retired)
            return
        }
        for name in try fileSystem.contentsOfDirectory(retired) {
            try? fileSystem.removeFile(fileSystem.path(retired, name))
        }
    }

    /// What only some nodes do: activate, report voters, rebalance.
    private func act(on metadata: ClusterMetadata) async {
        let me = configuration.nodeID
        if metadata.nodes[me]?.state == .joining {
            if case .failure(let error) = await changeCluster(.activate(me)) {
                logger.notice("cannot activate this node yet: \(error.message)")
            }
        }
        for replica in router.hostedReplicas {
            let status = replica.status
            guard status.role == "leader", Int(replica.shard.rawValue) < metadata.shards.count else { continue }
            let recorded = metadata.shards[Int(replica.shard.rawValue)]
            let voters = status.allVoters(orderedLike: recorded.target)
            guard Set(voters) != Set(recorded.voters), status.appliedIndex > recorded.reportedIndex else { continue }
            let result = await changeCluster(
                .reportVoters(shard: replica.shard, voters: voters, index: status.appliedIndex))
            if case .failure(let error) = result {
                logger.notice("\(replica.shard): cannot report voters \(voters): \(error.message)")
            }
        }
        guard router.replica(placement.metadataGroup)?.status.role == "leader" else { return }
        let targets = metadata.nextTargets(movingMax: configuration.membership.movingShardsMax)
        guard !targets.isEmpty else { return }
        for target in targets { logger.info("\(target.shard): moving to nodes \(target.voters)") }
        if case .failure(let error) = await changeCluster(.setTargets(targets)) {
            logger.notice("cannot set the targets of \(targets.count) shards: \(error.message)")
        }
    }
}
