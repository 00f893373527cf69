import Raft
import Testing

/// Bugs the fault simulator found in `Raft`, each pinned by a small hand-driven case.
@Suite struct SimulatorRegressionTests {
    /// Nodes that never crash; the test decides which messages are lost.
    struct HandDrivenGroup {
        var nodes: [NodeID: Raft] = [:]
        var inFlight: [Message] = []

        init(voters: [NodeID], inflightMessagesMax: Int = 256) {
            for id in voters {
                var configuration = RaftConfiguration(id: id)
                configuration.inflightMessagesMax = inflightMessagesMax
                nodes[id] = Raft(configuration: configuration, membership: Membership(voters: Set(voters)), seed: 5)
            }
        }

        /// Takes every node's `Ready`s: messages go in flight, committed entries count as applied.
        mutating func collect() {
            for id in nodes.keys.sorted() {
                while nodes[id]!.hasReady {
                    let ready = nodes[id]!.ready()
                    inFlight.append(contentsOf: ready.messages)
                    nodes[id]!.advance(ready)
                }
            }
        }

        /// Delivers messages until none is left, losing those `lost` picks.
        mutating func deliver(losing lost: (Message) -> Bool = { _ in false }) {
            for _ in 0..<1_000 {
                collect()
                guard !inFlight.isEmpty else { return }
                let batch = inFlight
                inFlight = []
                for message in batch where !lost(message) { nodes[message.to]!.step(message) }
            }
        }

        /// Ticks `node` until it leads (the others stay quiet and grant their votes).
        mutating func elect(_ node: NodeID) {
            for _ in 0..<100 where nodes[node]!.role != .leader {
                nodes[node]!.tick()
                deliver()
            }
        }

        /// A few heartbeat rounds with nothing lost.
        mutating func heartbeats(_ rounds: Int, leader: NodeID) {
            for _ in 0..<rounds {
                nodes[leader]!.tick()
                deliver()
            }
        }
    }

    /// Found by the simulator (seed 638, once leaders kept a margin of entries behind their snapshots): a
    /// follower appended an old leader's entries and, before persisting them, a new leader's conflicting
    /// ones; the Ready still carried its acknowledgment of the replaced entries, claiming entries that never
    /// reached its disk.
    @Test func anAcknowledgmentOfEntriesReplacedBeforeTheyWerePersistedIsNotSent() throws {
        var follower = Raft(
            configuration: RaftConfiguration(id: 2), membership: Membership(voters: [1, 2, 3]), seed: 5)
        let old = (1...3).map { Entry(term: 1, index: $0, data: [UInt8($0)]) }
        follower.step(Message(kind: .append, from: 1, to: 2, term: 1, entries: old))
        follower.step(
            Message(
                kind: .append, from: 3, to: 2, term: 2, logTerm: 1, index: 1,
                entries: [Entry(term: 2, index: 2, data: [9])]))
        let ready = follower.ready()
        #expect(ready.entries.map(\.term) == [1, 2])
        let acknowledgments = ready.messages.filter { $0.kind == .appendResponse && !$0.reject }
        #expect(acknowledgments.map(\.to) == [3])
        #expect(acknowledgments.map(\.index) == [2])
    }

    /// Found by the simulator (seed 1 before the fix): with a full replicate window whose appends were all
    /// lost, heartbeat responses called `sendAppend`, which stayed paused, so the follower never caught up.
    /// Now a heartbeat response frees one in-flight slot.
    @Test func aFullWindowOfLostAppendsIsResentAfterAHeartbeatResponse() throws {
        var group = HandDrivenGroup(voters: [1, 2, 3], inflightMessagesMax: 1)
        group.elect(1)
        #expect(group.nodes[1]!.role == .leader)
        try group.nodes[1]!.propose(Array("lost".utf8))
        group.deliver(losing: { $0.kind == .append && $0.to == 2 })
        try group.nodes[1]!.propose(Array("paused".utf8))
        group.deliver()
        #expect(group.nodes[2]!.lastIndex < group.nodes[1]!.lastIndex)
        group.heartbeats(3, leader: 1)
        #expect(group.nodes[2]!.lastIndex == group.nodes[1]!.lastIndex)
        #expect(group.nodes[2]!.commitIndex == group.nodes[1]!.commitIndex)
    }

    /// Found by the simulator (seed 5 before the fix): a follower installed a snapshot but its answer was
    /// lost; the leader stayed in the snapshot state, paused, for good. The driver now reports a delivered
    /// snapshot with `reportSnapshotSent(_:)` (etcd's `SnapshotFinish`) and the leader probes after it.
    @Test func aDeliveredSnapshotWhoseAnswerIsLostIsFollowedByProbing() throws {
        var group = HandDrivenGroup(voters: [1, 2, 3])
        group.elect(1)
        for payload in ["a", "b", "c"] {
            try group.nodes[1]!.propose(Array(payload.utf8))
            group.deliver(losing: { $0.to == 3 || $0.from == 3 })
        }
        let leader = group.nodes[1]!
        let snapshotIndex = leader.appliedIndex
        group.nodes[1]!.compact(
            Snapshot(
                index: snapshotIndex, term: try #require(leader.term(at: snapshotIndex)),
                membership: leader.membership, data: []))
        // Node 3 is reachable again: it gets the snapshot, but its answer to it is lost.
        group.nodes[1]!.tick()
        group.deliver(losing: { $0.from == 3 && $0.kind == .appendResponse && !$0.reject })
        #expect(group.nodes[3]!.commitIndex == snapshotIndex)
        group.nodes[1]!.reportSnapshotSent(3)
        try group.nodes[1]!.propose(Array("d".utf8))
        group.heartbeats(3, leader: 1)
        #expect(group.nodes[3]!.lastIndex == group.nodes[1]!.lastIndex)
        #expect(group.nodes[3]!.commitIndex == group.nodes[1]!.commitIndex)
    }
}
