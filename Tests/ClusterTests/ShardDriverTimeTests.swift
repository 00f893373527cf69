import QueueEngine
import Testing

@testable import Cluster

/// Time to the millisecond as each request sees it: a receive sees every message whose delay or
/// visibility timeout ended by its time, a long poll wakes when one ends, and counts are as of the read.
@Suite struct ShardDriverTimeTests {
    /// A leader with queue `q` holding one message with body `m`.
    func leaderWithAMessage(queueAttributes: [String: String] = [:]) throws -> DriverHarness {
        var harness = try DriverHarness(incarnation: 1)
        try harness.becomeLeader()
        harness.submit(.createQueue(name: "q", attributes: queueAttributes, tags: [:]))
        harness.submit(
            .sendMessages(
                queueName: "q", entries: [SendMessageEntry(id: "1", body: "m")], senderId: "A", isBatch: false))
        try harness.settle()
        return harness
    }

    func receive(
        _ harness: inout DriverHarness, queue: String = "q", visibility: Int? = nil, waitSeconds: Int = 0
    ) throws -> ClientHandle {
        let client = harness.nextClient
        harness.nextClient += 1
        harness.carryOut(
            harness.driver.clientReceive(
                ReceiveMessageRequest(queueName: queue, visibilityTimeoutSeconds: visibility),
                waitSeconds: waitSeconds, client: client, now: harness.now))
        try harness.settle()
        return client
    }

    func bodies(_ result: CommandResult?) -> [String]? {
        guard case .received(let messages) = result else { return nil }
        return messages.map(\.body)
    }

    /// A replica starts from its log under the first rules; its first leadership adopts this build's, in
    /// the log, so every replica switches at the same entry.
    @Test func aNewLeaderAdoptsTheCurrentRules() throws {
        var harness = try DriverHarness(incarnation: 1)
        #expect(harness.driver.engine.rules == Rules.first)
        try harness.becomeLeader()
        #expect(harness.driver.engine.rules == Rules.current)
    }

    /// Two long polls on a FIFO queue whose only group is held by a receiver in flight: an empty receive
    /// wakes nobody, so they do not propose receives back and forth.
    @Test func emptyReceivesDoNotWakeEachOther() throws {
        var harness = try DriverHarness(incarnation: 1)
        try harness.becomeLeader()
        harness.submit(.createQueue(name: "f.fifo", attributes: ["FifoQueue": "true"], tags: [:]))
        for index in 0..<3 {
            harness.submit(
                .sendMessages(
                    queueName: "f.fifo",
                    entries: [
                        SendMessageEntry(body: "m\(index)", messageGroupId: "G", messageDeduplicationId: "d\(index)")
                    ],
                    senderId: "A", isBatch: false))
        }
        try harness.settle()
        _ = try receive(&harness, queue: "f.fifo")
        let before = harness.driver.receiveProposals
        let polls = [
            try receive(&harness, queue: "f.fifo", waitSeconds: 10),
            try receive(&harness, queue: "f.fifo", waitSeconds: 10),
        ]
        for _ in 0..<5 { try harness.settle() }
        #expect(polls.allSatisfy { harness.answers[$0] == nil })
        #expect(harness.driver.receiveProposals - before <= 2, "each poll proposes at most once")
    }

    @Test func aMessageReceivedWithVisibilityZeroIsReceivableByTheNextRequest() throws {
        var harness = try leaderWithAMessage()
        #expect(bodies(harness.answers[try receive(&harness, visibility: 0)]) == ["m"])
        // Same millisecond: the timeout of 0 has ended.
        #expect(bodies(harness.answers[try receive(&harness)]) == ["m"])
    }

    @Test func aReceiveSeesAVisibilityTimeoutThatEndedAMillisecondAgo() throws {
        var harness = try leaderWithAMessage(queueAttributes: ["VisibilityTimeout": "2"])
        #expect(bodies(harness.answers[try receive(&harness)]) == ["m"])
        harness.monotonic += 1_999
        #expect(bodies(harness.answers[try receive(&harness)]) == [])
        harness.monotonic += 1
        #expect(bodies(harness.answers[try receive(&harness)]) == ["m"])
    }

    @Test func aLongPollWakesWhenAVisibilityTimeoutEnds() throws {
        var harness = try leaderWithAMessage()
        #expect(bodies(harness.answers[try receive(&harness, visibility: 3)]) == ["m"])
        let start = harness.monotonic
        harness.monotonic += 500
        let poll = try receive(&harness, waitSeconds: 10)
        #expect(harness.answers[poll] == nil)
        // The shell sleeps until then, not until its next tick.
        #expect(harness.driver.nextTimerWakeMonotonic == start + 3_000)
        harness.monotonic = start + 2_999
        try harness.settle()
        #expect(harness.answers[poll] == nil)
        harness.monotonic = start + 3_000
        try harness.settle()
        #expect(bodies(harness.answers[poll]) == ["m"])
        #expect(harness.driver.nextTimerWakeMonotonic == nil)
    }

    @Test func aLongPollWakesWhenADelayEnds() throws {
        var harness = try DriverHarness(incarnation: 1)
        try harness.becomeLeader()
        harness.submit(.createQueue(name: "q", attributes: [:], tags: [:]))
        try harness.settle()
        let poll = try receive(&harness, waitSeconds: 20)
        let start = harness.monotonic
        harness.submit(
            .sendMessages(
                queueName: "q", entries: [SendMessageEntry(id: "1", body: "late", delaySeconds: 2)], senderId: "A",
                isBatch: false))
        try harness.settle()
        #expect(harness.answers[poll] == nil)
        harness.monotonic = start + 1_999
        try harness.settle()
        #expect(harness.answers[poll] == nil)
        harness.monotonic = start + 2_000
        try harness.settle()
        #expect(bodies(harness.answers[poll]) == ["late"])
    }

    @Test func countsAreAsOfTheReadsTime() throws {
        var harness = try leaderWithAMessage()
        #expect(bodies(harness.answers[try receive(&harness, visibility: 1)]) == ["m"])
        let names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        func counts(_ harness: DriverHarness) throws -> [String: String] {
            let time = harness.driver.shardTime(now: harness.now)
            return try ShardQuery.queueAttributes(name: "q", names: names).answer(from: harness.driver.engine, at: time)
                .map
        }
        harness.monotonic += 999
        #expect(try counts(harness) == [names[0]: "0", names[1]: "1"])
        harness.monotonic += 1
        #expect(try counts(harness) == [names[0]: "1", names[1]: "0"])
        // Reads change nothing: the engine still holds the message in flight until a command applies.
        #expect(harness.driver.engine.availableMessageCount("q") == 0)
    }
}
