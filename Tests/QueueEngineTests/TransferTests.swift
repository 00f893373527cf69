import Testing

@testable import QueueEngine

/// Redrive and move tasks between queues of two shards: the source shard's outbox, idempotent imports
/// on the target shard, and settling (including messages whose queue is gone coming back).
@Suite("Messages moving between shards")
struct TransferTests {
    /// Two engines of a two-shard cluster, and a queue name homed on each.
    struct Pair {
        var shards: [EngineHarness]
        var names: [String]

        init(fifo: Bool = false) {
            let key = [UInt8](repeating: 7, count: 32)
            shards = (0..<2).map { shard in
                EngineHarness(
                    engine: QueueEngine(
                        configuration: QueueEngineConfiguration(
                            shardId: UInt32(shard), receiptHandleKey: key, shardCount: 2)))
            }
            let suffix = fifo ? ".fifo" : ""
            let candidates = (0..<100).map { "queue-\($0)\(suffix)" }
            names = (0..<2).map { shard in
                candidates.first { name in
                    QueueEngine(
                        configuration: QueueEngineConfiguration(
                            shardId: UInt32(shard), receiptHandleKey: key, shardCount: 2)
                    ).remoteShard(of: name) == nil
                }!
            }
        }

        /// Sends the first transfer batch of shard `from` to its target and settles the answer.
        @discardableResult
        mutating func transfer(from source: Int) -> [UInt64] {
            guard let batch = shards[source].engine.nextTransferBatch() else { return [] }
            let target = Int(batch.shard)
            guard
                case .imported(let returned) = shards[target].apply(
                    .importMessages(sourceShard: UInt32(source), messages: batch.messages))
            else {
                Issue.record("import refused")
                return []
            }
            let delivered = batch.messages.map(\.id).filter { !returned.contains($0) }
            shards[source].apply(.settleOutbox(delivered: delivered, returned: returned))
            return returned
        }
    }

    static func redrive(to arn: String, maxReceiveCount: Int = 1) -> [String: String] {
        ["RedrivePolicy": "{\"deadLetterTargetArn\":\"\(arn)\",\"maxReceiveCount\":\"\(maxReceiveCount)\"}"]
    }

    @Test func aMessageRedrivenToAnotherShardArrivesThereOnce() throws {
        var pair = Pair()
        let (source, deadLetter) = (pair.names[0], pair.names[1])
        pair.shards[1].create(deadLetter)
        // The source's shard accepts a dead-letter queue it cannot see (the node checked it exists).
        #expect(
            pair.shards[0].create(source, Self.redrive(to: pair.shards[1].arn(deadLetter)))
                == .queueCreated(name: source))
        let sentValue = pair.shards[0].send(source, "poison")
        let sent = try #require(sentValue)
        #expect(pair.shards[0].receive(source, visibility: 0).count == 1)
        #expect(pair.shards[0].receive(source, visibility: 0).isEmpty)
        #expect(pair.shards[0].engine.outboxCount == 1)
        #expect(pair.shards[0].attribute(source, "ApproximateNumberOfMessages") == "0")

        let batch = try #require(pair.shards[0].engine.nextTransferBatch())
        #expect(batch.shard == 1)
        let importCommand = Command.importMessages(sourceShard: 0, messages: batch.messages)
        #expect(pair.shards[1].apply(importCommand) == .imported(returned: []))
        // A retried import (the answer was lost, or a new leader started over) adds nothing.
        #expect(pair.shards[1].apply(importCommand) == .imported(returned: []))
        pair.shards[0].apply(.settleOutbox(delivered: batch.messages.map(\.id), returned: []))
        #expect(pair.shards[0].engine.outboxCount == 0)

