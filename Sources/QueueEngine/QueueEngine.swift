/// Settings every replica of a shard shares.
public struct QueueEngineConfiguration: Sendable, Equatable {
    /// The region in queue ARNs, e.g. `us-east-1`.
    public var region: String
    /// The account id in queue URLs and ARNs.
    public var accountId: String
    /// The shard this engine serves; part of every message id.
    public var shardId: UInt32
    /// The key that MACs receipt handles and derives message ids (at least 16 bytes).
    public var receiptHandleKey: [UInt8]
    /// How many shards the cluster has: a queue whose name hashes to another shard lives in another
    /// engine, and messages redriven or moved to it leave through the outbox.
    public var shardCount: Int

    public init(
        region: String = "us-east-1", accountId: String = "000000000000", shardId: UInt32 = 0,
        receiptHandleKey: [UInt8], shardCount: Int = 1
    ) {
        precondition(receiptHandleKey.count >= 16, "receiptHandleKey has \(receiptHandleKey.count) bytes, needs 16")
        precondition(shardCount >= 1, "shardCount \(shardCount)")
        self.region = region
        self.accountId = accountId
        self.shardId = shardId
        self.receiptHandleKey = receiptHandleKey
        self.shardCount = shardCount
    }
}

/// The replicated state machine of one shard: queues, messages, visibility, delay, retention, receive
/// counts, dead-letter redrive, message move tasks, FIFO groups and deduplication, purge, attributes and
/// tags.
///
/// It is a value driven only by `apply(_:timestampMilliseconds:)` and read by the query methods. It reads
/// no clock and no random generator: ids and receipt handles are derived from its state and
/// configuration, so every replica applying the same commands holds the same state.
public struct QueueEngine: Sendable {
    public let configuration: QueueEngineConfiguration
    let identifiers: Identifiers
    /// The latest timestamp applied, epoch milliseconds.
    public internal(set) var clock: Int64 = 0
    var queues: [String: QueueState] = [:]
    /// Recently deleted queue names and when they were deleted.
    var deletedQueues: [String: Int64] = [:]
    var nextMessageSequence: UInt64 = 1
    var nextQueueIncarnation: UInt64 = 1
    var nextMoveTaskNumber: UInt64 = 1
    /// Move tasks per source queue name, oldest first.
    var moveTasks: [String: [MessageMoveTask]] = [:]
    /// The clock when time last advanced for move tasks.
    var lastAdvanceMilliseconds: Int64?
    /// Messages taken from a queue of this shard for a queue of another, oldest first, until that
    /// shard imported them (see `QueueEngine+Transfers`).
    var outbox: [TransferredMessage] = []
    var nextTransferId: UInt64 = 1
    /// Per source shard: the transfers imported so far, for idempotent retries.
    var imports: [UInt32: ImportRecord] = [:]

    public init(configuration: QueueEngineConfiguration) {
        self.configuration = configuration
        self.identifiers = Identifiers(shardId: configuration.shardId, receiptHandleKey: configuration.receiptHandleKey)
    }

    /// The ARN of a queue of this engine's account and region.
    public func queueArn(_ name: String) -> String {
        Self.queueArn(name, region: configuration.region, accountId: configuration.accountId)
    }

    /// The ARN of a queue of `accountId` in `region`.
    public static func queueArn(_ name: String, region: String, accountId: String) -> String {
        "arn:aws:sqs:\(region):\(accountId):\(name)"
    }

    /// The queue name an ARN ends with (its last `:` part), unvalidated: enough to route a request to
    /// the queue's shard, where `queueName(fromArn:)` checks region and account.
    public static func routingName(ofArn arn: String) -> String {
        arn.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? arn
    }

    /// The queue name an ARN of this account and region names, or nil.
    func queueName(fromArn arn: String) -> String? {
        let prefix = "arn:aws:sqs:\(configuration.region):\(configuration.accountId):"
        guard arn.hasPrefix(prefix) else { return nil }
        let name = String(arn.dropFirst(prefix.count))
        return name.isEmpty ? nil : name
    }

    /// Runs `body` on the named queue in place, after bringing its timers up to the engine clock.
    mutating func withQueue<Result>(
        _ name: String, _ body: (inout QueueState) throws(QueueError) -> Result
    ) throws(QueueError) -> Result {
        guard queues[name] != nil else { throw .queueDoesNotExist() }
        queues[name]!.advance(to: clock)
        return try body(&queues[name]!)
    }

    /// Takes the next message sequence number.
    mutating func takeSequence() -> UInt64 {
        defer { nextMessageSequence += 1 }
        return nextMessageSequence
    }
}
