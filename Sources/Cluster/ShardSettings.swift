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
    /// Inputs queued for the shard's thread; past this, client requests get ServiceUnavailable, and past
    /// four times this, peer messages are dropped too (Raft resends). Default 65,536.
    public var inboxMax = 65_536
    /// Client commands proposed or forwarded and not yet applied; past this, new ones get
    /// ServiceUnavailable at once. Default 100,000.
    public var pendingMax = 100_000
    /// Proposals forwarded again after a refusal before giving up with ServiceUnavailable.
    public var forwardAttemptsMax = 5

    /// With a log that does not sync each append (`--fsync batch`): fdatasync at most this often, in ms
    /// (at least once per tick while entries arrive). Nil: never sync (`--fsync never`).
    public var syncIntervalMilliseconds: Int?

    public init() {}
}