        let dead = pair.shards[1].receive(deadLetter, systemAttributes: ["All"])
        #expect(dead.map(\.messageId) == [sent.messageId])
        #expect(dead.first?.body == "poison")
        #expect(dead.first?.attributes["DeadLetterQueueSourceArn"] == pair.shards[0].arn(source))
        #expect(pair.shards[1].receive(deadLetter, visibility: 0).isEmpty)
    }

    @Test func aMessageWhoseQueueIsGoneComesBack() throws {
        var pair = Pair()
        let (source, deadLetter) = (pair.names[0], pair.names[1])
        pair.shards[0].create(source, Self.redrive(to: pair.shards[1].arn(deadLetter)))
        let sentValue = pair.shards[0].send(source, "orphan")
        let sent = try #require(sentValue)
        #expect(pair.shards[0].receive(source, visibility: 0).count == 1)
        #expect(pair.shards[0].receive(source, visibility: 0).isEmpty)
        let batch = try #require(pair.shards[0].engine.nextTransferBatch())
        let ids = batch.messages.map(\.id)
        let importCommand = Command.importMessages(sourceShard: 0, messages: batch.messages)
        #expect(pair.shards[1].apply(importCommand) == .imported(returned: ids))
        // Asked again, the target gives the same answer.
        #expect(pair.shards[1].apply(importCommand) == .imported(returned: ids))
        pair.shards[0].apply(.settleOutbox(delivered: [], returned: ids))
        #expect(pair.shards[0].engine.outboxCount == 0)
        #expect(pair.shards[0].receive(source, visibility: 0).map(\.messageId) == [sent.messageId])
    }

    @Test func aMoveTaskReturnsMessagesToSourcesOnAnotherShard() throws {
        var pair = Pair()
        let (source, deadLetter) = (pair.names[0], pair.names[1])
        pair.shards[1].create(deadLetter)
        pair.shards[0].create(source, Self.redrive(to: pair.shards[1].arn(deadLetter)))
        var sent: [String] = []
        for index in 0..<25 {
            let message = pair.shards[0].send(source, "m\(index)")
            sent.append(try #require(message).messageId)
        }
        for _ in 0..<3 { _ = pair.shards[0].receive(source, visibility: 0) }
        for _ in 0..<3 { _ = pair.shards[0].receive(source, visibility: 0) }
        for _ in 0..<3 { _ = pair.shards[0].receive(source, visibility: 0) }
        for _ in 0..<10 { _ = pair.shards[0].receive(source, visibility: 0) }
        #expect(pair.shards[0].engine.outboxCount == 25)
        #expect(pair.transfer(from: 0).isEmpty)
        #expect(pair.shards[1].attribute(deadLetter, "ApproximateNumberOfMessages") == "25")

        let started = pair.shards[1].apply(
            .startMessageMoveTask(
                sourceArn: pair.shards[1].arn(deadLetter), destinationArn: nil, maxNumberOfMessagesPerSecond: nil))
        guard case .moveTaskStarted = started else {
            Issue.record("move task not started: \(started)")
            return
        }
        #expect(pair.shards[1].engine.outboxCount == 25)
        #expect(pair.shards[1].attribute(deadLetter, "ApproximateNumberOfMessages") == "0")
        #expect(pair.transfer(from: 1).isEmpty)
        var back: [String] = []
        for _ in 0..<5 { back += pair.shards[0].receive(source, visibility: 60).map(\.messageId) }
        #expect(Set(back) == Set(sent))
        #expect(back.count == sent.count)
    }

    @Test func aMoveTaskToADestinationOnAnotherShardChecksItsTypeByName() {
        var pair = Pair()
        let (other, deadLetter) = (pair.names[0], pair.names[1])
        pair.shards[1].create(deadLetter)
        let refused = pair.shards[1].apply(
            .startMessageMoveTask(
                sourceArn: pair.shards[1].arn(deadLetter), destinationArn: pair.shards[0].arn("\(other).fifo"),
                maxNumberOfMessagesPerSecond: nil))
        if case .failure(let error) = refused {
            #expect(error.code == .invalidParameterValue)
        } else {
            Issue.record("a FIFO destination for a standard source was accepted: \(refused)")
        }
    }

    @Test func theOutboxAndImportRecordsSurviveASnapshot() throws {
        var pair = Pair()
        let (source, deadLetter) = (pair.names[0], pair.names[1])
        pair.shards[1].create(deadLetter)
        pair.shards[0].create(source, Self.redrive(to: pair.shards[1].arn(deadLetter)))
        for index in 0..<5 { _ = pair.shards[0].send(source, "m\(index)") }
        _ = pair.shards[0].receive(source, visibility: 0)
        _ = pair.shards[0].receive(source, visibility: 0)
        let batch = try #require(pair.shards[0].engine.nextTransferBatch())
        _ = pair.shards[1].apply(.importMessages(sourceShard: 0, messages: batch.messages))
        for shard in 0..<2 {
            let engine = pair.shards[shard].engine
            let restored = try QueueEngine(configuration: engine.configuration, snapshot: engine.snapshot())
            #expect(restored.snapshot() == engine.snapshot())
            #expect(restored.outbox == engine.outbox)
            #expect(restored.imports == engine.imports)
            #expect(restored.nextTransferId == engine.nextTransferId)
        }
        let logged = LoggedCommand(
            command: .importMessages(sourceShard: 0, messages: batch.messages), timestampMilliseconds: 5)
        #expect(try LoggedCommand(decoding: logged.encoded()) == logged)
        let settle = LoggedCommand(command: .settleOutbox(delivered: [1, 2], returned: [3]), timestampMilliseconds: 6)
        #expect(try LoggedCommand(decoding: settle.encoded()) == settle)
    }

    @Test func aFullOutboxLeavesMessagesInTheirQueue() throws {
        var pair = Pair()
        let (source, deadLetter) = (pair.names[0], pair.names[1])
        pair.shards[0].create(source, Self.redrive(to: pair.shards[1].arn(deadLetter)))
        let total = QueueLimits.outboxMessagesMax + 20
        for batch in 0..<(total / 10) {
            let entries = (0..<10).map { SendMessageEntry(id: "e\($0)", body: "m\(batch)-\($0)") }
            pair.shards[0].apply(.sendMessages(queueName: source, entries: entries, senderId: "AKID", isBatch: true))
        }
        var received = 0
        while received < total {
            let got = pair.shards[0].receive(source, visibility: 0).count
            if got == 0 { break }
            received += got
        }
        for _ in 0..<(total / 10 + 1) { _ = pair.shards[0].receive(source, visibility: 0) }
        #expect(pair.shards[0].engine.outboxCount == QueueLimits.outboxMessagesMax)
        let left = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"].map {
            Int(pair.shards[0].attribute(source, $0) ?? "") ?? 0
        }
        #expect(left.reduce(0, +) == 20)
    }

    @Test func aTargetThatFailsDoesNotHoldUpTheOthers() throws {
        let key = [UInt8](repeating: 7, count: 32)
        let configurations = (0..<3).map {
            QueueEngineConfiguration(shardId: UInt32($0), receiptHandleKey: key, shardCount: 3)
        }
        let names = (0..<3).map { shard in
            (0..<100).map { "queue-\($0)" }.first { name in
                QueueEngine(configuration: configurations[shard]).remoteShard(of: name) == nil
            }!
        }
        var source = EngineHarness(engine: QueueEngine(configuration: configurations[0]))
        for target in 1...2 {
            let arn = source.arn(names[target])
            source.create("from-\(target)", Self.redrive(to: arn))
            for index in 0..<3 { _ = source.send("from-\(target)", "m\(index)") }
        }
        for _ in 0..<2 {
            for target in 1...2 { _ = source.receive("from-\(target)", visibility: 0) }
        }
        #expect(source.engine.outboxCount == 6)
        let first = try #require(source.engine.nextTransferBatch())
        #expect(first.shard == 1 && first.messages.count == 3)
        let other = try #require(source.engine.nextTransferBatch(excluding: [1]))
        #expect(other.shard == 2 && other.messages.count == 3)
        #expect(source.engine.nextTransferBatch(excluding: [1, 2]) == nil)
    }

    @Test func importsFromItselfOrUnorderedAreRefused() {
        var pair = Pair()
        let refused = pair.shards[0].apply(.importMessages(sourceShard: 0, messages: []))
        if case .failure(let error) = refused {
            #expect(error.code == .invalidParameterValue)
        } else {
            Issue.record("an import from the shard itself was accepted")
        }
    }
}
