import Raft
import Testing

/// §5.4 of the Raft paper, safety. The election restriction (§5.4.1): a voter denies a candidate whose log is
/// less up to date than its own (a lower last term, or the same last term and a shorter log), so a leader
/// holds every committed entry. The commit rule (§5.4.2, Figure 8): a leader counts replicas only for
/// entries of its own term; an entry of an earlier term commits only with a later entry of the leader's term.
@Suite struct PaperSafetyTests {
    @Test func aVoteRequestCarriesTheCandidatesLastTermAndIndex() {
        let persisted = PersistedState(hardState: HardState(term: 2), entries: entries(terms: [1, 1, 2]))
        var node = makeNode(1, persisted: persisted)
        node.tickUntilCampaign()
        #expect(
            node.takeMessages()
                == [2, 3].map {
                    Message(kind: .vote, from: 1, to: $0, term: 3, logTerm: 2, index: 3)
                })
    }

    /// A candidate's last (term, index) against a voter whose log holds terms [1, 2], and the vote.
    struct VoterCase: Sendable, CustomStringConvertible {
        var lastTerm: UInt64
        var lastIndex: UInt64
        var granted: Bool
        var description: String { "candidate's last entry (\(lastIndex), term \(lastTerm)) → granted \(granted)" }
    }

    static let voterCases = [
        VoterCase(lastTerm: 2, lastIndex: 2, granted: true),
        VoterCase(lastTerm: 2, lastIndex: 3, granted: true),
        VoterCase(lastTerm: 3, lastIndex: 1, granted: true),
        // The same last term and a shorter log.
        VoterCase(lastTerm: 2, lastIndex: 1, granted: false),
        // A lower last term, however long the log.
        VoterCase(lastTerm: 1, lastIndex: 9, granted: false),
        VoterCase(lastTerm: 0, lastIndex: 0, granted: false),
    ]

    @Test(arguments: voterCases, [false, true])
    func aVoterDeniesACandidateWithAnOlderLog(candidate: VoterCase, preVote: Bool) {
        let persisted = PersistedState(hardState: HardState(term: 2), entries: entries(terms: [1, 2]))
        var voter = makeNode(1, persisted: persisted) { $0.preVote = preVote }
        let kind: MessageKind = preVote ? .preVote : .vote
        voter.step(
            Message(kind: kind, from: 2, to: 1, term: 3, logTerm: candidate.lastTerm, index: candidate.lastIndex))
        let answer = voter.takeMessages().first
        #expect(answer?.kind == (preVote ? .preVoteResponse : .voteResponse))
        #expect(answer?.reject == !candidate.granted)
        // A real vote request moves the voter to the candidate's term; a pre-vote request does not.
        #expect(voter.term == (preVote ? 2 : 3))
        #expect(voter.votedFor == (candidate.granted && !preVote ? 2 : 0))
    }

    @Test func aLeaderDoesNotCommitAnEntryOfAnEarlierTermByCountingReplicas() {
        // Figure 8 (c): S1 leads at term 4 with the term-2 entry at index 2, stored by S1, S2 and S3.
        let persisted = PersistedState(hardState: HardState(term: 3, commit: 1), entries: entries(terms: [1, 2]))
        var leader = makeLeader(1, voters: [1, 2, 3, 4, 5], persisted: persisted)
        #expect(leader.term == 4)
        #expect(leader.entries(from: 3) == [Entry(term: 4, index: 3)])
        leader.step(appendAccepted(from: 2, to: 1, term: 4, index: 2))
        leader.step(appendAccepted(from: 3, to: 1, term: 4, index: 2))
        #expect(leader.commitIndex == 1)
        #expect(leader.takeReady().committedEntries.isEmpty)

        // (e): once an entry of term 4 is on a majority, it commits, and index 2 with it.
        leader.step(appendAccepted(from: 2, to: 1, term: 4, index: 3))
        #expect(leader.commitIndex == 1)
        leader.step(appendAccepted(from: 3, to: 1, term: 4, index: 3))
        #expect(leader.commitIndex == 3)
        #expect(leader.takeReady().committedEntries == Array(persisted.entries[1...]) + [Entry(term: 4, index: 3)])
    }

    /// The logs of Figure 8 (b): S1 and S2 hold the term-2 entry at index 2, S5 a term-3 entry there; S3 and
    /// S4 voted for S5 in term 3. One entry per append, so the leader replicates index by index.
    static func figure8Network() -> TestNetwork {
        var network = TestNetwork(
            voters: [1, 2, 3, 4, 5],
            persisted: [
                1: PersistedState(hardState: HardState(term: 3, commit: 1), entries: entries(terms: [1, 2])),
                2: PersistedState(hardState: HardState(term: 2, commit: 1), entries: entries(terms: [1, 2])),
                3: PersistedState(hardState: HardState(term: 3, votedFor: 5, commit: 1), entries: entries(terms: [1])),
                4: PersistedState(hardState: HardState(term: 3, votedFor: 5, commit: 1), entries: entries(terms: [1])),
                5: PersistedState(
                    hardState: HardState(term: 3, votedFor: 5, commit: 1), entries: entries(terms: [1, 3])),
            ]
        ) { $0.messageBytesMax = 1 }
        network.crash(5)
        // (c): S1 leads at term 4 and replicates index 2; its own term-4 entry reaches nobody yet.
        network.intercept = { message in
            var message = message
            message.entries.removeAll { $0.term == 4 }
            return message
        }
        network.elect(1)
        return network
    }

    @Test func figure8AnEntryOfAnEarlierTermOnAMajorityIsNotCommittedAndMayBeOverwritten() {
        var network = Self.figure8Network()
        #expect(network.nodes[1]!.term == 4)
        for id: NodeID in 1...4 { #expect(network.nodes[id]!.term(at: 2) == 2, "node \(id)") }
        #expect(network.nodes[1]!.commitIndex == 1)

        // (d): S1 crashes; S5 is elected with the votes of S2, S3 and S4 and overwrites index 2 with its
        // term-3 entry. That is safe only because index 2 was never committed.
        network.crash(1)
        network.heal()
        network.restart(5)
        network.elect(5)
        #expect(network.nodes[5]!.term == 5)
        network.tick([5], times: 2)
        for id: NodeID in 2...5 {
            #expect(network.nodes[id]!.term(at: 2) == 3, "node \(id)")
            #expect(network.nodes[id]!.commitIndex == 3, "node \(id)")
            #expect(network.appliedText(of: id) == ["t1i1", "t3i2"], "node \(id)")
        }
    }

    @Test func figure8AnEntryOfAnEarlierTermCommitsWithOneOfTheLeadersTerm() {
        var network = Self.figure8Network()
        #expect(network.nodes[1]!.commitIndex == 1)

        // (e): S1 replicates its term-4 entry to a majority: index 3 commits, and index 2 with it.
        network.heal()
        network.tick([1], times: 2)
        #expect(network.nodes[1]!.commitIndex == 3)
        #expect(network.appliedText(of: 1) == ["t1i1", "t2i2"])

        // Now S5 cannot win: every node of a majority has a newer last term than S5.
        network.crash(1)
        network.restart(5)
        network.tick(times: 100)
        let leader = network.leader
        #expect(leader != nil && leader != 5)
        for id: NodeID in 2...5 {
            #expect(network.nodes[id]!.term(at: 2) == 2, "node \(id)")
            #expect(network.appliedText(of: id) == ["t1i1", "t2i2"], "node \(id)")
        }
    }

    @Test func aNodeMissingCommittedEntriesCannotBecomeLeader() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        network.isolate(3)
        for command in 0..<3 { try network.propose("command \(command)") }
        network.tick([1])
        let committed = network.nodes[1]!.commitIndex
        #expect(committed == 4)

        // The leader crashes; node 3 comes back and campaigns first, but node 2 denies it its vote.
        network.crash(1)
        network.heal()
        network.campaign(3)
        #expect(network.nodes[3]!.role != .leader)
        let elected = network.tickUntilLeader()
        let leader = try #require(elected)
        #expect(leader == 2)
        // Leader Completeness: the new leader holds every committed entry, and node 3 gets them.
        network.tick(times: 3)
        #expect(network.appliedText(of: 3) == (0..<3).map { "command \($0)" })
        #expect(network.log(of: 3) == network.log(of: 2))
    }
}
