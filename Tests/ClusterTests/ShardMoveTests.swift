import QueueEngine
import Raft
import Testing

@testable import Cluster

/// A shard's leader moves the group's voters to the placement's replicas (`MoveStep`): a newcomer joins as
/// a learner, catches up, and is swapped in with joint consensus; a leader that is to leave hands over
/// first. A move resumes after the crash of any node involved, at any step, and loses nothing.
@Suite struct ShardMoveTests {
    /// Starts a group of 1, 2 and 3 with a queue and a few messages.
    static func group(seed: UInt64 = 0, dropPercent: UInt64 = 0) throws -> GroupHarness {
        var group = try GroupHarness(voters: [1, 2, 3], settings: ShardSettings())
        if dropPercent > 0 {
            var random = SplitMix64(seed: seed)
            group.network = { _, _, _ in random.next() % 100 < dropPercent ? .drop : .deliver }
        }
        for _ in 0..<200 where group.leader == nil { try group.tick() }
        let leader = try #require(group.leader)
        let created = group.submit(.createQueue(name: "q", attributes: [:], tags: [:]), to: leader)
        for _ in 0..<100 where group.answers[created] == nil { try group.tick() }
        #expect(group.answers[created] == .queueCreated(name: "q"))
        return group
    }

    /// Gives every member the target; `preferred` first when it is in it, else lowest id first.
    static func target(_ target: Set<NodeID>, preferred: NodeID? = nil, in group: inout GroupHarness) {
        let ordered = target.sorted { ($0 == preferred ? 0 : 1, $0) < ($1 == preferred ? 0 : 1, $1) }
        for id in group.members.keys { group.members[id]!.driver.setTargetVoters(ordered) }
    }

    /// True when every replica of `target` has applied membership `target` and one of them leads.
    static func settled(_ group: GroupHarness, at target: Set<NodeID>) -> Bool {
        target.allSatisfy { group.members[$0]?.driver.raft.membership == Membership(voters: target) }
            && group.leader.map(target.contains) == true
    }

