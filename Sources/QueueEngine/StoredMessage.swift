/// Where a message is in its life.
enum MessageState: Sendable, Equatable {
    /// Sent with a delay that has not run out.
    case delayed
    /// Can be received.
    case available
    /// Received; hidden until its visibility timeout runs out.
    case inFlight
}

/// A message as the engine keeps it.
struct StoredMessage: Sendable {
    /// The engine-wide sequence number; orders messages and names them in receipt handles.
    let sequence: UInt64
    let messageId: String
    let body: String
    let md5OfBody: String
    let messageAttributes: MessageAttributes
    let md5OfMessageAttributes: String?
    let systemAttributes: MessageAttributes
    let md5OfSystemAttributes: String?
    let senderId: String
    /// Epoch milliseconds when first sent (kept across redrive; retention counts from it).
    let sentTimestamp: Int64
    let messageGroupId: String?
    let messageDeduplicationId: String?
    /// FIFO sequence number, increasing per queue.
    let fifoSequenceNumber: UInt64?
    /// Size counted against MaximumMessageSize, in bytes.
    let sizeBytes: Int
    /// Set when the message came from a source queue by redrive: that queue's ARN.
    var deadLetterQueueSourceArn: String?
    /// The queue a move task without destination returns the message to.
    var originQueueName: String?

    var state: MessageState
    /// When a delayed or in-flight message becomes available, epoch milliseconds.
    var visibleAtMilliseconds: Int64
    var receiveCount: UInt32 = 0
    var firstReceiveTimestamp: Int64?
    var lastReceiveTimestamp: Int64?
    /// Bumped on every state change; index entries carrying an older version are stale.
    var version: UInt32 = 0
}

/// A scheduled wake-up of one message: its delay or visibility timeout runs out.
struct MessageTimer: Comparable, Sendable {
    var atMilliseconds: Int64
    var sequence: UInt64
    var version: UInt32

    /// A total order (time, message, version): two timers of one message due at the same millisecond
    /// leave the heap in one order whatever its history, so every replica drops the same leftovers.
    static func < (left: Self, right: Self) -> Bool {
        (left.atMilliseconds, left.sequence, left.version) < (right.atMilliseconds, right.sequence, right.version)
    }
}

/// An available message of a standard queue, ordered oldest first.
struct ReadyMessage: Comparable, Sendable {
    var sequence: UInt64
    var version: UInt32

    static func < (left: Self, right: Self) -> Bool { (left.sequence, left.version) < (right.sequence, right.version) }
}

/// A retention deadline ordering: oldest sent first.
struct RetentionEntry: Comparable, Sendable {
    var sentTimestamp: Int64
    var sequence: UInt64

    static func < (left: Self, right: Self) -> Bool {
        (left.sentTimestamp, left.sequence) < (right.sentTimestamp, right.sequence)
    }
}

/// A FIFO message group that may be ready, ordered by when its head message became visible (sent, its
/// delay ended, or back from flight), then by its sequence: groups are served in that order, so a message
/// back from flight queues behind groups whose heads were visible before it.
struct ReadyGroup: Comparable, Sendable {
    var visibleAtMilliseconds: Int64
    var headSequence: UInt64
    var groupId: String

    static func < (left: Self, right: Self) -> Bool {
        if left.visibleAtMilliseconds != right.visibleAtMilliseconds {
            return left.visibleAtMilliseconds < right.visibleAtMilliseconds
        }
        if left.headSequence != right.headSequence { return left.headSequence < right.headSequence }
        return MessageDigest.utf8Less(left.groupId, right.groupId)
    }
}
