import QueueEngine
import Raft
import Testing

@testable import Cluster

/// A shard's replicas move one voter at a time (a learner catches up, then a joint change swaps it in);
/// a replica restarted without a snapshot rebuilds the group's membership from the voters recorded in its
/// genesis file, not from where the placement puts the shard by then.
@Suite struct ShardMembershipTests {
    /// Adds `joining` as a learner, waits until it is caught up, then swaps it for `leaving`.
    static func move(
        _ group: inout GroupHarness, add joining: NodeID, remove leaving: NodeID, genesis: Set<NodeID>
    ) throws {
        try group.addMember(joining, placement: genesis)
        var leader = try #require(group.leader)
        try group.members[leader]!.driver.raft.proposeMembershipChange(MembershipChange([.addLearner(joining)]))
        func caughtUp(_ group: GroupHarness) -> Bool {
            group.leader.map { group.members[$0]!.driver.raft.isCaughtUp(joining, lag: 0) } == true
        }
        for _ in 0..<100 where !caughtUp(group) { try group.tick() }
        #expect(caughtUp(group))
        leader = try #require(group.leader)
        try group.members[leader]!.driver.raft.proposeMembershipChange(
            MembershipChange([.addVoter(joining), .remove(leaving)]))
        let final = group.members[leader]!.driver.raft.membership.allVoters.subtracting([leaving]).union([joining])
        func settled(_ group: GroupHarness) -> Bool {
            final.allSatisfy { group.members[$0]!.driver.raft.membership == Membership(voters: final) }
                && group.leader.map { final.contains($0) } == true
        }
        for _ in 0..<200 where !settled(group) { try group.tick() }
        #expect(settled(group))
        // The removed replica stops (frames to it are dropped from now on).
        group.members[leaving] = nil
    }

    @Test func aReplicaRestartedWithoutASnapshotAfterMovesReplaysFromTheGenesisVoters() throws {
        var group = try GroupHarness(voters: [1, 2, 3], settings: ShardSettings())
        for _ in 0..<50 where group.leader == nil { try group.tick() }
        let first = try #require(group.leader)
        group.submit(.createQueue(name: "q", attributes: [:], tags: [:]), to: first)
        for index in 0..<3 { group.submit(ShardDriverTests.send("before \(index)"), to: first) }
        try group.settle()

        try Self.move(&group, add: 4, remove: 1, genesis: [1, 2, 3])
        try Self.move(&group, add: 5, remove: 2, genesis: [1, 2, 3])
        let leader = try #require(group.leader)
        group.submit(ShardDriverTests.send("after"), to: leader)
        try group.settle()

        // The placement now puts the shard on 3, 4 and 5; each restarts without a snapshot.
        for id: NodeID in [3, 4, 5] {
            #expect(try group.members[id]!.storage.load().snapshot == nil)
            try group.restart(id, placement: [3, 4, 5])
        }
        for _ in 0..<100 where group.leader == nil { try group.tick() }
        for _ in 0..<5 { try group.tick() }
        let restarted = try #require(group.leader)
        let answered = group.submit(ShardDriverTests.send("after the restart"), to: restarted)
        for _ in 0..<50 where group.answers[answered] == nil { try group.tick() }
        #expect(group.answers[answered] != nil)
        for id: NodeID in [3, 4, 5] {
            #expect(group.members[id]!.driver.raft.membership == Membership(voters: [3, 4, 5]), "node \(id)")
            #expect(group.members[id]!.driver.engine.messageCount == 5, "node \(id)")
        }
    }

    /// Mid-move, the placement already names the new replica and no longer the one it replaces; a replica
    /// restarted then must still count the leaving voter (the log has not removed it yet).
    @Test func aReplicaRestartedDuringAMoveKeepsTheVoterNotYetRemoved() throws {
        var group = try GroupHarness(voters: [1, 2, 3], settings: ShardSettings())
        for _ in 0..<50 where group.leader == nil { try group.tick() }
        let leader = try #require(group.leader)
        group.submit(.createQueue(name: "q", attributes: [:], tags: [:]), to: leader)
        try group.settle()
        try group.addMember(4, placement: [1, 2, 3])
        try group.members[leader]!.driver.raft.proposeMembershipChange(MembershipChange([.addLearner(4)]))
        for _ in 0..<100 where !group.members[leader]!.driver.raft.isCaughtUp(4, lag: 0) { try group.tick() }
        let followers = Set<NodeID>([1, 2, 3]).subtracting([leader]).sorted()
        let (restarting, leaving) = (followers[0], followers[1])
        try group.restart(restarting, placement: Set([1, 2, 3, 4]).subtracting([leaving]))
        for _ in 0..<5 { try group.tick() }
        let expected = Membership(voters: [1, 2, 3], learners: [4])
        #expect(group.members[restarting]!.driver.raft.membership == expected)
        #expect(group.members[leader]!.driver.raft.membership == expected)
    }
}