    @Test func aMoveSwapsOneReplicaAndTheNewcomerHoldsEverything() throws {
        var group = try Self.group()
        let leader = try #require(group.leader)
        for index in 0..<20 { group.submit(ShardDriverTests.send("m\(index)"), to: leader) }
        try group.settle()
        let leaving = try #require(Set<NodeID>([1, 2, 3]).subtracting([leader]).min())
        let target = Set<NodeID>([1, 2, 3, 4]).subtracting([leaving])
        try group.addMember(4, placement: [1, 2, 3])
        Self.target(target, preferred: leader, in: &group)
        for _ in 0..<100 where !Self.settled(group, at: target) { try group.tick() }
        #expect(Self.settled(group, at: target))
        #expect(group.leader == leader, "no leadership change was needed")
        for id in target { #expect(group.members[id]!.driver.engine.messageCount == 20, "node \(id)") }
        #expect(group.memberships[4] == Membership(voters: target))
        #expect(group.logs.contains { $0.contains("adding node 4 as a learner") })
        #expect(group.logs.contains { $0.contains("replacing voter \(leaving) with node 4") })
    }

    @Test func aLeaderThatIsToLeaveHandsOverFirst() throws {
        var group = try Self.group()
        let leader = try #require(group.leader)
        let target = Set<NodeID>([1, 2, 3, 4]).subtracting([leader])
        try group.addMember(4, placement: [1, 2, 3])
        Self.target(target, in: &group)
        for _ in 0..<200 where !Self.settled(group, at: target) { try group.tick() }
        #expect(Self.settled(group, at: target))
        let handOver = group.logs.firstIndex { $0.contains("handing leadership to node") }
        let replace = group.logs.firstIndex { $0.contains("replacing voter \(leader) with node 4") }
        #expect(handOver != nil && replace != nil && handOver! < replace!, "\(group.logs)")
    }

    @Test func aGroupGrowsAndShrinksOneVoterAtATime() throws {
        var group = try Self.group()
        try group.addMember(4, placement: [1, 2, 3])
        try group.addMember(5, placement: [1, 2, 3])
        Self.target([1, 2, 3, 4, 5], in: &group)
        for _ in 0..<200 where !Self.settled(group, at: [1, 2, 3, 4, 5]) { try group.tick() }
        #expect(Self.settled(group, at: [1, 2, 3, 4, 5]))
        Self.target([3, 4, 5], in: &group)
        for _ in 0..<300 where !Self.settled(group, at: [3, 4, 5]) { try group.tick() }
        #expect(Self.settled(group, at: [3, 4, 5]))
    }

    /// A move the target gives up before its joint step leaves no learner behind.
    @Test func aMoveGivenUpBeforeItsJointStepRemovesTheLearner() throws {
        var group = try Self.group()
        try group.addMember(4, placement: [1, 2, 3])
        group.down.insert(4)  // never catches up
        Self.target([1, 2, 4], in: &group)
        for _ in 0..<20 { try group.tick() }
        let leader = try #require(group.leader)
        #expect(group.members[leader]!.driver.raft.membership == Membership(voters: [1, 2, 3], learners: [4]))
        Self.target([1, 2, 3], in: &group)
        for _ in 0..<20 { try group.tick() }
        #expect(Self.settled(group, at: [1, 2, 3]))
        #expect(group.members[leader]!.driver.raft.membership.learners.isEmpty)
    }

    /// The parties of a move, each crashed (down for a while, then restarted from its disk) at each step:
    /// the move finishes, every acknowledged send is on every new replica, and the replicas agree.
    @Test(arguments: ["leader", "joining", "leaving", "bystander"])
    func aMoveSurvivesTheCrashOfAnyPartyAtAnyStep(party: String) throws {
        let phases = ["learner added", "joint", "done"]
        for (phaseIndex, phase) in phases.enumerated() {
            for seed: UInt64 in 1...3 {
                let context = "party \(party), phase \(phase), seed \(seed)"
                var group = try Self.group(seed: seed * 7 + UInt64(phaseIndex), dropPercent: 20)
                let leader = try #require(group.leader)
                let others = Set<NodeID>([1, 2, 3]).subtracting([leader]).sorted()
                // The leader leaves when it is the crashed party or when the seed says so (a hand-over).
                let leaving = party == "leader" || seed == 3 ? leader : others[0]
                let bystander = Set<NodeID>([1, 2, 3]).subtracting([leader, leaving]).min()!
                let target = Set<NodeID>([1, 2, 3, 4]).subtracting([leaving])
                let crashed: NodeID =
                    switch party {
                    case "leader": leader
                    case "joining": 4
                    case "leaving": leaving
                    default: bystander
                    }
                try group.addMember(4, placement: [1, 2, 3])
                Self.target(target, in: &group)
                var submitted = 0
                var acknowledged: [ClientHandle] = []
                func reached(_ group: GroupHarness) -> Bool {
                    let memberships = group.members.values.map { $0.driver.raft.membership }
                    switch phase {
                    case "learner added": return memberships.contains { $0.learners.contains(4) }
                    case "joint": return memberships.contains { $0.isJoint }
                    default: return Self.settled(group, at: target)
                    }
                }
                var crashedAt: Int?
                group.interrupt = reached
                for step in 0..<600 {
                    if let at = crashedAt, step == at + 30 {
                        group.down.remove(crashed)
                        try group.restart(crashed, placement: Set([1, 2, 3]))
                        group.members[crashed]!.driver.setTargetVoters(target.sorted())
                    }
                    if crashedAt == nil, reached(group) {
                        crashedAt = step
                        group.down.insert(crashed)
                        group.interrupt = nil
                    }
                    if let current = group.leader, step % 3 == 0, submitted < 60 {
                        acknowledged.append(group.submit(ShardDriverTests.send("s\(submitted)"), to: current))
                        submitted += 1
                    }
                    if let at = crashedAt, step > at + 30, Self.settled(group, at: target), submitted >= 60,
                        acknowledged.allSatisfy({ group.answers[$0] != nil })
                    {
                        break
                    }
                    try group.tick()
                }
                #expect(crashedAt != nil, "\(context): never reached")
                #expect(
                    Self.settled(group, at: target),
                    "\(context): \(group.members.mapValues { $0.driver.raft.membership })")
                let ok = acknowledged.filter { ShardDriverTests.sentBody(group.answers[$0]) != nil }.count
                for _ in 0..<20 { try group.tick() }
                let applied = target.map { group.members[$0]!.driver.raft.appliedIndex }
                let counts = target.map { group.members[$0]!.driver.engine.messageCount }
                #expect(Set(counts).count == 1, "\(context): replicas disagree \(counts) at \(applied)")
                #expect(counts.allSatisfy { $0 >= ok && $0 <= submitted }, "\(context): \(counts), \(ok) acknowledged")
            }
        }
    }

    /// A shrink that would leave the voters needing a dead node waits (found in review: removing a live
    /// voter while another is down left the shard without a quorum until the dead one returned).
    @Test func aShrinkThatWouldNeedADeadVoterWaits() throws {
        var group = try Self.group()
        let leader = try #require(group.leader)
        let others = Set<NodeID>([1, 2, 3]).subtracting([leader]).sorted()
        let (dead, leaving) = (others[0], others[1])
        group.down.insert(dead)
        for _ in 0..<30 { try group.tick() }  // the leader stops hearing from it
        Self.target([leader, dead], preferred: leader, in: &group)
        for _ in 0..<50 { try group.tick() }
        #expect(group.members[leader]!.driver.raft.membership == Membership(voters: [1, 2, 3]))
        #expect(group.logs.contains { $0.contains("waiting to remove voter \(leaving)") }, "\(group.logs)")
        let sent = group.submit(ShardDriverTests.send("still"), to: leader)
        for _ in 0..<20 where group.answers[sent] == nil { try group.tick() }
        #expect(ShardDriverTests.sentBody(group.answers[sent]) != nil, "the shard still takes commands")
        group.down.remove(dead)
        for _ in 0..<200 where !Self.settled(group, at: [leader, dead]) { try group.tick() }
        #expect(Self.settled(group, at: [leader, dead]))
    }

