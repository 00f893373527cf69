import Testing

@testable import QueueEngine

@Suite("FIFO queues")
struct FifoTests {
    func fifo(_ extra: [String: String] = [:]) -> EngineHarness {
        var harness = EngineHarness()
        harness.create("f.fifo", ["FifoQueue": "true"].merging(extra) { _, new in new })
        return harness
    }

    @Test func strictOrderWithinAGroupAndBlocking() throws {
        var harness = fifo()
        for index in 0..<5 { harness.send("f.fifo", "a\(index)", group: "A", deduplicationId: "a\(index)") }
        for index in 0..<2 { harness.send("f.fifo", "b\(index)", group: "B", deduplicationId: "b\(index)") }
        let first = harness.receive("f.fifo", max: 3)
        #expect(first.map(\.body) == ["a0", "a1", "a2"])
        // Group A is blocked while any of its messages is in flight; B is served.
        let second = harness.receive("f.fifo", max: 10)
        #expect(second.map(\.body) == ["b0", "b1"])
        #expect(harness.receive("f.fifo").isEmpty)
        harness.delete("f.fifo", first[0].receiptHandle)
        harness.delete("f.fifo", first[1].receiptHandle)
        #expect(harness.receive("f.fifo").isEmpty, "a2 still in flight blocks A")
        harness.delete("f.fifo", first[2].receiptHandle)
        #expect(harness.receive("f.fifo", max: 10).map(\.body) == ["a3", "a4"])
    }

    @Test func timedOutMessagesComeBackInOrder() throws {
        var harness = fifo(["VisibilityTimeout": "5"])
        for index in 0..<3 { harness.send("f.fifo", "m\(index)", group: "G", deduplicationId: "d\(index)") }
        let first = harness.receive("f.fifo", max: 2)
        harness.delete("f.fifo", first[1].receiptHandle)
        harness.advance(seconds: 6)
        #expect(harness.receive("f.fifo", max: 10).map(\.body) == ["m0", "m2"])
    }

    /// A group is receivable while its first message is visible: a later message in flight ends what a
    /// receive takes from the group, it does not block the earlier visible ones.
    @Test func aLaterMessageInFlightDoesNotBlockTheVisibleHead() throws {
        var harness = fifo()
        for index in 0..<3 { harness.send("f.fifo", "m\(index)", group: "G", deduplicationId: "d\(index)") }
        let taken = harness.receive("f.fifo", max: 2)
        #expect(taken.map(\.body) == ["m0", "m1"])
        harness.changeVisibility("f.fifo", taken[0].receiptHandle, 0)
        #expect(harness.receive("f.fifo", max: 10).map(\.body) == ["m0"], "m1 in flight ends the group's turn")
        #expect(harness.receive("f.fifo", max: 10).isEmpty)
    }

    /// Groups are served in the order their head message became visible: a message back from flight
    /// (visibility set to 0, or its timeout ended) queues behind groups whose heads were visible before.
    @Test func aMessageBackFromFlightQueuesBehindGroupsNeverReceived() throws {
        var harness = fifo(["VisibilityTimeout": "5"])
        harness.send("f.fifo", "a", group: "A", deduplicationId: "a")
        harness.advance(seconds: 0.001)
        harness.send("f.fifo", "b", group: "B", deduplicationId: "b")
        let first = harness.receive("f.fifo", max: 1)
        #expect(first.map(\.body) == ["a"])
        harness.advance(seconds: 0.001)
        harness.changeVisibility("f.fifo", first[0].receiptHandle, 0)
        harness.advance(seconds: 0.001)
        harness.send("f.fifo", "c", group: "C", deduplicationId: "c")
        #expect(harness.receive("f.fifo", max: 1).map(\.body) == ["b"])
        harness.advance(seconds: 0.001)
        #expect(harness.receive("f.fifo", max: 1).map(\.body) == ["a"])
        harness.advance(seconds: 0.001)
        #expect(harness.receive("f.fifo", max: 1).map(\.body) == ["c"])
        // Timeouts that ended: each message is back from when its own timeout ended; "d", sent as the last
        // one ended, comes after it.
        harness.advance(seconds: 5)
        harness.send("f.fifo", "d", group: "D", deduplicationId: "d")
        let order = (0..<4).flatMap { _ in harness.receive("f.fifo", max: 1).map(\.body) }
        #expect(order == ["b", "a", "c", "d"])
    }

