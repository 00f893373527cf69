import NIOPosix
import QueueEngine
import Testing

@testable import SQSFrontend

@Suite("Long polling")
struct LongPollTests {
    func makeHost() async -> QueueHost {
        let engine = QueueEngine(
            configuration: QueueEngineConfiguration(receiptHandleKey: Array(repeating: 1, count: 32)))
        let host = QueueHost(engine: engine, timerLoop: MultiThreadedEventLoopGroup.singleton.any())
        _ = await host.apply(.createQueue(name: "q", attributes: [:], tags: [:]))
        return host
    }

    func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<2_000 where !condition() { try await Task.sleep(for: .milliseconds(5)) }
        #expect(condition())
    }

    @Test func aWaitingReceiveReturnsWhenAMessageArrives() async throws {
        let host = await makeHost()
        let waiter = Task { await host.receive(ReceiveMessageRequest(queueName: "q"), waitSeconds: 20) }
        try await waitUntil { host.waiterCount == 1 }
        _ = await host.apply(
            .sendMessages(queueName: "q", entries: [SendMessageEntry(body: "hi")], senderId: "A", isBatch: false))
        guard case .received(let messages) = await waiter.value else {
            Issue.record("no result")
            return
        }
        #expect(messages.map(\.body) == ["hi"])
        #expect(host.waiterCount == 0)
    }

    @Test func aWaiterWakesWhenADelayedMessageBecomesVisible() async throws {
        let host = await makeHost()
        _ = await host.apply(
            .sendMessages(
                queueName: "q", entries: [SendMessageEntry(body: "later", delaySeconds: 1)], senderId: "A",
                isBatch: false))
        guard case .received(let messages) = await host.receive(ReceiveMessageRequest(queueName: "q"), waitSeconds: 10)
        else {
            Issue.record("no result")
            return
        }
        #expect(messages.map(\.body) == ["later"])
    }

    @Test func emptyWaitEndsAtTheDeadline() async throws {
        let host = await makeHost()
        let result = await host.receive(ReceiveMessageRequest(queueName: "q"), waitSeconds: 1)
        #expect(result == .received([]))
        #expect(host.waiterCount == 0)
    }

    /// Thousands of parked receivers make no receive attempts while nothing happens: waiting is not polling.
    @Test func parkedReceiversDoNotPoll() async throws {
        let host = await makeHost()
        let count = 2_000
        let waiters = (0..<count).map { _ in
            Task { await host.receive(ReceiveMessageRequest(queueName: "q"), waitSeconds: 20) }
        }
        try await waitUntil { host.waiterCount == count }
        let attemptsWhenParked = host.receiveAttemptCount
        try await Task.sleep(for: .milliseconds(500))
        #expect(host.receiveAttemptCount == attemptsWhenParked)
        _ = await host.apply(
            .sendMessages(queueName: "q", entries: [SendMessageEntry(body: "one")], senderId: "A", isBatch: false))
        try await waitUntil { host.waiterCount == count - 1 }
        for waiter in waiters { waiter.cancel() }
        var delivered = 0
        for waiter in waiters {
            if case .received(let messages) = await waiter.value { delivered += messages.count }
        }
        #expect(delivered == 1)
        #expect(host.waiterCount == 0)
    }

    @Test func nonexistentQueueFailsAtOnce() async {
        let host = await makeHost()
        let result = await host.receive(ReceiveMessageRequest(queueName: "nope"), waitSeconds: 5)
        #expect(result.error?.code == .queueDoesNotExist)
    }
}

extension CommandResult {
    var error: QueueError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
