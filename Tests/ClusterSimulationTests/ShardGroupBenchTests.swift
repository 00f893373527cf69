import Cluster
import QueueEngine
import Raft
import Testing

@testable import ClusterSimulation

/// The benchmark suite's in-process group answers what it is asked: sends, the full cycle, and nothing
/// left behind.
@Suite struct ShardGroupBenchTests {
    @Test func aGroupOfThreeAnswersSendsAndFullCycles() throws {
        var group = try ShardGroupBench(replicas: 3)
        guard case .sent(let entries) = try group.sendBatch(count: 10, bodyBytes: 256) else {
            Issue.record("the batch was not sent")
            return
        }
        #expect(entries.count == 10)
        for _ in 0..<20 { try group.cycle(count: 10, bodyBytes: 256) }
        try group.drainBatch(count: 10)
        let leader = group.members[group.leader]!.driver
        #expect(leader.engine.storedTotals(ofQueue: group.queueName)?.messages == 0)
        #expect(leader.raft.commitIndex > 40, "a create, 21 sends, 20 receives and 21 deletes committed")
    }
}
