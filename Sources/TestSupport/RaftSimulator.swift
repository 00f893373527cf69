import Raft

/// A deterministic simulation of one Raft group (TigerBeetle's VOPR in miniature): N nodes, each a `Raft`
/// with simulated durable storage and a small state machine, a network that loses, duplicates, delays and
/// reorders messages and can be partitioned (also one way), nodes that crash (also half-way through a
/// `Ready`) and restart from what they persisted, clocks that skip or double ticks, client proposals,
/// membership changes and leadership transfers. Everything comes from one seed; there is no clock and no
/// global randomness, so a seed replays a run exactly.
///
/// The invariants (one leader per term, log matching, leader completeness, state-machine safety, terms,
/// commit indexes and votes that never go back, no acknowledged proposal lost) are checked after every
/// round of every step; the first broken one ends the run with a `RaftSimulationFailure` naming the seed
/// and step. `run()` is the faulty phase followed by the liveness phase: heal everything, then a leader
/// must be elected and every member must apply everything within `livenessTicksMax` ticks.
public struct RaftSimulator: Sendable {
    /// The run's settings, seed included.
    public let options: RaftSimulationOptions
    var random: SplitMix64
    /// Indexed by `id - 1`.
    var nodes: [SimulatedNode]
    var network = SimulatedNetwork()
    var record = InvariantRecord()
    var client = SimulatedClient()
    /// Steps run so far.
    public private(set) var step = 0
    /// What happened so far.
    public internal(set) var report = RaftSimulationReport()
    var traceLines: [String] = []

    /// A group whose voters are `1...options.voterCount`; spare nodes start with the same initial membership
    /// (not including them) and an empty log.
    public init(options: RaftSimulationOptions) {
        self.options = options
        self.random = SplitMix64(seed: options.seed)
        let membership = Membership(voters: Set((1...NodeID(options.voterCount)).map { $0 }))
        self.nodes = options.nodeIDs.map { id in
            var configuration = options.raft
            configuration.id = id
            return SimulatedNode(
                id: id, raft: Raft(configuration: configuration, membership: membership, seed: options.seed))
        }
    }

    /// Runs the faulty phase (`options.steps` steps), then the liveness phase; returns what happened.
    public mutating func run() throws(RaftSimulationFailure) -> RaftSimulationReport {
        for _ in 0..<options.steps { try runStep() }
        try healAndAwaitConvergence()
        return report
    }

    /// Runs `count` steps (with random faults and traffic when `options.randomFaults`).
    public mutating func runSteps(_ count: Int) throws(RaftSimulationFailure) {
        for _ in 0..<count { try runStep() }
    }

    /// Runs steps until `condition` holds, at most `stepsMax`; returns whether it held.
    public mutating func runUntil(
        stepsMax: Int, _ condition: (RaftSimulator) -> Bool
    ) throws(RaftSimulationFailure) -> Bool {
        for _ in 0..<stepsMax {
            if condition(self) { return true }
            try runStep()
        }
        return condition(self)
    }

    /// One step: random events (when enabled), a tick of every clock, then rounds of message delivery, each
    /// followed by the handling of every `Ready` and a check of every invariant.
    mutating func runStep(faulty: Bool = true) throws(RaftSimulationFailure) {
        step += 1
        report.steps += 1
        let injectsFaults = faulty && options.randomFaults
        if injectsFaults { try injectRandomEvents() }
        for index in nodes.indices where nodes[index].isUp {
            var ticks = 1
            if injectsFaults && random.chance(0.03) { ticks = random.chance(0.5) ? 0 : 2 }
            for _ in 0..<ticks { nodes[index].raft.tick() }
        }
        try handleReadies()
        try checkInvariants()
        for _ in 0..<options.roundsPerStep {
            guard try deliverDueMessages() else { break }
            try handleReadies()
            try checkInvariants()
        }
    }

    /// Delivers the messages due now; returns whether there were any.
    mutating func deliverDueMessages() throws(RaftSimulationFailure) -> Bool {
        let due = network.takeDue(now: step, random: &random)
        for message in due {
            let sender = Int(message.from) - 1
            let receiver = Int(message.to) - 1
            guard nodes.indices.contains(receiver) else {
                throw failure("addressing", "message \(message.kind) from \(message.from) to unknown \(message.to)")
            }
            let lost = network.lossRate > 0 && random.chance(network.lossRate)
            if lost || network.isBlocked(from: message.from, to: message.to) || !nodes[receiver].isUp {
                report.messagesDropped += 1
                // The sender's transport notices a failed snapshot stream, and now and then a connection that
                // failed; a lost message goes unnoticed.
                guard nodes[sender].isUp else { continue }
                if message.kind == .snapshot {
                    nodes[sender].raft.reportSnapshotFailed(message.to)
                } else if !lost && random.chance(0.5) {
                    nodes[sender].raft.reportUnreachable(message.to)
                }
                continue
            }
            report.messagesDelivered += 1
            note(
                "\(message.kind) \(message.from)→\(message.to) term \(message.term) index \(message.index) "
                    + "logTerm \(message.logTerm) entries \(message.entries.count) commit \(message.commit)"
                    + (message.reject ? " reject hint \(message.rejectHint)" : "")
                    + (message.snapshot.map { " snapshot \($0.index)" } ?? ""))
            nodes[receiver].raft.step(message)
            if message.kind == .snapshot && nodes[sender].isUp { nodes[sender].raft.reportSnapshotSent(message.to) }
        }
        return !due.isEmpty
    }

    /// Puts a node's messages on the network.
    mutating func send(_ messages: ArraySlice<Message>) {
        for message in messages {
            report.messagesSent += 1
            let copies = network.send(message, now: step, random: &random)
            if copies == 2 { report.messagesDuplicated += 1 }
        }
    }

    // MARK: Observing

    /// Every node's id.
    public var nodeIDs: [NodeID] { options.nodeIDs }

    /// The Raft state of `node` (as it was when it crashed, if it is down).
    public func raft(_ node: NodeID) -> Raft { nodes[Int(node) - 1].raft }

    /// True when `node` is running.
    public func isUp(_ node: NodeID) -> Bool { nodes[Int(node) - 1].isUp }

    /// The payload ids `node`'s state machine applied, in order.
    public func appliedPayloads(_ node: NodeID) -> [UInt64] { nodes[Int(node) - 1].stateMachine.payloads.map(\.id) }

    /// The running leader of the highest term, if any.
    public var leader: NodeID? {
        nodes.filter { $0.isUp && $0.raft.role == .leader }.max { $0.raft.term < $1.raft.term }?.id
    }

    /// Payloads applied somewhere, hence committed: none of them may ever be lost.
    public var acknowledgedPayloads: Set<UInt64> { record.acknowledged }

    /// The last traced events (when `options.tracing`).
    public var trace: [String] { traceLines }

    // MARK: Failures and tracing

    func failure(_ invariant: String, _ detail: String) -> RaftSimulationFailure {
        RaftSimulationFailure(seed: options.seed, step: step, invariant: invariant, detail: detail, trace: traceLines)
    }

    mutating func note(_ text: @autoclosure () -> String) {
        guard options.tracing else { return }
        traceLines.append("step \(step): \(text())")
        if traceLines.count > 20_000 { traceLines.removeFirst(5_000) }
    }
}
