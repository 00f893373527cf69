import Raft
import TestSupport
import Testing

/// Named fault scenarios driven through `RaftSimulator` with random faults off: every invariant is still
/// checked after every round, and each scenario ends healed and converged.
@Suite struct SimulationScenarioTests {
    static let electionTicks = 10

    /// A quiet group of `voters` with an elected leader and `payloads` committed on every node.
    func electedGroup(voters: Int = 3, spare: Int = 0, payloads: Int = 3) throws -> RaftSimulator {
        var simulator = RaftSimulator(
            options: RaftSimulationOptions(seed: 11, voterCount: voters, spareCount: spare, randomFaults: false))
        #expect(try simulator.runUntil(stepsMax: 10 * Self.electionTicks) { $0.leader != nil })
        for _ in 0..<payloads { try commit(in: &simulator) }
        return simulator
    }

    /// Proposes one payload at the leader and runs until every running member (but `excluded`) applied it;
    /// returns its id.
    @discardableResult
    func commit(in simulator: inout RaftSimulator, excluding excluded: Set<NodeID> = []) throws -> UInt64 {
        let leader = try #require(simulator.leader)
        guard case .taken(let ids) = simulator.propose(at: leader) else {
            Issue.record("leader \(leader) refused a proposal")
            return 0
        }
        let applied = try simulator.runUntil(stepsMax: 5 * Self.electionTicks) { simulator in
            simulator.nodeIDs.filter { simulator.isUp($0) && !excluded.contains($0) }.allSatisfy { node in
                !simulator.raft(node).membership.members.contains(node)
                    || simulator.appliedPayloads(node).contains(ids[0])
            }
        }
        #expect(applied, "payload \(ids[0]) not applied everywhere: \(simulator.summary)")
        return ids[0]
    }

    @Test func leaderCrashesAndRestarts() throws {
        var simulator = try electedGroup()
        let old = try #require(simulator.leader)
        let oldTerm = simulator.raft(old).term
        simulator.crash(old)
        #expect(try simulator.runUntil(stepsMax: 5 * Self.electionTicks) { $0.leader != nil })
        let new = try #require(simulator.leader)
        #expect(new != old)
        #expect(simulator.raft(new).term > oldTerm)
        let written = try commit(in: &simulator)
        try simulator.restart(old)
        try simulator.healAndAwaitConvergence()
        #expect(simulator.appliedPayloads(old) == simulator.appliedPayloads(new))
        #expect(simulator.appliedPayloads(old).contains(written))
        #expect(simulator.raft(old).role == .follower)
    }

    /// The leader can receive but not send: followers stop hearing from it, elect a new leader, and the old
    /// leader, which hears the new term, steps down.
    @Test func leaderThatCannotSendIsReplaced() throws {
        var simulator = try electedGroup(voters: 5)
        let old = try #require(simulator.leader)
        for node in simulator.nodeIDs where node != old { simulator.block(from: old, to: node) }
        #expect(try simulator.runUntil(stepsMax: 6 * Self.electionTicks) { $0.leader.map { $0 != old } ?? false })
        #expect(try simulator.runUntil(stepsMax: Self.electionTicks) { $0.raft(old).role != .leader })
        try commit(in: &simulator, excluding: [old])
        try simulator.healAndAwaitConvergence()
    }

    /// The leader can send but not receive: with check-quorum it steps down after an election timeout without
    /// answers; its followers elect a new leader; and the cut-off node, unable to hear anyone, does not raise
    /// the term of the healthy majority (pre-vote, lease).
    @Test func leaderThatCannotReceiveStepsDownByCheckQuorum() throws {
        var simulator = try electedGroup(voters: 5)
        let old = try #require(simulator.leader)
        for node in simulator.nodeIDs where node != old { simulator.block(from: node, to: old) }
        #expect(try simulator.runUntil(stepsMax: 3 * Self.electionTicks) { $0.raft(old).role != .leader })
        #expect(try simulator.runUntil(stepsMax: 6 * Self.electionTicks) { $0.leader.map { $0 != old } ?? false })
        let new = try #require(simulator.leader)
        let term = simulator.raft(new).term
        try simulator.runSteps(10 * Self.electionTicks)
        #expect(simulator.leader == new)
        #expect(simulator.raft(new).term == term)
        try commit(in: &simulator, excluding: [old])
        try simulator.healAndAwaitConvergence()
    }

