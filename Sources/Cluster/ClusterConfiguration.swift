import PeerTransport
import Placement
import QueueEngine
import SegmentLog

/// Everything one node needs to join its cluster. Validated by `validate()` before anything starts.
public struct ClusterConfiguration: Sendable {
    /// This node's id (≥ 1).
    public var nodeID: NodeID = 1
    /// Every node of the cluster, this one included.
    public var nodes: [NodeID] = [1]
    /// The node's data directory: one `shard-N` log directory per hosted shard.
    public var dataDirectory: String
    /// Shards of the cluster (1–4096), fixed when the cluster is created; default 8.
    public var shardCount = 8
    /// Replicas per shard (1–7); default 3 (or the node count, when smaller).
    public var replicationFactor = 3
    /// Peer links; nil for a cluster of one node.
    public var transport: PeerTransportConfiguration?
    /// The engine settings every replica must share (account, region, receipt-handle key).
    public var region = "us-east-1"
    public var accountId = "000000000000"
    public var receiptHandleKey: [UInt8]
    /// When a log append is acknowledged; default `.always` (after fdatasync).
    public var syncPolicy = LogSyncPolicy.always
    /// Timing and limits of every shard replica.
    public var shard = ShardSettings()
    /// Where each node of the cluster as first configured is reached: peer links and SQS clients
    /// (`host:port`; an SQS address may be unknown). They seed the cluster configuration its metadata group
    /// records at its first start; afterwards the configuration is the metadata group's.
    public var peerAddresses: [NodeID: String] = [:]
    public var sqsAddresses: [NodeID: String] = [:]
    /// A node added to a running cluster (`ferry cluster add-node`, then `ferry serve --join`): it hosts
    /// nothing until the cluster configuration gives it replicas; `nodes` are the nodes it first asks.
    public var join = false
    /// How membership changes run: the configuration's refresh, moves at a time, retirement of replicas.
    public var membership = MembershipSettings()
    /// The file system (tests pass a simulated one).
    public var fileSystem: any FileSystem = PosixFileSystem()

    public init(dataDirectory: String, receiptHandleKey: [UInt8]) {
        self.dataDirectory = dataDirectory
        self.receiptHandleKey = receiptHandleKey
    }

    /// A node alone whose logs live in memory: the same path as a durable node, nothing kept on disk.
    public static func inMemory(
        receiptHandleKey: [UInt8], accountId: String = "000000000000", region: String = "us-east-1"
    ) -> ClusterConfiguration {
        var configuration = ClusterConfiguration(dataDirectory: "/memory", receiptHandleKey: receiptHandleKey)
        configuration.shardCount = 1
        configuration.accountId = accountId
        configuration.region = region
        configuration.syncPolicy = .deferred
        configuration.fileSystem = MemoryFileSystem()
        return configuration
    }

    /// The placement of shards over the nodes.
    public func placement() throws(ClusterError) -> Placement {
        do {
            return try Placement(
                shardCount: shardCount, replicationFactor: min(replicationFactor, nodes.count), nodes: nodes)
        } catch {
            throw ClusterError(description: error.description)
        }
    }

    /// Checks the configuration; throws a message an operator can act on.
    public func validate() throws(ClusterError) {
        guard nodeID >= 1 else { throw ClusterError(description: "node id must be at least 1") }
        guard nodes.contains(nodeID) else {
            throw ClusterError(description: "node \(nodeID) is not among the cluster's nodes \(nodes.sorted())")
        }
        let placement = try placement()
        if nodes.count > 1 {
            guard let transport else { throw ClusterError(description: "a cluster of several nodes needs peer links") }
            for node in nodes where node != nodeID && transport.peers[node] == nil {
                throw ClusterError(description: "no peer address for node \(node)")
            }
        }
        guard receiptHandleKey.count >= 16 else {
            throw ClusterError(description: "the receipt-handle key must be at least 16 bytes")
        }
        if let rate = shard.snapshotBytesPerSecondMax, rate < shard.snapshotChunkBytes {
            throw ClusterError(
                description:
                    "the snapshot rate (\(rate) bytes/s) must be at least one piece (\(shard.snapshotChunkBytes) bytes) a second"
            )
        }
        guard (1...64).contains(membership.movingShardsMax), membership.refreshMilliseconds >= 50 else {
            throw ClusterError(description: "moving shards must be 1–64 and the refresh at least 50 ms")
        }
        guard (10...10_000).contains(shard.tickMilliseconds) else {
            throw ClusterError(description: "tick must be 10–10000 ms, got \(shard.tickMilliseconds)")
        }
    }
}

/// How a node follows the cluster configuration (the metadata group) and moves replicas.
public struct MembershipSettings: Sendable, Equatable {
    /// How often a node reads the cluster configuration and brings its replicas, routes and peer links in
    /// line with it, in ms; default 500.
    public var refreshMilliseconds = 500
    /// Shards whose replicas move at the same time, cluster-wide; default 2. Each move streams a snapshot
    /// and the log to a new replica, so this bounds the bandwidth moves take from client traffic.
    public var movingShardsMax = 2
    /// A replica the configuration no longer names (its group removed it) is stopped and its files deleted
    /// once this long has passed with its group settled, in ms; default 10,000 (the other voters apply
    /// the change that removed it first).
    public var retireAfterMilliseconds: Int64 = 10_000

    public init() {}
}

/// A node that cannot start or serve, with a message an operator can act on.
public struct ClusterError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}
