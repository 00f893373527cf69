/// What a node is doing in the cluster.
public enum NodeState: String, Codable, Sendable, CaseIterable {
    /// Added by an operator; holds no replica until it has started and said so (`activate`).
    case joining
    /// Serves, and holds the replicas placement gives it.
    case active
    /// Being removed: its replicas move to other nodes; it is `removed` once it holds none.
    case draining
    /// Holds nothing and is no longer a member; its id is never used again.
    case removed
}

/// One node as the cluster knows it.
public struct NodeRecord: Equatable, Sendable, Codable {
    public var id: NodeID
    /// Where its peers reach it (`host:port`, mutual TLS).
    public var peerAddress: String
    /// Where SQS clients reach it (`host:port`).
    public var sqsAddress: String
    public var state: NodeState

    public init(id: NodeID, peerAddress: String, sqsAddress: String, state: NodeState) {
        self.id = id
        self.peerAddress = peerAddress
        self.sqsAddress = sqsAddress
        self.state = state
    }
}

/// One shard's replicas: the voters its group has now, and those it is moving to.
public struct ShardReplicas: Equatable, Sendable, Codable {
    /// The group's voters as its leader last reported them, placement order (preferred leader first)
    /// where placement names them.
    public var voters: [NodeID]
    /// The voters its leader is moving the group to (`MoveStep`); equal to `voters` as sets when settled.
    public var target: [NodeID]
    /// The log index of the membership change `voters` was reported at (0: as the cluster was created).
    public var reportedIndex: UInt64 = 0

    public init(voters: [NodeID], target: [NodeID]) {
        self.voters = voters
        self.target = target
    }

    /// True while the group's voters are not yet the target.
    public var isMoving: Bool { Set(voters) != Set(target) }
}

/// A change of the cluster's configuration, as proposed to the metadata group and applied by every node
/// in log order.
public enum MetadataCommand: Equatable, Sendable, Codable {
    /// An operator adds a node (`ferry cluster add-node`); it joins as `joining`.
    case addNode(id: NodeID, peerAddress: String, sqsAddress: String)
    /// A joining node has started and reached the metadata group: it becomes `active` and gets replicas.
    case activate(NodeID)
    /// An operator removes a node (`ferry cluster remove-node`), alive or dead: it drains.
    case removeNode(NodeID)
    /// The rebalancer (on the metadata group's leader) points shards at new voters (`Rebalancer`).
    case setTargets([ShardTarget])
    /// A shard's leader reports its group's voters (while joint, those of both configurations) after a
    /// membership change it applied at log index `index`; a report older than the last one taken is
    /// ignored (reports from two leaders may arrive out of order).
    case reportVoters(shard: ShardID, voters: [NodeID], index: UInt64)
}

/// A shard and the voters it is to move to.
public struct ShardTarget: Equatable, Sendable, Codable {
    public var shard: ShardID
    public var voters: [NodeID]

    public init(shard: ShardID, voters: [NodeID]) {
        self.shard = shard
        self.voters = voters
    }
}

extension ShardID: Codable {
    public init(from decoder: any Decoder) throws { self.init(try UInt32(from: decoder)) }
    public func encode(to encoder: any Encoder) throws { try rawValue.encode(to: encoder) }
}

/// Why a metadata command was refused; the configuration is left as it was.
public struct MetadataError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}

/// The cluster's configuration, replicated in its own Raft group so every node learns changes in the
/// same order: the nodes (with their addresses and states), the fixed shard count and replication factor,
/// and each shard's voters and move target. Placement decisions are computed from it, not from a node's
/// flags. A pure value: `apply` is deterministic, reads no clock and draws nothing at random.
public struct ClusterMetadata: Equatable, Sendable, Codable {
    /// Limits of a configuration.
    public enum Limits {
        /// The longest address, `host:port`.
        public static let addressLengthMax = 255
    }

