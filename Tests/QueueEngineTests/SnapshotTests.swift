import HeapModule
import Testing

@testable import QueueEngine

@Suite("Engine snapshots")
struct SnapshotTests {
    /// An engine after a random workload: messages in every state, FIFO groups, deduplication ids, receive
    /// attempts, move tasks, recently deleted queues.
    static func populatedEngine(seed: UInt64 = 3, steps: Int = 600) -> QueueEngine {
        var engine = QueueEngine(configuration: codecTestConfiguration)
        var workload = WorkloadGenerator(seed: seed, configuration: codecTestConfiguration)
        for _ in 0..<steps {
            let (command, timestamp) = workload.next()
            workload.observe(command, engine.apply(command, timestampMilliseconds: timestamp))
        }
        // Whatever the workload left, queues of its own with messages in flight, dead-lettered messages and
        // a running move task.
        var harness = EngineHarness(engine: engine, now: workload.now + 1_000)
        harness.create("final-dlq")
        harness.create("final-dlq.fifo", ["FifoQueue": "true"])
        let standardPolicy = "{\"deadLetterTargetArn\":\"\(harness.arn("final-dlq"))\",\"maxReceiveCount\":1}"
        let fifoPolicy = "{\"deadLetterTargetArn\":\"\(harness.arn("final-dlq.fifo"))\",\"maxReceiveCount\":1}"
        harness.create("final", ["RedrivePolicy": standardPolicy])
        harness.create("final.fifo", ["FifoQueue": "true", "RedrivePolicy": fifoPolicy])
        for index in 0..<20 {
            harness.send("final", "final \(index)")
            harness.send("final.fifo", "final \(index)", group: "g\(index % 3)", deduplicationId: "d\(index)")
        }
        for queue in ["final", "final.fifo"] {
            _ = harness.receive(queue, max: 5, visibility: 0)
            _ = harness.receive(queue, max: 5, visibility: 0)
            _ = harness.receive(queue, max: 5, visibility: 600, attemptId: "final-attempt")
        }
        let sourceArn = harness.arn("final-dlq")
        harness.apply(.startMessageMoveTask(sourceArn: sourceArn, destinationArn: nil, maxNumberOfMessagesPerSecond: 1))
        return harness.engine
    }

    /// A small engine with one of everything a snapshot holds: messages available, delayed, in flight and
    /// dead-lettered, a stale timer, FIFO groups, deduplication ids, a receive attempt, a running move task and
    /// a recently deleted queue.
    static func smallEngine() -> QueueEngine {
        var harness = EngineHarness(engine: QueueEngine(configuration: codecTestConfiguration), now: 5_000)
        harness.create("dlq")
        let policy = "{\"deadLetterTargetArn\":\"\(harness.arn("dlq"))\",\"maxReceiveCount\":1}"
        harness.apply(.createQueue(name: "src", attributes: ["RedrivePolicy": policy], tags: ["team": "ferry"]))
        harness.create("f.fifo", ["FifoQueue": "true"])
        harness.create("gone")
        harness.apply(.deleteQueue(name: "gone"))
        let binary = MessageAttributeValue(dataType: "Binary", binaryValue: [0, 1, 255])
        harness.send("src", "poison 1")
        harness.send("src", "poison 2")
        harness.send("src", "kept", attributes: ["bin": binary])
        harness.send("src", "later", delay: 60)
        _ = harness.receive("src", max: 2, visibility: 0)
        // Both poison messages go to the dead-letter queue; "kept" goes in flight, then its deadline moves.
        if let handle = harness.receive("src", max: 1).first?.receiptHandle {
            harness.changeVisibility("src", handle, 10)
        }
        for index in 0..<3 { harness.send("f.fifo", "f\(index)", group: "g\(index % 2)", deduplicationId: "d\(index)") }
        _ = harness.receive("f.fifo", max: 1, attemptId: "attempt")
        let sourceArn = harness.arn("dlq")
        harness.apply(.startMessageMoveTask(sourceArn: sourceArn, destinationArn: nil, maxNumberOfMessagesPerSecond: 1))
        return harness.engine
    }

