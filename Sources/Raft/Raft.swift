/// What a node had persisted when it restarts: its hard state, its latest snapshot, and the entries after it.
public struct PersistedState: Sendable, Equatable {
    public var hardState: HardState
    public var snapshot: Snapshot?
    /// Entries from `snapshot.index + 1` (or 1), contiguous.
    public var entries: [Entry]

    public init(hardState: HardState = HardState(), snapshot: Snapshot? = nil, entries: [Entry] = []) {
        self.hardState = hardState
        self.snapshot = snapshot
        self.entries = entries
    }
}

/// One node of a Raft group as a pure state machine (etcd-io/raft's shape). Inputs: `tick()`, `step(_:)`
/// with a message from a peer, `propose(_:)`, `proposeMembershipChange(_:)`, `transferLeadership(to:)`,
/// `readIndex(_:)`. Output: `ready()` gathers what the driver must do; `advance(_:)` says it was done.
///
/// ## The driver contract
///
/// For each `Ready`, in this order:
/// 1. persist `snapshot` (if any), then `entries` (replacing any stored entries from the first one's index
///    on) and `hardState` (if any), with one fsync;
/// 2. send `messages` (they may depend on what step 1 persisted); report how each snapshot message ended
///    with `reportSnapshotSent(_:)` or `reportSnapshotFailed(_:)`;
/// 3. install `snapshot` into the state machine (if any), then apply `committedEntries` in order;
///    answer `readStates` whose index has been applied;
/// 4. call `advance(ready)`.
/// One exception to the order of steps 1 and 2: a leader whose `Ready` changes neither term nor vote may
/// send its messages before persisting (its disk write overlaps the followers'; Raft thesis §10.2.1), as
/// long as it steps no response before step 1 has finished: its own entries count towards a commit only
/// through `appendEntries`, and a commit is handed out only in a later `Ready`.
/// Then call `ready()` again only if `hasReady`. Drain all pending input (messages, proposals, ticks)
/// before taking a `Ready`: that is group commit. Entries are held in memory after the latest snapshot;
/// call `compact(_:)` after taking a snapshot to bound that memory.
///
/// No I/O, no clock (time is `tick()`), no global randomness (a `SplitMix64` seeded at init).
public struct Raft: Sendable {
    public let configuration: RaftConfiguration
    var random: SplitMix64
    public internal(set) var term: UInt64 = 0
    public internal(set) var votedFor: NodeID = 0
    var log: RaftLog
    public internal(set) var role = Role.follower
    /// The leader of `term` as far as this node knows; 0 when unknown.
    public internal(set) var leader: NodeID = 0
    public internal(set) var membership: Membership
    /// The newest snapshot, sent to followers that need compacted entries.
    var latestSnapshot: Snapshot?

    var progress: [NodeID: Progress] = [:]
    var votes: [NodeID: Bool] = [:]
    var outbox: [Message] = []
    var electionElapsed = 0
    var heartbeatElapsed = 0
    var randomizedElectionTimeout = 0
    /// The node leadership is being transferred to; 0 when none.
    var transferee: NodeID = 0
    /// The index of the latest membership change entry; a new one waits until it is applied.
    var pendingMembershipIndex: UInt64 = 0
    var pendingReads: [PendingRead] = []
    /// ReadIndex requests that arrived before the leader committed an entry of its term.
    var deferredReads: [(from: NodeID, context: [UInt8])] = []
    var readStates: [ReadState] = []
    var previousSoftState: SoftState
    /// True while the replica re-fetches entries its damaged log lost (see `beginRepair()`).
    public internal(set) var isRepairing = false
    /// The commit index repair must reach; 0 until a leader names it.
    public internal(set) var repairTargetIndex: UInt64 = 0
    var previousHardState: HardState

    /// A ReadIndex request waiting for a quorum of heartbeat acknowledgements.
    struct PendingRead: Sendable, Equatable {
        var index: UInt64
        var context: [UInt8]
        var from: NodeID
        var acknowledgements: Set<NodeID>
    }

