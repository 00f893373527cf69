/// Settings of one Raft node. Times are in ticks: the driver calls `Raft.tick()` at a fixed interval.
public struct RaftConfiguration: Sendable, Equatable {
    /// This node's id (non-zero).
    public var id: NodeID
    /// Ticks without hearing from a leader before a follower campaigns; each node draws its timeout from
    /// `electionTicks ..< 2 × electionTicks` with its seeded generator (§5.2). Default 10, range 2–10,000,
    /// and more than `heartbeatTicks`.
    public var electionTicks = 10
    /// Ticks between a leader's heartbeats. Default 1, range 1–`electionTicks - 1`.
    public var heartbeatTicks = 1
    /// Bytes of entries in one append message (at least one entry is always sent). Default 1 MiB.
    public var messageBytesMax = 1 << 20
    /// Appends in flight to one follower in the replicate state (pipelining). Default 256, range 1–65,536.
    public var inflightMessagesMax = 256
    /// Bytes of entries in flight to one follower. Default 32 MiB.
    public var inflightBytesMax = 32 << 20
    /// Bytes of committed entries handed out in one `Ready`. Default 16 MiB.
    public var committedBytesMax = 16 << 20
    /// Campaign in two phases so a node that was cut off cannot raise terms and disrupt a healthy leader.
    public var preVote = true
    /// A leader that has not heard from a quorum for `electionTicks` steps down, and followers that heard
    /// from a leader within `electionTicks` ignore vote requests (leader lease). Default on.
    public var checkQuorum = true

    public init(id: NodeID) {
        self.id = id
    }

    /// Checks the ranges; the message says which setting is wrong.
    public func validate() throws(RaftConfigurationError) {
        guard id != 0 else { throw RaftConfigurationError("id must not be 0") }
        guard (2...10_000).contains(electionTicks) else {
            throw RaftConfigurationError("electionTicks must be 2–10000")
        }
        guard heartbeatTicks >= 1, heartbeatTicks < electionTicks else {
            throw RaftConfigurationError("heartbeatTicks must be 1–\(electionTicks - 1)")
        }
        guard (1...65_536).contains(inflightMessagesMax) else {
            throw RaftConfigurationError("inflightMessagesMax must be 1–65536")
        }
        guard messageBytesMax > 0, inflightBytesMax > 0, committedBytesMax > 0 else {
            throw RaftConfigurationError("byte limits must be positive")
        }
    }
}

/// An invalid `RaftConfiguration`.
public struct RaftConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A small seeded generator (SplitMix64) for election timeouts: deterministic, no global randomness.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
