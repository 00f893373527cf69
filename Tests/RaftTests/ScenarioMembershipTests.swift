import Raft
import Testing

/// Membership changes (§6): one change at a time; a change of several voters goes through joint consensus,
/// which the leader leaves on its own; a leader that removes itself steps down once the change applies.
@Suite struct ScenarioMembershipTests {
    /// The membership changes in `log`, in order.
    static func changes(in log: [Entry]) -> [MembershipChange] {
        log.filter { $0.kind == .membershipChange }.compactMap { MembershipChange(decoding: $0.data) }
    }

    @Test func aNewNodeReplacesTheLeaderThroughJointConsensus() throws {
        var network = TestNetwork(voters: [1, 2, 3]) {
            $0.preVote = true
            $0.checkQuorum = true
        }
        network.elect(1)
        try network.propose("before")
        network.tick([1])

        // Node 4 joins as a learner and receives the whole log.
        network.addNode(4)
        try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.addLearner(4)])) }
        network.tick([1], times: 3)
        for id: NodeID in 1...4 {
            #expect(network.nodes[id]!.membership == Membership(voters: [1, 2, 3], learners: [4]), "node \(id)")
        }
        #expect(network.log(of: 4) == network.log(of: 1))
        #expect(network.appliedText(of: 4) == ["before"])
        #expect(network.nodes[4]!.role == .follower)

        // Node 4 becomes a voter and node 1 leaves, in one change: joint consensus.
        try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.addVoter(4), .remove(1)])) }
        network.pump()
        // The leader applied the joint configuration, left it by itself, applied that, and stepped down.
        #expect(
            Self.changes(in: network.log(of: 1)) == [
                MembershipChange([.addLearner(4)]), MembershipChange([.addVoter(4), .remove(1)]), MembershipChange([]),
            ])
        #expect(network.nodes[1]!.membership == Membership(voters: [2, 3, 4]))
        #expect(network.nodes[1]!.softState == SoftState(leader: 0, role: .follower))

        let elected = network.tickUntilLeader()
        let leader = try #require(elected)
        #expect([2, 3, 4].contains(leader))
        try network.propose("after")
        network.tick(times: 30)
        #expect(network.leader == leader)
        for id: NodeID in 2...4 {
            #expect(network.nodes[id]!.membership == Membership(voters: [2, 3, 4]), "node \(id)")
            #expect(network.appliedText(of: id) == ["before", "after"], "node \(id)")
        }
        // The removed node no longer campaigns nor receives the log.
        #expect(network.nodes[1]!.role == .follower)
        #expect(network.appliedText(of: 1) == ["before"])
    }

    @Test func aSecondMembershipChangeWaitsUntilThePendingOneIsApplied() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        network.addNode(4)
        network.addNode(5)
        try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.addLearner(4)])) }
        let refused = #expect(throws: RaftError.self) {
            try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.addLearner(5)])) }
        }
        guard case .membershipChangeRejected = refused else {
            Issue.record("expected membershipChangeRejected, got \(String(describing: refused))")
            return
        }

        network.pump()
        // A change of two voters goes through a joint configuration; until the leader has left it, no other
        // change is taken.
        try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.addVoter(4), .addVoter(5)])) }
        #expect(throws: RaftError.self) {
            try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.remove(2)])) }
        }
        network.pump()
        #expect(network.nodes[1]!.membership == Membership(voters: [1, 2, 3, 4, 5]))
        try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.remove(2)])) }
        network.tick([1])
        for id: NodeID in [1, 3, 4, 5] {
            #expect(network.nodes[id]!.membership == Membership(voters: [1, 3, 4, 5]), "node \(id)")
        }
    }

    @Test func aLeaderDemotedToLearnerStepsDownAndKeepsReceivingTheLog() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        network.addNode(4)
        try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.addLearner(4)])) }
        network.tick([1], times: 3)
        try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.addVoter(4), .addLearner(1)])) }
        network.pump { $0.nodes[1]!.membership.isJoint }
        #expect(
            network.nodes[1]!.membership
                == Membership(voters: [2, 3, 4], outgoingVoters: [1, 2, 3], learnersNext: [1]))
        network.pump()
        let final = Membership(voters: [2, 3, 4], learners: [1])
        #expect(network.nodes[1]!.membership == final)
        #expect(network.nodes[1]!.role == .follower)

        let elected = network.tickUntilLeader()
        let leader = try #require(elected)
        #expect(leader != 1)
        try network.propose("to everyone")
        network.tick(times: 2)
        for id: NodeID in 1...4 {
            #expect(network.nodes[id]!.membership == final, "node \(id)")
            #expect(network.appliedText(of: id) == ["to everyone"], "node \(id)")
        }
    }

    @Test func anInvalidMembershipChangeIsRefused() {
        var leader = makeLeader(voters: [1])
        #expect(throws: RaftError.self) { try leader.proposeMembershipChange(MembershipChange([.remove(1)])) }
        #expect(throws: RaftError.self) { try leader.proposeMembershipChange(MembershipChange([])) }
    }

    @Test func aFollowerRefusesMembershipChangesAndNamesTheLeader() {
        var follower = makeFollower(2, of: 1, term: 1)
        #expect(throws: RaftError.notLeader(leader: 1)) {
            try follower.proposeMembershipChange(MembershipChange([.addLearner(4)]))
        }
    }
}