    /// A node starting from `persisted` (empty for a new group), with `membership` used when there is no
    /// snapshot (the group's initial members), and its election randomness seeded by `seed`.
    public init(
        configuration: RaftConfiguration, membership: Membership, persisted: PersistedState = PersistedState(),
        seed: UInt64
    ) {
        self.configuration = configuration
        self.random = SplitMix64(seed: seed ^ (configuration.id &* 0x2545_F491_4F6C_DD1D))
        let snapshot = persisted.snapshot
        self.log = RaftLog(
            snapshotIndex: snapshot?.index ?? 0, snapshotTerm: snapshot?.term ?? 0, entries: persisted.entries,
            committed: persisted.hardState.commit)
        self.membership = snapshot?.membership ?? membership
        self.latestSnapshot = snapshot
        self.term = persisted.hardState.term
        self.votedFor = persisted.hardState.votedFor
        self.previousHardState = persisted.hardState
        self.previousSoftState = SoftState(leader: 0, role: .follower)
        becomeFollower(term: term, leader: 0)
    }

    /// The current hard state.
    public var hardState: HardState { HardState(term: term, votedFor: votedFor, commit: log.committed) }
    public var softState: SoftState { SoftState(leader: leader, role: role) }
    public var commitIndex: UInt64 { log.committed }
    public var appliedIndex: UInt64 { log.applied }
    public var lastIndex: UInt64 { log.lastIndex }
    public var firstIndex: UInt64 { log.firstIndex }
    /// The term of the entry at `index`, if this node holds it.
    public func term(at index: UInt64) -> UInt64? { log.term(at: index) }
    /// The entries this node holds from `index` on (for tests and diagnostics).
    public func entries(from index: UInt64) -> [Entry] {
        guard index <= log.lastIndex else { return [] }
        return log.slice(max(index, log.firstIndex), log.lastIndex + 1, bytesMax: .max)
    }

    /// The leader's view of every other member's replication (etcd's `Status.Progress`); empty unless this
    /// node leads. A new leader starts every member over in `probe` with `match` 0.
    public var followerProgress: [NodeID: FollowerProgress] {
        guard role == .leader else { return [:] }
        var view: [NodeID: FollowerProgress] = [:]
        for (node, peer) in progress where node != configuration.id {
            let state: FollowerProgress.State =
                switch peer.state {
                case .probe: .probe
                case .replicate: .replicate
                case .snapshot: .snapshot
                }
            view[node] = FollowerProgress(
                match: peer.match, next: peer.next, state: state, isLearner: peer.isLearner,
                recentActive: peer.recentActive)
        }
        return view
    }

    /// True when this node leads and `node` is a member whose entries are pipelined (no probe, no snapshot
    /// in flight) and whose log is at most `lag` entries behind the commit index: a learner that may be
    /// promoted without stalling commits.
    public func isCaughtUp(_ node: NodeID, lag: UInt64) -> Bool {
        guard role == .leader, node != configuration.id, let peer = progress[node], peer.state == .replicate
        else { return false }
        return peer.match + lag >= log.committed
    }

    /// True when this node leads and a membership change is in its log but not applied yet (a new leader
    /// counts everything in its log as possibly one): the next change must wait.
    public var isMembershipChangePending: Bool { role == .leader && pendingMembershipIndex > log.applied }

    /// The voter this leader is handing its leadership to; 0 when none.
    public var leadershipTransferee: NodeID { transferee }

    /// True when this node may campaign: it is a voter.
    var isPromotable: Bool { membership.allVoters.contains(configuration.id) && !isRepairing }

    /// Queues a message with this node's id and (unless set) term.
    mutating func send(_ message: Message) {
        var message = message
        message.from = configuration.id
        if message.term == 0, message.kind != .preVote, message.kind != .preVoteResponse, message.kind != .readIndex {
            message.term = term
        }
        outbox.append(message)
    }

    // MARK: Inputs

    /// One unit of time: followers and candidates count toward an election, leaders toward a heartbeat and
    /// a quorum check.
    public mutating func tick() {
        if role == .leader { tickLeader() } else { tickElection() }
    }

