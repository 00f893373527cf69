import Logging
import PeerTransport
import Placement
import QueueEngine
import Raft

/// One replica of one shard as a deterministic state machine: a Raft group member whose state machine
/// is a `QueueEngine`, plus the requests of this node's clients. It does no I/O, reads no clock and
/// starts no thread; its shell (`ShardReplica` in production, the whole-cluster simulator in tests)
/// feeds it events and carries out the actions it returns.
///
/// ## Events in
/// - `clientCommand`, `clientReceive`, `clientRead`: a request of this node's client, with the shell's
///   handle for it. Each is answered exactly once by an `.answer`, `.serveRead` or `.failRead` action.
/// - `peerMessage`, `forwarded`, `forwardRejected`, `snapshotChunk`, `snapshotAck`: frames from peers
///   (snapshots stream in pieces with flow control, see `ShardDriver+SnapshotStream`).
/// - `inputsDrained(now:)`: every queued input was given; propose this round's commands as one batch
///   (group commit).
/// - `tick(now:)`: one Raft tick; expire deadlines; the leader advances the shard's time and starts
///   transfers.
/// - `takeReady()` then `persisted(_:now:)`: the persist-and-send step of Raft's driver contract.
/// - `sent(to:delivered:)`, `snapshotWritten`, `snapshotFailed`, `transferFinished`:
///   how an action the shell carried out ended.
/// - `setTargetVoters`: the replicas the placement gives the shard now, preferred leader first; the leader
///   moves the group's voters toward them one step at a time on its ticks (`MoveStep`), then hands
///   leadership to the preferred leader (`ShardDriver+Membership`).
///
/// ## Actions out (`ShardAction`)
/// send frames, answer a client, serve or fail a read, start a snapshot (encoded and written off the
/// driving thread), start a transfer of outbox messages, repair finished (remove the durable repair
/// marker, see `ShardStorage.open`), membership changed (what this replica applied changed the group's
/// members), log, fatal. Long polls are parked inside the
/// driver and answered by `.answer` when a message arrives or their wait ends.
///
/// ## Request identity
/// Every command of this node's clients is proposed with a `RequestKey` (node, incarnation, sequence)
/// unique across restarts: the incarnation is drawn by the shell each time the driver starts. An
/// applied entry answers a request only if its key and its command are that request's. Every replica
/// keeps `AppliedRequests`, so a command proposed again to a new leader applies once.
///
/// ## Time
/// The leader stamps each batch with the shard's time: the newest stamp it knows, advanced by its
/// monotonic clock since (at most `ShardSettings.stampAdvanceMaxMilliseconds` at once). Only a lone voter
/// catches the shard's time up to its wall clock when it becomes leader; in a group one node's clock
/// never steps it. A wall-clock step changes nothing; a new leader whose clock lags does not freeze the
/// shard's time. Ticks and deadlines use the monotonic clock.
package struct ShardDriver {
    let shard: ShardID
    let nodeID: NodeID
    /// Drawn by the shell each time the driver starts; never 0.
    let incarnation: UInt64
    let settings: ShardSettings
    let engineConfiguration: QueueEngineConfiguration

    package var raft: Raft
    /// The replicated queue state, as of `raft.appliedIndex`.
    package var engine: QueueEngine
    /// The replicated table of applied client commands.
    package var applied: AppliedRequests

    /// Commands of this node's clients, by sequence, from proposal until applied or expired.
    package var pending: [UInt64: PendingProposal] = [:]
    /// Sequences to propose (or forward) at the end of this round.
    var unproposed: [UInt64] = []
    /// Sequences held until a leader is known.
    var waitingForLeader: [UInt64] = []
    /// Reads waiting for their read index, by sequence (the ReadIndex context is incarnation + sequence).
    var reads: [UInt64: PendingRead] = [:]
    /// Long polls parked by queue, then by sequence (oldest first when woken).
    var parked: [String: [UInt64: ParkedReceive]] = [:]
    package var parkedCount = 0
    /// Per queue: the timer (shard time) that last woke a parked receiver, kept while it is the queue's
    /// next timer, so that a receive that came back empty (stamped before the timer ended) does not wake
    /// one again for the same timer. At most one entry per queue.
    var timerWakes: [String: Int64] = [:]
    /// ReceiveMessage commands proposed so far (a parked receiver proposes none until woken).
    var receiveProposals = 0
    var nextSequence: UInt64 = 1

    /// The newest shard time this node stamped or applied, and its monotonic time then.
    var lastStampMilliseconds: Int64 = 0
    var monotonicAtLastStamp: Int64 = 0
    /// When the leader next proposes `advanceTime` (monotonic).
    var nextAdvanceMilliseconds: Int64 = 0

    var snapshotIndex: UInt64 = 0
    /// The newest snapshot's size, and the engine clock of the state it holds (the time of its newest
    /// command, epoch milliseconds): metrics.
    var snapshotBytes = 0
    var snapshotClockMilliseconds: Int64 = 0
    /// The engine clock of the snapshot being taken.
    var snapshottingClockMilliseconds: Int64 = 0
    var isSnapshotting = false
    /// Snapshots streaming to followers, and arriving from leaders, by peer (`ShardDriver+SnapshotStream`).
    var outgoingSnapshots: [NodeID: OutgoingSnapshot] = [:]
    /// Bytes of snapshot pieces this replica may send now (`snapshotBytesPerSecondMax`), and the
    /// monotonic time it was last refilled at (nil before the first tick).
    var snapshotSendBudget = Int.max
    var snapshotBudgetRefilledAt: Int64?
    var incomingSnapshots: [NodeID: IncomingSnapshot] = [:]
    /// The stream each peer last completed here: its pieces arriving again are acknowledged as whole.
    var completedSnapshots: [NodeID: SnapshotStreamID] = [:]
    var nextSnapshotStream: UInt64 = 1
    var isTransferring = false
    /// Target shards whose last transfer failed: not tried again before `retryAt` (monotonic), and the
    /// current back-off.
    var transferBackoff: [UInt32: (retryAt: Int64, delay: Int64)] = [:]
    /// Term and vote as last persisted.
    var persistedTerm: UInt64 = 0
    var persistedVote: NodeID = 0
    var isRepairLogged = false
    /// The replicas the placement gives this shard now, its preferred leader first; its leader moves the
    /// group's voters toward them and hands leadership to the preferred one (`ShardDriver+Membership`).
    /// Nil: the group's membership and leadership are left as they are.
    package var targetVoters: [NodeID]?
    /// The move step last carried out (logged when it changes).
    var lastMoveStep: MoveStep?
    /// Since when (monotonic ms) this node has led with the group settled; nil when it does not.
    var settledLeaderSince: Int64?
    /// The last hand-over to the preferred leader while this node still leads (monotonic ms), for
    /// `leaderBalanceRetryMilliseconds`; nil once it does not lead.
    var lastBalanceTransfer: Int64?
    /// The membership last reported by `.membershipChanged`.
    var reportedMembership: Membership
    /// The leader as last reported in a soft state.
    package var knownLeader: NodeID = 0

    var actions: [ShardAction] = []

    /// A replica restarting from what its storage holds.
    package init(
        shard: ShardID, nodeID: NodeID, incarnation: UInt64, voters: Set<NodeID>, persisted: PersistedState,
        engineConfiguration: QueueEngineConfiguration, settings: ShardSettings, raftConfiguration: RaftConfiguration,
        seed: UInt64, repair: Bool, now: ShardTime
    ) throws {
        precondition(incarnation != 0, "a driver's incarnation must not be 0")
        self.shard = shard
        self.nodeID = nodeID
        self.incarnation = incarnation
        self.settings = settings
        self.engineConfiguration = engineConfiguration
        // A log without a snapshot may hold entries written under the first rules: they replay under them
        // until the `adoptRules` entry a leader proposes (`leadershipChanged`).
        var engine = QueueEngine(configuration: engineConfiguration, rules: Rules.first)
        var applied = AppliedRequests()
        if let snapshot = persisted.snapshot {
            let decoded = try ShardSnapshotCodec.decode(snapshot.data)
            engine = try QueueEngine(configuration: engineConfiguration, snapshot: decoded.engineSnapshot)
            applied = decoded.applied
            snapshotIndex = snapshot.index
            snapshotBytes = snapshot.data.count
            snapshotClockMilliseconds = engine.clock
        }
        self.engine = engine
        self.applied = applied
        self.raft = Raft(
            configuration: raftConfiguration, membership: Membership(voters: voters), persisted: persisted, seed: seed)
        reportedMembership = raft.membership
        lastStampMilliseconds = engine.clock
        monotonicAtLastStamp = now.monotonicMilliseconds
        (persistedTerm, persistedVote) = (persisted.hardState.term, persisted.hardState.votedFor)
        if repair {
            raft.beginRepair()
            isRepairLogged = true
        }
    }

    /// Takes the actions gathered so far.
    mutating func takeActions() -> [ShardAction] {
        defer { actions = [] }
        return actions
    }

    mutating func takeSequence() -> UInt64 {
        defer { nextSequence += 1 }
        return nextSequence
    }

    /// The lowest sequence this node still waits for: replicas may forget the ones below it.
    var sequenceFloor: UInt64 { pending.keys.min() ?? nextSequence }
}

/// A command of this node's client, from proposal until its entry applies (or it times out).
package struct PendingProposal {
    var client: ClientHandle
    package var command: Command
    package var envelope: ProposalEnvelope
    /// When to give up (monotonic ms).
    var deadlineMilliseconds: Int64
    /// For a long-polling receive: until when an empty result parks instead of answering (monotonic ms).
    var waitUntilMilliseconds: Int64?
    var forwardAttempts = 0
}

/// A read waiting for its read index, then for that index to apply.
struct PendingRead {
    var client: ClientHandle
    var index: UInt64?
    /// Monotonic ms.
    var deadlineMilliseconds: Int64
}

/// A long-polling receive parked until a message may be available or its wait ends.
struct ParkedReceive {
    var client: ClientHandle
    var request: ReceiveMessageRequest
    /// Monotonic ms.
    var waitUntilMilliseconds: Int64
}
