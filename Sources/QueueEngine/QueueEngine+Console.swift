import HeapModule

/// One queue at a glance (the console and per-queue metrics): its counts, its oldest message's age,
/// what it has sent, received and deleted since the answering replica started, and its dead-letter queue.
public struct QueueSummary: Sendable, Equatable, Codable {
    /// The stored name (`AccountScope`).
    public var name: String
    public var isFifo: Bool
    public var visible: Int
    public var inFlight: Int
    public var delayed: Int
    /// Bytes of bodies and attributes held.
    public var storedBytes: Int
    /// Seconds since the oldest message held was sent; 0 when there is none.
    public var oldestMessageAgeSeconds: Int64
    public var sent: UInt64
    public var received: UInt64
    public var deleted: UInt64
    /// The RedrivePolicy's dead-letter queue, and after how many receives.
    public var deadLetterTargetArn: String?
    public var maxReceiveCount: Int?
}

/// A message as the console shows it, read without changing its visibility or receive count.
public struct PeekedMessage: Sendable, Equatable, Codable {
    public var messageId: String
    /// The body, cut to `QueueEngine.peekBodyCharactersMax` characters.
    public var body: String
    public var bodyBytes: Int
    public var sentTimestamp: Int64
    public var receiveCount: UInt32
    /// `visible`, `in flight` or `delayed`, at the time of the read.
    public var state: String
    public var messageGroupId: String?
    public var attributeNames: [String]
    public var deadLetterQueueSourceArn: String?
}

/// Whose queues a summary covers (`AccountScope`).
public enum SummaryScope: Sendable, Equatable, Codable {
    /// Every account's.
    case every
    /// The engine's own account's (stored names without `/`).
    case own
    /// Another account's (stored names `ACCOUNT/…`).
    case account(String)

    func covers(_ name: String) -> Bool {
        switch self {
        case .every: true
        case .own: !name.utf8.contains(UInt8(ascii: "/"))
        case .account(let account): name.hasPrefix(account + "/")
        }
    }
}

extension QueueEngine {
    /// The most messages one peek returns, and the most characters of a body it shows.
    public static let peekMessagesMax = 20
    public static let peekBodyCharactersMax = 4_096

    /// Summaries of the queues `scope` covers, by name, at most `limit`; counts as of `time` (epoch
    /// milliseconds; the engine clock when nil).
    public func queueSummaries(_ scope: SummaryScope, limit: Int, at time: Int64? = nil) -> [QueueSummary] {
        let now = time ?? clock
        return queues.keys.filter(scope.covers).sorted().prefix(Swift.max(0, limit)).map { name in
            let queue = queues[name]!
            let counts = queue.counts(at: now)
            let oldest = queue.retention.min.flatMap { queue.messages[$0.sequence]?.sentTimestamp }
            return QueueSummary(
                name: name, isFifo: queue.isFifo, visible: counts.available, inFlight: counts.inFlight,
                delayed: counts.delayed, storedBytes: queue.storedBytes,
                oldestMessageAgeSeconds: oldest.map { max(0, now - $0) / 1000 } ?? 0, sent: queue.sentCount,
                received: queue.receivedCount, deleted: queue.deletedCount,
                deadLetterTargetArn: queue.configuration.redrivePolicy?.deadLetterTargetArn,
                maxReceiveCount: queue.configuration.redrivePolicy?.maxReceiveCount)
        }
    }

    /// The `max` oldest messages of a queue (by send order), read as of `time` without changing anything.
    /// Scans the queue's messages once: O(depth).
    public func peekMessages(_ name: String, max: Int, at time: Int64? = nil) throws(QueueError) -> [PeekedMessage] {
        guard let queue = queues[name] else { throw .queueDoesNotExist() }
        let now = time ?? clock
        let count = Swift.max(0, Swift.min(max, Self.peekMessagesMax))
        guard count > 0 else { return [] }
        var oldest: [UInt64] = []
        for sequence in queue.messages.keys {
            guard oldest.count < count || sequence < oldest[oldest.count - 1] else { continue }
            let at = oldest.firstIndex { $0 > sequence } ?? oldest.count
            oldest.insert(sequence, at: at)
            if oldest.count > count { oldest.removeLast() }
        }
        let retentionMilliseconds = Int64(queue.configuration.messageRetentionPeriod) * 1000
        return oldest.compactMap { sequence in
            let message = queue.messages[sequence]!
            guard message.sentTimestamp + retentionMilliseconds > now else { return nil }
            let state: String
            switch message.state {
            case .available: state = "visible"
            case .inFlight: state = message.visibleAtMilliseconds <= now ? "visible" : "in flight"
            case .delayed: state = message.visibleAtMilliseconds <= now ? "visible" : "delayed"
            }
            return PeekedMessage(
                messageId: message.messageId, body: String(message.body.prefix(Self.peekBodyCharactersMax)),
                bodyBytes: message.body.utf8.count, sentTimestamp: message.sentTimestamp,
                receiveCount: message.receiveCount, state: state, messageGroupId: message.messageGroupId,
                attributeNames: message.messageAttributes.keys.sorted(),
                deadLetterQueueSourceArn: message.deadLetterQueueSourceArn)
        }
    }
}
