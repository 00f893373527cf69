import Raft
import Testing

/// §5.3 of the Raft paper, log replication: the leader appends a command to its log, sends it to the
/// followers, and commits it once a majority stores it; followers apply committed entries in log order. An
/// append carries the index and term of the entry before it, and a follower whose log does not match there
/// rejects it; the leader then backs up and retries until the logs match, and the follower's conflicting
/// entries are replaced by the leader's (Figure 7). §5.5: appends that get no answer are retried.
@Suite struct PaperReplicationTests {
    /// A leader of 1...size at term 1 whose followers acknowledged its no-op, so they are in replicate.
    static func replicatingLeader(size: UInt64 = 3) -> Raft {
        var leader = makeLeader(voters: Set(1...size))
        for follower in 2..<(size + 1) { leader.step(appendAccepted(from: follower, to: 1, term: 1, index: 1)) }
        _ = leader.takeReady()
        return leader
    }

    @Test func theLeaderAppendsAProposalAndSendsItToEveryFollower() throws {
        var leader = Self.replicatingLeader()
        #expect(leader.commitIndex == 1)
        try leader.propose(Array("x".utf8))
        let ready = leader.takeReady()
        let entry = Entry(term: 1, index: 2, data: Array("x".utf8))
        #expect(ready.entries == [entry])
        #expect(ready.committedEntries.isEmpty)
        #expect(
            ready.messages
                == [2, 3].map {
                    Message(kind: .append, from: 1, to: $0, term: 1, logTerm: 1, index: 1, entries: [entry], commit: 1)
                })
    }

    /// Acknowledgements of index 2 from `acknowledgers` in a group of `size`, and whether that commits it.
    struct CommitCase: Sendable, CustomStringConvertible {
        var size: UInt64
        var acknowledgers: [NodeID]
        var commits: Bool
        var description: String { "\(size) voters, acknowledged by \(acknowledgers): commits \(commits)" }
    }

    @Test(arguments: [
        CommitCase(size: 1, acknowledgers: [], commits: true),
        CommitCase(size: 3, acknowledgers: [], commits: false),
        CommitCase(size: 3, acknowledgers: [2], commits: true),
        CommitCase(size: 3, acknowledgers: [2, 3], commits: true),
        CommitCase(size: 5, acknowledgers: [2], commits: false),
        CommitCase(size: 5, acknowledgers: [4, 5], commits: true),
        CommitCase(size: 5, acknowledgers: [2, 3, 4, 5], commits: true),
    ])
    func theLeaderCommitsOnceAMajorityStoresTheEntry(commit: CommitCase) throws {
        var leader = Self.replicatingLeader(size: commit.size)
        try leader.propose(Array("x".utf8))
        var committed = leader.takeReady().committedEntries
        for follower in commit.acknowledgers { leader.step(appendAccepted(from: follower, to: 1, term: 1, index: 2)) }
        #expect(leader.commitIndex == (commit.commits ? 2 : 1))
        let ready = leader.takeReady()
        committed += ready.committedEntries
        #expect(committed.map(\.index) == (commit.commits ? [2] : []))
        if commit.commits && !commit.acknowledgers.isEmpty {
            // Followers learn the new commit index in the next append.
            let appends = only(.append, in: ready.messages)
            #expect(Set(appends.map(\.to)) == Set(2..<(commit.size + 1)))
            #expect(appends.allSatisfy { $0.commit == 2 })
        }
    }

    @Test func committingAnEntryCommitsEveryEntryBeforeIt() {
        let persisted = PersistedState(
            hardState: HardState(term: 2), entries: entries(terms: [1, 1, 2]))
        var leader = makeLeader(persisted: persisted)
        #expect(leader.term == 3)
        #expect(leader.commitIndex == 0)
        leader.step(appendAccepted(from: 2, to: 1, term: 3, index: 4))
        #expect(leader.commitIndex == 4)
        #expect(leader.takeReady().committedEntries == persisted.entries + [Entry(term: 3, index: 4)])
    }

    @Test func aFollowerAppliesCommittedEntriesInOrder() {
        var follower = makeFollower(2, of: 1, term: 1)
        let sent = entries(terms: [1, 1, 1])
        follower.step(Message(kind: .append, from: 1, to: 2, term: 1, entries: sent, commit: 1))
        var ready = follower.takeReady()
        #expect(ready.entries == sent)
        #expect(ready.hardState?.commit == 1)
        #expect(ready.committedEntries == Array(sent[..<1]))
        #expect(ready.messages == [Message(kind: .appendResponse, from: 2, to: 1, term: 1, index: 3)])

        follower.step(Message(kind: .heartbeat, from: 1, to: 2, term: 1, commit: 3))
        ready = follower.takeReady()
        #expect(ready.entries.isEmpty)
        #expect(ready.committedEntries == Array(sent[1...]))
        #expect(follower.appliedIndex == 3)
    }

    /// An append at (logTerm, index) to a follower holding terms [1, 2] with index 1 committed, and the answer.
    struct CheckCase: Sendable, CustomStringConvertible {
        var logTerm: UInt64
        var index: UInt64
        var answer: Message
        var description: String { "append after (\(index), term \(logTerm))" }
    }

    @Test(arguments: [
        // Before the commit index: answered with it.
        CheckCase(logTerm: 0, index: 0, answer: Message(kind: .appendResponse, from: 2, to: 1, term: 2, index: 1)),
        CheckCase(logTerm: 1, index: 1, answer: Message(kind: .appendResponse, from: 2, to: 1, term: 2, index: 1)),
        CheckCase(logTerm: 2, index: 2, answer: Message(kind: .appendResponse, from: 2, to: 1, term: 2, index: 2)),
        // The term at index 2 differs: rejected, hinting at index 1 (the last entry of term ≤ 1).
        CheckCase(
            logTerm: 1, index: 2,
            answer: Message(
                kind: .appendResponse, from: 2, to: 1, term: 2, logTerm: 1, index: 2, reject: true, rejectHint: 1)),
        // Index 3 is missing: rejected, hinting at the follower's last index.
        CheckCase(
            logTerm: 3, index: 3,
            answer: Message(
                kind: .appendResponse, from: 2, to: 1, term: 2, logTerm: 2, index: 3, reject: true, rejectHint: 2)),
    ])
    func aFollowerRejectsAnAppendWhosePreviousEntryDoesNotMatch(check: CheckCase) {
        let persisted = PersistedState(hardState: HardState(term: 2, commit: 1), entries: entries(terms: [1, 2]))
        var follower = makeFollower(2, of: 1, term: 2, persisted: persisted)
        follower.step(
            Message(kind: .append, from: 1, to: 2, term: 2, logTerm: check.logTerm, index: check.index, commit: 1))
        #expect(follower.takeMessages() == [check.answer])
        #expect(follower.entries(from: 1) == persisted.entries)
    }

    /// An append of `sent` after (logTerm, index) to a follower holding terms [1, 2], nothing committed.
    struct AppendCase: Sendable, CustomStringConvertible {
        var index: UInt64
        var logTerm: UInt64
        var sent: [Entry]
        var log: [Entry]
        var persisted: [Entry]
        var description: String { "append \(sent.map(\.term)) after (\(index), term \(logTerm))" }
    }

    @Test(arguments: [
        AppendCase(
            index: 2, logTerm: 2, sent: entries(terms: [3], from: 3), log: entries(terms: [1, 2, 3]),
            persisted: entries(terms: [3], from: 3)),
        // A conflict at index 2: it and everything after it is replaced.
        AppendCase(
            index: 1, logTerm: 1, sent: entries(terms: [3, 4], from: 2), log: entries(terms: [1, 3, 4]),
            persisted: entries(terms: [3, 4], from: 2)),
        // Entries the follower already has change nothing, and do not cut what follows them.
        AppendCase(index: 0, logTerm: 0, sent: entries(terms: [1]), log: entries(terms: [1, 2]), persisted: []),
        AppendCase(
            index: 0, logTerm: 0, sent: entries(terms: [3]), log: entries(terms: [3]), persisted: entries(terms: [3])),
    ])
    func aFollowerReplacesConflictingEntriesWithTheLeaders(append: AppendCase) {
        let persisted = PersistedState(hardState: HardState(term: 2), entries: entries(terms: [1, 2]))
        var follower = makeFollower(2, of: 1, term: 2, persisted: persisted)
        follower.step(
            Message(
                kind: .append, from: 1, to: 2, term: 2, logTerm: append.logTerm, index: append.index,
                entries: append.sent))
        #expect(follower.entries(from: 1) == append.log)
        let ready = follower.takeReady()
        #expect(ready.entries == append.persisted)
        #expect(ready.messages.first?.reject == false)
    }

    /// Figure 7: the leader's log (terms by index) and follower logs (a)–(f) that it must repair.
    static let figure7Leader: [UInt64] = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
    static let figure7Followers: [(name: String, terms: [UInt64])] = [
        ("a", [1, 1, 1, 4, 4, 5, 5, 6, 6]),
        ("b", [1, 1, 1, 4]),
        ("c", [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]),
        ("d", [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]),
        ("e", [1, 1, 1, 4, 4, 4, 4]),
        ("f", [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]),
    ]

    @Test(arguments: figure7Followers.map(\.name))
    func theLeaderRepairsEveryFollowerLogOfFigure7(name: String) {
        let followerTerms = Self.figure7Followers.first { $0.name == name }!.terms
        let leaderLog = entries(terms: Self.figure7Leader)
        // Node 1 leads at term 8; node 3 has the leader's log so 1 wins even when node 2's log is newer (d).
        let hardState = HardState(term: 7, commit: 3)
        var network = TestNetwork(
            voters: [1, 2, 3],
            persisted: [
                1: PersistedState(hardState: hardState, entries: leaderLog),
                2: PersistedState(hardState: hardState, entries: entries(terms: followerTerms)),
                3: PersistedState(hardState: hardState, entries: leaderLog),
            ])
        network.elect(1)
        #expect(network.nodes[1]!.term == 8)
        try? network.propose("after repair")
        network.tick([1], times: 3)

        let expected =
            leaderLog + [Entry(term: 8, index: 11), Entry(term: 8, index: 12, data: Array("after repair".utf8))]
        for id: NodeID in 1...3 {
            #expect(network.log(of: id) == expected, "node \(id)")
            #expect(network.storage[id]!.entries == expected, "node \(id)")
            #expect(network.nodes[id]!.commitIndex == 12, "node \(id)")
            #expect(network.appliedText(of: id).last == "after repair", "node \(id)")
        }
    }

    @Test func aGroupAppliesTheSameCommandsInTheSameOrder() throws {
        var network = TestNetwork(voters: [1, 2, 3, 4, 5])
        let elected = network.tickUntilLeader()
        let leader = try #require(elected)
        var commands: [String] = []
        for round in 0..<10 {
            for command in 0..<3 {
                commands.append("command \(round).\(command)")
                try network.propose(commands.last!)
            }
            network.tick([leader])
        }
        network.tick(times: 3)
        for id: NodeID in 1...5 { #expect(network.appliedText(of: id) == commands, "node \(id)") }
    }

    @Test func theLeaderRetriesUntilACrashedFollowerHasEveryEntry() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        network.crash(3)
        for command in 0..<5 { try network.propose("command \(command)") }
        network.tick(times: 5)
        #expect(network.nodes[1]!.commitIndex == 6)
        network.restart(3)
        network.tick(times: 3)
        #expect(network.log(of: 3) == network.log(of: 1))
        #expect(network.appliedText(of: 3) == (0..<5).map { "command \($0)" })
    }

    @Test func aFollowerWhoseAppendsWereAllLostWhilePipeliningCatchesUp() throws {
        // Two appends in flight at most: losing both must not stall the follower for good.
        var network = TestNetwork(voters: [1, 2, 3]) { $0.inflightMessagesMax = 2 }
        network.elect(1)
        network.drop { $0.kind == .append && $0.to == 3 }
        for command in 0..<4 {
            try network.propose("command \(command)")
            network.pump()
        }
        #expect(network.nodes[1]!.commitIndex == 5)
        #expect(network.nodes[3]!.lastIndex == 1)
        network.heal()
        network.tick(times: 5)
        #expect(network.log(of: 3) == network.log(of: 1))
        #expect(network.appliedText(of: 3) == (0..<4).map { "command \($0)" })
    }
}
