import Testing

@testable import QueueEngine

@Suite("Messages: send, receive, visibility, delay, retention")
struct MessageTests {
    @Test func digestsFollowTheAWSAlgorithm() throws {
        var harness = EngineHarness()
        harness.create("q")
        let attributes: MessageAttributes = [
            "city": MessageAttributeValue(dataType: "String", stringValue: "Any City"),
            "population": MessageAttributeValue(dataType: "Number", stringValue: "1250800"),
            "blob": MessageAttributeValue(dataType: "Binary", binaryValue: [0, 1, 2]),
            "label": MessageAttributeValue(dataType: "String.custom", stringValue: "é"),
        ]
        let sentValue = harness.send("q", "héllo wörld", attributes: attributes)
        let sent = try #require(sentValue)
        #expect(sent.md5OfMessageBody == "ed0c22cc110ede12327851863c078138")
        #expect(sent.md5OfMessageAttributes == "de218bd3fa5076929f986c62a0f76a2e")
        #expect(sent.md5OfMessageSystemAttributes == nil)
        let plainValue = harness.send("q", "x")
        let plain = try #require(plainValue)
        #expect(plain.md5OfMessageAttributes == nil)
        let trace = SendMessageEntry(
            body: "t",
            messageSystemAttributes: [
                "AWSTraceHeader": MessageAttributeValue(
                    dataType: "String", stringValue: "Root=1-5759e988-bd862e3fe1be46a994272793")
            ])
        guard
            case .sent(let results) = harness.apply(
                .sendMessages(queueName: "q", entries: [trace], senderId: "A", isBatch: false)),
            case .success(let traced) = results[0].outcome
        else { Issue.record("send failed"); return }
        #expect(traced.md5OfMessageSystemAttributes == "62a56dd927315f2b2e12832b84617ea5")
        let received = harness.receive("q", systemAttributes: ["All"], messageAttributes: ["All"])
        #expect(received.count == 3)
        #expect(received[0].md5OfMessageAttributes == "de218bd3fa5076929f986c62a0f76a2e")
        #expect(received[2].attributes["AWSTraceHeader"] == "Root=1-5759e988-bd862e3fe1be46a994272793")
    }

