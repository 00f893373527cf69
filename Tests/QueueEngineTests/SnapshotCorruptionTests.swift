import Testing

@testable import QueueEngine

/// Truncated and corrupted snapshots: the checksum catches corruption; behind a valid checksum the decoder
/// throws or restores an engine that snapshots back to the same bytes and keeps working.
@Suite("Engine snapshot corruption")
struct SnapshotCorruptionTests {
    @Test func everyTruncationThrows() {
        let bytes = SnapshotTests.smallEngine().snapshot()
        let restoredPrefixes = (0..<bytes.count).filter { SnapshotTests.restoreError(Array(bytes.prefix($0))) == nil }
        #expect(restoredPrefixes.isEmpty)
        // Truncations of the body behind a valid checksum reach the decoder itself.
        let bodyEnd = bytes.count - QueueEngine.snapshotChecksumBytes
        let decodedPrefixes = (5..<bodyEnd).filter { cut in
            SnapshotTests.restoreError(
                SnapshotTests.resealed(Array(bytes.prefix(cut)) + Array(repeating: 0, count: 32))) == nil
        }
        #expect(decodedPrefixes.isEmpty, "body prefixes \(decodedPrefixes) of \(bodyEnd) bytes decoded")
    }

    @Test func corruptionIsCaughtByTheChecksum() {
        let bytes = SnapshotTests.smallEngine().snapshot()
        var random = SeededGenerator(seed: 31)
        for _ in 0..<300 {
            var corrupted = bytes
            corrupted[random.int(0...(bytes.count - 1))] ^= UInt8.random(in: 1...255, using: &random)
            let code = SnapshotTests.restoreError(corrupted)?.code
            #expect(code == .checksumMismatch || code == .notASnapshot || code == .unsupportedVersion)
        }
    }

    @Test func flippedBytesBehindAValidChecksumThrowOrRestoreCanonically() {
        for seed in CodecSeeds.seeds(defaultCount: 1, salt: 32) {
            print("snapshot byte flips: seed \(seed) (replay with FERRY_CODEC_SEED=\(seed))")
            var random = SeededGenerator(seed: seed)
            let bytes = SnapshotTests.smallEngine().snapshot()
            var restoredCount = 0
            for iteration in 0..<1_000 {
                var body = bytes
                for _ in 0..<random.int(1...2) {
                    body[random.int(5...(bytes.count - 33))] ^= UInt8.random(in: 1...255, using: &random)
                }
                let mutated = SnapshotTests.resealed(body)
                guard var engine = try? QueueEngine(configuration: codecTestConfiguration, snapshot: mutated) else {
                    continue
                }
                restoredCount += 1
                guard engine.snapshot() == mutated else {
                    Issue.record("seed \(seed) iteration \(iteration): restored engine snapshots to other bytes")
                    return
                }
                Self.exercise(&engine)
            }
            print("snapshot byte flips: \(restoredCount) of 1000 mutated snapshots restored")
        }
    }

    /// Drives every queue of an engine through receives, deletes, visibility changes, sends, move tasks and
    /// time passing: a restored engine must keep working, whatever it was restored from.
    static func exercise(_ engine: inout QueueEngine) {
        var now = engine.clock
        for name in engine.queueNames {
            let fifo = engine.isFifoQueue(name) == true
            now += 1_000
            let request = ReceiveMessageRequest(
                queueName: name, maxNumberOfMessages: 10, visibilityTimeoutSeconds: 5,
                receiveRequestAttemptId: fifo ? "attempt" : nil)
            guard case .received(let messages) = engine.apply(.receiveMessages(request), timestampMilliseconds: now)
            else { continue }
            let entries = messages.enumerated().map { index, message in
                ReceiptEntry(id: "r\(index)", receiptHandle: message.receiptHandle, visibilityTimeoutSeconds: index)
            }
            if !entries.isEmpty {
                _ = engine.apply(
                    .changeMessageVisibility(queueName: name, entries: entries, isBatch: true),
                    timestampMilliseconds: now)
                _ = engine.apply(
                    .deleteMessages(queueName: name, entries: Array(entries.prefix(1)), isBatch: true),
                    timestampMilliseconds: now)
            }
            let entry = SendMessageEntry(
                body: "after restore", messageGroupId: fifo ? "g0" : nil, messageDeduplicationId: fifo ? "d0" : nil)
            _ = engine.apply(
                .sendMessages(queueName: name, entries: [entry], senderId: "AKID", isBatch: false),
                timestampMilliseconds: now)
            _ = engine.apply(
                .startMessageMoveTask(
                    sourceArn: engine.queueArn(name), destinationArn: nil, maxNumberOfMessagesPerSecond: nil),
                timestampMilliseconds: now)
        }
        for step: Int64 in [1_000, 60_000, 3_600_000, 15 * 86_400_000] {
            now += step
            _ = engine.apply(.advanceTime, timestampMilliseconds: now)
            for name in engine.queueNames {
                _ = engine.apply(
                    .receiveMessages(ReceiveMessageRequest(queueName: name, maxNumberOfMessages: 10)),
                    timestampMilliseconds: now)
            }
        }
    }
}
