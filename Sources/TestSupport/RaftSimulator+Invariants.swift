import Raft

/// What the checker has seen across all nodes, kept so each invariant is checked incrementally.
struct InvariantRecord: Sendable {
    struct EntryKey: Hashable, Sendable {
        var index: UInt64
        var term: UInt64
    }

    /// What an entry at (index, term) looks like wherever it appears: the term before it and its content.
    struct EntryFingerprint: Sendable, Equatable {
        var previousTerm: UInt64
        var kind: EntryKind
        var data: [UInt8]
    }

    /// One committed index: its entry's term, and the highest term by which it was known committed (the
    /// term of the node that first saw it committed, at least the term of the leader that committed it).
    struct Committed: Sendable {
        var term: UInt64
        var knownByTerm: UInt64
    }

    var leaderByTerm: [UInt64: NodeID] = [:]
    /// Granted votes sent: (voter, term) → candidate.
    var votes: [EntryKey: NodeID] = [:]
    var entries: [EntryKey: EntryFingerprint] = [:]
    /// Indexed by `index - 1`; a term of 0 is not known yet.
    var committed: [Committed] = []
    /// The longest applied payload sequence: every node's must be a prefix of it.
    var appliedSequence: [UInt64] = []
    var acknowledged: Set<UInt64> = []
}

extension RaftSimulator {
    /// Checks what can change at any time: one leader per term, terms and commit indexes that never go
    /// back, newly committed entries against the record and against the leaders of later terms.
    mutating func checkInvariants() throws(RaftSimulationFailure) {
        for index in nodes.indices where nodes[index].isUp {
            let raft = nodes[index].raft
            let id = nodes[index].id
            guard raft.term >= nodes[index].termSeen, raft.commitIndex >= nodes[index].commitSeen else {
                throw failure(
                    "term and commit never go back",
                    "node \(id) was at term \(nodes[index].termSeen) commit \(nodes[index].commitSeen), now term "
                        + "\(raft.term) commit \(raft.commitIndex)")
            }
            nodes[index].termSeen = raft.term
            nodes[index].commitSeen = raft.commitIndex
            if raft.role == .leader {
                if let other = record.leaderByTerm[raft.term] {
                    guard other == id else {
                        throw failure("election safety", "nodes \(other) and \(id) both lead term \(raft.term)")
                    }
                } else {
                    record.leaderByTerm[raft.term] = id
                    report.leadersElected += 1
                    try checkLeaderCompleteness(of: index)
                }
            }
            if raft.commitIndex > nodes[index].commitRecorded {
                for committedIndex in (nodes[index].commitRecorded + 1)...raft.commitIndex {
                    guard let term = raft.term(at: committedIndex) else { continue }
                    try recordCommitted(index: committedIndex, term: term, knownByTerm: raft.term)
                }
                nodes[index].commitRecorded = raft.commitIndex
            }
        }
    }

    /// What a node acknowledges must be durable first (Figure 2: "respond after persisting"): a granted vote
    /// is persisted (or a later term is), and it is the node's only one in that term even across restarts; an
    /// accepted append covers only persisted entries.
    mutating func checkDurableBeforeSending(_ messages: [Message], from index: Int) throws(RaftSimulationFailure) {
        let storage = nodes[index].storage
        let id = nodes[index].id
        for message in messages where !message.reject {
            switch message.kind {
            case .voteResponse:
                // A later term persisted also rules out a second vote in this one.
                let persisted = storage.hardState
                guard
                    persisted.term > message.term
                        || (persisted.term == message.term && persisted.votedFor == message.to)
                else {
                    throw failure(
                        "vote persisted before granted",
                        "node \(id) grants term \(message.term) to \(message.to) with \(storage.hardState) persisted")
                }
                let key = InvariantRecord.EntryKey(index: id, term: message.term)
                if let earlier = record.votes[key], earlier != message.to {
                    throw failure(
                        "one vote per term", "node \(id) granted term \(message.term) to \(earlier) and \(message.to)")
                }
                record.votes[key] = message.to
            case .appendResponse:
                guard message.index <= storage.lastIndex else {
                    throw failure(
                        "entries persisted before acknowledged",
                        "node \(id) acknowledges \(message.index) with \(storage.lastIndex) persisted")
                }
            default:
                break
            }
        }
    }