    /// Proposes application data; only the leader takes it (§5.3). Throws `notLeader` with the leader's id
    /// for the caller to forward.
    public mutating func propose(_ data: [UInt8]) throws(RaftError) {
        try propose([data])
    }

    /// Proposes several entries at once: they are appended together and replicated in one round.
    public mutating func propose(_ batch: [[UInt8]]) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard transferee == 0 else { throw .transferInProgress }
        guard !batch.isEmpty else { return }
        appendEntries(batch.map { Entry(term: term, index: 0, kind: .normal, data: $0) })
        broadcastAppend()
    }

    /// Proposes a membership change (§6). One change at a time: the next waits until the previous is
    /// applied. A change of more than one step goes through joint consensus, left automatically.
    public mutating func proposeMembershipChange(_ change: MembershipChange) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard transferee == 0 else { throw .transferInProgress }
        guard pendingMembershipIndex <= log.applied else {
            throw .membershipChangeRejected("membership change at \(pendingMembershipIndex) is not applied yet")
        }
        if case .failure(let error) = change.applied(to: membership) { throw error }
        appendEntries([Entry(term: term, index: 0, kind: .membershipChange, data: change.encoded())])
        pendingMembershipIndex = log.lastIndex
        broadcastAppend()
    }

    /// Records the application's snapshot at `snapshot.index` (≤ applied) and drops the entries it covers,
    /// except the last `margin` of them: a follower that far behind still catches up from entries, not
    /// the whole snapshot.
    public mutating func compact(_ snapshot: Snapshot, keepingEntries margin: UInt64 = 0) {
        guard snapshot.index > (latestSnapshot?.index ?? log.snapshotIndex), snapshot.index <= log.applied else {
            return
        }
        precondition(
            log.term(at: snapshot.index) == snapshot.term,
            "snapshot term \(snapshot.term) at \(snapshot.index) does not match the log")
        log.compact(through: snapshot.index - min(margin, snapshot.index))
        latestSnapshot = snapshot
    }

    /// The driver could not reach `node` (a send failed): the leader probes it again.
    public mutating func reportUnreachable(_ node: NodeID) {
        guard role == .leader, var peer = progress[node], peer.state == .replicate else { return }
        peer.becomeProbe()
        progress[node] = peer
    }

    /// The driver delivered a snapshot to `node` (etcd's `SnapshotFinish`): the leader probes from after the
    /// snapshot once `node` answers a heartbeat, even if `node`'s answer to the snapshot itself was lost.
    public mutating func reportSnapshotSent(_ node: NodeID) {
        guard role == .leader, var peer = progress[node], peer.state == .snapshot else { return }
        peer.becomeProbe()
        peer.probeSent = true
        progress[node] = peer
    }

    /// The driver failed to deliver a snapshot to `node`: the leader will retry.
    public mutating func reportSnapshotFailed(_ node: NodeID) {
        guard role == .leader, var peer = progress[node], peer.state == .snapshot else { return }
        peer.becomeProbe()
        peer.probeSent = true
        progress[node] = peer
    }
}

/// How far the leader knows one member's log matches its own (see `Raft.followerProgress`).
public struct FollowerProgress: Sendable, Equatable {
    /// How the leader replicates to the member.
    public enum State: Sendable, Equatable {
        /// Finding where the logs match: one append at a time.
        case probe
        /// Appends are pipelined.
        case replicate
        /// A snapshot is on its way.
        case snapshot
    }

    /// The highest index known to be on the member.
    public var match: UInt64
    /// The next index the leader sends.
    public var next: UInt64
    public var state: State
    public var isLearner: Bool
    /// Heard from since the leader's last quorum check.
    public var recentActive: Bool

    public init(match: UInt64, next: UInt64, state: State, isLearner: Bool, recentActive: Bool) {
        self.match = match
        self.next = next
        self.state = state
        self.isLearner = isLearner
        self.recentActive = recentActive
    }
}
