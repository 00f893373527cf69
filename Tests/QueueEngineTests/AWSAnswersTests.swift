import Foundation
import Testing

@testable import QueueEngine

/// Answers recorded on real AWS that client code notices: exact error codes and messages, and the
/// attribute-name rules of receives.
@Suite("AWS's exact answers")
struct AWSAnswersTests {
    @Test func anInvalidQueueNamesMessageHasNoTrailingPeriod() {
        var harness = EngineHarness()
        let error = harness.create("has space").error
        #expect(error?.code == .invalidParameterValue)
        #expect(
            error?.message
                == "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
    }

    @Test func queueAlreadyExistsNamesOnlyTheFirstAttributeThatDiffers() {
        var harness = EngineHarness()
        harness.create("q", ["DelaySeconds": "5", "VisibilityTimeout": "40"])
        let error = harness.create(
            "q", ["VisibilityTimeout": "40", "DelaySeconds": "6", "MessageRetentionPeriod": "60"]
        )
        .error
        #expect(error?.code == .queueNameExists)
        #expect(
            error?.message
                == "A queue already exists with the same name and a different value for attribute DelaySeconds")
        // Attributes equal to the queue's do not count.
        #expect(harness.create("q", ["VisibilityTimeout": "40"]) == .queueCreated(name: "q"))
    }

    @Test func aStandardQueueTakesNoFifoAttributes() {
        var harness = EngineHarness()
        let fifoFalse = harness.create("plain", ["FifoQueue": "false"]).error
        #expect(fifoFalse?.code == .invalidAttributeName)
        #expect(fifoFalse?.message == "Unknown Attribute FifoQueue.")
        for name in ["DeduplicationScope", "FifoThroughputLimit"] {
            let value = name == "DeduplicationScope" ? "queue" : "perQueue"
            let error = harness.create("plain", [name: value]).error
            #expect(error?.code == .invalidAttributeName)
            #expect(error?.message == "You can specify the \(name) only when FifoQueue is set to true.")
        }
        harness.create("plain")
        harness.create("ordered.fifo", ["FifoQueue": "true"])
        for (queue, value) in [("plain", "true"), ("plain", "false"), ("ordered.fifo", "true")] {
            let error = harness.apply(.setQueueAttributes(name: queue, attributes: ["FifoQueue": value])).error
            #expect(error?.code == .invalidAttributeValue)
            #expect(
                error?.message
                    == "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.")
        }
    }

    @Test func permissionsWriteTheSQSPolicyVersionAndNameAnUnknownLabel() throws {
        var harness = EngineHarness()
        harness.create("q")
        #expect(
            harness.apply(
                .addPermission(name: "q", label: "l1", accountIds: ["123456789012"], actions: ["SendMessage"]))
                == .done)
        let policy = try #require(harness.attribute("q", "Policy"))
        let document = try #require(try JSONSerialization.jsonObject(with: Data(policy.utf8)) as? [String: Any])
        #expect(document["Version"] as? String == "2008-10-17")
        let error = harness.apply(.removePermission(name: "q", label: "nope")).error
        #expect(error?.code == .invalidParameterValue)
        #expect(error?.message == "Value nope for parameter Label is invalid. Reason: can't find label.")
    }

    @Test func messageAttributeNamesTakeAStarAndPrefixesBeforeTheDotStar() {
        var harness = EngineHarness()
        harness.create("q")
        let attributes: MessageAttributes = [
            "Hello": MessageAttributeValue(dataType: "String", stringValue: "a"),
            "Help": MessageAttributeValue(dataType: "String", stringValue: "b"),
            "Other": MessageAttributeValue(dataType: "String", stringValue: "c"),
        ]
        harness.send("q", "one", attributes: attributes)
        harness.send("q", "two", attributes: attributes)
        let all = harness.receive("q", max: 1, messageAttributes: ["*"])
        #expect(all.first?.messageAttributes.keys.sorted() == ["Hello", "Help", "Other"])
        let prefixed = harness.receive("q", max: 1, messageAttributes: ["Hel.*"])
        #expect(prefixed.first?.messageAttributes.keys.sorted() == ["Hello", "Help"])
    }
}

@Suite("FIFO answers recorded on AWS")
struct FifoAWSAnswersTests {
    @Test func attributeNamesTakeLettersOfAnyScriptAndValuesAnswerInvalidParameterValue() {
        var harness = EngineHarness()
        harness.create("q")
        func entry(_ name: String, _ value: String = "v") -> SendMessageEntry {
            SendMessageEntry(
                body: "m", messageAttributes: [name: MessageAttributeValue(dataType: "String", stringValue: value)])
        }
        #expect(harness.sendError("q", entry("attr.1øßä")) == nil)
        #expect(harness.sendError("q", entry("名前")) == nil)
        #expect(harness.sendError("q", entry("sect§ion"))?.code == .invalidParameterValue)
        #expect(harness.sendError("q", entry("a b"))?.code == .invalidParameterValue)
        #expect(harness.sendError("q", entry("x", "bell\u{7}"))?.code == .invalidParameterValue)
        #expect(harness.sendError("q", SendMessageEntry(body: "bell\u{7}"))?.code == .invalidMessageContents)
    }

    @Test func aFifoSendWithDelayZeroTakesTheQueuesDelay() {
        var harness = EngineHarness()
        harness.create("late.fifo", ["FifoQueue": "true", "DelaySeconds": "5", "ContentBasedDeduplication": "true"])
        harness.send("late.fifo", "delayed", delay: 0, group: "g")
        #expect(harness.receive("late.fifo").isEmpty)
        #expect(harness.attribute("late.fifo", "ApproximateNumberOfMessagesDelayed") == "1")
        harness.advance(seconds: 5)
        #expect(harness.receive("late.fifo").map(\.body) == ["delayed"])
    }
}

extension FifoAWSAnswersTests {
    @Test func purgeForgetsDeduplicationIds() {
        var harness = EngineHarness()
        harness.create("once.fifo", ["FifoQueue": "true"])
        let first = harness.send("once.fifo", "a", group: "g", deduplicationId: "d")
        #expect(harness.send("once.fifo", "a", group: "g", deduplicationId: "d")?.messageId == first?.messageId)
        #expect(harness.apply(.purgeQueue(name: "once.fifo")) == .done)
        let again = harness.send("once.fifo", "a", group: "g", deduplicationId: "d")
        #expect(again != nil && again?.messageId != first?.messageId)
        #expect(harness.receive("once.fifo").map(\.body) == ["a"])
    }
}

extension FifoAWSAnswersTests {
    @Test func aFifoBatchEntryWithoutGroupOrDeduplicationFailsTheWholeRequest() {
        var harness = EngineHarness()
        harness.create("batch.fifo", ["FifoQueue": "true"])
        let good = SendMessageEntry(id: "ok", body: "fine", messageGroupId: "g", messageDeduplicationId: "1")
        let noGroup = SendMessageEntry(id: "nogroup", body: "bad", messageDeduplicationId: "2")
        let noDedup = SendMessageEntry(id: "nodedup", body: "bad", messageGroupId: "g")
        for (entry, message) in [
            (noGroup, "The request must contain the parameter MessageGroupId."),
            (
                noDedup,
                "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
            ),
        ] {
            let error = harness.apply(
                .sendMessages(queueName: "batch.fifo", entries: [good, entry], senderId: "AKID", isBatch: true)
            ).error
            #expect(error?.code == .invalidParameterValue)
            #expect(error?.message == message)
        }
        #expect(harness.receive("batch.fifo").isEmpty)
    }
}