    /// Increases by one with every command that changed something (a refused command or a repeat of one
    /// applied already leaves it as it was).
    public private(set) var version: UInt64
    public let shardCount: Int
    public let replicationFactor: Int
    /// Every node ever added, by id (removed ones stay, so an id is never reused).
    public private(set) var nodes: [NodeID: NodeRecord]
    /// Each group's voters and target, by number: the shards `0..<shardCount`, then the metadata group
    /// (`metadataGroup`, numbered `shardCount`), which moves as a shard does.
    public private(set) var shards: [ShardReplicas]
    /// The nodes the cluster was created with, ascending: every group's first voters are where placement
    /// over them put it (`genesisVoters`), which a replica added later needs to replay its group's log.
    public let initialNodes: [NodeID]

    /// A new cluster's configuration: `nodes` active, each shard's voters where placement puts them.
    public init(shardCount: Int, replicationFactor: Int, nodes: [NodeRecord]) throws(PlacementError) {
        let placement = try Placement(
            shardCount: shardCount, replicationFactor: replicationFactor, nodes: nodes.map(\.id))
        self.version = 1
        self.shardCount = shardCount
        self.replicationFactor = replicationFactor
        self.nodes = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, $0) })
        self.initialNodes = nodes.map(\.id).sorted()
        for id in self.nodes.keys { self.nodes[id]!.state = .active }
        self.shards = (placement.shards + [placement.metadataGroup]).map { shard in
            let replicas = placement.replicas(of: shard)
            return ShardReplicas(voters: replicas, target: replicas)
        }
    }

    /// A configuration as it was saved (a snapshot of the metadata group): every field as given. Throws when
    /// the fields do not make a configuration (counts out of range, a group list of the wrong length).
    public init(
        restoringVersion version: UInt64, shardCount: Int, replicationFactor: Int, nodes: [NodeRecord],
        shards: [ShardReplicas], initialNodes: [NodeID] = []
    ) throws(MetadataError) {
        guard (1...Placement.Limits.shardCountMax).contains(shardCount),
            (1...Placement.Limits.replicationFactorMax).contains(replicationFactor), shards.count == shardCount + 1,
            Set(nodes.map(\.id)).count == nodes.count, !nodes.contains(where: { $0.id == 0 })
        else { throw MetadataError("a saved configuration is inconsistent") }
        self.version = version
        self.shardCount = shardCount
        self.replicationFactor = replicationFactor
        self.nodes = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, $0) })
        self.shards = shards
        self.initialNodes = initialNodes
    }

    /// The voters `shard` (or the metadata group) started with: placement over the initial nodes.
    public func genesisVoters(of shard: ShardID) -> Set<NodeID> {
        let placement = try? Placement(
            shardCount: shardCount, replicationFactor: replicationFactor, nodes: initialNodes)
        return Set(placement?.replicas(of: shard) ?? [])
    }

    /// The metadata group: numbered after every queue shard.
    public var metadataGroup: ShardID { ShardID(UInt32(shardCount)) }

    /// The nodes, ascending by id.
    public var nodeList: [NodeRecord] { nodes.values.sorted { $0.id < $1.id } }
    /// The nodes that get replicas: active ones, ascending.
    public var activeNodes: [NodeID] { nodes.values.filter { $0.state == .active }.map(\.id).sorted() }

    /// The nodes that are members (not removed), ascending.
    public var memberNodes: [NodeID] { nodes.values.filter { $0.state != .removed }.map(\.id).sorted() }

    /// Where placement puts every shard over the active nodes; nil when there is none.
    public var placement: Placement? {
        try? Placement(shardCount: shardCount, replicationFactor: replicationFactor, nodes: activeNodes)
    }

    /// The replicas of `shard`: its voters.
    public func replicas(of shard: ShardID) -> ShardReplicas { shards[Int(shard.rawValue)] }

    /// The shards whose voters or target include `node`.
    public func shards(involving node: NodeID) -> [ShardID] {
        shards.indices.filter { shards[$0].voters.contains(node) || shards[$0].target.contains(node) }
            .map { ShardID(UInt32($0)) }
    }

    /// Applies `command`; throws, changing nothing, when it is not valid in this configuration.
    public mutating func apply(_ command: MetadataCommand) throws(MetadataError) {
        let (nodesBefore, shardsBefore) = (nodes, shards)
        try change(command)
        finishRemovals()
        if nodes != nodesBefore || shards != shardsBefore { version += 1 }
    }

    private mutating func change(_ command: MetadataCommand) throws(MetadataError) {
        switch command {
        case .addNode(let id, let peerAddress, let sqsAddress):
            guard id != 0 else { throw MetadataError("node id 0 is reserved") }
            if let existing = nodes[id] {
                // The same request applied again (an operator's retry) is not an error.
                guard
                    existing.peerAddress != peerAddress || existing.sqsAddress != sqsAddress
                        || existing.state == .removed
                else { return }
                throw MetadataError(
                    "node \(id) \(existing.state == .removed ? "was removed; ids are never reused" : "exists")")
            }
            for address in [peerAddress, sqsAddress] {
                guard Self.isAddress(address) else {
                    throw MetadataError("\"\(address.prefix(64))\" is not host:port")
                }
            }
            if let other = nodes.values.first(where: {
                $0.state != .removed && ($0.peerAddress == peerAddress || $0.sqsAddress == sqsAddress)
            }) {
                throw MetadataError("node \(other.id) already uses that address")
            }
            guard memberNodes.count < Placement.Limits.nodeCountMax else {
                throw MetadataError("a cluster has at most \(Placement.Limits.nodeCountMax) nodes")
            }
            nodes[id] = NodeRecord(id: id, peerAddress: peerAddress, sqsAddress: sqsAddress, state: .joining)
        case .activate(let id):
            guard let node = nodes[id] else { throw MetadataError("node \(id) is not in the cluster") }
            guard node.state != .removed else { throw MetadataError("node \(id) was removed") }
            guard node.state == .joining else { return }  // active already, or draining: a repeat
            nodes[id]!.state = .active
        case .removeNode(let id):
            guard let node = nodes[id], node.state != .removed else {
                throw MetadataError("node \(id) is not in the cluster")
            }
            guard node.state != .draining else { return }
            guard activeNodes != [id] || node.state != .active else {
                throw MetadataError("node \(id) is the last active node; add another first")
            }
            nodes[id]!.state = .draining
        case .setTargets(let targets):
            for target in targets { try validate(target) }
            for target in targets { shards[Int(target.shard.rawValue)].target = target.voters }
        case .reportVoters(let shard, let voters, let index):
            guard Int(shard.rawValue) <= shardCount else { throw MetadataError("\(shard) does not exist") }
            guard !voters.isEmpty, Set(voters).count == voters.count, voters.allSatisfy({ nodes[$0] != nil }) else {
                throw MetadataError("\(shard): voters \(voters) are not distinct nodes of the cluster")
            }
            guard index > shards[Int(shard.rawValue)].reportedIndex else { return }  // an older report
            shards[Int(shard.rawValue)].voters = voters
            shards[Int(shard.rawValue)].reportedIndex = index
        }
    }

    /// A draining node that no shard's voters or target include any more is removed.
    private mutating func finishRemovals() {
        for node in nodes.values where node.state == .draining && shards(involving: node.id).isEmpty {
            nodes[node.id]!.state = .removed
        }
    }

    private func validate(_ target: ShardTarget) throws(MetadataError) {
        guard Int(target.shard.rawValue) <= shardCount else {
            throw MetadataError("\(target.shard) does not exist")
        }
        guard !target.voters.isEmpty, target.voters.count <= replicationFactor,
            Set(target.voters).count == target.voters.count
        else {
            throw MetadataError(
                "\(target.shard): target \(target.voters) is not 1...\(replicationFactor) distinct nodes")
        }
        for node in target.voters where nodes[node]?.state != .active {
            throw MetadataError("\(target.shard): node \(node) is not active")
        }
    }

    /// `host:port` with a port in 1...65535 and a host of letters, digits, `.`, `-`, or a bracketed IPv6.
    public static func isAddress(_ address: String) -> Bool {
        guard address.utf8.count <= Limits.addressLengthMax, let colon = address.lastIndex(of: ":") else {
            return false
        }
        let host = address[..<colon]
        guard let port = Int(address[address.index(after: colon)...]), (1...65_535).contains(port), !host.isEmpty else {
            return false
        }
        if host.hasPrefix("[") { return host.hasSuffix("]") && host.count > 2 }
        return host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
    }
}
