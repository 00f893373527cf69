import Raft
import Testing

/// Elections in a network: dueling candidates, a follower that rejoins after a partition, and a leader cut
/// off from its followers (check-quorum).
@Suite struct ScenarioElectionTests {
    @Test func duelingCandidatesEndWithOneLeaderHoldingTheCommittedEntries() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.cutLinks = [.init(from: 1, to: 3), .init(from: 3, to: 1)]
        network.elect(1)
        // Node 3 campaigns in the same term: node 2 already voted for node 1.
        network.campaign(3)
        #expect(network.nodes[1]!.softState == SoftState(leader: 1, role: .leader))
        #expect(network.nodes[2]!.softState == SoftState(leader: 1, role: .follower))
        #expect(network.nodes[3]!.role == .candidate)
        #expect(network.nodes.values.allSatisfy { $0.term == 1 })

        // Healed, node 3 campaigns again in term 2: its log lacks the committed no-op, so it loses, but its
        // term deposes node 1.
        network.heal()
        network.campaign(3)
        for id: NodeID in 1...3 {
            #expect(network.nodes[id]!.softState == SoftState(leader: 0, role: .follower), "node \(id)")
            #expect(network.nodes[id]!.term == 2, "node \(id)")
        }
        let elected = network.tickUntilLeader()
        let leader = try #require(elected)
        #expect(leader != 3)
        try network.propose("after the duel")
        network.tick(times: 2)
        for id: NodeID in 1...3 { #expect(network.appliedText(of: id) == ["after the duel"], "node \(id)") }
    }

    @Test func withPreVoteADuelingCandidateDoesNotDeposeTheLeader() {
        var network = TestNetwork(voters: [1, 2, 3]) {
            $0.preVote = true
            $0.checkQuorum = true
        }
        network.cutLinks = [.init(from: 1, to: 3), .init(from: 3, to: 1)]
        network.elect(1)
        network.campaign(3)
        // Node 2 denies the pre-vote and tells node 3 the current term.
        #expect(network.nodes[3]!.softState == SoftState(leader: 0, role: .follower))
        #expect(network.nodes[3]!.term == 1)

        network.heal()
        network.tick(times: 5)
        #expect(network.leader == 1)
        for id: NodeID in 1...3 {
            #expect(network.nodes[id]!.term == 1, "node \(id)")
            #expect(network.nodes[id]!.leader == 1, "node \(id)")
        }
        #expect(network.log(of: 3) == network.log(of: 1))
    }

    @Test(arguments: [false, true], [false, true])
    func aFollowerRejoiningAfterAPartitionDisruptsTheLeaderOnlyWithoutPreVote(preVote: Bool, checkQuorum: Bool)
        throws
    {
        var network = TestNetwork(voters: [1, 2, 3]) {
            $0.preVote = preVote
            $0.checkQuorum = checkQuorum
        }
        network.elect(1)
        network.isolate(3)
        try network.propose("while node 3 was away")
        network.tick(times: 100)
        let isolatedTerm = network.nodes[3]!.term
        // Alone, node 3 campaigns again and again; with pre-vote it never raises its term.
        #expect(preVote ? isolatedTerm == 1 : isolatedTerm > 3)
        #expect(network.leader == 1)

        network.heal()
        network.tick(times: 100)
        let leader = try #require(network.leader)
        #expect(leader != 3)
        if preVote {
            #expect(leader == 1)
            #expect(network.nodes.values.allSatisfy { $0.term == 1 })
        } else {
            // Node 3's term deposed node 1; the new leader's term is above it.
            #expect(network.nodes[leader]!.term > isolatedTerm)
        }
        #expect(network.appliedText(of: 3) == ["while node 3 was away"])
    }

    @Test func withPreVoteANodeWithASmallerTermDoesNotBlockTheElection() throws {
        var network = TestNetwork(voters: [1, 2, 3]) { $0.preVote = true }
        network.elect(1)
        // Node 3 is cut off while node 2 takes over in term 2, then node 2 crashes.
        network.isolate(3)
        network.elect(2)
        #expect(network.nodes[1]!.term == 2)
        #expect(network.nodes[3]!.term == 1)
        network.crash(2)
        network.heal()
        // Node 3 asks first: node 1 refuses with its newer term, which node 3 adopts; then node 1 wins.
        network.campaign(3)
        #expect(network.nodes[3]!.softState == SoftState(leader: 0, role: .follower))
        #expect(network.nodes[3]!.term == 2)
        let elected = network.tickUntilLeader()
        #expect(elected == 1)
        #expect(network.nodes[3]!.leader == 1)
    }

    @Test func anIsolatedLeaderStepsDownAndTheOthersElectANewOne() throws {
        var network = TestNetwork(voters: [1, 2, 3]) {
            $0.preVote = true
            $0.checkQuorum = true
        }
        network.elect(1)
        network.isolate(1)
        // The isolated leader still takes a proposal, which can never commit.
        try network.propose("never committed", on: 1)
        var ticksAsLeader = 0
        while network.nodes[1]!.role == .leader && ticksAsLeader < 100 {
            network.tick([1])
            ticksAsLeader += 1
        }
        // It last heard from its followers when it was elected: it steps down at the first quorum check that
        // finds nobody heard from in a whole election timeout.
        #expect(ticksAsLeader == 20)
        #expect(network.nodes[1]!.softState == SoftState(leader: 0, role: .follower))
        #expect(network.nodes[1]!.term == 1)

        let elected = network.tickUntilLeader()
        let leader = try #require(elected)
        #expect(leader != 1)
        try network.propose("committed")
        network.heal()
        network.tick(times: 5)
        #expect(network.nodes[1]!.leader == leader)
        for id: NodeID in 1...3 {
            #expect(network.appliedText(of: id) == ["committed"], "node \(id)")
            #expect(network.log(of: id) == network.log(of: leader), "node \(id)")
        }
    }

    @Test func aLeaderThatHearsFromNoQuorumForAnElectionTimeoutStepsDown() {
        var leader = makeLeader { $0.checkQuorum = true }
        leader.tick(times: 9)
        #expect(leader.role == .leader)
        leader.tick()
        #expect(leader.softState == SoftState(leader: 0, role: .follower))

        // One follower answering within each election timeout is a quorum.
        var kept = makeLeader { $0.checkQuorum = true }
        for tick in 1...50 {
            kept.tick()
            if tick % 5 == 0 { kept.step(Message(kind: .heartbeatResponse, from: 2, to: 1, term: 1)) }
        }
        #expect(kept.role == .leader)
    }

    @Test func withCheckQuorumAFollowerThatHeardFromItsLeaderIgnoresVoteRequests() {
        // A learner, so that it does not campaign itself while the test waits out the lease.
        var follower = makeNode(1, voters: [2, 3], learners: [1]) { $0.checkQuorum = true }
        follower.step(Message(kind: .heartbeat, from: 2, to: 1, term: 1))
        _ = follower.takeReady()
        follower.step(Message(kind: .vote, from: 3, to: 1, term: 2))
        #expect(follower.term == 1)
        #expect(follower.takeMessages().isEmpty)
        // After an election timeout without the leader, the lease is over.
        follower.tick(times: 10)
        follower.step(Message(kind: .vote, from: 3, to: 1, term: 2))
        #expect(follower.term == 2)
        #expect(follower.takeMessages().contains(Message(kind: .voteResponse, from: 1, to: 3, term: 2)))
    }
}