    /// A minority partition keeps its old leader a while but commits nothing; the majority moves on; after
    /// healing the minority's uncommitted entries are replaced and nothing acknowledged is lost.
    @Test func minorityLeaderLosesItsUncommittedEntries() throws {
        var simulator = try electedGroup(voters: 5)
        let old = try #require(simulator.leader)
        let follower = try #require(simulator.nodeIDs.first { $0 != old })
        simulator.isolate([old, follower])
        guard case .taken(let lost) = simulator.propose(at: old) else {
            Issue.record("the old leader refused a proposal")
            return
        }
        #expect(try simulator.runUntil(stepsMax: 6 * Self.electionTicks) { $0.leader.map { $0 != old } ?? false })
        let kept = try commit(in: &simulator, excluding: [old, follower])
        simulator.healNetwork()
        try simulator.healAndAwaitConvergence()
        for node in simulator.nodeIDs {
            #expect(simulator.appliedPayloads(node).contains(kept))
            #expect(!simulator.appliedPayloads(node).contains(lost[0]))
        }
    }

    /// Crashes in the middle of a `Ready`, at every point, on a follower and then on the leader.
    @Test(arguments: ReadyCrashPoint.allCases)
    func crashDuringAReady(at point: ReadyCrashPoint) throws {
        var simulator = try electedGroup()
        let leader = try #require(simulator.leader)
        let follower = try #require(simulator.nodeIDs.first { $0 != leader })
        simulator.crashDuringNextReady(follower, at: point)
        _ = simulator.propose(at: leader)
        try simulator.runSteps(2)
        #expect(!simulator.isUp(follower))
        try simulator.restart(follower)
        try simulator.healAndAwaitConvergence()
        let current = try #require(simulator.leader)
        simulator.crashDuringNextReady(current, at: point)
        _ = simulator.propose(at: current, count: 3)
        try simulator.runSteps(2)
        try simulator.healAndAwaitConvergence()
        #expect(Set(simulator.appliedPayloads(follower)) == simulator.acknowledgedPayloads)
    }

    /// A follower that was down while the others compacted their logs catches up from a snapshot.
    @Test func laggingFollowerCatchesUpFromASnapshot() throws {
        var simulator = try electedGroup()
        let leader = try #require(simulator.leader)
        let follower = try #require(simulator.nodeIDs.first { $0 != leader })
        simulator.crash(follower)
        for _ in 0..<5 { try commit(in: &simulator) }
        for node in simulator.nodeIDs where node != follower { simulator.takeSnapshot(of: node) }
        #expect(simulator.raft(leader).firstIndex > simulator.raft(follower).lastIndex + 1)
        try simulator.restart(follower)
        try simulator.healAndAwaitConvergence()
        #expect(simulator.report.snapshotsInstalled >= 1)
        #expect(simulator.appliedPayloads(follower) == simulator.appliedPayloads(leader))
    }

    /// Add a learner, promote it, then (joint consensus) demote the leader to a learner while removing another
    /// voter: the leader steps down once the joint configuration is left, and the two voters left elect one.
    @Test func membershipChangesReplaceTheLeader() throws {
        var simulator = try electedGroup(voters: 3, spare: 1)
        let leader = try #require(simulator.leader)
        #expect(simulator.proposeMembershipChange(MembershipChange([.addLearner(4)]), at: leader) == nil)
        #expect(try simulator.runUntil(stepsMax: 5 * Self.electionTicks) { $0.raft(4).membership.learners == [4] })
        #expect(simulator.proposeMembershipChange(MembershipChange([.addVoter(4)]), at: leader) == nil)
        try commit(in: &simulator)
        #expect(simulator.raft(leader).membership.voters == [1, 2, 3, 4])
        let removed = try #require(simulator.nodeIDs.first { $0 != leader && $0 != 4 })
        let replacement = MembershipChange([.addLearner(leader), .remove(removed)])
        #expect(simulator.proposeMembershipChange(replacement, at: leader) == nil)
        try simulator.healAndAwaitConvergence()
        let next = try #require(simulator.leader)
        #expect(next != leader)
        let membership = simulator.raft(next).membership
        #expect(membership.voters == Set(simulator.nodeIDs).subtracting([leader, removed]))
        #expect(membership.learners == [leader])
        #expect(!membership.isJoint)
        try commit(in: &simulator)
    }

    @Test func leadershipTransfer() throws {
        var simulator = try electedGroup(voters: 5)
        let leader = try #require(simulator.leader)
        let target = try #require(simulator.nodeIDs.last { $0 != leader })
        simulator.transferLeadership(from: leader, to: target)
        #expect(try simulator.runUntil(stepsMax: Self.electionTicks) { $0.leader == target })
        try commit(in: &simulator)
        try simulator.healAndAwaitConvergence()
    }
}
