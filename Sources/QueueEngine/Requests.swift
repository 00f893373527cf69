/// One message to send, alone or as an entry of a batch.
public struct SendMessageEntry: Sendable, Equatable, Codable {
    /// The batch entry id; `nil` for a single SendMessage.
    public var id: String?
    public var body: String
    /// Per-message delay in seconds (standard queues only); `nil` uses the queue's `DelaySeconds`.
    public var delaySeconds: Int?
    public var messageAttributes: MessageAttributes
    /// System attributes; only `AWSTraceHeader` is accepted.
    public var messageSystemAttributes: MessageAttributes
    public var messageGroupId: String?
    public var messageDeduplicationId: String?

    public init(
        id: String? = nil, body: String, delaySeconds: Int? = nil, messageAttributes: MessageAttributes = [:],
        messageSystemAttributes: MessageAttributes = [:], messageGroupId: String? = nil,
        messageDeduplicationId: String? = nil
    ) {
        self.id = id
        self.body = body
        self.delaySeconds = delaySeconds
        self.messageAttributes = messageAttributes
        self.messageSystemAttributes = messageSystemAttributes
        self.messageGroupId = messageGroupId
        self.messageDeduplicationId = messageDeduplicationId
    }
}

/// A ReceiveMessage call.
public struct ReceiveMessageRequest: Sendable, Equatable, Codable {
    public var queueName: String
    /// 1–10.
    public var maxNumberOfMessages: Int
    /// Overrides the queue's VisibilityTimeout for these messages (0–43,200 s).
    public var visibilityTimeoutSeconds: Int?
    /// System attributes to return: names, or `All`.
    public var messageSystemAttributeNames: [String]
    /// Message attributes to return: names, `All`, `.*` or `prefix.*`.
    public var messageAttributeNames: [String]
    /// FIFO only: a retry with the same id within 5 minutes returns the same messages.
    public var receiveRequestAttemptId: String?

    public init(
        queueName: String, maxNumberOfMessages: Int = 1, visibilityTimeoutSeconds: Int? = nil,
        messageSystemAttributeNames: [String] = [], messageAttributeNames: [String] = [],
        receiveRequestAttemptId: String? = nil
    ) {
        self.queueName = queueName
        self.maxNumberOfMessages = maxNumberOfMessages
        self.visibilityTimeoutSeconds = visibilityTimeoutSeconds
        self.messageSystemAttributeNames = messageSystemAttributeNames
        self.messageAttributeNames = messageAttributeNames
        self.receiveRequestAttemptId = receiveRequestAttemptId
    }
}

/// One entry of DeleteMessageBatch or ChangeMessageVisibilityBatch (or the single calls, with `id` nil).
public struct ReceiptEntry: Sendable, Equatable, Codable {
    public var id: String?
    public var receiptHandle: String
    /// ChangeMessageVisibility only: 0–43,200 s from now.
    public var visibilityTimeoutSeconds: Int?

    public init(id: String? = nil, receiptHandle: String, visibilityTimeoutSeconds: Int? = nil) {
        self.id = id
        self.receiptHandle = receiptHandle
        self.visibilityTimeoutSeconds = visibilityTimeoutSeconds
    }
}
