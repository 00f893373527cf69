import Cluster
import Logging
import NIOPosix
import QueueEngine
import Testing

/// Long polling on a node alone (in memory): parked receivers cost nothing until a message may be there.
@Suite("Long polling")
struct LongPollTests {
    func makeNode() async throws -> ClusterNode {
        let node = try ClusterNode(
            configuration: .inMemory(receiptHandleKey: Array(repeating: 1, count: 32)),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "long-poll"), onFatal: { _ in })
        try await node.start()
        _ = await node.apply(.createQueue(name: "q", attributes: [:], tags: [:]))
        return node
    }

    func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<2_000 where !condition() { try await Task.sleep(for: .milliseconds(5)) }
        #expect(condition())
    }

    @Test func aWaitingReceiveReturnsWhenAMessageArrives() async throws {
        let node = try await makeNode()
        let waiter = Task { await node.receive(ReceiveMessageRequest(queueName: "q"), waitSeconds: 20) }
        try await waitUntil { node.parkedReceiveCount == 1 }
        _ = await node.apply(
            .sendMessages(queueName: "q", entries: [SendMessageEntry(body: "hi")], senderId: "A", isBatch: false))
        guard case .received(let messages) = await waiter.value else {
            Issue.record("no result")
            return
        }
        #expect(messages.map(\.body) == ["hi"])
        try await waitUntil { node.parkedReceiveCount == 0 }
        await node.shutdown()
    }

    @Test func aWaiterWakesWhenADelayedMessageBecomesVisible() async throws {
        let node = try await makeNode()
        _ = await node.apply(
            .sendMessages(
                queueName: "q", entries: [SendMessageEntry(body: "later", delaySeconds: 1)], senderId: "A",
                isBatch: false))
        guard case .received(let messages) = await node.receive(ReceiveMessageRequest(queueName: "q"), waitSeconds: 10)
        else {
            Issue.record("no result")
            return
        }
        #expect(messages.map(\.body) == ["later"])
        await node.shutdown()
    }

    @Test func emptyWaitEndsAtTheDeadline() async throws {
        let node = try await makeNode()
        let result = await node.receive(ReceiveMessageRequest(queueName: "q"), waitSeconds: 1)
        #expect(result == .received([]))
        // The count is published at the end of the drive turn that answered, which may be after the answer.
        try await waitUntil { node.parkedReceiveCount == 0 }
        await node.shutdown()
    }

    /// Thousands of parked receivers make no receive attempts while nothing happens: waiting is not polling.
    @Test func parkedReceiversDoNotPoll() async throws {
        let node = try await makeNode()
        let count = 2_000
        let waiters = (0..<count).map { _ in
            Task { await node.receive(ReceiveMessageRequest(queueName: "q"), waitSeconds: 20) }
        }
        try await waitUntil { node.parkedReceiveCount == count }
        let proposalsWhenParked = node.receiveProposalCount
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(node.receiveProposalCount == proposalsWhenParked, "time advancing must not wake empty-queue waiters")
        _ = await node.apply(
            .sendMessages(queueName: "q", entries: [SendMessageEntry(body: "one")], senderId: "A", isBatch: false))
        var delivered = 0
        for waiter in waiters {
            if case .received(let messages) = await waiter.value { delivered += messages.count }
            if delivered == 1 { break }
        }
        #expect(delivered == 1)
        await node.shutdown()
    }

    @Test func nonexistentQueueFailsAtOnce() async throws {
        let node = try await makeNode()
        let result = await node.receive(ReceiveMessageRequest(queueName: "missing"), waitSeconds: 20)
        guard case .failure(let error) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(error.code == .queueDoesNotExist)
        await node.shutdown()
    }
}
