import Raft
import Testing

/// A replica whose damaged log was cut back neither campaigns nor votes until it caught up.
@Suite struct ScenarioRepairTests {
    static func node(_ id: NodeID, persisted: PersistedState = PersistedState()) -> Raft {
        var configuration = RaftConfiguration(id: id)
        configuration.preVote = false
        configuration.checkQuorum = false
        return Raft(
            configuration: configuration, membership: Membership(voters: [1, 2, 3]), persisted: persisted, seed: 7)
    }

    @Test func aRepairingReplicaNeverCampaigns() {
        var raft = Self.node(1)
        raft.beginRepair()
        for _ in 0..<200 { raft.tick() }
        let ready = raft.ready()
        #expect(ready.messages.isEmpty)
        #expect(raft.role == .follower)
    }

    @Test func aRepairingReplicaRefusesVotesUntilItCaughtUpWithTheLeader() {
        var raft = Self.node(1)
        raft.beginRepair()
        raft.step(Message(kind: .vote, from: 2, to: 1, term: 5, logTerm: 4, index: 100))
        var ready = raft.ready()
        #expect(ready.messages.map(\.reject) == [true])
        raft.advance(ready)
        // The leader (node 3, term 6) sends entries 1…3 committed through 3.
        let entries = (1...3).map { Entry(term: 6, index: UInt64($0), data: [UInt8($0)]) }
        raft.step(Message(kind: .append, from: 3, to: 1, term: 6, logTerm: 0, index: 0, entries: entries, commit: 3))
        #expect(raft.repairTargetIndex == 3)
        #expect(!raft.isRepairing, "caught up: committed 3 of 3")
        ready = raft.ready()
        raft.advance(ready)
        // Voting again: a later candidate with an up-to-date log gets the vote.
        raft.step(Message(kind: .vote, from: 2, to: 1, term: 7, logTerm: 6, index: 3))
        ready = raft.ready()
        #expect(ready.messages.last?.kind == .voteResponse)
        #expect(ready.messages.last?.reject == false)
    }

    @Test func repairWaitsForTheCommitIndexTheLeaderFirstNamed() {
        var raft = Self.node(2)
        raft.beginRepair()
        // The leader's first append names commit 10 but carries only entries 1…4.
        let first = (1...4).map { Entry(term: 2, index: UInt64($0)) }
        raft.step(Message(kind: .append, from: 1, to: 2, term: 2, logTerm: 0, index: 0, entries: first, commit: 10))
        #expect(raft.isRepairing)
        #expect(raft.repairTargetIndex == 10)
        let rest = (5...10).map { Entry(term: 2, index: UInt64($0)) }
        raft.step(Message(kind: .append, from: 1, to: 2, term: 2, logTerm: 2, index: 4, entries: rest, commit: 10))
        #expect(!raft.isRepairing)
    }

    /// Found by `ferry simulate` (seed 2927): a replica cut back by repair to stale entries of an old term
    /// (the truncation that had replaced them lay past the damage) took a heartbeat's commit index, which
    /// the leader had capped at the entries the replica acknowledged before the damage, and committed the
    /// stale entries; it then answered the leader's appends with that commit index, and each heartbeat
    /// added another append refused at the same place (a growing livelock). While repairing, only appends,
    /// which check that the logs match, advance the commit index.
    @Test func aRepairingReplicaCommitsNothingFromAHeartbeat() {
        let stale = (1...5).map { Entry(term: 1, index: UInt64($0)) }
        var raft = Self.node(
            2, persisted: PersistedState(hardState: HardState(term: 3, votedFor: 0, commit: 2), entries: stale))
        raft.beginRepair()
        raft.step(Message(kind: .heartbeat, from: 1, to: 2, term: 3, commit: 40))
        #expect(raft.commitIndex == 2)
        // The leader's entries from 3 on are of term 2: an append that matches at 2 replaces them.
        let current = (3...6).map { Entry(term: 2, index: UInt64($0)) }
        raft.step(Message(kind: .append, from: 1, to: 2, term: 3, logTerm: 1, index: 2, entries: current, commit: 6))
        #expect(raft.commitIndex == 6)
        #expect(raft.entries(from: 3).map(\.term) == [2, 2, 2, 2])
    }

    /// A follower whose disk silently lost entries it had acknowledged (no repair mode: nothing told it) is
    /// probed below what the leader counted as matched, and caught up. Before, the leader probed at its old
    /// match forever and each heartbeat added another refused append (a livelock found by `ferry simulate`).
    @Test func aFollowerThatSilentlyLostAcknowledgedEntriesIsCaughtUp() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        for index in 1...20 { try network.propose("entry \(index)") }
        network.pump()
        #expect(network.log(of: 3).count == network.log(of: 1).count)
        network.crash(3)
        network.loseStoredEntries(of: 3, after: 4)
        network.restart(3)
        try network.propose("after the loss")
        network.tick(times: 3)
        let sentBefore = network.sent.count
        network.tick(times: 5)
        #expect(network.log(of: 3) == network.log(of: 1))
        #expect(network.appliedText(of: 3).last == "after the loss")
        #expect(network.sent.count - sentBefore < 100, "the group settled instead of trading refused appends")
    }
}
