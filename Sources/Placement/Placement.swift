/// A node of the cluster, as numbered in its configuration (1, 2, 3, …; 0 means none).
public typealias NodeID = UInt64

/// One shard: a Raft group holding the queues whose names hash to it.
public struct ShardID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The shard's number, `0..<shardCount`.
    public var rawValue: UInt32

    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public static func < (lhs: ShardID, rhs: ShardID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "shard \(rawValue)" }
}

/// A change of one shard's replica set implied by a change of the node set.
public struct ReplicaMove: Equatable, Sendable {
    /// The shard whose replicas change.
    public var shard: ShardID
    /// Nodes that gain a replica (to be added as learners, caught up, then promoted).
    public var added: [NodeID]
    /// Nodes that lose their replica (removed once the new ones are voters).
    public var removed: [NodeID]
}

/// Why a placement cannot be built.
public struct PlacementError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
}

/// Pure placement: a queue name goes to a shard by a consistent hash of the name, and a shard's replicas
/// are the `replicationFactor` nodes with the highest rendezvous weight for it. Adding a node moves only
/// the replicas the new node now wins (about replicationFactor/N of them); removing a node moves only the
/// replicas it held. The first replica of a shard is its preferred leader, which spreads leaders evenly.
///
/// No clock, no randomness, no I/O: every node computes the same answer from the same node set.
public struct Placement: Equatable, Sendable {
    /// Limits of a placement.
    public enum Limits {
        /// The most shards a cluster may have.
        public static let shardCountMax = 4_096
        /// The most replicas of one shard.
        public static let replicationFactorMax = 7
        /// The most nodes in a cluster.
        public static let nodeCountMax = 1_024
    }

    /// The number of shards, fixed when the cluster is created.
    public let shardCount: Int
    /// Replicas wanted per shard; a shard has fewer only while the cluster has fewer nodes.
    public let replicationFactor: Int
    /// The cluster's nodes, ascending.
    public let nodes: [NodeID]

    /// A placement of `shardCount` shards over `nodes`. Throws when a count is out of range, a node id
    /// is 0 or repeated.
    public init(shardCount: Int, replicationFactor: Int, nodes: [NodeID]) throws(PlacementError) {
        guard (1...Limits.shardCountMax).contains(shardCount) else {
            throw PlacementError(description: "shard count \(shardCount) is not in 1...\(Limits.shardCountMax)")
        }
        guard (1...Limits.replicationFactorMax).contains(replicationFactor) else {
            throw PlacementError(
                description: "replication factor \(replicationFactor) is not in 1...\(Limits.replicationFactorMax)")
        }
        guard (1...Limits.nodeCountMax).contains(nodes.count) else {
            throw PlacementError(description: "node count \(nodes.count) is not in 1...\(Limits.nodeCountMax)")
        }
        guard !nodes.contains(0) else { throw PlacementError(description: "node id 0 is reserved") }
        let sorted = nodes.sorted()
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous == next {
            throw PlacementError(description: "node id \(next) appears twice")
        }
        self.shardCount = shardCount
        self.replicationFactor = replicationFactor
        self.nodes = sorted
    }

    /// Every shard, in order.
    public var shards: [ShardID] { (0..<shardCount).map { ShardID(UInt32($0)) } }

    /// The home shard of a queue: all its messages and metadata live there.
    public func shard(forQueue name: String) -> ShardID {
        Self.shard(forQueue: name, shardCount: shardCount)
    }

    /// The home shard of a queue among `shardCount` shards (what every node of such a cluster computes).
    /// A queue of another account, stored as `ACCOUNT/NAME`, is placed by its bare name, so that its ARN
    /// routes to it without knowing which account is the node's own.
    public static func shard(forQueue name: String, shardCount: Int) -> ShardID {
        let key: Substring
        if let slash = name.utf8.firstIndex(of: UInt8(ascii: "/")) {
            key = name[name.index(after: slash)...]
        } else {
            key = Substring(name)
        }
        return ShardID(UInt32(PlacementHash.jump(PlacementHash.hash(key), bucketCount: shardCount)))
    }

    /// The cluster's metadata group (its configuration's own Raft group): numbered `shardCount`, after
    /// every queue shard, so no queue hashes to it; placed over the nodes like a shard.
    public var metadataGroup: ShardID { ShardID(UInt32(shardCount)) }

    /// The replicas of `shard` (or of the `metadataGroup`), highest weight first (the first is the
    /// preferred leader).
    public func replicas(of shard: ShardID) -> [NodeID] {
        precondition(Int(shard.rawValue) <= shardCount, "\(shard) is above shardCount \(shardCount)")
        let ranked = nodes.map { node in (weight: PlacementHash.weight(shard: shard, node: node), node: node) }
            .sorted { $0.weight != $1.weight ? $0.weight > $1.weight : $0.node < $1.node }
        return ranked.prefix(replicationFactor).map(\.node)
    }

    /// The shards that have a replica on `node`.
    public func shards(hostedBy node: NodeID) -> [ShardID] {
        shards.filter { replicas(of: $0).contains(node) }
    }

    /// The same shards over another node set.
    public func with(nodes: [NodeID]) throws(PlacementError) -> Placement {
        try Placement(shardCount: shardCount, replicationFactor: replicationFactor, nodes: nodes)
    }

    /// The replica changes that going from this placement to `target` implies, by shard. Both must have
    /// the same shard count.
    public func moves(to target: Placement) -> [ReplicaMove] {
        precondition(target.shardCount == shardCount, "shard count \(target.shardCount) != \(shardCount)")
        return shards.compactMap { shard in
            let before = Set(replicas(of: shard))
            let after = Set(target.replicas(of: shard))
            guard before != after else { return nil }
            return ReplicaMove(
                shard: shard, added: after.subtracting(before).sorted(), removed: before.subtracting(after).sorted())
        }
    }
}
