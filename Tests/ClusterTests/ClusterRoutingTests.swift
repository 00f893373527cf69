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

    @Test func aDeadLetterQueueOnAnotherShardIsRefusedWithAClearError() async throws {
        let node = try await Self.node()
        let source = "orders"
        let sourceShard = node.placement.shard(forQueue: source)
        let elsewhere = (0..<100).map { "dlq-\($0)" }.first { node.placement.shard(forQueue: $0) != sourceShard }!
        let sameShard = (0..<1_000).map { "dlq-\($0)" }.first { node.placement.shard(forQueue: $0) == sourceShard }!
        for name in [source, elsewhere, sameShard] {
            _ = await node.apply(.createQueue(name: name, attributes: [:], tags: [:]))
        }
        let policy = { (name: String) in
            "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:\(name)\",\"maxReceiveCount\":\"3\"}"
        }
        let refused = await node.apply(
            .setQueueAttributes(name: source, attributes: ["RedrivePolicy": policy(elsewhere)]))
        guard case .failure(let error) = refused else {
            Issue.record("a cross-shard dead-letter queue was accepted: \(refused)")
            return
        }
        #expect(error.code == .invalidParameterValue)
        #expect(error.message.contains("shard"))
        let accepted = await node.apply(
            .setQueueAttributes(name: source, attributes: ["RedrivePolicy": policy(sameShard)]))
        #expect(accepted == .done)
        await node.shutdown()
    }
}
