import Raft

extension RaftSimulator {
    /// Handles every running node's `Ready`s until none has more.
    mutating func handleReadies() throws(RaftSimulationFailure) {
        for index in nodes.indices {
            var rounds = 0
            while nodes[index].isUp && nodes[index].raft.hasReady {
                rounds += 1
                guard rounds <= 10_000 else {
                    throw failure("ready", "node \(nodes[index].id) still has a Ready after \(rounds) rounds")
                }
                try handleReady(of: index)
            }
        }
    }

    /// The driver contract: persist the snapshot, the entries and the hard state; send the messages; install
    /// the snapshot and apply the committed entries; advance. A node armed with a crash point stops there.
    mutating func handleReady(of index: Int) throws(RaftSimulationFailure) {
        let id = nodes[index].id
        let ready = nodes[index].raft.ready()
        let crashPoint = nodes[index].crashDuringReady
        nodes[index].crashDuringReady = nil
        try checkLogMatching(ready.entries, on: index)
        if let soft = ready.softState {
            let term = nodes[index].raft.term
            note("node \(id) is \(soft.role) of term \(term)")
        }

        if crashPoint == .beforePersisting { return crashDuringReady(index, at: crashPoint) }
        if let snapshot = ready.snapshot { nodes[index].storage.install(snapshot) }
        if crashPoint == .afterSnapshot { return crashDuringReady(index, at: crashPoint) }
        var entries = ready.entries[...]
        if crashPoint == .afterEntries { entries = entries.prefix(random.below(entries.count + 1)) }
        if let problem = nodes[index].storage.append(Array(entries)) { throw failure("ready entries", problem) }
        if crashPoint == .afterEntries { return crashDuringReady(index, at: crashPoint) }
        if let hardState = ready.hardState { try persist(hardState, on: index) }
        if crashPoint == .afterHardState { return crashDuringReady(index, at: crashPoint) }

        try checkDurableBeforeSending(ready.messages, from: index)
        if crashPoint == .afterSomeMessages {
            send(ready.messages.prefix(random.below(ready.messages.count + 1)))
            return crashDuringReady(index, at: crashPoint)
        }
        send(ready.messages[...])

        if let snapshot = ready.snapshot { try installSnapshot(snapshot, on: index) }
        var committed = ready.committedEntries[...]
        if crashPoint == .afterApplyingSome { committed = committed.prefix(random.below(committed.count + 1)) }
        for entry in committed { try apply(entry, on: index) }
        if crashPoint == .afterApplyingSome { return crashDuringReady(index, at: crashPoint) }
        nodes[index].raft.advance(ready)
        if options.randomFaults && random.chance(0.1) { takeSnapshot(on: index) }
    }

    /// Persists a hard state: its term and commit index never go back, and a vote once cast in a term stays.
    mutating func persist(_ hardState: HardState, on index: Int) throws(RaftSimulationFailure) {
        let stored = nodes[index].storage.hardState
        let id = nodes[index].id
        guard hardState.term >= stored.term, hardState.commit >= stored.commit else {
            throw failure(
                "persisted hard state goes back", "node \(id): \(stored) then \(hardState)")
        }
        if hardState.term == stored.term && stored.votedFor != 0 && hardState.votedFor != stored.votedFor {
            throw failure(
                "one vote per term",
                "node \(id) voted for \(stored.votedFor) then \(hardState.votedFor) in term \(stored.term)")
        }
        nodes[index].storage.hardState = hardState
    }

    /// `node`'s application takes a snapshot of everything it applied and compacts its log up to there.
    public mutating func takeSnapshot(of node: NodeID) {
        takeSnapshot(on: Int(node) - 1, latest: true)
    }

    /// Crashes `node` at `point` of its next `Ready`.
    public mutating func crashDuringNextReady(_ node: NodeID, at point: ReadyCrashPoint) {
        nodes[Int(node) - 1].crashDuringReady = point
    }

    /// The application takes a snapshot of what it applied (up to a random index, or all of it) and the node
    /// compacts its log up to there.
    mutating func takeSnapshot(on index: Int, latest: Bool = false) {
        let raft = nodes[index].raft
        let stateMachine = nodes[index].stateMachine
        let low = max(stateMachine.membershipIndex, raft.firstIndex)
        guard stateMachine.appliedIndex == raft.appliedIndex, low <= raft.appliedIndex else { return }
        let snapshotIndex = latest ? raft.appliedIndex : low + UInt64(random.below(Int(raft.appliedIndex - low) + 1))
        guard let term = raft.term(at: snapshotIndex) else { return }
        let snapshot = Snapshot(
            index: snapshotIndex, term: term, membership: raft.membership,
            data: stateMachine.snapshotData(through: snapshotIndex))
        // Sometimes a margin of entries stays behind the snapshot (catch-up without a snapshot).
        let margin = UInt64(random.below(3) * 2)
        nodes[index].raft.compact(snapshot, keepingEntries: margin)
        nodes[index].storage.compact(snapshot)
        report.snapshotsTaken += 1
        let id = nodes[index].id
        note("node \(id) took a snapshot at \(snapshotIndex)")
    }

    /// Crashes a node between two `Ready`s: it loses everything it did not persist.
    public mutating func crash(_ node: NodeID) {
        let index = Int(node) - 1
        guard nodes[index].isUp else { return }
        nodes[index].isUp = false
        nodes[index].crashDuringReady = nil
        report.crashes += 1
        note("node \(node) crashed")
    }

    mutating func crashDuringReady(_ index: Int, at point: ReadyCrashPoint?) {
        report.crashesDuringReady += 1
        let id = nodes[index].id
        note("node \(id) crashes during a Ready, \(point.map { "\($0)" } ?? "")")
        crash(id)
    }

    /// Restarts a crashed node from what it persisted.
    public mutating func restart(_ node: NodeID) throws(RaftSimulationFailure) {
        let index = Int(node) - 1
        guard !nodes[index].isUp else { return }
        let storage = nodes[index].storage
        nodes[index].restarts += 1
        var configuration = options.raft
        configuration.id = node
        let membership = Membership(voters: Set((1...NodeID(options.voterCount)).map { $0 }))
        let seed = options.seed &+ UInt64(nodes[index].restarts) &* 0x9E37_79B9_7F4A_7C15
        nodes[index].raft = Raft(
            configuration: configuration, membership: membership, persisted: storage.persisted, seed: seed)
        nodes[index].stateMachine = SimulatedStateMachine()
        if let snapshot = storage.snapshot { try restoreStateMachine(from: snapshot, on: index) }
        nodes[index].isUp = true
        nodes[index].termSeen = nodes[index].raft.term
        nodes[index].commitSeen = nodes[index].raft.commitIndex
        report.restarts += 1
        note("node \(node) restarted at term \(storage.hardState.term), commit \(storage.hardState.commit)")
    }
}
