import Testing

@testable import QueueEngine

/// Commands apply with the rules the engine adopted by a replicated `adoptRules` entry: a log written
/// under the first rules replays the same on every replica, whatever snapshot each one starts from.
@Suite("Rules versions")
struct RulesTests {
    /// An engine of the first rules, with one message received twice (two handles).
    static func firstRulesWithTwoHandles() -> (EngineHarness, older: String, latest: String) {
        var harness = EngineHarness(
            engine: QueueEngine(
                configuration: QueueEngineConfiguration(receiptHandleKey: Array(repeating: 7, count: 32)),
                rules: Rules.first))
        harness.create("q")
        _ = harness.send("q", "m")
        let older = harness.receive("q", visibility: 0)[0].receiptHandle
        let latest = harness.receive("q", visibility: 30)[0].receiptHandle
        return (harness, older, latest)
    }

    @Test func theFirstRulesKeepTheirBehaviourUntilNewOnesAreAdopted() throws {
        var (harness, older, _) = Self.firstRulesWithTwoHandles()
        // The first rules: an older handle succeeds without deleting, and cannot change visibility.
        #expect(harness.delete("q", older).error == nil)
        #expect(harness.engine.messageCount == 1)
        #expect(harness.changeVisibility("q", older, 0).error?.code == .messageNotInflight)
        harness.apply(.adoptRules(Rules.current))
        #expect(harness.engine.rules == Rules.current)
        #expect(harness.delete("q", older).error == nil)
        #expect(harness.engine.messageCount == 0)
        // Never back, and never past this build's.
        harness.apply(.adoptRules(1))
        harness.apply(.adoptRules(200))
        #expect(harness.engine.rules == Rules.current)
    }

    /// A replica restoring a snapshot of the first rules and replaying the rest of the log reaches the
    /// state of one that applied everything: the rules travel in the snapshot.
    @Test func aSnapshotCarriesTheRules() throws {
        var (whole, older, _) = Self.firstRulesWithTwoHandles()
        let snapshot = whole.engine.snapshot()
        var restored = EngineHarness(
            engine: try QueueEngine(configuration: whole.engine.configuration, snapshot: snapshot), now: whole.now)
        #expect(restored.engine.rules == Rules.first)
        for harness in [0, 1] {
            var replica = harness == 0 ? whole : restored
            replica.delete("q", older)
            replica.apply(.adoptRules(Rules.current))
            replica.delete("q", older)
            if harness == 0 { whole = replica } else { restored = replica }
        }
        #expect(restored.engine.snapshot() == whole.engine.snapshot())
        #expect(whole.engine.messageCount == 0)
    }

    /// FIFO under the first rules: a group is blocked while any of its messages is in flight; adopting the
    /// new rules schedules the groups they make receivable.
    @Test func adoptingTheRulesReschedulesFifoGroups() throws {
        var harness = EngineHarness(
            engine: QueueEngine(
                configuration: QueueEngineConfiguration(receiptHandleKey: Array(repeating: 7, count: 32)),
                rules: Rules.first))
        harness.create("f.fifo", ["FifoQueue": "true"])
        for index in 0..<2 { harness.send("f.fifo", "m\(index)", group: "G", deduplicationId: "d\(index)") }
        let taken = harness.receive("f.fifo", max: 2)
        harness.changeVisibility("f.fifo", taken[0].receiptHandle, 0)
        #expect(harness.receive("f.fifo").isEmpty, "blocked by m1 in flight")
        harness.apply(.adoptRules(Rules.current))
        #expect(harness.receive("f.fifo").map(\.body) == ["m0"])
    }
}
