/// The history of a chaos run: every request the workload made, its outcome, and what it got back.
/// `ferry chaos` writes it as JSON lines (one `ChaosOperation` per line) and `ChaosChecker` reads it.
public struct ChaosOperation: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable {
        case send, receive, delete, changeVisibility
        /// Not a request: a fault's window (`fault`), from its start to when it was healed.
        case fault
    }

    /// Whether the request took effect: it did (`ok`), it did not (`failed`, with the AWS error code), or
    /// nobody knows (`unknown`: timed out, or the connection broke before the answer).
    public enum Outcome: String, Sendable, Codable {
        case ok, failed, unknown
    }

    /// A message as a receive returned it.
    public struct Received: Sendable, Equatable, Codable {
        public var messageId: String
        public var body: String
        public var md5OfBody: String
        public var receiveCount: Int?
        public var groupId: String?

        public init(
            messageId: String, body: String, md5OfBody: String, receiveCount: Int? = nil, groupId: String? = nil
        ) {
            self.messageId = messageId
            self.body = body
            self.md5OfBody = md5OfBody
            self.receiveCount = receiveCount
            self.groupId = groupId
        }
    }

    public var id: UInt64
    public var node: Int
    public var action: Action
    public var queue: String
    /// Milliseconds since the run started, when the request was sent and when its outcome was known.
    public var startMs: Int64
    public var endMs: Int64
    public var outcome: Outcome
    /// The AWS error code of a failed request.
    public var errorCode: String?
    /// A send: its body (unique in a run) and FIFO group; the answer's message id and body MD5.
    public var body: String?
    public var groupId: String?
    public var messageId: String?
    public var md5OfBody: String?
    /// A receive: the messages it returned.
    public var messages: [Received]?
    /// A fault's record (action `fault`).
    public var fault: ChaosFault?
    /// An earlier attempt of this request may have taken effect (it was retried after a timeout, a broken
    /// connection or a 5xx, as an SDK does): a send's body may then be stored twice, the other time under
    /// another message id.
    public var retried: Bool?

    public init(
        id: UInt64, node: Int, action: Action, queue: String, startMs: Int64, endMs: Int64, outcome: Outcome,
        errorCode: String? = nil, body: String? = nil, groupId: String? = nil, messageId: String? = nil,
        md5OfBody: String? = nil, messages: [Received]? = nil, fault: ChaosFault? = nil
    ) {
        self.id = id
        self.node = node
        self.action = action
        self.queue = queue
        self.startMs = startMs
        self.endMs = endMs
        self.outcome = outcome
        self.errorCode = errorCode
        self.body = body
        self.groupId = groupId
        self.messageId = messageId
        self.md5OfBody = md5OfBody
        self.messages = messages
        self.fault = fault
    }
}