    // MARK: Leader balancing

    /// A settled group's leader hands over to the preferred leader (the target's first) once it has led
    /// for `leaderBalanceDelayMilliseconds`, and leadership then stays there; commands meanwhile are answered.
    @Test func theLeaderHandsOverToThePreferredLeaderAndItStays() throws {
        var group = try Self.group()
        let leader = try #require(group.leader)
        let preferred = try #require(Set<NodeID>([1, 2, 3]).subtracting([leader]).max())
        Self.target([1, 2, 3], preferred: preferred, in: &group)
        let delayTicks = Int(ShardSettings().leaderBalanceDelayMilliseconds) / ShardSettings().tickMilliseconds
        var handles: [ClientHandle] = []
        for step in 0..<(delayTicks + 100) where group.leader != preferred {
            if step % 5 == 0, let current = group.leader {
                handles.append(group.submit(ShardDriverTests.send("b\(step)"), to: current))
            }
            try group.tick()
        }
        #expect(group.leader == preferred)
        #expect(group.logs.contains { $0.contains("handing leadership to node \(preferred), its preferred leader") })
        for _ in 0..<(3 * delayTicks) {
            try group.tick()
            #expect(group.leader == preferred, "leadership stays with the preferred leader")
        }
        #expect(handles.allSatisfy { group.answers[$0] != nil }, "every command was answered")
        #expect(group.logs.filter { $0.contains("its preferred leader") }.count == 1, "\(group.logs)")
    }

    /// A node that handed leadership to the preferred one and leads again after that one's crash hands it
    /// back once the preferred one returns, after the delay, not the retry wait (found by the real-process
    /// test: the second hand-over waited `leaderBalanceRetryMilliseconds`).
    @Test func leadershipGoesBackAfterThePreferredLeaderCrashesAndReturns() throws {
        var group = try Self.group()
        let leader = try #require(group.leader)
        let preferred = try #require(Set<NodeID>([1, 2, 3]).subtracting([leader]).min())
        Self.target([1, 2, 3], preferred: preferred, in: &group)
        let settings = ShardSettings()
        let delayTicks = Int(settings.leaderBalanceDelayMilliseconds) / settings.tickMilliseconds
        for _ in 0..<(2 * delayTicks) where group.leader != preferred { try group.tick() }
        #expect(group.leader == preferred)
        group.down.insert(preferred)
        for _ in 0..<100 where group.leader == nil || group.leader == preferred { try group.tick() }
        // The node that handed over leads again (as in the real run that found this).
        if let current = group.leader, current != leader {
            group.members[current]!.driver.raft.transferLeadership(to: leader)
            for _ in 0..<50 where group.leader != leader { try group.tick() }
        }
        #expect(group.leader == leader)
        try group.restart(preferred, placement: [1, 2, 3])
        group.members[preferred]!.driver.setTargetVoters(
            [preferred] + Set<NodeID>([1, 2, 3]).subtracting([preferred]).sorted())
        group.down.remove(preferred)
        var ticks = 0
        while group.leader != preferred && ticks < 2 * delayTicks {
            try group.tick()
            ticks += 1
        }
        #expect(group.leader == preferred, "back after \(ticks) ticks")
        #expect(ticks < Int(settings.leaderBalanceRetryMilliseconds) / settings.tickMilliseconds)
    }

    /// A preferred leader that is down (or not heard from) is not handed leadership: the leader keeps it.
    @Test func aPreferredLeaderThatIsDownIsNotHandedLeadership() throws {
        var group = try Self.group()
        let leader = try #require(group.leader)
        let preferred = try #require(Set<NodeID>([1, 2, 3]).subtracting([leader]).min())
        group.down.insert(preferred)
        Self.target([1, 2, 3], preferred: preferred, in: &group)
        let delayTicks = Int(ShardSettings().leaderBalanceDelayMilliseconds) / ShardSettings().tickMilliseconds
        for _ in 0..<(2 * delayTicks) { try group.tick() }
        #expect(group.leader == leader)
        #expect(!group.logs.contains { $0.contains("its preferred leader") })
        // Back up and caught up, it gets leadership.
        group.down.remove(preferred)
        for _ in 0..<(2 * delayTicks) where group.leader != preferred { try group.tick() }
        #expect(group.leader == preferred)
    }
}
