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
        #expect(Array(bytes.prefix(5)) == Array("FRYS".utf8) + [1])
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
        let expected = "GOLDEN"
        #expect(MessageDigest.hex(bytes) == expected)
        #expect(try QueueEngine(configuration: codecTestConfiguration, snapshot: bytes).queueNames == ["q"])
    }

    @Test func everyTruncationThrows() {
        let bytes = Self.populatedEngine(steps: 60).snapshot()
        let restoredPrefixes = (0..<bytes.count).filter { Self.restoreError(Array(bytes.prefix($0))) == nil }
        #expect(restoredPrefixes.isEmpty)
        // Truncations of the body behind a valid checksum reach the decoder itself.
        let bodyEnd = bytes.count - QueueEngine.snapshotChecksumBytes
        let decodedPrefixes = (5..<bodyEnd).filter { cut in
            Self.restoreError(Self.resealed(Array(bytes.prefix(cut)) + Array(repeating: 0, count: 32))) == nil
        }
        #expect(decodedPrefixes.isEmpty, "body prefixes \(decodedPrefixes) of \(bodyEnd) bytes decoded")
    }

    @Test func corruptionIsCaughtByTheChecksum() {
        let bytes = Self.populatedEngine(steps: 150).snapshot()
        var random = SeededGenerator(seed: 31)
        for _ in 0..<300 {
            var corrupted = bytes
            corrupted[random.int(0...(bytes.count - 1))] ^= UInt8.random(in: 1...255, using: &random)
            let code = Self.restoreError(corrupted)?.code
            #expect(code == .checksumMismatch || code == .notASnapshot || code == .unsupportedVersion)
        }
    }

    @Test func flippedBytesBehindAValidChecksumThrowOrRestoreCanonically() {
        for seed in CodecSeeds.seeds(defaultCount: 1, salt: 32) {
            print("snapshot byte flips: seed \(seed) (replay with FERRY_CODEC_SEED=\(seed))")
            var random = SeededGenerator(seed: seed)
            let bytes = Self.populatedEngine(steps: 200).snapshot()
            var restoredCount = 0
            for iteration in 0..<400 {
                var body = bytes
                for _ in 0..<random.int(1...2) {
                    body[random.int(5...(bytes.count - 33))] ^= UInt8.random(in: 1...255, using: &random)
                }
                let mutated = Self.resealed(body)
                guard var engine = try? QueueEngine(configuration: codecTestConfiguration, snapshot: mutated) else {
                    continue
                }
                restoredCount += 1
                guard engine.snapshot() == mutated else {
                    Issue.record("seed \(seed) iteration \(iteration): restored engine snapshots to other bytes")
                    return
                }
                // The restored engine keeps working.
                var workload = WorkloadGenerator(seed: seed &+ UInt64(iteration), configuration: codecTestConfiguration)
                for _ in 0..<6 { _ = workload.next() }
                for _ in 0..<30 {
                    let (command, _) = workload.next()
                    workload.observe(command, engine.apply(command, timestampMilliseconds: engine.clock + 10_000))
                }
            }
            print("snapshot byte flips: \(restoredCount) of 400 mutated snapshots restored")
        }
    }

    @Test func snapshotsOfOtherShardsAreRefused() {
        let bytes = Self.populatedEngine(steps: 50).snapshot()
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
        bytes[4] = 2
        #expect(Self.restoreError(bytes)?.code == .unsupportedVersion)
        bytes[4] = 1
        let trailing = Array(bytes.dropLast(QueueEngine.snapshotChecksumBytes)) + [0] + Array(repeating: 0, count: 32)
        #expect(Self.restoreError(Self.resealed(trailing))?.code == .malformed)
    }
}

@Suite("Engine snapshots at scale")
struct SnapshotScaleTests {
    static let messageCount = 100_000

    /// An engine with `messageCount` messages, put in place directly (sending them one by one through
    /// `apply` takes seconds in a debug build): a standard queue with available, delayed and in-flight
    /// messages, and a FIFO queue with 100 groups.
    static func bulkEngine(now: Int64) -> QueueEngine {
        var engine = QueueEngine(configuration: codecTestConfiguration)
        _ = engine.apply(.createQueue(name: "bulk", attributes: [:], tags: [:]), timestampMilliseconds: now)
        _ = engine.apply(
            .createQueue(name: "bulk.fifo", attributes: ["FifoQueue": "true"], tags: [:]), timestampMilliseconds: now)
        for index in 0..<messageCount {
            let fifo = index % 4 == 0
            let delayed = !fifo && index % 3 == 0
            let sequence = engine.takeSequence()
            let message = StoredMessage(
                sequence: sequence, messageId: "id-\(sequence)", body: "message \(index)", md5OfBody: "md5",
                messageAttributes: [:], md5OfMessageAttributes: nil, systemAttributes: [:], md5OfSystemAttributes: nil,
                senderId: "AKID", sentTimestamp: now, messageGroupId: fifo ? "group-\(index % 100)" : nil,
                messageDeduplicationId: fifo ? "d\(index)" : nil, fifoSequenceNumber: fifo ? sequence : nil,
                sizeBytes: 16, state: delayed ? .delayed : .available,
                visibleAtMilliseconds: delayed ? now + 60_000 : now)
            engine.queues[fifo ? "bulk.fifo" : "bulk"]!.insert(message)
            if !fifo && !delayed && index % 5 == 0 { engine.queues["bulk"]!.hide(sequence, until: now + 30_000) }
        }
        for _ in 0..<20 {
            for name in ["bulk", "bulk.fifo"] {
                _ = engine.apply(
                    .receiveMessages(ReceiveMessageRequest(queueName: name, maxNumberOfMessages: 10)),
                    timestampMilliseconds: now)
            }
        }
        return engine
    }

    @Test func aHundredThousandMessagesRestore() throws {
        let now: Int64 = 1_700_000_000_000
        let buildStart = ContinuousClock.now
        var engine = Self.bulkEngine(now: now)
        let buildTime = ContinuousClock.now - buildStart
        #expect(engine.messageCount == Self.messageCount)

        let snapshotStart = ContinuousClock.now
        let bytes = engine.snapshot()
        let snapshotTime = ContinuousClock.now - snapshotStart
        let restoreStart = ContinuousClock.now
        var restored = try QueueEngine(configuration: codecTestConfiguration, snapshot: bytes)
        let restoreTime = ContinuousClock.now - restoreStart
        print(
            "snapshot of \(Self.messageCount) messages: \(bytes.count) bytes, built in \(buildTime), "
                + "snapshot \(snapshotTime), restore \(restoreTime)")

        #expect(restored.messageCount == Self.messageCount)
        for name in ["bulk", "bulk.fifo"] {
            #expect(
                try restored.queueAttributes(name, names: ["All"]) == (try engine.queueAttributes(name, names: ["All"]))
            )
            #expect(restored.nextWakeMilliseconds(name) == engine.nextWakeMilliseconds(name))
        }
        for (offset, name) in ["bulk", "bulk.fifo", "bulk", "bulk.fifo"].enumerated() {
            let request = ReceiveMessageRequest(queueName: name, maxNumberOfMessages: 10)
            let later = now + 30_000 + Int64(offset)
            #expect(
                restored.apply(.receiveMessages(request), timestampMilliseconds: later)
                    == engine.apply(.receiveMessages(request), timestampMilliseconds: later))
        }
    }
}
