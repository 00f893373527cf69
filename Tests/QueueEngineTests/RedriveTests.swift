import Testing

@testable import QueueEngine

@Suite("Dead-letter queues and message move tasks")
struct RedriveTests {
    func withDeadLetterQueue(maxReceiveCount: Int = 2) -> EngineHarness {
        var harness = EngineHarness()
        harness.create("dlq")
        harness.create(
            "src",
            [
                "RedrivePolicy":
                    "{\"deadLetterTargetArn\":\"\(harness.arn("dlq"))\",\"maxReceiveCount\":\"\(maxReceiveCount)\"}"
            ])
        return harness
    }

    @Test func messageMovesAfterMaxReceiveCount() throws {
        var harness = withDeadLetterQueue(maxReceiveCount: 2)
        let sentValue = harness.send("src", "poison")
        let sent = try #require(sentValue)
        #expect(harness.receive("src", visibility: 0).count == 1)
        #expect(harness.receive("src", visibility: 0).count == 1)
        #expect(harness.receive("src", visibility: 0).isEmpty)
        let dead = harness.receive("dlq", systemAttributes: ["All"])
        #expect(dead.map(\.messageId) == [sent.messageId])
        #expect(dead[0].attributes["DeadLetterQueueSourceArn"] == harness.arn("src"))
        #expect(
            harness.attribute("src", "RedrivePolicy")
                == "{\"deadLetterTargetArn\":\"\(harness.arn("dlq"))\",\"maxReceiveCount\":2}")
        #expect(
            try harness.engine.deadLetterSourceQueues(of: "dlq", maxResults: nil, nextToken: nil).queueNames == ["src"])
    }

    @Test func redrivePolicyValidation() {
        var harness = EngineHarness()
        harness.create("std")
        harness.create("f.fifo", ["FifoQueue": "true"])
        let missing = "{\"deadLetterTargetArn\":\"\(harness.arn("nope"))\",\"maxReceiveCount\":3}"
        #expect(
            harness.apply(.setQueueAttributes(name: "std", attributes: ["RedrivePolicy": missing])).error?.code
                == .invalidParameterValue)
        let mixed = "{\"deadLetterTargetArn\":\"\(harness.arn("f.fifo"))\",\"maxReceiveCount\":3}"
        #expect(
            harness.apply(.setQueueAttributes(name: "std", attributes: ["RedrivePolicy": mixed])).error?.code
                == .invalidParameterValue)
        harness.create("deny", ["RedriveAllowPolicy": "{\"redrivePermission\":\"denyAll\"}"])
        let denied = "{\"deadLetterTargetArn\":\"\(harness.arn("deny"))\",\"maxReceiveCount\":3}"
        #expect(
            harness.apply(.setQueueAttributes(name: "std", attributes: ["RedrivePolicy": denied])).error?.code
                == .invalidParameterValue)
        harness.create(
            "only",
            [
                "RedriveAllowPolicy":
                    "{\"redrivePermission\":\"byQueue\",\"sourceQueueArns\":[\"\(harness.arn("std"))\"]}"
            ])
        let allowed = "{\"deadLetterTargetArn\":\"\(harness.arn("only"))\",\"maxReceiveCount\":3}"
        #expect(harness.apply(.setQueueAttributes(name: "std", attributes: ["RedrivePolicy": allowed])) == .done)
        harness.create("other")
        #expect(
            harness.apply(.setQueueAttributes(name: "other", attributes: ["RedrivePolicy": allowed])).error?.code
                == .invalidParameterValue)
        let badCount = "{\"deadLetterTargetArn\":\"\(harness.arn("only"))\",\"maxReceiveCount\":0}"
        #expect(
            harness.apply(.setQueueAttributes(name: "std", attributes: ["RedrivePolicy": badCount])).error?.code
                == .invalidAttributeValue)
        for count in ["1", "\"7\"", "1000"] {
            let policy = "{\"deadLetterTargetArn\":\"\(harness.arn("only"))\",\"maxReceiveCount\":\(count)}"
            #expect(
                harness.apply(.setQueueAttributes(name: "std", attributes: ["RedrivePolicy": policy])) == .done,
                "\(count)")
        }
        for count in ["1001", "1.5", "\"x\"", "[]"] {
            let policy = "{\"deadLetterTargetArn\":\"\(harness.arn("only"))\",\"maxReceiveCount\":\(count)}"
            #expect(
                harness.apply(.setQueueAttributes(name: "std", attributes: ["RedrivePolicy": policy])).error?.code
                    == .invalidAttributeValue, "\(count)")
        }
        #expect(harness.apply(.setQueueAttributes(name: "std", attributes: ["RedrivePolicy": ""])) == .done)
        #expect(harness.attribute("std", "RedrivePolicy") == nil)
    }

    func deadLettered(_ count: Int) -> EngineHarness {
        var harness = withDeadLetterQueue(maxReceiveCount: 1)
        for index in 0..<count { harness.send("src", "m\(index)") }
        for _ in 0..<2 { _ = harness.receive("src", max: 10, visibility: 0) }
        return harness
    }

    @Test func moveTaskWithoutDestinationReturnsMessagesHome() throws {
        var harness = deadLettered(5)
        #expect(harness.attribute("dlq", "ApproximateNumberOfMessages") == "5")
        guard
            case .moveTaskStarted(let handle) = harness.apply(
                .startMessageMoveTask(
                    sourceArn: harness.arn("dlq"), destinationArn: nil, maxNumberOfMessagesPerSecond: nil))
        else { Issue.record("start failed"); return }
        #expect(harness.attribute("src", "ApproximateNumberOfMessages") == "5")
        let tasks = try harness.engine.messageMoveTasks(sourceArn: harness.arn("dlq"), maxResults: 10)
        #expect(tasks.count == 1)
        #expect(tasks[0].status == "COMPLETED" && tasks[0].approximateNumberOfMessagesMoved == 5)
        #expect(tasks[0].taskHandle == nil)
        #expect(harness.apply(.cancelMessageMoveTask(taskHandle: handle)).error?.code == .resourceNotFound)
    }

    @Test func moveTaskRateLimitCancelAndOneAtATime() throws {
        var harness = deadLettered(10)
        harness.create("dest")
        guard
            case .moveTaskStarted(let handle) = harness.apply(
                .startMessageMoveTask(
                    sourceArn: harness.arn("dlq"), destinationArn: harness.arn("dest"), maxNumberOfMessagesPerSecond: 2)
            )
        else { Issue.record("start failed"); return }
        #expect(harness.attribute("dest", "ApproximateNumberOfMessages") == "2")
        #expect(
            harness.apply(
                .startMessageMoveTask(
                    sourceArn: harness.arn("dlq"), destinationArn: nil, maxNumberOfMessagesPerSecond: nil)
            )
            .error?.code == .invalidParameterValue)
        harness.advance(seconds: 1)
        #expect(harness.attribute("dest", "ApproximateNumberOfMessages") == "4")
        #expect(
            harness.apply(.cancelMessageMoveTask(taskHandle: handle))
                == .moveTaskCancelled(approximateNumberOfMessagesMoved: 4))
        harness.advance(seconds: 5)
        #expect(harness.attribute("dest", "ApproximateNumberOfMessages") == "4")
        let newest = try harness.engine.messageMoveTasks(sourceArn: harness.arn("dlq"), maxResults: nil)
        #expect(newest.map(\.status) == ["CANCELLED"])
    }

    @Test func moveTaskErrors() {
        var harness = deadLettered(1)
        #expect(
            harness.apply(
                .startMessageMoveTask(
                    sourceArn: harness.arn("src"), destinationArn: nil, maxNumberOfMessagesPerSecond: nil)
            )
            .error?.code == .invalidParameterValue)
        #expect(
            harness.apply(
                .startMessageMoveTask(
                    sourceArn: harness.arn("none"), destinationArn: nil, maxNumberOfMessagesPerSecond: nil)
            )
            .error?.code == .resourceNotFound)
        #expect(
            harness.apply(
                .startMessageMoveTask(
                    sourceArn: harness.arn("dlq"), destinationArn: nil, maxNumberOfMessagesPerSecond: 501)
            )
            .error?.code == .invalidParameterValue)
        #expect(harness.apply(.cancelMessageMoveTask(taskHandle: "nope")).error?.code == .resourceNotFound)
    }
}
