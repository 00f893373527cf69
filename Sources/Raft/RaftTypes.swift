/// A node's identity within a Raft group; 0 means "none".
public typealias NodeID = UInt64

/// What an entry carries.
public enum EntryKind: UInt8, Sendable, Equatable {
    /// Application data (may be empty: a new leader's no-op, §8).
    case normal = 0
    /// A `MembershipChange`, encoded with `MembershipChange.encoded()`.
    case membershipChange = 1
}

/// One log entry (§5.3).
public struct Entry: Sendable, Equatable {
    public var term: UInt64
    public var index: UInt64
    public var kind: EntryKind
    public var data: [UInt8]

    public init(term: UInt64, index: UInt64, kind: EntryKind = .normal, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.kind = kind
        self.data = data
    }

    /// Bytes counted against message and in-flight limits.
    var size: Int { data.count + 24 }
}

/// What a node persists before answering (Figure 2): currentTerm, votedFor, and the commit index.
public struct HardState: Sendable, Equatable {
    public var term: UInt64
    /// The candidate voted for in `term`; 0 when none.
    public var votedFor: NodeID
    public var commit: UInt64

    public init(term: UInt64 = 0, votedFor: NodeID = 0, commit: UInt64 = 0) {
        self.term = term
        self.votedFor = votedFor
        self.commit = commit
    }
}

/// A node's role (§5.1), with pre-candidate for the pre-vote phase (§9.6 of the Raft thesis).
public enum Role: Sendable, Equatable {
    case follower, preCandidate, candidate, leader
}

/// Volatile state the driver may want to observe: who leads and what this node is.
public struct SoftState: Sendable, Equatable {
    public var leader: NodeID
    public var role: Role

    public init(leader: NodeID, role: Role) {
        self.leader = leader
        self.role = role
    }
}

/// A state-machine snapshot and the log position it replaces (§7).
public struct Snapshot: Sendable, Equatable {
    public var index: UInt64
    public var term: UInt64
    /// The membership in force at `index`.
    public var membership: Membership
    public var data: [UInt8]

    public init(index: UInt64, term: UInt64, membership: Membership, data: [UInt8]) {
        self.index = index
        self.term = term
        self.membership = membership
        self.data = data
    }
}

/// The answer to a linearizable read (ReadIndex, §6.4 of the thesis): once the state machine has applied
/// `index`, reading it reflects every write acknowledged before the request.
public struct ReadState: Sendable, Equatable {
    public var index: UInt64
    /// The caller's request identifier, as given to `readIndex(_:)`.
    public var context: [UInt8]

    public init(index: UInt64, context: [UInt8]) {
        self.index = index
        self.context = context
    }
}

/// Why a request to Raft was refused.
public enum RaftError: Error, Sendable, Equatable {
    /// Only the leader takes proposals; `leader` is who leads now (0 when unknown): forward it there.
    case notLeader(leader: NodeID)
    /// A membership change is still pending, or the change is not valid for the current membership.
    case membershipChangeRejected(String)
    /// A leadership transfer is in progress: proposals wait until it ends.
    case transferInProgress
}
