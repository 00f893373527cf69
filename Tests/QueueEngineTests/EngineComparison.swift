import HeapModule

@testable import QueueEngine

/// Everything the public query methods answer about an engine, for comparing two engines.
struct EngineAnswers: Equatable {
    /// What the queries answer about one queue name.
    struct QueueAnswers: Equatable {
        var name: String
        var exists: Bool
        var attributes: Result<[String: String], QueueError>
        var tags: Result<[String: String], QueueError>
        var receiveWaitTimeSeconds: Int?
        var isFifo: Bool?
        var nextWakeMilliseconds: Int64?
        var availableMessageCount: Int
        var moveTasks: Result<[MessageMoveTaskInfo], QueueError>
        var deadLetterSources: Result<QueueNamePage, QueueError>
    }

    var clock: Int64
    var queueNames: [String]
    var messageCount: Int
    var pages: [Result<QueueNamePage, QueueError>]
    var queues: [QueueAnswers]

    init(_ engine: QueueEngine, names: [String]) {
        clock = engine.clock
        queueNames = engine.queueNames
        messageCount = engine.messageCount
        pages = [
            Result { () throws(QueueError) in try engine.listQueues(prefix: nil, maxResults: nil, nextToken: nil) },
            Result { () throws(QueueError) in try engine.listQueues(prefix: "d", maxResults: 1, nextToken: nil) },
            Result { () throws(QueueError) in
                try engine.listQueues(prefix: nil, maxResults: 2, nextToken: PageToken.encode("beta"))
            },
        ]
        queues = Set(names + engine.queueNames).sorted().map { name in
            let arn = engine.queueArn(name)
            return QueueAnswers(
                name: name, exists: engine.queueExists(name),
                attributes: Result { () throws(QueueError) in try engine.queueAttributes(name, names: ["All"]) },
                tags: Result { () throws(QueueError) in try engine.queueTags(name) },
                receiveWaitTimeSeconds: engine.receiveWaitTimeSeconds(name), isFifo: engine.isFifoQueue(name),
                nextWakeMilliseconds: engine.nextWakeMilliseconds(name),
                availableMessageCount: engine.availableMessageCount(name),
                moveTasks: Result { () throws(QueueError) in try engine.messageMoveTasks(sourceArn: arn, maxResults: 10)
                },
                deadLetterSources: Result { () throws(QueueError) in
                    try engine.deadLetterSourceQueues(of: name, maxResults: nil, nextToken: nil)
                })
        }
    }
}

/// The parts of a queue's indexes that decide its behaviour, in a form two engines can be compared by:
/// whole multisets where stale entries are visible (timers, ready groups), live entries elsewhere.
struct QueueIndexSummary: Equatable {
    var counts: [Int]
    var timers: [String]
    var liveReady: [UInt64]
    var liveRetention: [UInt64]
    var readyGroups: [String]
    var groups: [String]
    var liveDeduplicationExpiry: [String]
    var liveReceiveAttemptExpiry: [String]

    init(_ queue: QueueState) {
        counts = [queue.availableCount, queue.inFlightCount, queue.delayedCount, queue.messages.count]
        timers = queue.timers.unordered.map { "\($0.atMilliseconds)/\($0.sequence)/\($0.version)" }.sorted()
        liveReady = queue.ready.unordered.filter { entry in
            queue.messages[entry.sequence].map { $0.version == entry.version && $0.state == .available } ?? false
        }.map(\.sequence).sorted()
        liveRetention = queue.retention.unordered.filter { queue.messages[$0.sequence] != nil }.map(\.sequence).sorted()
        readyGroups = queue.readyGroups.unordered.map { "\($0.headSequence)/\($0.groupId)" }.sorted()
        groups = queue.groups.map { groupId, group in
            "\(groupId): \(Array(group.sequences)) in flight \(group.inFlightCount) scheduled \(group.scheduledHead.map(String.init) ?? "-")"
        }.sorted()
        liveDeduplicationExpiry = Set(
            queue.deduplicationExpiry.filter {
                queue.deduplication[$0.key]?.expiresAtMilliseconds == $0.expiresAtMilliseconds
            }
            .map { "\($0.expiresAtMilliseconds)/\($0.key)" }
        ).sorted()
        liveReceiveAttemptExpiry = Set(
            queue.receiveAttemptExpiry.filter {
                queue.receiveAttempts[$0.key]?.expiresAtMilliseconds == $0.expiresAtMilliseconds
            }.map { "\($0.expiresAtMilliseconds)/\($0.key)" }
        ).sorted()
    }

    /// Summaries of every queue of an engine, by name.
    static func of(_ engine: QueueEngine) -> [String: QueueIndexSummary] {
        engine.queues.mapValues(QueueIndexSummary.init)
    }
}

/// Two values' first difference, for failure messages.
func firstDifference<Value: Equatable>(_ expected: [Value], _ actual: [Value]) -> String {
    for (index, (left, right)) in zip(expected, actual).enumerated() where left != right {
        return "at \(index): expected \(left), got \(right)"
    }
    return "counts differ: \(expected.count) vs \(actual.count)"
}
