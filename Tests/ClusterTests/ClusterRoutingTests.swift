import Logging
import NIOPosix
import Placement
import QueueEngine
import Testing

@testable import Cluster

/// A node alone with eight shards (in memory): every queue goes to its shard, and ListQueues merges them.
@Suite struct ClusterRoutingTests {
    static func node() async throws -> ClusterNode {
        var configuration = ClusterConfiguration.inMemory(receiptHandleKey: Array(repeating: 9, count: 32))
        configuration.shardCount = 8
        var logger = Logger(label: "routing")
        logger.logLevel = .error
        let node = try ClusterNode(
            configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: logger,
            onFatal: { _ in })
        try await node.start()
        return node
    }

    @Test func queuesSpreadOverShardsAndListQueuesMergesThem() async throws {
        let node = try await Self.node()
        let names = (0..<40).map { "queue-\($0)" }
        for name in names {
            guard case .queueCreated = await node.apply(.createQueue(name: name, attributes: [:], tags: [:])) else {
                Issue.record("create \(name) failed")
                return
            }
        }
        #expect(Set(names.map { node.placement.shard(forQueue: $0) }).count > 4)
        let all = try await node.listQueues(prefix: nil, maxResults: nil, nextToken: nil)
        #expect(all.queueNames == names.sorted())
        let first = try await node.listQueues(prefix: "queue-1", maxResults: 5, nextToken: nil)
        #expect(first.queueNames == names.filter { $0.hasPrefix("queue-1") }.sorted().prefix(5).map { $0 })
        let second = try await node.listQueues(prefix: "queue-1", maxResults: 5, nextToken: first.nextToken)
        #expect(
            second.queueNames == names.filter { $0.hasPrefix("queue-1") }.sorted().dropFirst(5).prefix(5).map { $0 })
        await node.shutdown()
    }

    static let arnPrefix = "arn:aws:sqs:us-east-1:000000000000:"

    static func policy(_ name: String, maxReceiveCount: Int = 1) -> String {
        "{\"deadLetterTargetArn\":\"\(arnPrefix)\(name)\",\"maxReceiveCount\":\"\(maxReceiveCount)\"}"
    }

    /// Receives from `queue` (visibility 0) until `body` says done or 10 s pass.
    static func receive(_ node: ClusterNode, _ queue: String, until done: ([ReceivedMessage]) -> Bool) async throws
        -> [ReceivedMessage]
    {
        var all: [ReceivedMessage] = []
        for _ in 0..<200 {
            if case .received(let messages) = await node.receive(
                ReceiveMessageRequest(queueName: queue, maxNumberOfMessages: 10, visibilityTimeoutSeconds: 0),
                waitSeconds: 0)
            {
                all += messages
            }
            if done(all) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return all
    }

    @Test func aDeadLetterQueueOnAnotherShardGetsMessagesAndMovesThemBack() async throws {
        let node = try await Self.node()
        let source = "orders"
        let sourceShard = node.placement.shard(forQueue: source)
        let deadLetter = (0..<100).map { "dlq-\($0)" }.first { node.placement.shard(forQueue: $0) != sourceShard }!
        let missing = (0..<100).map { "gone-\($0)" }.first { node.placement.shard(forQueue: $0) != sourceShard }!
        _ = await node.apply(.createQueue(name: source, attributes: [:], tags: [:]))

        // The dead-letter queue's shard checks that it exists.
        let refused = await node.apply(
            .setQueueAttributes(name: source, attributes: ["RedrivePolicy": Self.policy(missing)]))
        guard case .failure(let error) = refused else {
            Issue.record("a dead-letter queue that does not exist was accepted: \(refused)")
            return
        }
        #expect(error.code == .invalidParameterValue && error.message.contains("does not exist"))

        _ = await node.apply(.createQueue(name: deadLetter, attributes: [:], tags: [:]))
        #expect(
            await node.apply(.setQueueAttributes(name: source, attributes: ["RedrivePolicy": Self.policy(deadLetter)]))
                == .done)
        let sources = try await node.deadLetterSourceQueues(of: deadLetter, maxResults: nil, nextToken: nil)
        #expect(sources.queueNames == [source])

        let entries = (0..<5).map { SendMessageEntry(id: "e\($0)", body: "poison \($0)") }
        guard
            case .sent(let results) = await node.apply(
                .sendMessages(queueName: source, entries: entries, senderId: "AKID", isBatch: true))
        else {
            Issue.record("send failed")
            return
        }
        let sent = Set(
            results.compactMap { result -> String? in
                if case .success(let message) = result.outcome { return message.messageId }
                return nil
            })
        #expect(sent.count == 5)
        // Received once each; the next receives take them to the dead-letter queue on the other shard.
        _ = try await Self.receive(node, source) { $0.count >= 5 }
        var dead: [ReceivedMessage] = []
        for _ in 0..<100 where Set(dead.map(\.messageId)) != sent {
            #expect(try await Self.receive(node, source) { _ in true }.isEmpty)
            dead += try await Self.receive(node, deadLetter) { _ in true }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(Set(dead.map(\.messageId)) == sent)

        // A move task on the dead-letter queue's shard returns them to their source on the other shard.
        guard
            case .moveTaskStarted = await node.apply(
                .startMessageMoveTask(
                    sourceArn: Self.arnPrefix + deadLetter, destinationArn: nil, maxNumberOfMessagesPerSecond: nil))
        else {
            Issue.record("move task not started")
            return
        }
        let back = try await Self.receive(node, source) { Set($0.map(\.messageId)) == sent }
        #expect(Set(back.map(\.messageId)) == sent)

        // A queue no queue redrives to is not a move task source, whatever its shard.
        let notDeadLetter = await node.apply(
            .startMessageMoveTask(
                sourceArn: Self.arnPrefix + source, destinationArn: nil, maxNumberOfMessagesPerSecond: nil))
        guard case .failure(let moveError) = notDeadLetter else {
            Issue.record("a move task from a queue that is no dead-letter queue started")
            return
        }
        #expect(moveError.message.contains("Dead Letter Queue"))
        await node.shutdown()
    }
}
