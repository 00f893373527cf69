import Raft
import Testing

/// Leadership transfer (thesis §3.10): the leader brings the target up to date, then tells it to campaign at
/// once; proposals wait meanwhile; a transfer that does not finish within an election timeout is abandoned.
/// Pre-vote and check-quorum are on, as in production: the transfer must get past leases.
@Suite struct ScenarioTransferTests {
    static func network(voters: Set<NodeID> = [1, 2, 3], learners: Set<NodeID> = []) -> TestNetwork {
        var network = TestNetwork(voters: voters, learners: learners) {
            $0.preVote = true
            $0.checkQuorum = true
        }
        network.elect(1)
        return network
    }

    @Test func leadershipMovesToAnUpToDateFollower() throws {
        var network = Self.network()
        try network.propose("before")
        network.tick([1])
        network.sent = []
        network.on(1) { $0.transferLeadership(to: 2) }
        network.pump()
        #expect(network.sent.first == Message(kind: .timeoutNow, from: 1, to: 2, term: 1))
        #expect(network.leader == 2)
        #expect(network.nodes[2]!.term == 2)
        #expect(network.nodes[1]!.softState == SoftState(leader: 2, role: .follower))
        try network.propose("after")
        network.tick([2])
        for id: NodeID in 1...3 { #expect(network.appliedText(of: id) == ["before", "after"], "node \(id)") }
    }

    @Test func aLaggingTargetIsCaughtUpBeforeItIsToldToCampaign() throws {
        var network = Self.network()
        network.isolate(3)
        for command in 0..<3 { try network.propose("command \(command)") }
        network.tick([1])
        network.heal()
        network.sent = []
        network.on(1) { $0.transferLeadership(to: 3) }

        // Until the transfer ends, the leader refuses proposals and membership changes.
        #expect(throws: RaftError.transferInProgress) { try network.propose("refused") }
        #expect(throws: RaftError.transferInProgress) {
            try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.remove(2)])) }
        }
        network.pump()
        let timeoutNow = try #require(network.sent.firstIndex { $0.kind == .timeoutNow })
        let caughtUp = try #require(
            network.sent.firstIndex { $0.kind == .appendResponse && $0.from == 3 && !$0.reject && $0.index == 4 })
        #expect(caughtUp < timeoutNow)
        #expect(network.leader == 3)
        #expect(network.nodes[1]!.leader == 3)
        #expect(network.appliedText(of: 3) == (0..<3).map { "command \($0)" })
    }

    @Test(arguments: [NodeID(4), 9, 1])
    func aTransferToALearnerANonMemberOrItselfIsIgnored(target: NodeID) throws {
        var network = Self.network(learners: [4])
        network.on(1) { $0.transferLeadership(to: target) }
        #expect(!network.nodes[1]!.hasReady)
        try network.propose("accepted")
        network.tick(times: 30)
        #expect(network.leader == 1)
        #expect(network.nodes[1]!.term == 1)
        #expect(network.appliedText(of: 2) == ["accepted"])
    }

    @Test func aLearnerToldToCampaignDoesNot() {
        var learner = makeNode(4, voters: [1, 2, 3], learners: [4])
        learner.step(Message(kind: .timeoutNow, from: 1, to: 4, term: 1))
        #expect(learner.softState == SoftState(leader: 0, role: .follower))
        #expect(learner.term == 1)
        #expect(learner.takeMessages().isEmpty)
    }

    @Test func aFollowerIgnoresATransferRequest() {
        var network = Self.network()
        network.on(2) { $0.transferLeadership(to: 3) }
        network.pump()
        network.tick(times: 5)
        #expect(network.leader == 1)
        #expect(network.nodes[3]!.term == 1)
    }

    @Test func aTransferThatDoesNotFinishIsAbandonedAfterAnElectionTimeout() throws {
        var network = Self.network()
        network.crash(3)
        network.on(1) { $0.transferLeadership(to: 3) }
        network.pump()
        for tick in 1..<10 {
            network.tick()
            #expect(throws: RaftError.transferInProgress, "tick \(tick)") { try network.propose("refused") }
        }
        network.tick()
        try network.propose("accepted")
        network.tick()
        #expect(network.leader == 1)
        #expect(network.nodes[1]!.term == 1)
        #expect(network.appliedText(of: 2) == ["accepted"])
    }
}