    /// Log matching: an entry at (index, term) has the same content and the same term before it on every
    /// node, so by induction two logs holding it are identical up to it. Also: terms never go down in a log.
    mutating func checkLogMatching(_ entries: [Entry], on index: Int) throws(RaftSimulationFailure) {
        guard let first = entries.first else { return }
        let id = nodes[index].id
        var previousTerm = first.index == 1 ? 0 : nodes[index].raft.term(at: first.index - 1)
        var expectedIndex = first.index
        for entry in entries {
            guard entry.index == expectedIndex else {
                throw failure("ready entries", "node \(id) hands out entry \(entry.index), expected \(expectedIndex)")
            }
            if let previous = previousTerm {
                guard previous <= entry.term else {
                    throw failure("log terms", "node \(id): term \(entry.term) at \(entry.index) after \(previous)")
                }
                let key = InvariantRecord.EntryKey(index: entry.index, term: entry.term)
                let fingerprint = InvariantRecord.EntryFingerprint(
                    previousTerm: previous, kind: entry.kind, data: entry.data)
                if let known = record.entries[key] {
                    guard known == fingerprint else {
                        throw failure(
                            "log matching",
                            "node \(id) has entry \(entry.index) of term \(entry.term) as \(fingerprint), "
                                + "another node as \(known)")
                    }
                } else {
                    record.entries[key] = fingerprint
                }
            }
            previousTerm = entry.term
            expectedIndex += 1
        }
    }

    /// Records that (index, term) is committed; two different terms committed at one index break
    /// state-machine safety, and a leader of a later term lacking it breaks leader completeness.
    mutating func recordCommitted(index: UInt64, term: UInt64, knownByTerm: UInt64) throws(RaftSimulationFailure) {
        let position = Int(index) - 1
        while record.committed.count <= position { record.committed.append(.init(term: 0, knownByTerm: 0)) }
        let known = record.committed[position]
        if known.term != 0 {
            guard known.term == term else {
                throw failure("state machine safety", "index \(index) committed with term \(known.term) and \(term)")
            }
            return
        }
        record.committed[position] = .init(term: term, knownByTerm: knownByTerm)
        for leader in nodes.indices where nodes[leader].isUp && nodes[leader].raft.role == .leader {
            guard nodes[leader].raft.term > knownByTerm else { continue }
            try checkLeaderHolds(index: index, term: term, leader: leader)
        }
    }

    /// Leader completeness (§5.4): a new leader holds every entry known committed in earlier terms.
    func checkLeaderCompleteness(of leader: Int) throws(RaftSimulationFailure) {
        let term = nodes[leader].raft.term
        for (position, committed) in record.committed.enumerated()
        where committed.term != 0 && committed.knownByTerm < term {
            try checkLeaderHolds(index: UInt64(position + 1), term: committed.term, leader: leader)
        }
    }

    func checkLeaderHolds(index: UInt64, term: UInt64, leader: Int) throws(RaftSimulationFailure) {
        let raft = nodes[leader].raft
        // Below its snapshot the leader holds the entry if its snapshot is right, which is checked on install.
        if index < raft.firstIndex - 1 { return }
        guard raft.term(at: index) == term else {
            throw failure(
                "leader completeness",
                "leader \(nodes[leader].id) of term \(raft.term) has \(raft.term(at: index).map { "term \($0)" } ?? "no entry") "
                    + "at \(index), committed with term \(term)")
        }
    }

