import Foundation
import Placement
import QueueEngine
import Testing

@testable import Cluster

/// Four nodes, four shards, three replicas each: every node hosts only some shards, and answers requests
/// for the others by calling a node that hosts them.
@Suite(.serialized) struct ClusterScaleOutTests {
    typealias Harness = ClusterNodeTests.Harness

    /// A queue name homed on each shard.
    static func queueNames(_ placement: Placement) -> [ShardID: String] {
        var names: [ShardID: String] = [:]
        for index in 0..<1_000 where names.count < placement.shardCount {
            let name = "scale-\(index)"
            let shard = placement.shard(forQueue: name)
            if names[shard] == nil { names[shard] = name }
        }
        return names
    }

    static func query(_ node: ClusterNode, _ query: ShardQuery, queue: String) async -> ShardAnswer? {
        for _ in 0..<200 {
            do {
                return try await node.query(query, queue: queue)
            } catch {
                guard error.code == .serviceUnavailable else { return nil }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        return nil
    }

    @Test func everyNodeServesEveryQueueWhetherOrNotItHostsItsShard() async throws {
        let harness = try await Harness.running(count: 4, shardCount: 4, replicationFactor: 3)
        let placement = harness.node(1).placement
        #expect(placement.replicationFactor == 3)
        let names = Self.queueNames(placement)
        #expect(names.count == 4)
        // Each node lacks at least one shard here: its requests for that shard's queue go to another node.
        var remote: [(node: UInt64, queue: String)] = []
        for id in 1...4 as ClosedRange<UInt64> {
            // Its shards, and the metadata group where placement puts that.
            let hostsMetadata = placement.replicas(of: placement.metadataGroup).contains(id)
            #expect(harness.node(id).hostedShardCount == placement.shards(hostedBy: id).count + (hostsMetadata ? 1 : 0))
            for (shard, name) in names where !placement.replicas(of: shard).contains(id) { remote.append((id, name)) }
        }
        #expect(!remote.isEmpty)

        for (shard, name) in names.sorted(by: { $0.key < $1.key }) {
            let outsider = UInt64((1...4).first { !placement.replicas(of: shard).contains(UInt64($0)) } ?? 1)
            let created = await ClusterNodeTests.eventually(
                harness.node(outsider), .createQueue(name: name, attributes: [:], tags: ["shard": "\(shard.rawValue)"]))
            #expect(created == .queueCreated(name: name), "\(name) via node \(outsider)")
        }
        for (id, name) in remote {
            let node = harness.node(id)
            guard case .sent = await ClusterNodeTests.eventually(node, ClusterNodeTests.send("from \(id)", queue: name))
            else {
                Issue.record("send to \(name) via node \(id) failed")
                continue
            }
            let tags = await Self.query(node, .queueTags(name: name), queue: name)
            #expect(tags?.map["shard"] != nil)
            let attributes = await Self.query(
                node, .queueAttributes(name: name, names: ["ApproximateNumberOfMessages"]), queue: name)
            #expect(attributes?.map["ApproximateNumberOfMessages"].flatMap { Int($0) } ?? 0 >= 1)
            let received = await ClusterNodeTests.receive(node, queue: name)
            #expect(received.contains { $0.body == "from \(id)" }, "receive from \(name) via node \(id)")
            for message in received {
                let deleted = await node.apply(
                    .deleteMessages(
                        queueName: name, entries: [ReceiptEntry(receiptHandle: message.receiptHandle)], isBatch: false))
                guard case .acknowledged(let entries) = deleted, case .success = entries.first?.outcome else {
                    Issue.record("delete via node \(id): \(deleted)")
                    continue
                }
            }
        }
        for id in 1...4 as ClosedRange<UInt64> {
            let listed = try await harness.node(id).listQueues(prefix: "scale-", maxResults: nil, nextToken: nil)
            #expect(listed.queueNames == names.values.sorted(), "ListQueues via node \(id)")
        }

        // A long poll through a node without the shard wakes when another node sends.
        let (waiter, name) = remote[0]
        let sender = UInt64((1...4).first { UInt64($0) != waiter }!)
        async let woken = harness.node(waiter).receive(
            ReceiveMessageRequest(queueName: name, maxNumberOfMessages: 1, visibilityTimeoutSeconds: 30),
            waitSeconds: 10)
        try await Task.sleep(for: .milliseconds(300))
        _ = await ClusterNodeTests.eventually(harness.node(sender), ClusterNodeTests.send("wake up", queue: name))
        guard case .received(let messages) = await woken else {
            Issue.record("the long poll failed")
            return
        }
        #expect(messages.map(\.body) == ["wake up"])

        // One node down: each shard keeps two of its three replicas, and the others still serve everything.
        await harness.stop(4)
        for id in 1...3 as ClosedRange<UInt64> {
            for name in names.values.sorted() {
                let result = await ClusterNodeTests.eventually(
                    harness.node(id), ClusterNodeTests.send("after a node left", queue: name), seconds: 30)
                guard case .sent = result else {
                    Issue.record("send to \(name) via node \(id) with node 4 down: \(result)")
                    continue
                }
            }
        }
        await harness.stopAll()
    }

    @Test func deadLetterQueuesWorkAcrossShardsHostedOnDifferentNodes() async throws {
        let harness = try await Harness.running(count: 4, shardCount: 4, replicationFactor: 3)
        let placement = harness.node(1).placement
        let names = Self.queueNames(placement)
        // Source and dead-letter queue on shards whose replica sets differ.
        let pair = names.keys.sorted().flatMap { a in names.keys.sorted().map { b in (a, b) } }.first { a, b in
            a != b && Set(placement.replicas(of: a)) != Set(placement.replicas(of: b))
        }
        let (sourceShard, deadShard) = try #require(pair)
        let (source, dead) = (names[sourceShard]!, names[deadShard]!)
        let node = harness.node(1)
        _ = await ClusterNodeTests.eventually(node, .createQueue(name: dead, attributes: [:], tags: [:]))
        let policy =
            "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:\(dead)\",\"maxReceiveCount\":\"1\"}"
        let created = await ClusterNodeTests.eventually(
            node, .createQueue(name: source, attributes: ["RedrivePolicy": policy], tags: [:]))
        #expect(created == .queueCreated(name: source))
        _ = await ClusterNodeTests.eventually(node, ClusterNodeTests.send("poison", queue: source))
        let first = await node.receive(
            ReceiveMessageRequest(queueName: source, maxNumberOfMessages: 1, visibilityTimeoutSeconds: 0),
            waitSeconds: 2)
        guard case .received(let once) = first, once.count == 1 else {
            Issue.record("first receive: \(first)")
            return
        }
        var arrived: [ReceivedMessage] = []
        for _ in 0..<100 where arrived.isEmpty {
            _ = await node.receive(
                ReceiveMessageRequest(queueName: source, maxNumberOfMessages: 1, visibilityTimeoutSeconds: 0),
                waitSeconds: 0)
            arrived = await ClusterNodeTests.receive(harness.node(4), queue: dead)
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(arrived.map(\.messageId) == once.map(\.messageId))
        let sources = try await harness.node(4).deadLetterSourceQueues(of: dead, maxResults: nil, nextToken: nil)
        #expect(sources.queueNames == [source])
        await harness.stopAll()
    }
}
