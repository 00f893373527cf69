import Testing

@testable import ClusterSimulation

/// The whole-cluster simulator: a few seeds pass every check, and a seed replays exactly.
@Suite struct ClusterSimulationTests {
    @Test func aFewSeedsPassEveryCheck() {
        for seed: UInt64 in 1...3 {
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
}
