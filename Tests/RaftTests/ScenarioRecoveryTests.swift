import Raft
import Testing

/// Crashes in the middle of things: a leader that dies inside joint consensus, a learner that joins from a
/// snapshot, a transfer to a node that needs a snapshot, and a whole group restarting from its storage.
@Suite struct ScenarioRecoveryTests {
    static func network(voters: Set<NodeID> = [1, 2, 3]) -> TestNetwork {
        var network = TestNetwork(voters: voters) {
            $0.preVote = true
            $0.checkQuorum = true
        }
        network.elect(1)
        return network
    }

    @Test func aNewLeaderLeavesTheJointConfigurationItsPredecessorEntered() throws {
        var network = Self.network()
        network.addNode(4)
        try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.addLearner(4)])) }
        network.tick([1], times: 3)
        try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.addVoter(4), .remove(1)])) }
        // The leader crashes right after applying the joint configuration, before its empty change goes out.
        network.pump { $0.nodes[1]!.membership.isJoint }
        network.crash(1)
        network.pump()
        let joint = Membership(voters: [2, 3, 4], outgoingVoters: [1, 2, 3])
        for id: NodeID in 2...4 { #expect(network.nodes[id]!.membership == joint, "node \(id)") }

        let elected = network.tickUntilLeader()
        let leader = try #require(elected)
        network.tick(times: 30)
        let final = Membership(voters: [2, 3, 4])
        for id: NodeID in 2...4 { #expect(network.nodes[id]!.membership == final, "node \(id)") }
        #expect(network.leader.map { [2, 3, 4].contains($0) } == true)
        try network.propose("after")
        network.tick(times: 2)
        for id: NodeID in 2...4 { #expect(network.appliedText(of: id) == ["after"], "node \(id) (leader \(leader))") }
    }

    @Test func aLearnerJoinsFromASnapshotThatCarriesTheMembershipAndThenLeads() throws {
        var network = Self.network()
        network.addNode(4)
        network.crash(4)
        try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.addLearner(4)])) }
        for command in 0..<3 { try network.propose("command \(command)") }
        network.tick([1], times: 2)
        network.compact(1)
        let withLearner = Membership(voters: [1, 2, 3], learners: [4])
        #expect(network.storage[1]!.snapshot?.membership == withLearner)

        network.restart(4)
        network.tick(times: 3)
        #expect(network.installedSnapshots[4]?.count == 1)
        #expect(network.nodes[4]!.membership == withLearner)
        #expect(network.appliedText(of: 4) == (0..<3).map { "command \($0)" })

        try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.addVoter(4)])) }
        network.tick(times: 2)
        #expect(network.nodes[4]!.membership == Membership(voters: [1, 2, 3, 4]))
        network.on(1) { $0.transferLeadership(to: 4) }
        network.pump()
        #expect(network.leader == 4)
        try network.propose("from node 4")
        network.tick(times: 2)
        for id: NodeID in 1...4 {
            #expect(network.appliedText(of: id) == (0..<3).map { "command \($0)" } + ["from node 4"], "node \(id)")
        }
    }

    @Test func leadershipMovesToAFollowerThatFirstNeedsASnapshot() throws {
        var network = Self.network()
        network.crash(3)
        for command in 0..<4 { try network.propose("command \(command)") }
        network.tick([1], times: 2)
        network.compact(1)
        try network.propose("after the snapshot")
        network.tick([1])
        network.restart(3)
        network.sent = []
        network.on(1) { $0.transferLeadership(to: 3) }
        network.pump()
        #expect(network.sent.filter { $0.kind == .snapshot }.map(\.to) == [3])
        #expect(network.leader == 3)
        #expect(network.appliedText(of: 3) == (0..<4).map { "command \($0)" } + ["after the snapshot"])
    }

    @Test func aWholeGroupRestartsFromWhatItPersisted() throws {
        var network = Self.network()
        for command in 0..<3 { try network.propose("command \(command)") }
        network.tick(times: 2)
        network.compact(2)
        try network.propose("last before the crash")
        network.tick(times: 2)
        let terms = network.nodes.mapValues(\.term)
        for id: NodeID in 1...3 { network.crash(id) }
        for id: NodeID in 1...3 { network.restart(id) }
        for id: NodeID in 1...3 {
            #expect(network.nodes[id]!.term == terms[id], "node \(id)")
            #expect(network.nodes[id]!.role == .follower, "node \(id)")
        }
        network.tick(times: 2)
        let before = (0..<3).map { "command \($0)" } + ["last before the crash"]
        // What was committed is applied again from storage (and node 2's snapshot).
        for id: NodeID in 1...3 { #expect(network.appliedText(of: id) == before, "node \(id)") }

        let elected = network.tickUntilLeader()
        _ = try #require(elected)
        try network.propose("after the restart")
        network.tick(times: 2)
        for id: NodeID in 1...3 {
            #expect(network.appliedText(of: id) == before + ["after the restart"], "node \(id)")
        }
    }

    @Test func aFarBehindFollowerIsCaughtUpInBoundedAppends() throws {
        var network = TestNetwork(voters: [1, 2, 3]) {
            $0.messageBytesMax = 100
            $0.inflightMessagesMax = 2
            $0.committedBytesMax = 100
        }
        network.elect(1)
        network.crash(3)
        for command in 0..<50 {
            try network.propose("command \(command)")
            network.pump()
        }
        network.restart(3)
        network.sent = []
        network.tick(times: 5)
        #expect(network.appliedText(of: 3) == (0..<50).map { "command \($0)" })
        let appends = network.sent.filter { $0.kind == .append && $0.to == 3 }
        #expect(appends.allSatisfy { $0.entries.count <= 3 })
        #expect(appends.map(\.entries.count).reduce(0, +) >= 50)
    }
}
