import Raft
import Testing

/// Log compaction (§7): the leader snapshots its applied state and drops the entries it covers; a follower
/// that needs those entries gets the snapshot instead, installs it, and then the log after it.
@Suite struct ScenarioSnapshotTests {
    @Test func aSlowFollowerCatchesUpFromTheLeadersSnapshot() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        network.crash(3)
        for command in 0..<5 {
            try network.propose("command \(command)")
            network.tick([1])
        }
        #expect(network.appliedIndex[1] == 6)
        network.compact(1)
        #expect(network.nodes[1]!.firstIndex == 7)
        try network.propose("after the snapshot")
        network.tick([1])

        network.restart(3)
        network.sent = []
        network.tick(times: 3)
        let snapshots = network.sent.filter { $0.kind == .snapshot }
        #expect(snapshots.map(\.to) == [3])
        #expect(snapshots.first?.snapshot?.index == 6)
        #expect(network.installedSnapshots[3]?.map(\.index) == [6])
        #expect(network.storage[3]!.snapshot?.index == 6)
        #expect(network.storage[3]!.entries.map(\.index) == [7])
        #expect(network.nodes[3]!.firstIndex == 7)
        #expect(network.nodes[3]!.membership == Membership(voters: [1, 2, 3]))
        let expected = (0..<5).map { "command \($0)" } + ["after the snapshot"]
        #expect(network.appliedText(of: 3) == expected)

        // Then plain appends again.
        try network.propose("later")
        network.tick([1])
        #expect(network.sent.filter { $0.kind == .snapshot }.count == 1)
        #expect(network.log(of: 3) == network.log(of: 1))
        #expect(network.appliedText(of: 3) == expected + ["later"])
    }

    @Test func aFollowerRestartsFromItsOwnSnapshotAndLog() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        for command in 0..<3 { try network.propose("command \(command)") }
        network.tick([1], times: 2)
        network.compact(2)
        try network.propose("after the snapshot")
        network.tick([1], times: 2)

        network.crash(2)
        network.restart(2)
        #expect(network.nodes[2]!.firstIndex == 5)
        network.tick([1], times: 2)
        #expect(network.appliedText(of: 2) == (0..<3).map { "command \($0)" } + ["after the snapshot"])
        #expect(network.log(of: 2) == network.nodes[1]!.entries(from: 5))
    }

    @Test func aSnapshotTheFollowerAlreadyHasIsAcknowledgedWithoutReplacingItsLog() {
        let persisted = PersistedState(hardState: HardState(term: 1, commit: 1), entries: entries(terms: [1, 1, 1]))
        var follower = makeFollower(2, of: 1, term: 1, persisted: persisted)
        let snapshot = Snapshot(index: 2, term: 1, membership: Membership(voters: [1, 2, 3]), data: [])
        follower.step(Message(kind: .snapshot, from: 1, to: 2, term: 1, snapshot: snapshot))
        let ready = follower.takeReady()
        #expect(ready.snapshot == nil)
        #expect(ready.messages == [Message(kind: .appendResponse, from: 2, to: 1, term: 1, index: 2)])
        #expect(follower.commitIndex == 2)
        #expect(follower.lastIndex == 3)
    }
}
