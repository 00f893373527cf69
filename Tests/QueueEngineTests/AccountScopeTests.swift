import Foundation
import Placement
import Testing

@testable import QueueEngine

/// Queues of several accounts in one engine (`AccountScope`): another account's queue is stored as
/// `ACCOUNT/NAME`, with its own ARN; a dead-letter queue stays within its source's account; the first
/// rules keep refusing such names, so an old log replays as it was acknowledged.
@Suite("Account scope")
struct AccountScopeTests {
    static let other = "111111111111"

    @Test func anotherAccountsQueueHasItsOwnNameAndArn() throws {
        var harness = EngineHarness()
        #expect(harness.create("orders").error == nil)
        #expect(harness.create("\(Self.other)/orders").error == nil)
        _ = harness.send("\(Self.other)/orders", "theirs")
        #expect(harness.engine.queueArn("orders") == "arn:aws:sqs:us-east-1:000000000000:orders")
        #expect(harness.engine.queueArn("\(Self.other)/orders") == "arn:aws:sqs:us-east-1:\(Self.other):orders")
        #expect(
            harness.engine.queueName(fromArn: "arn:aws:sqs:us-east-1:\(Self.other):orders") == "\(Self.other)/orders")
        #expect(harness.engine.queueName(fromArn: "arn:aws:sqs:us-east-1:000000000000:orders") == "orders")
        // An ARN cannot smuggle a scoped name in, nor name another region's queue.
        #expect(harness.engine.queueName(fromArn: "arn:aws:sqs:us-east-1:000000000000:\(Self.other)/orders") == nil)
        #expect(harness.engine.queueName(fromArn: "arn:aws:sqs:eu-west-1:\(Self.other):orders") == nil)
        #expect(harness.attribute("orders", "ApproximateNumberOfMessages") == "0")
        #expect(harness.attribute("\(Self.other)/orders", "ApproximateNumberOfMessages") == "1")
        // An account id is 12 digits; the bare name follows the usual rules.
        #expect(harness.create("12345/orders").error?.code == .invalidParameterValue)
        #expect(harness.create("\(Self.other)/or/ders").error?.code == .invalidParameterValue)
        #expect(harness.create("\(Self.other)/").error?.code == .invalidParameterValue)
    }

    @Test func aDeadLetterQueueBelongsToItsSourcesAccount() throws {
        var harness = EngineHarness()
        harness.create("dlq")
        harness.create("\(Self.other)/dlq")
        let mine = "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:dlq\",\"maxReceiveCount\":1}"
        let theirs = "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:\(Self.other):dlq\",\"maxReceiveCount\":1}"
        #expect(harness.create("\(Self.other)/source", ["RedrivePolicy": mine]).error?.code == .invalidParameterValue)
        #expect(harness.create("source", ["RedrivePolicy": theirs]).error?.code == .invalidParameterValue)
        #expect(harness.create("\(Self.other)/source", ["RedrivePolicy": theirs]).error == nil)
        #expect(
            harness.engine.queues(redrivingTo: "arn:aws:sqs:us-east-1:\(Self.other):dlq") == ["\(Self.other)/source"])
    }

    @Test func theFirstRulesRefuseScopedNames() throws {
        var harness = EngineHarness(
            engine: QueueEngine(
                configuration: QueueEngineConfiguration(receiptHandleKey: Array(repeating: 7, count: 32)), rules: 2))
        #expect(harness.create("\(Self.other)/orders").error?.code == .invalidParameterValue)
        #expect(harness.engine.queueName(fromArn: "arn:aws:sqs:us-east-1:\(Self.other):orders") == nil)
        harness.apply(.adoptRules(3))
        #expect(harness.create("\(Self.other)/orders").error == nil)
    }

    @Test func placementHashesTheBareName() {
        for count in [1, 4, 16] {
            for name in ["orders", "a", "queue-17"] {
                #expect(
                    Placement.shard(forQueue: "\(Self.other)/\(name)", shardCount: count)
                        == Placement.shard(forQueue: name, shardCount: count))
            }
        }
    }
}

/// The console's reads: queue summaries and peeks change nothing, and count what the queue did.
@Suite("Console reads")
struct ConsoleReadTests {
    @Test func aSummaryCountsAndAgesAndAPeekChangesNothing() throws {
        var harness = EngineHarness()
        harness.create("q")
        _ = harness.send("q", "first")
        harness.advance(seconds: 30)
        _ = harness.send("q", "second")
        _ = harness.send("q", "third", delay: 60)
        let received = harness.receive("q", max: 1, visibility: 100)
        #expect(received.map(\.body) == ["first"])
        var summary = harness.engine.queueSummaries(.own, limit: 10)[0]
        #expect(summary.visible == 1 && summary.inFlight == 1 && summary.delayed == 1)
        #expect(summary.sent == 3 && summary.received == 1 && summary.deleted == 0)
        #expect(summary.oldestMessageAgeSeconds == 30)
        let before = harness.engine.snapshot()
        let peeked = try harness.engine.peekMessages("q", max: 10)
        #expect(peeked.map(\.body) == ["first", "second", "third"])
        #expect(peeked.map(\.state) == ["in flight", "visible", "delayed"])
        #expect(peeked[0].receiveCount == 1)
        #expect(harness.engine.snapshot() == before)
        // Deleting the oldest makes the next one the oldest.
        harness.delete("q", received[0].receiptHandle)
        summary = harness.engine.queueSummaries(.own, limit: 10)[0]
        #expect(summary.deleted == 1 && summary.oldestMessageAgeSeconds == 0)
        #expect(try harness.engine.peekMessages("q", max: 1).map(\.body) == ["second"])
        #expect(try harness.engine.peekMessages("q", max: 0).isEmpty)
        // Scopes: the own account's queues, another account's, every one.
        harness.create("\(AccountScopeTests.other)/q")
        #expect(harness.engine.queueSummaries(.own, limit: 10).map(\.name) == ["q"])
        #expect(
            harness.engine.queueSummaries(.account(AccountScopeTests.other), limit: 10).map(\.name) == [
                "\(AccountScopeTests.other)/q"
            ])
        #expect(harness.engine.queueSummaries(.every, limit: 10).count == 2)
        #expect(harness.engine.queueSummaries(.every, limit: -1).isEmpty)
        #expect(throws: QueueError.self) { try harness.engine.peekMessages("missing", max: 1) }
    }
}
