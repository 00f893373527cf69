import Testing

@testable import QueueEngine

/// A message moved to a dead-letter queue keeps its receive count and first receive time, also when the
/// dead-letter queue is on another shard (the transferred message carries them: log entry format 2,
/// snapshot format 3), and logs and snapshots written before still read.
@Suite("Receive counts of moved messages")
struct MovedReceiveCountTests {
    static let key = [UInt8](repeating: 7, count: 32)
    static let deadLetterArn = "arn:aws:sqs:us-east-1:000000000000:queue-1"

    /// Shard 0 of two, with queue-0 redriving to queue-1 (on shard 1) after one receive, and one message
    /// received twice: it waits in the outbox.
    static func sourceWithAMessageInTheOutbox() -> EngineHarness {
        var source = EngineHarness(
            engine: QueueEngine(
                configuration: QueueEngineConfiguration(shardId: 0, receiptHandleKey: key, shardCount: 2)),
            now: 1_000)
        source.create(
            "queue-0", ["RedrivePolicy": "{\"deadLetterTargetArn\":\"\(deadLetterArn)\",\"maxReceiveCount\":\"1\"}"])
        _ = source.send("queue-0", "poison")
        _ = source.receive("queue-0", visibility: 0)
        _ = source.receive("queue-0", visibility: 0)
        return source
    }

    @Test func aLocalDeadLetterQueueKeepsTheCount() throws {
        var harness = EngineHarness()
        harness.create("dlq")
        harness.create("q", TransferTests.redrive(to: harness.arn("dlq"), maxReceiveCount: 2))
        _ = harness.send("q", "poison")
        let first = harness.receive("q", visibility: 0, systemAttributes: ["All"])
        #expect(first.first?.attributes["ApproximateReceiveCount"] == "1")
        _ = harness.receive("q", visibility: 0)
        #expect(harness.receive("q", visibility: 0).isEmpty)
        let dead = harness.receive("dlq", systemAttributes: ["All"])
        #expect(dead.map(\.body) == ["poison"])
        #expect(dead.first?.attributes["ApproximateReceiveCount"] == "3")
        #expect(
            dead.first?.attributes["ApproximateFirstReceiveTimestamp"]
                == first.first?.attributes["ApproximateFirstReceiveTimestamp"])
    }

    @Test func aDeadLetterQueueOnAnotherShardKeepsTheCount() throws {
        var source = Self.sourceWithAMessageInTheOutbox()
        #expect(source.engine.outbox.map(\.receiveCount) == [1])
        var target = EngineHarness(
            engine: QueueEngine(
                configuration: QueueEngineConfiguration(shardId: 1, receiptHandleKey: Self.key, shardCount: 2)),
            now: 2_000)
        target.create("queue-1")
        let batch = try #require(source.engine.nextTransferBatch())
        let logged = LoggedCommand(
            command: .importMessages(sourceShard: 0, messages: batch.messages), timestampMilliseconds: 2_000)
        let decoded = try LoggedCommand(decoding: logged.encoded())
        #expect(decoded == logged)
        target.apply(decoded.command)
        let dead = target.receive("queue-1", systemAttributes: ["ApproximateReceiveCount"])
        #expect(dead.first?.attributes["ApproximateReceiveCount"] == "2")
        // The outbox keeps the count through a snapshot too.
        let restored = try QueueEngine(configuration: source.engine.configuration, snapshot: source.engine.snapshot())
        #expect(restored.outbox == source.engine.outbox)
    }

    /// A move task starts the count again: a message moved back to its source must not go straight back.
    @Test func aMoveTaskStartsTheCountAgain() throws {
        var harness = EngineHarness()
        harness.create("dlq")
        harness.create("q", TransferTests.redrive(to: harness.arn("dlq"), maxReceiveCount: 1))
        _ = harness.send("q", "poison")
        _ = harness.receive("q", visibility: 0)
        _ = harness.receive("q", visibility: 0)
        harness.apply(
            .startMessageMoveTask(sourceArn: harness.arn("dlq"), destinationArn: nil, maxNumberOfMessagesPerSecond: nil)
        )
        harness.advance(seconds: 2)
        let back = harness.receive("q", systemAttributes: ["ApproximateReceiveCount"])
        #expect(back.map(\.body) == ["poison"])
        #expect(back.first?.attributes["ApproximateReceiveCount"] == "1")
    }

    /// Written by the build before log entry format 2: the same import, without receive counts.
    @Test func aLogEntryOfFormatOneStillReads() throws {
        let bytes = SnapshotTests.bytes(
            fromHex: [
                "010a100001010771756575652d310771756575652d302461643965653933662d313632612d343235312d613964662d38",
                "643739666465616264336206706f69736f6e203335333933633234333834623838363237393837313636323866376263",
                "3666340000000004414b4944d00f00000c012a61726e3a6177733a7371733a75732d656173742d313a30303030303030",
                "30303030303a71756575652d30010771756575652d300000",
            ].joined())
        let entry = try LoggedCommand(decoding: bytes)
        guard case .importMessages(0, let messages) = entry.command else {
            Issue.record("not an import: \(entry.command)")
            return
        }
        #expect(messages.map(\.body) == ["poison"])
        #expect(messages.map(\.receiveCount) == [0])
    }

    /// Written by the build before snapshot format 3: an outbox message without its receive count.
    @Test func aSnapshotOfFormatTwoStillReads() throws {
        let bytes = SnapshotTests.bytes(
            fromHex: [
                "4652595302000975732d656173742d310c303030303030303030303030d00f0202010000010771756575652d3001d00f",
                "d00f00008080800180982a003c00012a61726e3a6177733a7371733a75732d656173742d313a30303030303030303030",
                "30303a71756575652d31020000d804010000057175657565087065725175657565000000000000000002010107717565",
                "75652d310771756575652d302461643965653933662d313632612d343235312d613964662d3864373966646561626433",
                "6206706f69736f6e2033353339336332343338346238383632373938373136363238663762633666340000000004414b",
                "4944d00f00000c012a61726e3a6177733a7371733a75732d656173742d313a3030303030303030303030303a71756575",
                "652d30010771756575652d300000005e56c8953957a5d50abee34bc77ef99949ea457e0bd2becd208a9ce4ef1ab637",
            ].joined())
        let source = Self.sourceWithAMessageInTheOutbox()
        let restored = try QueueEngine(configuration: source.engine.configuration, snapshot: bytes)
        #expect(restored.outbox.map(\.body) == ["poison"])
        #expect(restored.outbox.map(\.receiveCount) == [0])
        #expect(restored.queueNames == ["queue-0"])
    }
}
