/// What SendMessage answers for one message.
public struct SentMessage: Sendable, Equatable, Codable {
    public var messageId: String
    public var md5OfMessageBody: String
    /// Omitted (nil) when the message has no attributes.
    public var md5OfMessageAttributes: String?
    public var md5OfMessageSystemAttributes: String?
    /// FIFO queues only.
    public var sequenceNumber: String?
}

/// One message as a receive returns it.
public struct ReceivedMessage: Sendable, Equatable, Codable {
    public var messageId: String
    public var receiptHandle: String
    public var md5OfBody: String
    public var body: String
    /// Selected system attributes, sorted by name; values are strings.
    public var attributes: [String: String]
    /// Selected message attributes.
    public var messageAttributes: MessageAttributes
    /// MD5 of the returned message attributes; nil when none are returned.
    public var md5OfMessageAttributes: String?
}

/// The outcome of one batch entry.
public struct BatchEntryResult<Success: Sendable & Equatable & Codable>: Sendable, Equatable, Codable {
    public var id: String
    public var outcome: Outcome

    /// Success with a value, or an SQS error for this entry alone.
    public enum Outcome: Sendable, Equatable, Codable {
        case success(Success)
        case failure(QueueError)
    }
}

/// An empty success, for batch entries that return nothing but their id.
public struct Acknowledged: Sendable, Equatable, Codable {
    public init() {}
}

/// A page of queue names.
public struct QueueNamePage: Sendable, Equatable, Codable {
    public var queueNames: [String]
    public var nextToken: String?
}

/// A message move task as ListMessageMoveTasks reports it.
public struct MessageMoveTaskInfo: Sendable, Equatable, Codable {
    /// Only while RUNNING.
    public var taskHandle: String?
    public var status: String
    public var sourceArn: String
    public var destinationArn: String?
    public var maxNumberOfMessagesPerSecond: Int?
    public var approximateNumberOfMessagesMoved: Int
    public var approximateNumberOfMessagesToMove: Int
    public var failureReason: String?
    /// Epoch milliseconds.
    public var startedTimestamp: Int64
}
