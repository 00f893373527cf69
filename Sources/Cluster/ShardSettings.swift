/// Timing and limits of a shard replica.
public struct ShardSettings: Sendable, Equatable {
    /// One Raft tick, in milliseconds; default 100. Elections start after 10–20 ticks without a leader,
    /// and a leader sends heartbeats every tick.
    public var tickMilliseconds = 100
    /// How often the leader advances queue time (delays, visibility, retention, move tasks), in ms.
    public var advanceTimeMilliseconds = 1_000
    /// A command not applied within this many milliseconds is answered ServiceUnavailable (the client
    /// retries); default 10,000.
    public var proposalTimeoutMilliseconds = 10_000
    /// The most a leader advances the shard's time between two stamps, in ms of its monotonic clock;
    /// default 10,000. Bounds the jump a stale reference could cause (the leader advances time every
    /// `advanceTimeMilliseconds` anyway).
    public var stampAdvanceMaxMilliseconds: Int64 = 10_000
    /// Commands applied between snapshots of the queue engine; default 100,000.
    public var snapshotEntries: UInt64 = 100_000
    /// Entries kept in the log behind a snapshot, so a follower a little behind catches up from entries
    /// rather than a whole snapshot; default 10,000. Kept while the node runs (a restart starts after
    /// its snapshot).
    public var compactionMarginEntries: UInt64 = 10_000
    /// A snapshot goes to a follower in pieces of this many bytes; default 1 MiB.
    public var snapshotChunkBytes = 1 << 20
    /// Snapshot pieces sent and not yet acknowledged, per follower; default 4 (flow control).
    public var snapshotChunksInFlight = 4
    /// The most bytes of snapshots this replica streams per second, over all its followers (a token bucket
    /// refilled on each tick, holding at most one flow-control window); default 32 MiB/s. A replica moving
    /// to a new node is caught up by a snapshot, so this, times `MembershipSettings.movingShardsMax`,
    /// bounds what moves take from client traffic. Nil: unbounded.
    public var snapshotBytesPerSecondMax: Int? = 32 << 20
    /// With no acknowledgment for this long, the leader sends again from the last acknowledged byte, in
    /// ms; default 2,000.
    public var snapshotChunkTimeoutMilliseconds: Int64 = 2_000
    /// Resends in a row without progress before the leader gives a snapshot up (Raft sends a new one
    /// once the follower answers again); default 5.
    public var snapshotStallsMax = 5
    /// The largest snapshot a follower accepts from a leader, in bytes; default 16 GiB. One per peer is
    /// assembled at a time, and one left unfinished for `snapshotChunkTimeoutMilliseconds` ×
    /// `snapshotStallsMax` × 2 is dropped.
    public var snapshotBytesMax = 16 << 30
    /// A learner joining the group (a replica moving in) is promoted to voter once it is at most this many
    /// entries behind the commit index and replicating without a probe or snapshot; default 1,000.
    public var promotionLagEntries: UInt64 = 1_000
    /// A leader that is not the shard's preferred leader (the first of its target voters: placement's
    /// pick, which spreads leaders evenly over nodes) hands leadership to it once it has led this long
    /// with the group settled and the preferred leader caught up and heard from, in ms; default 10,000.
    /// A node back from a failure so gets its share of leaderships again.
    public var leaderBalanceDelayMilliseconds: Int64 = 10_000
    /// After a hand-over to the preferred leader that did not take (this node still leads), the next try
    /// waits this long, in ms; default 60,000.
    public var leaderBalanceRetryMilliseconds: Int64 = 60_000
    /// Inputs queued for the shard's thread; past this, client requests get ServiceUnavailable, and past
    /// four times this, peer messages are dropped too (Raft resends). Default 65,536.
    public var inboxMax = 65_536
    /// Client commands proposed or forwarded and not yet applied; past this, new ones get
    /// ServiceUnavailable at once. Default 100,000.
    public var pendingMax = 100_000
    /// What one queue may hold: messages, and bytes of bodies and attributes; defaults 1,000,000 and 1 GiB.
    /// Past either, a send is refused with `RequestThrottled` (every AWS SDK retries it) before it is logged.
    public var queueMessagesMax = 1_000_000
    public var queueBytesMax = 1 << 30
    /// What one shard (all its queues) may hold; defaults 2,000,000 messages and 2 GiB. A node's memory
    /// holds every message of the shards it hosts, so these bound it: past either, sends are refused as
    /// above.
    public var shardMessagesMax = 2_000_000
    public var shardBytesMax = 2 << 30
    /// Proposals forwarded again after a refusal before giving up with ServiceUnavailable.
    public var forwardAttemptsMax = 5

    /// With a log that does not sync each append (`--fsync batch`): fdatasync at most this often, in ms
    /// (at least once per tick while entries arrive). Nil: never sync (`--fsync never`).
    public var syncIntervalMilliseconds: Int?

    public init() {}
}
