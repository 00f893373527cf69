import Raft
import Testing

/// The leader's view of its followers (`followerProgress`, `isCaughtUp`): what decides that a new replica
/// has caught up and may become a voter.
@Suite struct ScenarioProgressTests {
    @Test func aLearnerIsCaughtUpOnlyOnceItReplicatesNearTheCommitIndex() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        for command in 0..<5 { try network.propose("command \(command)") }
        network.tick([1])
        network.addNode(4)
        // Node 4 does not answer yet: the leader knows nothing of its log.
        network.crash(4)
        try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.addLearner(4)])) }
        network.tick([1], times: 2)
        let unknown = try #require(network.nodes[1]!.followerProgress[4])
        #expect(unknown.isLearner && unknown.match == 0 && unknown.state == .probe)
        #expect(!network.nodes[1]!.isCaughtUp(4, lag: 1_000))

        network.restart(4)
        network.tick(times: 3)
        let caughtUp = try #require(network.nodes[1]!.followerProgress[4])
        #expect(caughtUp.state == .replicate && caughtUp.isLearner)
        #expect(caughtUp.match == network.nodes[1]!.lastIndex)
        #expect(network.nodes[1]!.isCaughtUp(4, lag: 0))
        // Voters are there too; the leader is not.
        #expect(Set(network.nodes[1]!.followerProgress.keys) == [2, 3, 4])
        #expect(network.nodes[1]!.followerProgress[2]?.isLearner == false)

        // It falls behind while down; a lag bound decides whether that still counts as caught up.
        network.crash(4)
        for command in 0..<3 { try network.propose("more \(command)") }
        network.tick([1], times: 2)
        #expect(network.nodes[1]!.isCaughtUp(4, lag: 3))
        #expect(!network.nodes[1]!.isCaughtUp(4, lag: 2))
    }

    @Test func aLearnerBehindTheSnapshotIsNotCaughtUpUntilItInstalledIt() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        for command in 0..<5 { try network.propose("command \(command)") }
        network.tick([1])
        network.compact(1)
        network.addNode(4)
        network.crash(4)
        try network.on(1) { try $0.proposeMembershipChange(MembershipChange([.addLearner(4)])) }
        network.tick([1], times: 2)
        network.restart(4)
        // The leader's first append to node 4 is refused; it then needs the snapshot.
        network.drop { $0.kind == .snapshot }
        network.tick(times: 3)
        #expect(network.nodes[1]!.followerProgress[4]?.state == .snapshot)
        #expect(!network.nodes[1]!.isCaughtUp(4, lag: 1_000))
        network.heal()
        try network.on(1) { $0.reportSnapshotFailed(4) }
        network.tick(times: 4)
        #expect(network.installedSnapshots[4]?.isEmpty == false)
        #expect(network.nodes[1]!.isCaughtUp(4, lag: 0))
    }

    @Test func onlyTheLeaderHasAViewAndANewLeaderStartsOver() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        try network.propose("a")
        network.tick([1])
        #expect(network.nodes[2]!.followerProgress.isEmpty)
        #expect(!network.nodes[2]!.isCaughtUp(3, lag: 1_000))
        #expect(network.nodes[1]!.isCaughtUp(2, lag: 0))
        #expect(!network.nodes[1]!.isCaughtUp(1, lag: 1_000))

        network.elect(2)
        #expect(Set(network.nodes[2]!.followerProgress.keys) == [1, 3])
        network.tick(times: 2)
        #expect(network.nodes[2]!.isCaughtUp(3, lag: 0))
        #expect(network.nodes[2]!.followerProgress[3]?.match == network.nodes[2]!.lastIndex)
        #expect(network.nodes[1]!.followerProgress.isEmpty)
    }
}
