import Testing

@testable import QueueEngine

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
