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
}
