import Placement

/// The binary encoding of the cluster's configuration (`ClusterMetadata`) and of its changes
/// (`MetadataCommand`), shared by the log entry codec (`Command.initializeCluster`, `.changeCluster`) and
/// the engine snapshot. Canonical: one value has one encoding, and bytes that decode encode back the same.
///
/// A configuration: its version, shard count and replication factor (varints); the nodes ascending by id
/// (a count, then each node's id, peer address, SQS address and state byte: joining 0, active 1, draining
/// 2, removed 3); the nodes the cluster was created with (a count and the ids, ascending); then the
/// `shardCount + 1` groups in order (no count), each its voters and target (a count and the ids, order
/// kept) and the log index its voters were reported at.
///
/// A change: a kind byte (`MetadataCommandTag`), then the case's fields in declaration order.
///
/// What the decoder refuses beyond the reader's checks: counts out of range (shards, replication factor,
/// member nodes, initial nodes, ids in a list; removed nodes stay in a configuration for good, so their
/// number is bounded only by the bytes), addresses longer than `ClusterMetadata.Limits.addressLengthMax`
/// bytes, an unknown state or kind byte, nodes or initial nodes out of order, and in a configuration a voter
/// or target that is not one of its nodes or is listed twice. The encoder checks the same bounds with `precondition`: a proposer
/// validates what it proposes (applying it to a copy of the configuration refuses overlong addresses), so
/// that every replica can read every entry.
enum ClusterMetadataCodec {
    /// The most ids in a voter or target list: both configurations of a joint membership.
    static let nodeIdsPerListMax = Placement.Limits.replicationFactorMax * 2
    /// The most targets in one `setTargets`: every shard and the metadata group.
    static let targetCountMax = Placement.Limits.shardCountMax + 1
    /// The fewest bytes a node takes: an id, two addresses and a state, one byte each at least.
    static let nodeBytesMin = 4
    /// The fewest bytes a group takes: two list counts and an index.
    static let groupBytesMin = 3

    static func stateCode(_ state: NodeState) -> UInt8 {
        switch state {
        case .joining: 0
        case .active: 1
        case .draining: 2
        case .removed: 3
        }
    }
}

/// The kind byte of each `MetadataCommand` case. Values are part of the format: never renumber one.
enum MetadataCommandTag: UInt8, CaseIterable {
    case addNode = 1
    case activate = 2
    case removeNode = 3
    case setTargets = 4
    case reportVoters = 5
}

extension BinaryWriter {
    mutating func writeClusterMetadata(_ metadata: ClusterMetadata) {
        writeVarint(metadata.version)
        writeCount(metadata.shardCount)
        writeCount(metadata.replicationFactor)
        let nodes = metadata.nodeList
        writeCount(nodes.count)
        for node in nodes {
            writeVarint(node.id)
            writeAddress(node.peerAddress)
            writeAddress(node.sqsAddress)
            writeByte(ClusterMetadataCodec.stateCode(node.state))
        }
        let initialNodes = metadata.initialNodes
        precondition(
            initialNodes.count <= Placement.Limits.nodeCountMax
                && zip(initialNodes, initialNodes.dropFirst()).allSatisfy(<),
            "initial nodes \(initialNodes.prefix(8)) (\(initialNodes.count)) are not ascending or too many")
        writeCount(initialNodes.count)
        for id in initialNodes { writeVarint(id) }
        precondition(
            metadata.shards.count == metadata.shardCount + 1,
            "\(metadata.shards.count) groups for shard count \(metadata.shardCount)")
        for group in metadata.shards {
            writeNodeIds(group.voters)
            writeNodeIds(group.target)
            writeVarint(group.reportedIndex)
        }
    }

    mutating func writeMetadataCommand(_ command: MetadataCommand) {
        switch command {
        case .addNode(let id, let peerAddress, let sqsAddress):
            writeByte(MetadataCommandTag.addNode.rawValue)
            writeVarint(id)
            writeAddress(peerAddress)
            writeAddress(sqsAddress)
        case .activate(let id):
            writeByte(MetadataCommandTag.activate.rawValue)
            writeVarint(id)
        case .removeNode(let id):
            writeByte(MetadataCommandTag.removeNode.rawValue)
            writeVarint(id)
        case .setTargets(let targets):
            writeByte(MetadataCommandTag.setTargets.rawValue)
            precondition(
                targets.count <= ClusterMetadataCodec.targetCountMax,
                "\(targets.count) targets > \(ClusterMetadataCodec.targetCountMax)")
            writeCount(targets.count)
            for target in targets {
                writeVarint(target.shard.rawValue)
                writeNodeIds(target.voters)
            }
        case .reportVoters(let shard, let voters, let index):
            writeByte(MetadataCommandTag.reportVoters.rawValue)
            writeVarint(shard.rawValue)
            writeNodeIds(voters)
            writeVarint(index)
        }
    }

    private mutating func writeAddress(_ address: String) {
        precondition(
            address.utf8.count <= ClusterMetadata.Limits.addressLengthMax,
            "address of \(address.utf8.count) bytes > \(ClusterMetadata.Limits.addressLengthMax)")
        writeString(address)
    }

    private mutating func writeNodeIds(_ ids: [NodeID]) {
        precondition(
            ids.count <= ClusterMetadataCodec.nodeIdsPerListMax,
            "\(ids.count) node ids > \(ClusterMetadataCodec.nodeIdsPerListMax)")
        writeCount(ids.count)
        for id in ids { writeVarint(id) }
    }
}

