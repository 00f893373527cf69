import Cluster
import Placement
import QueueEngine
import Raft

/// What one seed's run did and found.
public struct SimulationReport: Sendable {
    public var seed: UInt64
    public var nodes: Int
    /// Faults injected, by kind.
    public var faults: [String: Int]
    /// The invariant that failed, with the last events; nil when every check held.
    public var failure: String?
    /// Operations by outcome, and messages acknowledged / received.
    public var operations = 0
    public var acknowledgedSends = 0
    public var receivedMessages = 0
    public var duplicateDeliveries = 0
    /// The most peer frames sent in one simulated second.
    public var busiestSecondFrames = 0
    /// Snapshots installed from a leader, and the pieces of snapshot streams delivered.
    public var snapshotsInstalled = 0
    public var snapshotChunksDelivered = 0
    /// Shards the nodes served, and moves of messages between them that completed.
    public var shards = 1
    public var transfers = 0
    /// Leaderships a shard's leader handed to its preferred leader (leader balancing).
    public var leaderHandOvers = 0
    /// Replica moves that finished (a shard's voter replaced by a node that never hosted it).
    public var movesCompleted = 0
    /// Replicas of each shard; with fewer than the nodes, requests cross nodes as calls: those answered,
    /// and those that timed out or lost their link.
    public var replicationFactor = 3
    public var callsAnswered = 0
    public var callsFailed = 0
    /// A digest of every event, to prove that the same seed runs the same way.
    public var traceDigest: UInt64 = 0
}

/// The seeded whole-cluster simulator (`ferry simulate`): several nodes' real shard drivers (one or two
/// shards, each on 3 or every node; with two, dead-letter redrive moves messages between them; a node
/// that does not host a queue's shard calls one that does, as `NodeRouter` does), real `ShardStorage` on simulated
/// disks and real `QueueEngine`s, driven by one seed through a simulated
/// network and clocks, with clients issuing SQS commands and faults injected (message loss, delay,
/// duplication and reordering; partitions, symmetric, one-way and flapping; crashes, also in the middle
/// of persisting, and restarts; power loss with torn tails; a bit flip or truncation in a minority's
/// log; clock jumps and skew). The checker runs after every step and at the end; see `SimulationChecker`.
public enum ClusterSimulation {
    /// Runs one seed; `nodes` nil lets the seed choose 3–5, `replicationFactor` nil 3 or every node.
    /// `trace`, when given, receives every event as it happens (the report keeps only the last ones).
    public static func run(
        seed: UInt64, nodes: Int? = nil, replicationFactor: Int? = nil, trace: ((String) -> Void)? = nil
    ) -> SimulationReport {
        var world = SimulationWorld(seed: seed, nodeCount: nodes, replicationFactor: replicationFactor)
        world.traceHandler = trace
        return world.run()
    }
}
