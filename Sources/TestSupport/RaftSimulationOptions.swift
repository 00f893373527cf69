import Raft

/// Settings of one simulated run of a Raft group. Everything random in the run (the schedule, the faults, the
/// nodes' election timeouts) comes from `seed`, so a run is replayed exactly from its options.
public struct RaftSimulationOptions: Sendable, Equatable, CustomStringConvertible {
    /// Seeds the whole run.
    public var seed: UInt64
    /// Nodes `1...voterCount` are the group's voters at the start. Default 3, range 1–9.
    public var voterCount: Int
    /// Nodes `voterCount + 1 ... voterCount + spareCount` exist from the start but join the group only by a
    /// membership change. Default 0.
    public var spareCount: Int
    /// Steps of the faulty phase. A step is one tick of every node's clock followed by up to `roundsPerStep`
    /// rounds of message delivery. Default 300.
    public var steps: Int
    /// Inject random faults and client traffic during the faulty phase. Default true; scenario tests turn
    /// it off and drive the simulator themselves.
    public var randomFaults: Bool
    /// Propose random membership changes during the faulty phase. Default false.
    public var membershipChanges: Bool
    /// Rounds of message delivery in one step. Default 3.
    public var roundsPerStep = 3
    /// Settings of every node (its `id` is set per node).
    public var raft: RaftConfiguration
    /// Bound on the liveness phase, in ticks. Default 50 × `raft.electionTicks`.
    public var livenessTicksMax: Int
    /// Records a trace of events (slower); a failure carries its tail.
    public var tracing = false

    /// A run of `voterCount` voters with Raft's defaults, except small message and batch limits so that
    /// batching, pipelining and flow control are exercised.
    public init(
        seed: UInt64, voterCount: Int = 3, spareCount: Int = 0, steps: Int = 300, randomFaults: Bool = true,
        membershipChanges: Bool = false
    ) {
        self.seed = seed
        self.voterCount = voterCount
        self.spareCount = spareCount
        self.steps = steps
        self.randomFaults = randomFaults
        self.membershipChanges = membershipChanges
        var raft = RaftConfiguration(id: 1)
        raft.messageBytesMax = 256
        raft.inflightMessagesMax = 4
        raft.inflightBytesMax = 1024
        raft.committedBytesMax = 512
        self.raft = raft
        self.livenessTicksMax = 50 * raft.electionTicks
    }

    /// The mix the CI runs: the seed picks 3 or 5 voters, with or without membership changes (and then two
    /// spare nodes), the heartbeat interval, the flow-control limits, and now and then pre-vote or
    /// check-quorum off.
    public static func mixed(seed: UInt64, steps: Int = 300) -> RaftSimulationOptions {
        var random = SplitMix64(seed: seed ^ 0x5EED_0F_5C4E_D01E)
        let membershipChanges = (seed / 2) % 2 == 1
        var options = RaftSimulationOptions(
            seed: seed, voterCount: seed % 2 == 0 ? 3 : 5, spareCount: membershipChanges ? 2 : 0, steps: steps,
            membershipChanges: membershipChanges)
        options.raft.heartbeatTicks = 1 + Int(random.next() % 3)
        options.raft.inflightMessagesMax = 1 + Int(random.next() % 8)
        options.raft.messageBytesMax = 64 + Int(random.next() % 512)
        options.raft.inflightBytesMax = 256 + Int(random.next() % 4096)
        options.raft.committedBytesMax = 64 + Int(random.next() % 1024)
        let protocolVariant = random.next() % 8
        options.raft.preVote = protocolVariant != 0
        options.raft.checkQuorum = protocolVariant != 1
        return options
    }

    /// Every node's id.
    public var nodeIDs: [NodeID] { (1...NodeID(voterCount + spareCount)).map { $0 } }

    /// The options on one line, for failure reports.
    public var description: String {
        "seed \(seed): \(voterCount) voters + \(spareCount) spare, \(steps) steps, faults \(randomFaults), "
            + "membership changes \(membershipChanges), heartbeatTicks \(raft.heartbeatTicks), "
            + "inflightMessagesMax \(raft.inflightMessagesMax), messageBytesMax \(raft.messageBytesMax), "
            + "preVote \(raft.preVote), checkQuorum \(raft.checkQuorum)"
    }
}

/// An invariant the simulator saw broken, with what is needed to replay it.
public struct RaftSimulationFailure: Error, Sendable, CustomStringConvertible {
    /// The seed of the run: `FERRY_RAFT_SEED=<seed>` replays it.
    public var seed: UInt64
    /// The step at which the invariant broke.
    public var step: Int
    /// Which invariant (or "liveness").
    public var invariant: String
    /// The values that broke it.
    public var detail: String
    /// The last events before the failure, when the run was traced.
    public var trace: [String]

    /// What broke, where, and how to replay it.
    public var description: String {
        "Raft simulation seed \(seed) failed at step \(step): \(invariant): \(detail) "
            + "(replay with FERRY_RAFT_SEED=\(seed))"
    }
}

/// What happened in a run, for the test's summary.
public struct RaftSimulationReport: Sendable, Equatable {
    /// Steps run, faulty and liveness phases together.
    public var steps = 0
    /// Ticks the liveness phase needed to converge.
    public var livenessTicks = 0
    /// Messages the nodes handed to the network.
    public var messagesSent = 0
    /// Messages stepped into their receiver (duplicates count twice).
    public var messagesDelivered = 0
    /// Messages lost, cut by a partition, or addressed to a node that was down.
    public var messagesDropped = 0
    /// Messages the network delivered twice.
    public var messagesDuplicated = 0
    /// Crashes, wherever they happened.
    public var crashes = 0
    /// Crashes in the middle of handling a `Ready`.
    public var crashesDuringReady = 0
    /// Restarts from persisted state.
    public var restarts = 0
    /// Partitions made (healed ones included).
    public var partitions = 0
    /// Proposals a leader took.
    public var proposalsTaken = 0
    /// Proposals refused (`notLeader`, `transferInProgress`).
    public var proposalsRefused = 0
    /// Distinct payloads applied somewhere, hence committed.
    public var proposalsAcknowledged = 0
    /// Terms in which some node became leader.
    public var leadersElected = 0
    /// Membership changes proposed to a node.
    public var membershipChangesProposed = 0
    /// Membership changes refused (not the leader, one still pending, invalid).
    public var membershipChangesRefused = 0
    /// Leadership transfers asked of a leader.
    public var leadershipTransfers = 0
    /// Snapshots taken by a node's application (followed by log compaction).
    public var snapshotsTaken = 0
    /// Snapshots a follower received from its leader and installed.
    public var snapshotsInstalled = 0

    /// An empty report.
    public init() {}
}
