import Crypto
import HeapModule
import Testing

@testable import QueueEngine

@Suite("Regressions found in review")
struct ReviewRegressionTests {
    @Test func hugeNumberExponentsAreRejectedNotTrapped() {
        var harness = EngineHarness()
        harness.create("q")
        for text in ["10e9223372036854775807", "0.1e-9223372036854775808", "1e99999999"] {
            let entry = SendMessageEntry(
                body: "x", messageAttributes: ["n": MessageAttributeValue(dataType: "Number", stringValue: text)])
            #expect(harness.sendError("q", entry)?.code == .invalidParameterValue, "\(text)")
        }
    }

    @Test func fifoMoveTaskMovesOlderGroupsPastNewerMessages() throws {
        var harness = EngineHarness()
        harness.create("dlq.fifo", ["FifoQueue": "true"])
        harness.create(
            "src.fifo",
            [
                "FifoQueue": "true",
                "RedrivePolicy": "{\"deadLetterTargetArn\":\"\(harness.arn("dlq.fifo"))\",\"maxReceiveCount\":1}",
            ])
        harness.create("dest.fifo", ["FifoQueue": "true"])
        for index in 0..<4 { harness.send("dlq.fifo", "a\(index)", group: "A", deduplicationId: "a\(index)") }
        for index in 0..<3 { harness.send("dlq.fifo", "b\(index)", group: "B", deduplicationId: "b\(index)") }
        guard
            case .moveTaskStarted = harness.apply(
                .startMessageMoveTask(
                    sourceArn: harness.arn("dlq.fifo"), destinationArn: harness.arn("dest.fifo"),
                    maxNumberOfMessagesPerSecond: 2))
        else {
            Issue.record("start failed")
            return
        }
        // A newer message joins group A after the task started.
        harness.send("dlq.fifo", "a-new", group: "A", deduplicationId: "a-new")
        for _ in 0..<5 { harness.advance(seconds: 1) }
        let tasks = try harness.engine.messageMoveTasks(sourceArn: harness.arn("dlq.fifo"), maxResults: 1)
        #expect(tasks.first?.status == "COMPLETED")
        #expect(tasks.first?.approximateNumberOfMessagesMoved == 7)
        #expect(harness.attribute("dest.fifo", "ApproximateNumberOfMessages") == "7")
        #expect(harness.receive("dlq.fifo").map(\.body) == ["a-new"])
    }

    @Test func deletesBehindABlockedFifoHeadDoNotPileUp() throws {
        var harness = EngineHarness()
        harness.create("f.fifo", ["FifoQueue": "true", "VisibilityTimeout": "1"])
        for index in 0..<50 { harness.send("f.fifo", "m\(index)", group: "G", deduplicationId: "d\(index)") }
        for _ in 0..<5 {
            let batch = harness.receive("f.fifo", max: 10)
            #expect(!batch.isEmpty)
            for message in batch.dropFirst() { harness.delete("f.fifo", message.receiptHandle) }
            harness.advance(seconds: 2)
        }
        let group = try #require(harness.engine.queues["f.fifo"]?.groups["G"])
        #expect(group.sequences.count == harness.engine.queues["f.fifo"]?.messages.count)
        #expect(harness.receive("f.fifo", max: 10).first?.body == "m0")
    }

    @Test func readyGroupsStayDeduplicatedUnderQueueDelay() throws {
        var harness = EngineHarness()
        harness.create("f.fifo", ["FifoQueue": "true", "DelaySeconds": "1"])
        for index in 0..<200 { harness.send("f.fifo", "m\(index)", group: "G", deduplicationId: "d\(index)") }
        harness.advance(seconds: 2)
        let queue = try #require(harness.engine.queues["f.fifo"])
        #expect(queue.readyGroups.count == 1)
        var bodies: [String] = []
        for _ in 0..<40 {
            let batch = harness.receive("f.fifo", max: 10)
            if batch.isEmpty { break }
            bodies += batch.map(\.body)
            for message in batch { harness.delete("f.fifo", message.receiptHandle) }
        }
        #expect(bodies == (0..<200).map { "m\($0)" })
    }

    @Test func deletingAQueueForgetsItsMoveTasks() throws {
        var harness = EngineHarness()
        harness.create("dlq")
        harness.create(
            "src", ["RedrivePolicy": "{\"deadLetterTargetArn\":\"\(harness.arn("dlq"))\",\"maxReceiveCount\":1}"])
        harness.apply(
            .startMessageMoveTask(sourceArn: harness.arn("dlq"), destinationArn: nil, maxNumberOfMessagesPerSecond: nil)
        )
        harness.apply(.deleteQueue(name: "dlq"))
        harness.advance(seconds: 61)
        harness.create("dlq")
        #expect(try harness.engine.messageMoveTasks(sourceArn: harness.arn("dlq"), maxResults: 10).isEmpty)
    }
}

@Suite("Identifiers")
struct IdentifierTests {
    @Test func messageIdsAreUniqueUUIDs() {
        let identifiers = Identifiers(shardId: 3, receiptHandleKey: Array(repeating: 1, count: 32))
        var seen = Set<String>()
        for sequence in UInt64(0)..<50_000 {
            let id = identifiers.messageId(sequence: sequence)
            #expect(id.count == 36)
            seen.insert(id)
        }
        #expect(seen.count == 50_000)
        let sample = identifiers.messageId(sequence: 42)
        #expect(Array(sample)[14] == "4")
        #expect("89ab".contains(Array(sample)[19]))
        #expect(
            Identifiers(shardId: 4, receiptHandleKey: Array(repeating: 1, count: 32)).messageId(sequence: 42) != sample)
    }

    /// Every replica derives a message's id when it applies the send, so the id of a sequence must never
    /// change between versions: this is the first form of the derivation, byte by byte.
    @Test func messageIdsKeepTheirFirstDerivation() {
        let key = Array(repeating: UInt8(7), count: 32)
        let salt = Array(HMAC<SHA256>.authenticationCode(for: Array("message-id".utf8), using: SymmetricKey(data: key)))
        let saltHigh = salt[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let saltLow = salt[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        func mix(_ value: UInt64) -> UInt64 {
            var z = value &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        func reference(shard: UInt32, sequence: UInt64) -> String {
            let unique = mix(sequence ^ saltHigh)
            let other = mix(sequence ^ saltLow ^ (UInt64(shard) << 32 | UInt64(shard)))
            var bytes = [UInt8](repeating: 0, count: 16)
            for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: unique >> (UInt64(index) * 8)) }
            bytes[10] = UInt8(truncatingIfNeeded: unique >> 48)
            bytes[11] = UInt8(truncatingIfNeeded: unique >> 56)
            for (offset, index) in [6, 7, 8, 9, 12, 13, 14, 15].enumerated() {
                bytes[index] = UInt8(truncatingIfNeeded: other >> (UInt64(offset) * 8))
            }
            bytes[6] = (bytes[6] & 0x0f) | 0x40
            bytes[8] = (bytes[8] & 0x3f) | 0x80
            var text = ""
            for (index, byte) in bytes.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 { text += "-" }
                text += String(byte >> 4, radix: 16) + String(byte & 0x0f, radix: 16)
            }
            return text
        }
        for shard: UInt32 in [0, 5] {
            let identifiers = Identifiers(shardId: shard, receiptHandleKey: key)
            for sequence in Array(UInt64(0)..<2_000) + [1 << 40, UInt64.max - 1, UInt64.max] {
                #expect(identifiers.messageId(sequence: sequence) == reference(shard: shard, sequence: sequence))
            }
        }
    }
}
