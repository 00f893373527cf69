import Cluster
import Logging
import NIOPosix
import QueueEngine
import Synchronization
import TestSupport
import Testing

/// A node alone on a simulated disk: what it acknowledged survives a power loss, a failed fdatasync
/// acknowledges nothing, and snapshots bound the log.
@Suite struct DurableNodeTests {
    static func start(
        _ fileSystem: FakeFileSystem, snapshotEntries: UInt64 = 100_000,
        onFatal: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> ClusterNode {
        var configuration = ClusterConfiguration(
            dataDirectory: "/data", receiptHandleKey: Array(repeating: 5, count: 32))
        configuration.nodes = [1]
        configuration.shardCount = 1
        configuration.fileSystem = fileSystem
        configuration.shard.snapshotEntries = snapshotEntries
        var logger = Logger(label: "durable-node")
        logger.logLevel = .error
        let node = try ClusterNode(
            configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: logger,
            onFatal: onFatal)
        try await node.start()
        return node
    }

    static func send(_ node: ClusterNode, _ bodies: [String], queue: String = "q") async -> CommandResult {
        await node.apply(
            .sendMessages(
                queueName: queue, entries: bodies.map { SendMessageEntry(id: $0, body: $0) }, senderId: "A",
                isBatch: true))
    }

    static func counts(_ node: ClusterNode) async throws -> [String] {
        try await node.read(queue: "q") { engine throws(QueueError) in
            let attributes = try engine.queueAttributes("q", names: ["All"])
            return engine.queueNames
                + ["\(engine.availableMessageCount("q"))", attributes["ApproximateNumberOfMessagesNotVisible"] ?? "?"]
        }
    }

    @Test func whatWasAcknowledgedSurvivesAPowerLoss() async throws {
        let fileSystem = FakeFileSystem()
        let node = try await Self.start(fileSystem)
        _ = await node.apply(.createQueue(name: "q", attributes: [:], tags: ["k": "v"]))
        _ = await node.apply(.createQueue(name: "f.fifo", attributes: ["FifoQueue": "true"], tags: [:]))
        for batch in 0..<20 { _ = await Self.send(node, (0..<10).map { "m\(batch)-\($0)" }) }
        _ = await node.apply(
            .sendMessages(
                queueName: "f.fifo",
                entries: [SendMessageEntry(body: "x", messageGroupId: "g", messageDeduplicationId: "d")],
                senderId: "A", isBatch: false))
        _ = await node.apply(.receiveMessages(ReceiveMessageRequest(queueName: "q", maxNumberOfMessages: 10)))
        let before = try await Self.counts(node)
        #expect(before == ["f.fifo", "q", "190", "10"])
        await node.shutdown()
        fileSystem.powerLoss()
        let restarted = try await Self.start(fileSystem)
        #expect(try await Self.counts(restarted) == before)
        await restarted.shutdown()
    }

    @Test func aFailedSyncAcknowledgesNothingAndRestartKeepsWhatWasAcknowledged() async throws {
        let fileSystem = FakeFileSystem()
        let failures = Mutex(0)
        let node = try await Self.start(fileSystem) { _ in failures.withLock { $0 += 1 } }
        _ = await node.apply(.createQueue(name: "q", attributes: [:], tags: [:]))
        guard case .sent = await Self.send(node, ["durable"]) else {
            Issue.record("first send failed")
            return
        }
        fileSystem.failNext(.synchronize, errorNumber: 28)
        guard case .failure(let error) = await Self.send(node, ["lost"]) else {
            Issue.record("a send whose fdatasync failed was acknowledged")
            return
        }
        #expect(error.code == .serviceUnavailable)
        #expect(failures.withLock { $0 } == 1)
        // Nothing more is taken once the log failed.
        guard case .failure(let later) = await Self.send(node, ["after"]) else {
            Issue.record("a send after the failure succeeded")
            return
        }
        #expect(later.code == .serviceUnavailable)
        await node.shutdown()
        fileSystem.powerLoss()
        let restarted = try await Self.start(fileSystem)
        let available = try await restarted.read(queue: "q") { engine in engine.availableMessageCount("q") }
        #expect(available == 1)
        await restarted.shutdown()
    }

    @Test func snapshotsBoundTheLogAndRestoreOnRestart() async throws {
        let fileSystem = FakeFileSystem()
        let node = try await Self.start(fileSystem, snapshotEntries: 50)
        _ = await node.apply(.createQueue(name: "q", attributes: [:], tags: [:]))
        for batch in 0..<300 { _ = await Self.send(node, ["m\(batch)"]) }
        for _ in 0..<500 where !fileSystem.paths.contains(where: { $0.hasSuffix(".snap") }) {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(fileSystem.paths.contains { $0.hasSuffix(".snap") })
        await node.shutdown()
        let restarted = try await Self.start(fileSystem, snapshotEntries: 50)
        let available = try await restarted.read(queue: "q") { engine in engine.availableMessageCount("q") }
        #expect(available == 300)
        await restarted.shutdown()
    }
}