    @Test func receiveSelectsAttributesByNameAllAndPrefix() throws {
        var harness = EngineHarness()
        harness.create("q")
        harness.send(
            "q", "b",
            attributes: [
                "a.one": MessageAttributeValue(dataType: "String", stringValue: "1"),
                "a.two": MessageAttributeValue(dataType: "String", stringValue: "2"),
                "b": MessageAttributeValue(dataType: "Number", stringValue: "3"),
            ])
        let byPrefix = harness.receive("q", visibility: 0, messageAttributes: ["a.*"])
        #expect(Set(byPrefix[0].messageAttributes.keys) == ["a.one", "a.two"])
        let byName = harness.receive("q", visibility: 0, systemAttributes: ["SentTimestamp"], messageAttributes: ["b"])
        #expect(Set(byName[0].messageAttributes.keys) == ["b"])
        #expect(byName[0].attributes == ["SentTimestamp": String(harness.now)])
        let none = harness.receive("q", visibility: 0)
        #expect(
            none[0].messageAttributes.isEmpty && none[0].md5OfMessageAttributes == nil && none[0].attributes.isEmpty)
        let all = harness.receive("q", visibility: 0, systemAttributes: ["All"], messageAttributes: [".*"])
        #expect(all[0].messageAttributes.count == 3)
        #expect(all[0].attributes["ApproximateReceiveCount"] == "4")
        #expect(all[0].attributes["SenderId"] == "AKID")
        #expect(all[0].attributes["ApproximateFirstReceiveTimestamp"] == String(harness.now))
    }

    @Test func visibilityTimeoutHidesThenReturns() throws {
        var harness = EngineHarness()
        harness.create("q", ["VisibilityTimeout": "30"])
        harness.send("q", "m")
        let first = harness.receive("q")
        #expect(first.count == 1)
        #expect(harness.receive("q").isEmpty)
        #expect(harness.attribute("q", "ApproximateNumberOfMessagesNotVisible") == "1")
        harness.advance(seconds: 29.9)
        #expect(harness.receive("q").isEmpty)
        harness.advance(seconds: 0.2)
        let second = harness.receive("q", systemAttributes: ["ApproximateReceiveCount"])
        #expect(second.count == 1)
        #expect(second[0].receiptHandle != first[0].receiptHandle)
        #expect(second[0].attributes["ApproximateReceiveCount"] == "2")
        // The older handle still deletes it, as SQS does; the latest one then succeeds without effect.
        #expect(
            harness.delete("q", first[0].receiptHandle)
                == .acknowledged([BatchEntryResult(id: "", outcome: .success(Acknowledged()))]))
        #expect(harness.engine.messageCount == 0)
        #expect(harness.delete("q", second[0].receiptHandle).error == nil)
    }

    @Test func changeVisibility() throws {
        var harness = EngineHarness()
        harness.create("q")
        harness.send("q", "m")
        let firstValue = harness.receive("q").first
        let first = try #require(firstValue)
        harness.changeVisibility("q", first.receiptHandle, 0)
        let secondValue = harness.receive("q", visibility: 10).first
        let second = try #require(secondValue)
        // An older handle changes the visibility too (0: visible at once), as SQS does.
        #expect(harness.changeVisibility("q", first.receiptHandle, 0).error == nil)
        let thirdValue = harness.receive("q", visibility: 10).first
        let third = try #require(thirdValue)
        #expect(third.messageId == second.messageId)
        #expect(harness.changeVisibility("q", first.receiptHandle, 5).error == nil)
        #expect(
            harness.changeVisibility("q", second.receiptHandle, 100)
                == .acknowledged([BatchEntryResult(id: "", outcome: .success(Acknowledged()))]))
        harness.advance(seconds: 50)
        #expect(harness.receive("q").isEmpty)
        harness.advance(seconds: 51)
        // Timed out, but still the latest handle: accepted, as AWS does; it hides the message again.
        #expect(harness.changeVisibility("q", second.receiptHandle, 20).error == nil)
        #expect(harness.receive("q").isEmpty)
        #expect(harness.changeVisibility("q", second.receiptHandle, 43_201).error?.code == .invalidParameterValue)
        #expect(harness.changeVisibility("q", "garbage", 5).error?.code == .receiptHandleIsInvalid)
        harness.delete("q", second.receiptHandle)
        #expect(harness.changeVisibility("q", second.receiptHandle, 5).error?.code == .invalidParameterValue)
    }

    @Test func forgedAndForeignHandlesAreInvalid() throws {
        var harness = EngineHarness()
        harness.create("a")
        harness.create("b")
        harness.send("a", "m")
        let messageValue = harness.receive("a").first
        let message = try #require(messageValue)
        #expect(harness.delete("b", message.receiptHandle).error?.code == .receiptHandleIsInvalid)
        var bytes = Array(message.receiptHandle)
        bytes[5] = bytes[5] == "A" ? "B" : "A"
        #expect(harness.delete("a", String(bytes)).error?.code == .receiptHandleIsInvalid)
        #expect(harness.delete("a", "").error?.code == .receiptHandleIsInvalid)
        // A recreated queue does not accept handles of the old one.
        harness.apply(.deleteQueue(name: "a"))
        harness.advance(seconds: 61)
        harness.create("a")
        #expect(harness.delete("a", message.receiptHandle).error?.code == .receiptHandleIsInvalid)
    }

    @Test func delayPerQueueAndPerMessage() throws {
        var harness = EngineHarness()
        harness.create("q", ["DelaySeconds": "10"])
        harness.send("q", "queue-delay")
        harness.send("q", "no-delay", delay: 0)
        harness.send("q", "long", delay: 20)
        #expect(harness.attribute("q", "ApproximateNumberOfMessagesDelayed") == "2")
        #expect(harness.receive("q").map(\.body) == ["no-delay"])
        harness.advance(seconds: 10)
        #expect(harness.receive("q").map(\.body) == ["queue-delay"])
        harness.advance(seconds: 10)
        #expect(harness.receive("q").map(\.body) == ["long"])
        #expect(harness.sendError("q", SendMessageEntry(body: "x", delaySeconds: 901))?.code == .invalidParameterValue)
    }

    @Test func retentionExpiresMessagesInFlightToo() {
        var harness = EngineHarness()
        harness.create("q", ["MessageRetentionPeriod": "60"])
        harness.send("q", "a")
        harness.send("q", "b")
        _ = harness.receive("q", max: 1)
        harness.advance(seconds: 59)
        #expect(harness.engine.messageCount == 2)
        harness.advance(seconds: 1)
        #expect(harness.engine.messageCount == 0)
        #expect(harness.receive("q").isEmpty)
    }

    @Test func loweringRetentionExpiresOlderMessages() {
        var harness = EngineHarness()
        harness.create("q")
        harness.send("q", "old")
        harness.advance(seconds: 120)
        harness.send("q", "new")
        harness.apply(.setQueueAttributes(name: "q", attributes: ["MessageRetentionPeriod": "60"]))
        #expect(harness.receive("q").map(\.body) == ["new"])
    }

    @Test func contentValidation() {
        var harness = EngineHarness()
        harness.create("q", ["MaximumMessageSize": "1024"])
        #expect(harness.sendError("q", SendMessageEntry(body: ""))?.code == .missingParameter)
        #expect(harness.sendError("q", SendMessageEntry(body: "bad\u{1}"))?.code == .invalidMessageContents)
        #expect(harness.sendError("q", SendMessageEntry(body: "bad\u{FFFE}"))?.code == .invalidMessageContents)
        #expect(harness.sendError("q", SendMessageEntry(body: "ok\t\n\r\u{10FFFF}\u{E000}")) == nil)
        #expect(
            harness.sendError("q", SendMessageEntry(body: String(repeating: "é", count: 513)))?.code
                == .invalidParameterValue)
        #expect(harness.sendError("q", SendMessageEntry(body: String(repeating: "a", count: 1024))) == nil)
        let tooMany = MessageAttributes(
            uniqueKeysWithValues: (0..<11).map {
                ("k\($0)", MessageAttributeValue(dataType: "String", stringValue: "v"))
            })
        #expect(
            harness.sendError("q", SendMessageEntry(body: "x", messageAttributes: tooMany))?.code
                == .invalidParameterValue)
        let badAttributes: [MessageAttributes] = [
            ["AWS.x": MessageAttributeValue(dataType: "String", stringValue: "v")],
            [".x": MessageAttributeValue(dataType: "String", stringValue: "v")],
            ["a..b": MessageAttributeValue(dataType: "String", stringValue: "v")],
            ["x": MessageAttributeValue(dataType: "Text", stringValue: "v")],
            ["x": MessageAttributeValue(dataType: "String", stringValue: "")],
            ["x": MessageAttributeValue(dataType: "Number", stringValue: "12a")],
            ["x": MessageAttributeValue(dataType: "Number", stringValue: "1e200")],
            ["x": MessageAttributeValue(dataType: "Binary", stringValue: "v")],
        ]
        for attributes in badAttributes {
            #expect(
                harness.sendError("q", SendMessageEntry(body: "x", messageAttributes: attributes))?.code
                    == .invalidParameterValue, "\(attributes)")
        }
        #expect(
            harness.sendError(
                "q",
                SendMessageEntry(
                    body: "x",
                    messageAttributes: ["n": MessageAttributeValue(dataType: "Number.float", stringValue: "-1.5e10")]))
                == nil)
        #expect(
            harness.sendError("q", SendMessageEntry(body: "x", messageDeduplicationId: "d"))?.code
                == .invalidParameterValue)
        #expect(harness.sendError("missing", SendMessageEntry(body: "x"))?.code == .queueDoesNotExist)
    }

    @Test func batchRulesAndPartialFailure() {
        var harness = EngineHarness()
        harness.create("q")
        func batch(_ entries: [SendMessageEntry]) -> CommandResult {
            harness.apply(.sendMessages(queueName: "q", entries: entries, senderId: "A", isBatch: true))
        }
        #expect(batch([]).error?.code == .emptyBatchRequest)
        #expect(
            batch((0..<11).map { SendMessageEntry(id: "e\($0)", body: "x") }).error?.code
                == .tooManyEntriesInBatchRequest)
        #expect(
            batch([SendMessageEntry(id: "a", body: "x"), SendMessageEntry(id: "a", body: "y")]).error?.code
                == .batchEntryIdsNotDistinct)
        #expect(batch([SendMessageEntry(id: "a b", body: "x")]).error?.code == .invalidBatchEntryId)
        let big = String(repeating: "a", count: 600_000)
        #expect(
            batch([SendMessageEntry(id: "a", body: big), SendMessageEntry(id: "b", body: big)]).error?.code
                == .batchRequestTooLong)
        guard
            case .sent(let results) = batch([
                SendMessageEntry(id: "ok", body: "fine"), SendMessageEntry(id: "bad", body: "\u{0}"),
            ])
        else {
            Issue.record("batch failed")
            return
        }
        #expect(results[0].id == "ok")
        if case .success = results[0].outcome {} else { Issue.record("first entry should succeed") }
        #expect(
            results[1].outcome
                == .failure(QueueError(.invalidMessageContents, MessageValidation.invalidCharactersMessage)))
    }

    @Test func receiveValidatesArguments() {
        var harness = EngineHarness()
        harness.create("q")
        #expect(harness.receiveResult("q", max: 0).error?.code == .invalidParameterValue)
        #expect(harness.receiveResult("q", max: 11).error?.code == .invalidParameterValue)
        #expect(harness.receiveResult("nope").error?.code == .queueDoesNotExist)
    }

    @Test func messageIdsAndHandlesAreDeterministic() {
        var first = EngineHarness()
        var second = EngineHarness()
        first.create("q")
        second.create("q")
        let a = first.send("q", "m")
        let b = second.send("q", "m")
        #expect(a == b)
        #expect(first.receive("q") == second.receive("q"))
    }
}
