/// The kinds of messages Raft nodes exchange.
public enum MessageKind: UInt8, Sendable, Equatable, CaseIterable {
    /// RequestVote of the pre-vote phase: "would you vote for me?" without disturbing terms.
    case preVote = 1
    case preVoteResponse = 2
    /// RequestVote (§5.2).
    case vote = 3
    case voteResponse = 4
    /// AppendEntries with entries (§5.3).
    case append = 5
    case appendResponse = 6
    /// AppendEntries without entries, carrying the commit index and a read context.
    case heartbeat = 7
    case heartbeatResponse = 8
    /// InstallSnapshot (§7).
    case snapshot = 9
    /// Leadership transfer: start an election now, skipping pre-vote and leases.
    case timeoutNow = 10
    /// A follower asks the leader for a read index; the leader answers with `readIndexResponse`.
    case readIndex = 11
    case readIndexResponse = 12
}

/// A message between two nodes of a group. Fields unused by a kind stay at their defaults.
public struct Message: Sendable, Equatable {
    public var kind: MessageKind
    public var from: NodeID
    public var to: NodeID
    public var term: UInt64
    /// Append: the term of the entry before `entries` (prevLogTerm). Votes: the candidate's last log term.
    /// Append response rejection: the term of the follower's entry at `rejectHint`.
    public var logTerm: UInt64
    /// Append: the index before `entries` (prevLogIndex). Votes: the candidate's last log index.
    /// Append response: the follower's last matching index (or the rejected index).
    public var index: UInt64
    public var entries: [Entry]
    /// The sender's commit index (append, heartbeat).
    public var commit: UInt64
    /// A refused vote or append.
    public var reject: Bool
    /// On a rejected append: the follower's guess of where the logs may match (fast backtracking).
    public var rejectHint: UInt64
    public var snapshot: Snapshot?
    /// ReadIndex requests and the heartbeats that confirm them carry the caller's context.
    public var context: [UInt8]

    public init(
        kind: MessageKind, from: NodeID, to: NodeID, term: UInt64 = 0, logTerm: UInt64 = 0, index: UInt64 = 0,
        entries: [Entry] = [], commit: UInt64 = 0, reject: Bool = false, rejectHint: UInt64 = 0,
        snapshot: Snapshot? = nil, context: [UInt8] = []
    ) {
        self.kind = kind
        self.from = from
        self.to = to
        self.term = term
        self.logTerm = logTerm
        self.index = index
        self.entries = entries
        self.commit = commit
        self.reject = reject
        self.rejectHint = rejectHint
        self.snapshot = snapshot
        self.context = context
    }

    /// Bytes of entries carried.
    var entriesSize: Int { entries.reduce(0) { $0 + $1.size } }
}
