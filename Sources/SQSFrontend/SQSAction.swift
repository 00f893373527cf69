import SQSWire

/// The 23 SQS actions (botocore `sqs/2012-11-05` operations).
public enum SQSAction: String, Sendable, CaseIterable {
    case createQueue = "CreateQueue"
    case getQueueUrl = "GetQueueUrl"
    case listQueues = "ListQueues"
    case deleteQueue = "DeleteQueue"
    case getQueueAttributes = "GetQueueAttributes"
    case setQueueAttributes = "SetQueueAttributes"
    case purgeQueue = "PurgeQueue"
    case sendMessage = "SendMessage"
    case sendMessageBatch = "SendMessageBatch"
    case receiveMessage = "ReceiveMessage"
    case deleteMessage = "DeleteMessage"
    case deleteMessageBatch = "DeleteMessageBatch"
    case changeMessageVisibility = "ChangeMessageVisibility"
    case changeMessageVisibilityBatch = "ChangeMessageVisibilityBatch"
    case listDeadLetterSourceQueues = "ListDeadLetterSourceQueues"
    case startMessageMoveTask = "StartMessageMoveTask"
    case cancelMessageMoveTask = "CancelMessageMoveTask"
    case listMessageMoveTasks = "ListMessageMoveTasks"
    case tagQueue = "TagQueue"
    case untagQueue = "UntagQueue"
    case listQueueTags = "ListQueueTags"
    case addPermission = "AddPermission"
    case removePermission = "RemovePermission"
}

/// One decoded request, whichever protocol carried it.
public struct SQSRequest: Sendable {
    public var action: SQSAction
    public var parameters: WireObject
    /// The queue named by the request path (`/ACCOUNT/NAME`), used when no QueueUrl is given.
    public var pathQueue: (account: String, name: String)?
    /// `http://host:port` as the client addressed this server; queue URLs are built from it.
    public var baseURL: String
    /// The sender's access key id (SenderId), or the anonymous id when signatures are not checked.
    public var senderId: String
    /// The `X-Amzn-Trace-Id` header: a message sent without an `AWSTraceHeader` system attribute gets it
    /// as that attribute, as SQS does.
    public var traceHeader: String?
    /// The account of the sender's access key; nil: the node's own account (`--account-id`).
    public var account: String?

    public init(
        action: SQSAction, parameters: WireObject, pathQueue: (account: String, name: String)?, baseURL: String,
        senderId: String, traceHeader: String? = nil, account: String? = nil
    ) {
        self.traceHeader = traceHeader
        self.account = account
        self.action = action
        self.parameters = parameters
        self.pathQueue = pathQueue
        self.baseURL = baseURL
        self.senderId = senderId
    }
}
