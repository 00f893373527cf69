import Testing

@testable import QueueEngine

/// Timers are ordered by time, then message, then version: two timers of one message due at the same
/// millisecond (its visibility changed to the same deadline) come out of the heap in one order whatever
/// the heap's history, so a replica restored from a snapshot drops the same leftover timers as one that
/// applied every command (found by `ferry simulate` with replica moves, seed 404 of the move seeds:
/// replicas differed by a stale timer at the same applied index).
@Suite struct TimerOrderTests {
    @Test func aRestoredEngineDropsTheSameLeftoverTimersAsTheOriginal() throws {
        var harness = EngineHarness(engine: QueueEngine(configuration: codecTestConfiguration))
        harness.create("q")
        harness.send("q", "a")
        harness.send("q", "b")
        _ = try #require(harness.receive("q", max: 1, visibility: 10).first)
        let b = try #require(harness.receive("q", max: 1, visibility: 30).first)
        // Same clock, same timeout: a second timer of "b" at the same deadline, the first one now stale but
        // behind "a"'s live timer at the front of the heap, so it stays.
        harness.changeVisibility("q", b.receiptHandle, 30)
        var restored = EngineHarness(
            engine: try QueueEngine(configuration: codecTestConfiguration, snapshot: harness.engine.snapshot()),
            now: harness.now)
        let sameAtFirst = restored.engine.snapshot() == harness.engine.snapshot()
        #expect(sameAtFirst, "a restored engine snapshots the same")
        // "a" comes due; the next command on the queue drops leftover timers from the front of the heap.
        harness.now += 11_000
        restored.now += 11_000
        harness.send("q", "c")
        restored.send("q", "c")
        let sameAfter = restored.engine.snapshot() == harness.engine.snapshot()
        #expect(sameAfter, "and stays the same after a command")
    }

    @Test func timersOfOneMessageAtOneTimeAreOrderedByVersion() {
        let older = MessageTimer(atMilliseconds: 5, sequence: 1, version: 3)
        let newer = MessageTimer(atMilliseconds: 5, sequence: 1, version: 4)
        #expect(older < newer && !(newer < older))
    }
}