    /// A FIFO receipt handle expires with its visibility timeout: deleting with it is refused, whether the
    /// message is visible again or was received again since; the new handle deletes.
    @Test func aHandleWhoseTimeoutEndedIsExpired() throws {
        var harness = fifo(["VisibilityTimeout": "5"])
        harness.send("f.fifo", "m", group: "G", deduplicationId: "d")
        let first = harness.receive("f.fifo")
        harness.advance(seconds: 5)
        let expired = harness.delete("f.fifo", first[0].receiptHandle).error
        #expect(expired?.code == .invalidParameterValue)
        #expect(
            expired?.message
                == "Value \(first[0].receiptHandle) for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
        )
        let second = harness.receive("f.fifo")
        #expect(second.map(\.body) == ["m"])
        #expect(harness.delete("f.fifo", first[0].receiptHandle).error?.code == .invalidParameterValue)
        #expect(harness.delete("f.fifo", second[0].receiptHandle).error == nil)
        #expect(harness.engine.messageCount == 0)
        // Gone: any handle succeeds, as on a standard queue.
        #expect(harness.delete("f.fifo", first[0].receiptHandle).error == nil)
    }

    @Test func deduplicationWindowSurvivesDelete() throws {
        var harness = fifo()
        let originalValue = harness.send("f.fifo", "x", group: "G", deduplicationId: "d")
        let original = try #require(originalValue)
        let duplicateValue = harness.send("f.fifo", "other body", group: "G", deduplicationId: "d")
        let duplicate = try #require(duplicateValue)
        #expect(duplicate.messageId == original.messageId)
        #expect(duplicate.sequenceNumber == original.sequenceNumber)
        let received = harness.receive("f.fifo")
        #expect(received.count == 1)
        harness.delete("f.fifo", received[0].receiptHandle)
        harness.advance(seconds: 299)
        harness.send("f.fifo", "x", group: "G", deduplicationId: "d")
        #expect(harness.receive("f.fifo").isEmpty)
        harness.advance(seconds: 2)
        let freshValue = harness.send("f.fifo", "x", group: "G", deduplicationId: "d")
        let fresh = try #require(freshValue)
        #expect(fresh.messageId != original.messageId)
        #expect(harness.receive("f.fifo").count == 1)
    }

    @Test func contentBasedDeduplicationAndScope() throws {
        var harness = fifo(["ContentBasedDeduplication": "true", "DeduplicationScope": "messageGroup"])
        harness.send("f.fifo", "same", group: "A")
        harness.send("f.fifo", "same", group: "A")
        harness.send("f.fifo", "same", group: "B")
        #expect(harness.receive("f.fifo", max: 10).count + harness.receive("f.fifo", max: 10).count == 2)
    }

    @Test func sequenceNumbersIncrease() throws {
        var harness = fifo()
        let firstValue = harness.send("f.fifo", "1", group: "G", deduplicationId: "1")
        let first = try #require(firstValue)
        let secondValue = harness.send("f.fifo", "2", group: "H", deduplicationId: "2")
        let second = try #require(secondValue)
        let firstNumber = try #require(first.sequenceNumber)
        let secondNumber = try #require(second.sequenceNumber)
        #expect(firstNumber.count == 20 && secondNumber.count == 20)
        #expect(firstNumber < secondNumber)
    }

    @Test func fifoRules() {
        var harness = fifo()
        #expect(
            harness.sendError("f.fifo", SendMessageEntry(body: "x", messageDeduplicationId: "d"))?.code
                == .missingParameter)
        #expect(
            harness.sendError("f.fifo", SendMessageEntry(body: "x", messageGroupId: "G"))?.code
                == .invalidParameterValue)
        #expect(
            harness.sendError(
                "f.fifo", SendMessageEntry(body: "x", delaySeconds: 5, messageGroupId: "G", messageDeduplicationId: "d")
            )?
            .code == .invalidParameterValue)
        #expect(
            harness.sendError(
                "f.fifo", SendMessageEntry(body: "x", messageGroupId: "bad group", messageDeduplicationId: "d"))?.code
                == .invalidParameterValue)
    }

    @Test func receiveRequestAttemptIdReturnsTheSameMessages() throws {
        var harness = fifo()
        for index in 0..<3 { harness.send("f.fifo", "m\(index)", group: "G\(index)", deduplicationId: "d\(index)") }
        let first = harness.receive("f.fifo", max: 2, attemptId: "attempt-1")
        let retry = harness.receive("f.fifo", max: 2, attemptId: "attempt-1")
        #expect(first == retry)
        let other = harness.receive("f.fifo", max: 2, attemptId: "attempt-2")
        #expect(other.map(\.body) == ["m2"])
    }

    @Test func manyGroupsInterleavedStayOrdered() throws {
        var harness = fifo()
        var expected: [String: [String]] = [:]
        for index in 0..<200 {
            let group = "g\(index % 7)"
            harness.send("f.fifo", "\(index)", group: group, deduplicationId: "\(index)")
            expected[group, default: []].append("\(index)")
        }
        var seen: [String: [String]] = [:]
        var rounds = 0
        while rounds < 500 {
            rounds += 1
            let batch = harness.receive("f.fifo", max: 3, systemAttributes: ["MessageGroupId"])
            if batch.isEmpty { break }
            for message in batch {
                seen[message.attributes["MessageGroupId"]!, default: []].append(message.body)
                harness.delete("f.fifo", message.receiptHandle)
            }
        }
        #expect(seen == expected)
    }
}
