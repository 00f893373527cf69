import Testing

@testable import QueueEngine

@Suite("Queues: create, delete, attributes, tags, permissions")
struct QueueLifecycleTests {
    @Test func createIsIdempotentWithIdenticalAttributes() {
        var harness = EngineHarness()
        #expect(harness.create("orders", ["VisibilityTimeout": "45"]) == .queueCreated(name: "orders"))
        #expect(harness.create("orders", ["VisibilityTimeout": "45"]) == .queueCreated(name: "orders"))
        #expect(harness.create("orders") == .queueCreated(name: "orders"))
        #expect(harness.create("orders", ["VisibilityTimeout": "46"]).error?.code == .queueNameExists)
    }

    @Test func queueNameRules() {
        var harness = EngineHarness()
        for bad in ["", "has space", "dot.name", String(repeating: "a", count: 81), "x.fifo"] {
            #expect(harness.create(bad).error?.code == .invalidParameterValue, "name \(bad)")
        }
        #expect(
            harness.create(String(repeating: "a", count: 80)) == .queueCreated(name: String(repeating: "a", count: 80)))
        #expect(harness.create("jobs", ["FifoQueue": "true"]).error?.code == .invalidParameterValue)
        #expect(harness.create("jobs.fifo", ["FifoQueue": "true"]) == .queueCreated(name: "jobs.fifo"))
    }

    @Test func deletedNameIsReservedForSixtySeconds() {
        var harness = EngineHarness()
        harness.create("q")
        #expect(harness.apply(.deleteQueue(name: "q")) == .done)
        #expect(harness.apply(.deleteQueue(name: "q")).error?.code == .queueDoesNotExist)
        #expect(harness.create("q").error?.code == .queueDeletedRecently)
        harness.advance(seconds: 59)
        #expect(harness.create("q").error?.code == .queueDeletedRecently)
        harness.advance(seconds: 1.5)
        #expect(harness.create("q") == .queueCreated(name: "q"))
    }

    @Test func defaultsAndReadOnlyAttributes() throws {
        var harness = EngineHarness()
        harness.create("q")
        let all = try harness.engine.queueAttributes("q", names: ["All"])
        #expect(all["VisibilityTimeout"] == "30")
        #expect(all["MaximumMessageSize"] == "1048576")
        #expect(all["MessageRetentionPeriod"] == "345600")
        #expect(all["DelaySeconds"] == "0")
        #expect(all["ReceiveMessageWaitTimeSeconds"] == "0")
        #expect(all["QueueArn"] == "arn:aws:sqs:us-east-1:000000000000:q")
        #expect(all["CreatedTimestamp"] == String(harness.now / 1000))
        #expect(all["ApproximateNumberOfMessages"] == "0")
        #expect(all["FifoQueue"] == nil)
        #expect(try harness.engine.queueAttributes("q", names: []).isEmpty)
        #expect(throws: QueueError.self) { try harness.engine.queueAttributes("q", names: ["Bogus"]) }
    }

    @Test func attributeValidation() {
        var harness = EngineHarness()
        harness.create("q")
        let cases: [(String, String, QueueError.Code)] = [
            ("VisibilityTimeout", "43201", .invalidAttributeValue), ("VisibilityTimeout", "-1", .invalidAttributeValue),
            ("DelaySeconds", "901", .invalidAttributeValue), ("MaximumMessageSize", "1023", .invalidAttributeValue),
            ("MaximumMessageSize", "1048577", .invalidAttributeValue),
            ("MessageRetentionPeriod", "59", .invalidAttributeValue),
            ("MessageRetentionPeriod", "1209601", .invalidAttributeValue),
            ("ReceiveMessageWaitTimeSeconds", "21", .invalidAttributeValue),
            ("VisibilityTimeout", "abc", .invalidAttributeValue),
            ("Policy", "not json", .invalidAttributeValue),
            ("ContentBasedDeduplication", "true", .invalidAttributeName),
            ("FifoQueue", "true", .invalidAttributeValue), ("QueueArn", "x", .invalidAttributeName),
            ("Nope", "1", .invalidAttributeName),
            ("RedrivePolicy", "{\"maxReceiveCount\":2}", .invalidAttributeValue),
        ]
        for (name, value, code) in cases {
            #expect(
                harness.apply(.setQueueAttributes(name: "q", attributes: [name: value])).error?.code == code,
                "\(name)=\(value)")
        }
        #expect(harness.apply(.setQueueAttributes(name: "q", attributes: ["VisibilityTimeout": "43200"])) == .done)
        #expect(harness.attribute("q", "VisibilityTimeout") == "43200")
    }

    @Test func fifoAttributes() {
        var harness = EngineHarness()
        harness.create("f.fifo", ["FifoQueue": "true", "ContentBasedDeduplication": "true"])
        #expect(harness.attribute("f.fifo", "FifoQueue") == "true")
        #expect(harness.attribute("f.fifo", "DeduplicationScope") == "queue")
        #expect(harness.attribute("f.fifo", "FifoThroughputLimit") == "perQueue")
        #expect(
            harness.apply(.setQueueAttributes(name: "f.fifo", attributes: ["FifoThroughputLimit": "perMessageGroupId"]))
                .error?.code == .invalidAttributeValue)
        #expect(
            harness.apply(
                .setQueueAttributes(
                    name: "f.fifo",
                    attributes: ["FifoThroughputLimit": "perMessageGroupId", "DeduplicationScope": "messageGroup"]))
                == .done)
    }

    @Test func tagsMergeAndRemove() throws {
        var harness = EngineHarness()
        harness.apply(.createQueue(name: "q", attributes: [:], tags: ["team": "a"]))
        harness.apply(.tagQueue(name: "q", tags: ["env": "prod", "team": "b"]))
        #expect(try harness.engine.queueTags("q") == ["team": "b", "env": "prod"])
        harness.apply(.untagQueue(name: "q", tagKeys: ["team"]))
        #expect(try harness.engine.queueTags("q") == ["env": "prod"])
        #expect(harness.apply(.tagQueue(name: "q", tags: ["aws:x": "1"])).error?.code == .invalidParameterValue)
    }

    @Test func permissionsEditThePolicy() throws {
        var harness = EngineHarness()
        harness.create("q")
        #expect(
            harness.apply(
                .addPermission(name: "q", label: "p1", accountIds: ["111122223333"], actions: ["SendMessage"]))
                == .done)
        let policyValue = harness.attribute("q", "Policy")
        let policy = try #require(policyValue)
        #expect(policy.contains("\"Sid\":\"p1\""))
        #expect(policy.contains("SQS:SendMessage"))
        #expect(policy.contains("arn:aws:iam::111122223333:root"))
        #expect(
            harness.apply(.addPermission(name: "q", label: "p1", accountIds: ["1"], actions: ["*"])).error?.code
                == .invalidParameterValue)
        #expect(harness.apply(.removePermission(name: "q", label: "p1")) == .done)
        #expect(harness.attribute("q", "Policy") == nil)
        #expect(harness.apply(.removePermission(name: "q", label: "p1")).error?.code == .invalidParameterValue)
    }

    @Test func listQueuesPagesInOrder() throws {
        var harness = EngineHarness()
        for name in ["b", "a", "c", "ab"] { harness.create(name) }
        let first = try harness.engine.listQueues(prefix: nil, maxResults: 2, nextToken: nil)
        #expect(first.queueNames == ["a", "ab"])
        let second = try harness.engine.listQueues(prefix: nil, maxResults: 2, nextToken: first.nextToken)
        #expect(second.queueNames == ["b", "c"])
        #expect(second.nextToken == nil)
        #expect(try harness.engine.listQueues(prefix: "a", maxResults: nil, nextToken: nil).queueNames == ["a", "ab"])
        #expect(throws: QueueError.self) { try harness.engine.listQueues(prefix: nil, maxResults: 0, nextToken: nil) }
    }

    @Test func purgeRemovesEverythingAndIsRateLimited() {
        var harness = EngineHarness()
        harness.create("q")
        for index in 0..<5 { harness.send("q", "m\(index)") }
        _ = harness.receive("q", max: 2)
        harness.send("q", "delayed", delay: 60)
        #expect(harness.apply(.purgeQueue(name: "q")) == .done)
        #expect(harness.attribute("q", "ApproximateNumberOfMessages") == "0")
        #expect(harness.attribute("q", "ApproximateNumberOfMessagesNotVisible") == "0")
        #expect(harness.attribute("q", "ApproximateNumberOfMessagesDelayed") == "0")
        harness.advance(seconds: 61)
        #expect(harness.receive("q").isEmpty)
        #expect(harness.apply(.purgeQueue(name: "q")) == .done)
        #expect(harness.apply(.purgeQueue(name: "q")).error?.code == .purgeQueueInProgress)
    }
}
