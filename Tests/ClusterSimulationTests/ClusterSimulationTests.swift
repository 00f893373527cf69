import Testing

@testable import ClusterSimulation

/// The whole-cluster simulator: a seed passes every check, and a seed replays exactly. (CI runs 1,000
/// seeds on a release build with `ferry simulate`; here, debug-built, a few runs keep the suite short.)
@Suite struct ClusterSimulationTests {
    @Test func aSeedPassesEveryCheck() {
        for seed: UInt64 in 1...1 {
            let report = ClusterSimulation.run(seed: seed)
            #expect(report.failure == nil, "seed \(seed): \(report.failure ?? "")")
            #expect(report.acknowledgedSends > 0, "seed \(seed) acknowledged no send")
        }
    }

    @Test func theSameSeedRunsTheSameWay() {
        let first = ClusterSimulation.run(seed: 42, nodes: 3)
        let second = ClusterSimulation.run(seed: 42, nodes: 3)
        #expect(first.traceDigest == second.traceDigest)
        #expect(first.faults == second.faults)
        #expect(first.operations == second.operations)
    }

    /// Five nodes, three replicas of each shard: requests taken by a node that does not host the queue's
    /// shard go as calls to one that does, and every check still holds.
    @Test func callsBetweenNodesKeepEveryCheck() {
        let report = ClusterSimulation.run(seed: 3, nodes: 5, replicationFactor: 3)
        #expect(report.failure == nil, "seed 3: \(report.failure ?? "")")
        #expect(report.replicationFactor == 3 && report.callsAnswered > 0)
    }
}