    /// Applies one committed entry to a node's state machine, checking it comes in order, matches what was
    /// committed there, and extends the common applied sequence.
    mutating func apply(_ entry: Entry, on index: Int) throws(RaftSimulationFailure) {
        let id = nodes[index].id
        guard entry.index == nodes[index].stateMachine.appliedIndex + 1 else {
            throw failure(
                "apply order", "node \(id) applies \(entry.index) after \(nodes[index].stateMachine.appliedIndex)")
        }
        try recordCommitted(index: entry.index, term: entry.term, knownByTerm: nodes[index].raft.term)
        nodes[index].stateMachine.appliedIndex = entry.index
        if entry.kind == .membershipChange {
            nodes[index].stateMachine.membershipIndex = entry.index
            return
        }
        guard !entry.data.isEmpty else { return }
        guard let payload = SimulatedPayload.id(of: entry.data), client.taken.contains(payload) else {
            throw failure("state machine safety", "node \(id) applies \(entry.data) at \(entry.index), never proposed")
        }
        guard nodes[index].stateMachine.payloadIDs.insert(payload).inserted else {
            throw failure("state machine safety", "node \(id) applies payload \(payload) twice (at \(entry.index))")
        }
        nodes[index].stateMachine.payloads.append(AppliedPayload(index: entry.index, id: payload))
        try checkAppliedPrefix(of: index, from: nodes[index].stateMachine.payloads.count - 1)
        if record.acknowledged.insert(payload).inserted { report.proposalsAcknowledged += 1 }
    }

    /// State-machine safety: a node's applied payloads from `position` on agree with the longest sequence.
    mutating func checkAppliedPrefix(of index: Int, from position: Int) throws(RaftSimulationFailure) {
        let payloads = nodes[index].stateMachine.payloads
        for position in max(position, 0)..<payloads.count {
            let payload = payloads[position].id
            if position == record.appliedSequence.count {
                record.appliedSequence.append(payload)
            } else if record.appliedSequence[position] != payload {
                throw failure(
                    "state machine safety",
                    "node \(nodes[index].id) applied payload \(payload) as its #\(position), another node "
                        + "\(record.appliedSequence[position])")
            }
        }
    }

    /// Installs a snapshot from the leader into a node's state machine.
    mutating func installSnapshot(_ snapshot: Snapshot, on index: Int) throws(RaftSimulationFailure) {
        try restoreStateMachine(from: snapshot, on: index)
        try recordCommitted(index: snapshot.index, term: snapshot.term, knownByTerm: nodes[index].raft.term)
        report.snapshotsInstalled += 1
        let id = nodes[index].id
        note("node \(id) installed a snapshot at \(snapshot.index)")
    }

    mutating func restoreStateMachine(from snapshot: Snapshot, on index: Int) throws(RaftSimulationFailure) {
        guard let stateMachine = SimulatedStateMachine(snapshot: snapshot),
            stateMachine.payloads.allSatisfy({ $0.index <= snapshot.index })
        else {
            throw failure("snapshot", "node \(nodes[index].id): snapshot at \(snapshot.index) does not decode")
        }
        nodes[index].stateMachine = stateMachine
        try checkAppliedPrefix(of: index, from: 0)
        for payload in stateMachine.payloads where record.acknowledged.insert(payload.id).inserted {
            report.proposalsAcknowledged += 1
        }
    }

    /// Log matching checked in full between every two running nodes (the incremental check is its proof).
    func checkLogsMatchPairwise() throws(RaftSimulationFailure) {
        let running = nodes.filter(\.isUp)
        for (position, left) in running.enumerated() {
            for right in running[(position + 1)...] {
                let low = max(left.raft.firstIndex, right.raft.firstIndex)
                var high = min(left.raft.lastIndex, right.raft.lastIndex)
                while high >= low, left.raft.term(at: high) != right.raft.term(at: high) { high -= 1 }
                guard high >= low else { continue }
                let leftEntries = left.raft.entries(from: low).prefix(Int(high - low + 1))
                let rightEntries = right.raft.entries(from: low).prefix(Int(high - low + 1))
                guard leftEntries.elementsEqual(rightEntries) else {
                    throw failure(
                        "log matching", "nodes \(left.id) and \(right.id) agree at \(high) but differ before it")
                }
            }
        }
    }
}
