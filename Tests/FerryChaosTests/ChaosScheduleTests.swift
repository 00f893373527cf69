import FerryChaos
import Testing

/// The fault schedule: drawn from the seed alone, one fault at a time inside the run, each on a minority.
@Suite struct ChaosScheduleTests {
    @Test func theSameSeedGivesTheSameScheduleAndAnotherSeedAnother() {
        let kinds = ChaosFaultKind.allCases
        let first = ChaosSchedule(seed: 7, durationMs: 300_000, nodes: 3, kinds: kinds)
        #expect(first == ChaosSchedule(seed: 7, durationMs: 300_000, nodes: 3, kinds: kinds))
        #expect(first != ChaosSchedule(seed: 8, durationMs: 300_000, nodes: 3, kinds: kinds))
    }

    @Test(arguments: [3, 5]) func faultsComeOneAtATimeOnAMinorityWithinTheRun(nodes: Int) {
        for seed in UInt64(1)...200 {
            let schedule = ChaosSchedule(
                seed: seed, durationMs: 180_000, nodes: nodes, kinds: ChaosFaultKind.allCases)
            var previousEnd = Int64(0)
            for fault in schedule.faults {
                #expect(fault.startMs >= ChaosSchedule.Limits.warmUpMs)
                #expect(fault.startMs >= previousEnd + ChaosSchedule.Limits.gapMs.lowerBound || previousEnd == 0)
                #expect(fault.endMs > fault.startMs && fault.endMs <= 178_000)
                #expect(fault.nodes.count * 2 < nodes, "seed \(seed): \(fault.summary)")
                #expect(
                    fault.nodes.allSatisfy { (1...nodes).contains($0) } && Set(fault.nodes).count == fault.nodes.count)
                previousEnd = fault.endMs
            }
        }
    }

    @Test func everyKindIsDrawnAndOnlyTheKindsAsked() {
        let all = (UInt64(1)...20).flatMap {
            ChaosSchedule(seed: $0, durationMs: 180_000, nodes: 3, kinds: ChaosFaultKind.allCases).faults
        }
        #expect(Set(all.map(\.kind)) == Set(ChaosFaultKind.allCases))
        #expect(Set(all.map(\.variant)).isSuperset(of: [.isolate, .oneWay, .flapping, .step, .skew, .truncate, .flip]))
        let onlyClock = ChaosSchedule(seed: 3, durationMs: 180_000, nodes: 3, kinds: [.clock])
        #expect(!onlyClock.faults.isEmpty && onlyClock.faults.allSatisfy { $0.kind == .clock })
        #expect(ChaosSchedule(seed: 3, durationMs: 180_000, nodes: 3, kinds: []).faults.isEmpty)
        #expect(ChaosSchedule(seed: 3, durationMs: 5_000, nodes: 3, kinds: [.kill]).faults.isEmpty)
    }

    @Test func faultListsParseAndUnknownKindsAreNamed() throws {
        #expect(try ChaosFaultKind.parseList("kill, pause,restart-loop").get() == [.kill, .pause, .restartLoop])
        #expect(try ChaosFaultKind.parseList("all").get() == ChaosFaultKind.allCases)
        #expect(try ChaosFaultKind.parseList("none").get() == [])
        guard case .failure(let error) = ChaosFaultKind.parseList("kill,flood") else {
            Issue.record("flood accepted")
            return
        }
        #expect(error.description.contains("'flood'"))
    }

    @Test func aFaultSaysWhatItDoes() {
        let clock = ChaosFault(
            kind: .clock, variant: .skew, nodes: [2], startMs: 0, endMs: 1, clockOffsetSeconds: -90, clockRate: 1.1)
        #expect(clock.summary == "clock skew -90 s ×1.1 node 2")
        let partition = ChaosFault(kind: .partition, variant: .oneWay, nodes: [1, 3], startMs: 0, endMs: 1)
        #expect(partition.summary == "partition one-way nodes 1,3")
        #expect(ChaosSchedule(faults: [clock, partition, clock]).counts == "partition 1, clock 2")
    }
}