    @Test func smallEngineHoldsOneOfEverything() throws {
        let engine = Self.smallEngine()
        let source = try #require(engine.queues["src"])
        let fifo = try #require(engine.queues["f.fifo"])
        // The move task (one message per second) has taken one poison message back already.
        #expect(source.availableCount == 1 && source.inFlightCount == 1 && source.delayedCount == 1)
        #expect(source.timers.count > source.inFlightCount + source.delayedCount)
        #expect(engine.queues["dlq"]?.messages.values.first?.deadLetterQueueSourceArn == engine.queueArn("src"))
        #expect(fifo.groups.count == 2 && fifo.deduplication.count == 3 && fifo.receiveAttempts.count == 1)
        #expect(engine.moveTasks["dlq"]?.first?.status == .running)
        #expect(engine.deletedQueues["gone"] != nil)
    }

    /// `bytes` with its checksum recomputed, so a change reaches the decoder.
    static func resealed(_ bytes: [UInt8]) -> [UInt8] {
        var body = Array(bytes.dropLast(QueueEngine.snapshotChecksumBytes))
        body.append(contentsOf: body.withUnsafeBytes { QueueEngine.snapshotChecksum($0) })
        return body
    }

    static func restoreError(_ bytes: [UInt8]) -> EngineCodecError? {
        do {
            _ = try QueueEngine(configuration: codecTestConfiguration, snapshot: bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func emptyEngineRoundTrips() throws {
        let engine = QueueEngine(configuration: codecTestConfiguration)
        let bytes = engine.snapshot()
        #expect(Array(bytes.prefix(5)) == Array("FRYS".utf8) + [4])
        let restored = try QueueEngine(configuration: codecTestConfiguration, snapshot: bytes)
        #expect(restored.snapshot() == bytes)
        #expect(restored.queueNames.isEmpty && restored.clock == 0)
    }

    @Test func populatedEngineRestoresCanonically() throws {
        let engine = Self.populatedEngine()
        #expect(engine.messageCount > 0)
        #expect(engine.queues.values.contains { $0.inFlightCount > 0 })
        #expect(engine.queues.values.contains { !$0.groups.isEmpty && !$0.deduplication.isEmpty })
        #expect(!engine.moveTasks.isEmpty)
        let bytes = engine.snapshot()
        #expect(engine.snapshot() == bytes, "snapshot is deterministic")
        let restored = try QueueEngine(configuration: codecTestConfiguration, snapshot: bytes)
        #expect(restored.snapshot() == bytes)
        #expect(QueueIndexSummary.of(restored) == QueueIndexSummary.of(engine))
        #expect(
            EngineAnswers(restored, names: WorkloadGenerator.queueNames)
                == EngineAnswers(engine, names: WorkloadGenerator.queueNames))
        #expect(try QueueEngine(configuration: codecTestConfiguration, snapshot: bytes[...]).snapshot() == bytes)
    }

    /// A fixed snapshot: a change here is a format change, which needs a new format version and a decoder
    /// that still reads the old one (a snapshot outlives the build that wrote it).
    @Test func formatIsStable() throws {
        var harness = EngineHarness(engine: QueueEngine(configuration: codecTestConfiguration), now: 1_000)
        harness.apply(.createQueue(name: "q", attributes: ["VisibilityTimeout": "5"], tags: ["t": "v"]))
        harness.create("gone")
        harness.apply(.deleteQueue(name: "gone"))
        let bytes = harness.engine.snapshot()
        let expected = [
            "46525953", "04", "07", "0965752d776573742d33", "0c313233343536373839303132",  // magic, version, shard
            "d00f", "01", "03", "01", "00",  // clock, next sequence, incarnation, task number; no advance
            "01", "04676f6e65", "d00f",  // deleted queues: gone at 1000
            "01", "0171", "01", "d00f", "d00f", "00",  // queue q: incarnation, timestamps, no purge
            "00", "80808001", "80982a", "00", "0a", "00", "00", "00", "00", "d804", "01", "00", "00",  // configuration
            "057175657565", "087065725175657565",  // deduplication scope, throughput limit
            "01", "0174", "0176",  // tags
            "00", "00", "00", "00", "00", "00",  // messages, timers, groups, ready groups, deduplications, attempts
            "00",  // move tasks
            "01", "00", "00",  // next transfer id, outbox, import records
            "03",  // rules
            "00",  // no cluster configuration
            "7a4197fb9d477b8e3f6a78a11cf8939310a2849d16fba568350c02d42cd0ae29",  // SHA-256
        ].joined()
        #expect(MessageDigest.hex(bytes) == expected)
        #expect(try QueueEngine(configuration: codecTestConfiguration, snapshot: bytes).queueNames == ["q"])
    }

    /// Format 3 (before the cluster's configuration) is still read: the same state as `formatIsStable`,
    /// with no configuration.
    @Test func formatThreeIsStillRead() throws {
        let bytes = Self.bytes(
            fromHex: [
                "46525953", "03", "07", "0965752d776573742d33", "0c313233343536373839303132",
                "d00f", "01", "03", "01", "00", "01", "04676f6e65", "d00f", "01", "0171", "01", "d00f", "d00f", "00",
                "00", "80808001", "80982a", "00", "0a", "00", "00", "00", "00", "d804", "01", "00", "00",
                "057175657565", "087065725175657565", "01", "0174", "0176", "00", "00", "00", "00", "00", "00", "00",
                "01", "00", "00", "02",
                "11d644c340eb7fd45567f28847d1c597991cef0679d07063547830ab691a3c90",
            ].joined())
        let engine = try QueueEngine(configuration: codecTestConfiguration, snapshot: bytes)
        #expect(engine.queueNames == ["q"])
        #expect(engine.rules == 2 && engine.clusterMetadata == nil)
        // Written back in the current format: the same state, with the configuration's absence appended.
        #expect(engine.snapshot()[4] == QueueEngine.snapshotFormatVersion)
    }

    /// Format 1 (before transfers between shards) is still read: the same state as `formatIsStable`.
    @Test func formatOneIsStillRead() throws {
        let bytes = Self.bytes(
            fromHex: [
                "46525953", "01", "07", "0965752d776573742d33", "0c313233343536373839303132",
                "d00f", "01", "03", "01", "00", "01", "04676f6e65", "d00f", "01", "0171", "01", "d00f", "d00f", "00",
                "00", "80808001", "80982a", "00", "0a", "00", "00", "00", "00", "d804", "01", "00", "00",
                "057175657565", "087065725175657565", "01", "0174", "0176", "00", "00", "00", "00", "00", "00", "00",
                "f5529b9a8081a57870ca20112b8225be897041ffe111c0ec33f7069524fededc",
            ].joined())
        let engine = try QueueEngine(configuration: codecTestConfiguration, snapshot: bytes)
        #expect(engine.queueNames == ["q"])
        #expect(engine.outbox.isEmpty && engine.imports.isEmpty && engine.nextTransferId == 1)
    }

    static func bytes(fromHex hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    @Test func snapshotsOfOtherShardsAreRefused() {
        let bytes = Self.smallEngine().snapshot()
        let others = [
            QueueEngineConfiguration(
                region: "eu-west-3", accountId: "123456789012", shardId: 8,
                receiptHandleKey: Array(repeating: 9, count: 32)),
            QueueEngineConfiguration(
                region: "us-east-1", accountId: "123456789012", shardId: 7,
                receiptHandleKey: Array(repeating: 9, count: 32)),
            QueueEngineConfiguration(
                region: "eu-west-3", accountId: "000000000000", shardId: 7,
                receiptHandleKey: Array(repeating: 9, count: 32)),
        ]
        for configuration in others {
            #expect(throws: EngineCodecError.self) {
                try QueueEngine(configuration: configuration, snapshot: bytes)
            }
        }
        do {
            _ = try QueueEngine(configuration: others[0], snapshot: bytes)
        } catch {
            #expect(error.code == .wrongShard)
            #expect(error.message.contains("shard 7") && error.message.contains("shard 8"))
        }
    }

    @Test func foreignBytesAreRefused() {
        var bytes = QueueEngine(configuration: codecTestConfiguration).snapshot()
        #expect(Self.restoreError([])?.code == .truncated)
        #expect(
            Self.restoreError(Array("not a snapshot at all, but long enough to have a checksum".utf8))?.code
                == .notASnapshot)
        bytes[4] = 5
        #expect(Self.restoreError(bytes)?.code == .unsupportedVersion)
        bytes[4] = 0
        #expect(Self.restoreError(bytes)?.code == .unsupportedVersion)
        bytes[4] = 2
        let trailing = Array(bytes.dropLast(QueueEngine.snapshotChecksumBytes)) + [0] + Array(repeating: 0, count: 32)
        #expect(Self.restoreError(Self.resealed(trailing))?.code == .malformed)
    }
}
