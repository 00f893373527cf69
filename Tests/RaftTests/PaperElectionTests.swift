import Raft
import Testing

/// §5.2 of the Raft paper, leader election: a follower that hears from no leader for an election timeout
/// becomes a candidate, votes for itself and asks the others; it wins with a majority, steps down when a
/// leader of its term appears, or times out and tries again. Each voter grants one vote per term, first come
/// first served. Timeouts are randomized so split votes are rare; a leader keeps its authority with
/// heartbeats. Pre-vote (thesis §9.6) runs the same round without raising the term.
@Suite struct PaperElectionTests {
    @Test func aFollowerCampaignsAfterItsElectionTimeout() {
        var node = makeNode(1)
        let ticks = node.tickUntilCampaign()
        #expect((10..<20).contains(ticks))
        #expect(node.role == .candidate)
        #expect(node.term == 1)
        let ready = node.takeReady()
        // It voted for itself, and must persist that before asking the others.
        #expect(ready.hardState == HardState(term: 1, votedFor: 1, commit: 0))
        #expect(ready.softState == SoftState(leader: 0, role: .candidate))
        #expect(
            ready.messages == [
                Message(kind: .vote, from: 1, to: 2, term: 1), Message(kind: .vote, from: 1, to: 3, term: 1),
            ])
    }

    @Test func withPreVoteAFollowerAsksBeforeRaisingItsTerm() {
        var node = makeNode(1) { $0.preVote = true }
        let ticks = node.tickUntilCampaign()
        #expect((10..<20).contains(ticks))
        #expect(node.role == .preCandidate)
        #expect(node.term == 0)
        let ready = node.takeReady()
        #expect(ready.hardState == nil)
        #expect(
            ready.messages == [
                Message(kind: .preVote, from: 1, to: 2, term: 1), Message(kind: .preVote, from: 1, to: 3, term: 1),
            ])

        // A majority of pre-votes starts the real election.
        node.step(Message(kind: .preVoteResponse, from: 2, to: 1, term: 1))
        #expect(node.role == .candidate)
        #expect(node.term == 1)
        #expect(
            node.takeMessages() == [
                Message(kind: .vote, from: 1, to: 2, term: 1), Message(kind: .vote, from: 1, to: 3, term: 1),
            ])
    }

    @Test func aPreCandidateThatLosesKeepsItsTerm() {
        var node = makeNode(1, persisted: PersistedState(hardState: HardState(term: 4))) { $0.preVote = true }
        node.tickUntilCampaign()
        node.step(Message(kind: .preVoteResponse, from: 2, to: 1, term: 4, reject: true))
        node.step(Message(kind: .preVoteResponse, from: 3, to: 1, term: 4, reject: true))
        #expect(node.role == .follower)
        #expect(node.term == 4)
        #expect(node.takeReady().hardState == nil)
    }

    /// An election of node 1 among `size` voters that hears `answers` (voter → granted).
    struct ElectionCase: Sendable, CustomStringConvertible {
        var size: UInt64
        var answers: [(voter: NodeID, granted: Bool)]
        var outcome: Role
        var description: String { "\(size) voters, answers \(answers) → \(outcome)" }
    }

    static let elections: [ElectionCase] = [
        ElectionCase(size: 1, answers: [], outcome: .leader),
        ElectionCase(size: 3, answers: [(2, true)], outcome: .leader),
        ElectionCase(size: 3, answers: [(2, true), (3, true)], outcome: .leader),
        ElectionCase(size: 3, answers: [(2, false)], outcome: .candidate),
        ElectionCase(size: 3, answers: [(2, false), (3, false)], outcome: .follower),
        ElectionCase(size: 5, answers: [(2, true)], outcome: .candidate),
        ElectionCase(size: 5, answers: [(2, true), (3, true)], outcome: .leader),
        ElectionCase(size: 5, answers: [(2, true), (3, false), (4, false)], outcome: .candidate),
        ElectionCase(size: 5, answers: [(2, true), (3, false), (4, false), (5, false)], outcome: .follower),
        ElectionCase(size: 5, answers: [(2, false), (3, true), (4, true), (5, false)], outcome: .leader),
    ]

    @Test(arguments: elections)
    func aCandidateWinsWithAMajorityAndLosesWithoutOne(election: ElectionCase) {
        var node = makeNode(1, voters: Set(1...election.size))
        node.tickUntilCampaign()
        _ = node.takeReady()
        for (voter, granted) in election.answers {
            node.step(Message(kind: .voteResponse, from: voter, to: 1, term: 1, reject: !granted))
        }
        #expect(node.role == election.outcome)
        #expect(node.term == 1)
        if election.outcome == .leader {
            // A new leader appends a no-op of its term and sends it to everyone (§5.4.2, §8).
            #expect(node.lastIndex == 1)
            let appends = only(.append, in: node.takeMessages())
            #expect(appends.map(\.to) == Array(2..<(election.size + 1)))
            #expect(appends.allSatisfy { $0.entries == [Entry(term: 1, index: 1)] })
        }
    }

    @Test func aVoteFromANonVoterOrForAnotherTermDoesNotCount() {
        var node = makeNode(1, voters: [1, 2, 3], learners: [4])
        node.tickUntilCampaign()
        node.step(Message(kind: .voteResponse, from: 4, to: 1, term: 1))
        node.step(Message(kind: .voteResponse, from: 2, to: 1, term: 0))
        #expect(node.role == .candidate)
        node.step(Message(kind: .voteResponse, from: 2, to: 1, term: 1))
        #expect(node.role == .leader)
    }

    @Test(arguments: [(NodeID(0), true), (2, true), (3, false)])
    func aVoterGrantsAtMostOneVotePerTerm(votedFor: NodeID, granted: Bool) {
        var node = makeNode(1, persisted: PersistedState(hardState: HardState(term: 1, votedFor: votedFor)))
        node.step(Message(kind: .vote, from: 2, to: 1, term: 1))
        #expect(node.takeMessages() == [Message(kind: .voteResponse, from: 1, to: 2, term: 1, reject: !granted)])
        #expect(node.votedFor == (granted ? 2 : votedFor))
    }

    @Test func votesAreFirstComeFirstServed() {
        var node = makeNode(1)
        node.step(Message(kind: .vote, from: 2, to: 1, term: 1))
        let first = node.takeReady()
        #expect(first.hardState == HardState(term: 1, votedFor: 2))
        #expect(first.messages == [Message(kind: .voteResponse, from: 1, to: 2, term: 1)])

        node.step(Message(kind: .vote, from: 3, to: 1, term: 1))
        #expect(node.takeMessages() == [Message(kind: .voteResponse, from: 1, to: 3, term: 1, reject: true)])
        // Asking again (a retried request) gets the same answer.
        node.step(Message(kind: .vote, from: 2, to: 1, term: 1))
        #expect(node.takeMessages() == [Message(kind: .voteResponse, from: 1, to: 2, term: 1)])
        // A new term brings a new vote.
        node.step(Message(kind: .vote, from: 3, to: 1, term: 2))
        #expect(node.takeMessages() == [Message(kind: .voteResponse, from: 1, to: 3, term: 2)])
        #expect(node.hardState == HardState(term: 2, votedFor: 3))
    }

    @Test func aFollowerThatKnowsTheLeaderOfTheTermDeniesOtherCandidates() {
        var node = makeFollower(1, of: 2, term: 1)
        node.step(Message(kind: .vote, from: 3, to: 1, term: 1))
        #expect(node.takeMessages() == [Message(kind: .voteResponse, from: 1, to: 3, term: 1, reject: true)])
    }

    @Test(arguments: [UInt64(1), 2])
    func aCandidateStepsDownWhenALeaderOfItsTermOrNewerAppears(leaderTerm: UInt64) {
        var node = makeNode(1)
        node.tickUntilCampaign()
        #expect(node.term == 1)
        _ = node.takeReady()
        node.step(Message(kind: .append, from: 2, to: 1, term: leaderTerm))
        #expect(node.role == .follower)
        #expect(node.term == leaderTerm)
        #expect(node.leader == 2)
        #expect(node.takeMessages() == [Message(kind: .appendResponse, from: 1, to: 2, term: leaderTerm)])
    }

    @Test func aCandidateWithoutAWinnerTimesOutAndCampaignsInTheNextTerm() {
        var node = makeNode(1)
        node.tickUntilCampaign()
        node.step(Message(kind: .voteResponse, from: 2, to: 1, term: 1, reject: true))
        #expect(node.role == .candidate)
        _ = node.takeReady()
        let ticks = node.tickUntilCampaign()
        #expect((10..<20).contains(ticks))
        #expect(node.role == .candidate)
        #expect(node.term == 2)
        let ready = node.takeReady()
        #expect(ready.hardState == HardState(term: 2, votedFor: 1))
        #expect(
            ready.messages == [
                Message(kind: .vote, from: 1, to: 2, term: 2), Message(kind: .vote, from: 1, to: 3, term: 2),
            ])
    }

    @Test func electionTimeoutsAreRandomizedInTheRange() {
        var timeouts: Set<Int> = []
        for seed: UInt64 in 0..<100 {
            var node = makeNode(1, seed: seed)
            let ticks = node.tickUntilCampaign()
            #expect((10..<20).contains(ticks), "seed \(seed)")
            timeouts.insert(ticks)
        }
        #expect(timeouts.count >= 8)

        // A node draws a new timeout for every round: a candidate's retries are spread too.
        var node = makeNode(1, seed: 7)
        var retries: Set<Int> = []
        for _ in 0..<30 { retries.insert(node.tickUntilCampaign()) }
        #expect(retries.allSatisfy { (10..<20).contains($0) })
        #expect(retries.count >= 4)
    }

    @Test func nodesWithTheSameSeedDrawDifferentTimeoutsAndEachIsReproducible() {
        func timeout(_ id: NodeID, seed: UInt64) -> Int {
            var node = makeNode(id, voters: Set(1...5), seed: seed)
            return node.tickUntilCampaign()
        }
        for seed: UInt64 in [1, 2, 3] {
            let timeouts = (1...5).map { timeout($0, seed: seed) }
            #expect(Set(timeouts).count > 1, "seed \(seed): \(timeouts)")
            #expect(timeouts == (1...5).map { timeout($0, seed: seed) })
        }
    }

    @Test func aLeaderSendsHeartbeatsEveryHeartbeatInterval() {
        var leader = makeLeader { $0.heartbeatTicks = 3 }
        for round in 1...3 {
            leader.tick(times: 2)
            #expect(leader.takeMessages().isEmpty, "round \(round)")
            leader.tick()
            #expect(
                leader.takeMessages() == [
                    Message(kind: .heartbeat, from: 1, to: 2, term: 1),
                    Message(kind: .heartbeat, from: 1, to: 3, term: 1),
                ])
        }
    }

    @Test func heartbeatsKeepAFollowerFromCampaigning() {
        var node = makeFollower(1, of: 2, term: 1)
        for _ in 0..<100 {
            node.tick()
            node.step(Message(kind: .heartbeat, from: 2, to: 1, term: 1))
        }
        #expect(node.role == .follower)
        #expect(node.term == 1)
    }

    @Test(arguments: [false, true], [3, 5])
    func aGroupElectsExactlyOneLeaderThatEveryoneFollows(preVote: Bool, size: Int) {
        var network = TestNetwork(voters: Set(1...NodeID(size))) { $0.preVote = preVote }
        let leader = network.tickUntilLeader()
        #expect(leader != nil)
        network.tick(times: 30)
        #expect(network.leader == leader)
        let term = network.nodes[leader!]!.term
        for (id, node) in network.nodes {
            #expect(node.term == term, "node \(id)")
            #expect(node.leader == leader, "node \(id)")
            #expect((node.role == .leader) == (id == leader), "node \(id)")
        }
    }
}
