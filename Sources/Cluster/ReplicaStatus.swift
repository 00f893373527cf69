import Placement
import Raft

/// One replica's Raft state, as `ferry cluster status` shows it and as its leader reports the group's
/// voters to the cluster configuration.
public struct ReplicaStatus: Sendable, Equatable, Codable {
    /// A follower as its leader sees it.
    public struct Follower: Sendable, Equatable, Codable {
        public var node: NodeID
        /// The highest log index known to be on it.
        public var match: UInt64
        public var isLearner: Bool
        /// Heard from within the last election timeout.
        public var recentActive: Bool
    }

    public var shard: UInt32
    /// `leader`, `follower`, `candidate` or `pre-candidate`.
    public var role: String
    public var term: UInt64
    /// The leader this replica knows (0: none).
    public var leader: NodeID
    public var commitIndex: UInt64
    public var appliedIndex: UInt64
    public var lastIndex: UInt64
    /// The voters; while joint, the incoming ones.
    public var voters: [NodeID]
    /// The outgoing voters while joint; empty otherwise.
    public var outgoingVoters: [NodeID]
    public var learners: [NodeID]
    /// What the replica moves the group toward (meaningful on the leader); empty when it has no target.
    public var target: [NodeID]
    /// On the leader: every other member's progress. Empty elsewhere.
    public var followers: [Follower]
    public var isRepairing: Bool
    /// Client commands proposed or forwarded here and not yet applied.
    public var pendingProposals: Int
    /// The log index of this replica's newest snapshot (0: none yet), its size, and the time of the newest
    /// command it holds (epoch milliseconds; 0: none yet).
    public var snapshotIndex: UInt64
    public var snapshotBytes: Int
    public var snapshotTimestampMilliseconds: Int64

    init(shard: ShardID, driver: ShardDriver) {
        let raft = driver.raft
        self.shard = shard.rawValue
        role = "\(raft.role)"
        term = raft.term
        leader = raft.leader
        commitIndex = raft.commitIndex
        appliedIndex = raft.appliedIndex
        lastIndex = raft.lastIndex
        voters = raft.membership.voters.sorted()
        outgoingVoters = raft.membership.outgoingVoters.sorted()
        learners = raft.membership.learners.union(raft.membership.learnersNext).sorted()
        target = driver.targetVoters ?? []
        followers =
            raft.role == .leader
            ? raft.followerProgress.map {
                Follower(
                    node: $0.key, match: $0.value.match, isLearner: $0.value.isLearner,
                    recentActive: $0.value.recentActive)
            }.sorted { $0.node < $1.node } : []
        isRepairing = raft.isRepairing
        pendingProposals = driver.pending.count
        snapshotIndex = driver.snapshotIndex
        snapshotBytes = driver.snapshotBytes
        snapshotTimestampMilliseconds = driver.snapshotClockMilliseconds
    }

    /// Every voter, both configurations while joint, in `order`'s order where it names them (preferred
    /// leader first), then ascending.
    public func allVoters(orderedLike order: [NodeID]) -> [NodeID] {
        let all = Set(voters).union(outgoingVoters)
        return order.filter(all.contains) + all.subtracting(order).sorted()
    }
}