extension BinaryReader {
    mutating func readClusterMetadata() throws(EngineCodecError) -> ClusterMetadata {
        let version = try readVarint()
        let shardCount = try readCount(in: 1...Placement.Limits.shardCountMax, "shard count")
        let replicationFactor = try readCount(in: 1...Placement.Limits.replicationFactorMax, "replication factor")
        let nodeCount = try readCount(elementBytesMin: ClusterMetadataCodec.nodeBytesMin)
        var nodes: [NodeRecord] = []
        nodes.reserveCapacity(nodeCount)
        for _ in 0..<nodeCount {
            let id = try readVarint()
            guard id > (nodes.last?.id ?? 0) else { throw malformed("node \(id) is 0 or out of order") }
            nodes.append(
                NodeRecord(
                    id: id, peerAddress: try readAddress(), sqsAddress: try readAddress(), state: try readNodeState()))
        }
        let memberCount = nodes.count(where: { $0.state != .removed })
        guard memberCount <= Placement.Limits.nodeCountMax else {
            throw malformed("\(memberCount) member nodes > \(Placement.Limits.nodeCountMax)")
        }
        let initialCount = try readCount()
        guard initialCount <= Placement.Limits.nodeCountMax else {
            throw malformed("\(initialCount) initial nodes > \(Placement.Limits.nodeCountMax)")
        }
        var initialNodes: [NodeID] = []
        initialNodes.reserveCapacity(initialCount)
        for _ in 0..<initialCount {
            let id = try readVarint()
            guard id > (initialNodes.last ?? 0) else { throw malformed("initial node \(id) is 0 or out of order") }
            initialNodes.append(id)
        }
        let known = Set(nodes.map(\.id))
        guard shardCount + 1 <= remaining / ClusterMetadataCodec.groupBytesMin else {
            throw error(.truncated, "\(shardCount + 1) groups exceed the \(remaining) bytes left")
        }
        var groups: [ShardReplicas] = []
        groups.reserveCapacity(shardCount + 1)
        for _ in 0...shardCount {
            var group = ShardReplicas(voters: try readNodeIds(of: known), target: try readNodeIds(of: known))
            group.reportedIndex = try readVarint()
            groups.append(group)
        }
        do {
            return try ClusterMetadata(
                restoringVersion: version, shardCount: shardCount, replicationFactor: replicationFactor, nodes: nodes,
                shards: groups, initialNodes: initialNodes)
        } catch {
            throw malformed("cluster configuration: \(error.description)")
        }
    }

    mutating func readMetadataCommand() throws(EngineCodecError) -> MetadataCommand {
        let tagByte = try readByte()
        guard let tag = MetadataCommandTag(rawValue: tagByte) else {
            throw malformed("unknown cluster configuration change \(tagByte)")
        }
        switch tag {
        case .addNode:
            return .addNode(id: try readVarint(), peerAddress: try readAddress(), sqsAddress: try readAddress())
        case .activate:
            return .activate(try readVarint())
        case .removeNode:
            return .removeNode(try readVarint())
        case .setTargets:
            let count = try readCount(elementBytesMin: 2)
            guard count <= ClusterMetadataCodec.targetCountMax else {
                throw malformed("\(count) targets > \(ClusterMetadataCodec.targetCountMax)")
            }
            var targets: [ShardTarget] = []
            targets.reserveCapacity(count)
            for _ in 0..<count {
                targets.append(ShardTarget(shard: ShardID(try readUInt32()), voters: try readNodeIds(of: nil)))
            }
            return .setTargets(targets)
        case .reportVoters:
            return .reportVoters(
                shard: ShardID(try readUInt32()), voters: try readNodeIds(of: nil), index: try readVarint())
        }
    }

    /// A count that must lie in `range`.
    private mutating func readCount(in range: ClosedRange<Int>, _ name: String) throws(EngineCodecError) -> Int {
        let value = try readVarint()
        guard value >= UInt64(range.lowerBound), value <= UInt64(range.upperBound) else {
            throw malformed("\(name) \(value) outside \(range)")
        }
        return Int(value)
    }

    private mutating func readAddress() throws(EngineCodecError) -> String {
        let address = try readString()
        guard address.utf8.count <= ClusterMetadata.Limits.addressLengthMax else {
            throw malformed("address of \(address.utf8.count) bytes > \(ClusterMetadata.Limits.addressLengthMax)")
        }
        return address
    }

    private mutating func readNodeState() throws(EngineCodecError) -> NodeState {
        switch try readByte() {
        case 0: return .joining
        case 1: return .active
        case 2: return .draining
        case 3: return .removed
        case let other: throw malformed("node state \(other)")
        }
    }

    /// A voter or target list; in a configuration (`known` given) each id is one of its nodes, listed once.
    private mutating func readNodeIds(of known: Set<NodeID>?) throws(EngineCodecError) -> [NodeID] {
        let count = try readCount()
        guard count <= ClusterMetadataCodec.nodeIdsPerListMax else {
            throw malformed("\(count) node ids > \(ClusterMetadataCodec.nodeIdsPerListMax)")
        }
        var ids: [NodeID] = []
        ids.reserveCapacity(count)
        for _ in 0..<count {
            let id = try readVarint()
            if let known, !known.contains(id) || ids.contains(id) {
                throw malformed("node \(id) is not a node of the configuration, or listed twice")
            }
            ids.append(id)
        }
        return ids
    }
}
