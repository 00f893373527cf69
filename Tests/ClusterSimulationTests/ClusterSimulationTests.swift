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
}
