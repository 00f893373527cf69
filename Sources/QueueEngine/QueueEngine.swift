import Placement

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
/// Versions of the rules commands apply with. A change of behaviour that alters replicated state gets a
/// new version, kept side by side with the old one.
public enum Rules {
    /// Before issue 13's fidelity work: only the latest receipt handle deletes or changes visibility, a
    /// FIFO group is blocked while any of its messages is in flight and groups are served by head
    /// sequence, a moved message's receive count starts again.
    public static let first: UInt8 = 1
    /// Any receipt handle deletes and changes visibility (a FIFO handle expires with its timeout), a FIFO
    /// group is receivable while its head is visible and groups are served in the order their heads
    /// became visible, a dead-letter move keeps the receive count, leftover timers at the front of the
    /// timer heap are dropped.
    /// Queues of several accounts (`AccountScope`): a stored name `ACCOUNT/NAME` is valid, and an ARN of
    /// another account names that account's queue (before, no queue).
    public static let current: UInt8 = 3
}

public struct QueueEngine: Sendable {
    public let configuration: QueueEngineConfiguration
    let identifiers: Identifiers
    /// The latest timestamp applied, epoch milliseconds.
    public internal(set) var clock: Int64 = 0
    /// Which version of SQS's rules commands apply with (see `Rules`). It changes only by an applied
    /// `adoptRules` command, so every replica switches at the same log entry, and a log written under
    /// older rules replays the same on every replica whatever snapshot it starts from.
    public internal(set) var rules = Rules.current
    /// How many messages the last ReceiveMessage applied took (rendered or not): a shell wakes waiting
    /// receivers after a receive only if it took some. Not part of the replicated state.
    public internal(set) var lastReceiveTaken = 0
    /// The cluster's configuration, held by the engine of the metadata group once an `initializeCluster`
    /// command is applied; nil in every queue shard's engine. Changed only by applied commands.
    public internal(set) var clusterMetadata: ClusterMetadata?
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

    /// An empty engine applying commands with `rules` (a replicated one starts at the first rules and
    /// switches by an `adoptRules` entry; see `Rules`).
    public init(configuration: QueueEngineConfiguration, rules: UInt8 = Rules.current) {
        self.rules = rules
        self.configuration = configuration
        self.identifiers = Identifiers(shardId: configuration.shardId, receiptHandleKey: configuration.receiptHandleKey)
    }

    /// The ARN of a queue of this engine's account and region.
    public func queueArn(_ name: String) -> String {
        Self.queueArn(name, region: configuration.region, accountId: configuration.accountId)
    }

    /// The ARN of the stored queue `name` in `region`, `ownAccount` being the engine's account (a queue of
    /// another account is stored as `ACCOUNT/NAME`: `AccountScope`).
    public static func queueArn(_ name: String, region: String, accountId ownAccount: String) -> String {
        let (account, bare) = AccountScope.split(name)
        return "arn:aws:sqs:\(region):\(account ?? Substring(ownAccount)):\(bare)"
    }

    /// The queue name an ARN ends with (its last `:` part), unvalidated: enough to route a request to
    /// the queue's shard, where `queueName(fromArn:)` checks region and account.
    public static func routingName(ofArn arn: String) -> String {
        arn.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? arn
    }

    /// The stored name of the queue an ARN of this region names (`AccountScope`), or nil.
    func queueName(fromArn arn: String) -> String? {
        guard rules >= 3 else {
            // Rules 1–2: only this account's ARNs, whatever follows the account. A name with `/` named no
            // queue then (none could exist), and is none now: placement hashes such names differently since.
            let prefix = "arn:aws:sqs:\(configuration.region):\(configuration.accountId):"
            guard arn.hasPrefix(prefix) else { return nil }
            let name = String(arn.dropFirst(prefix.count))
            return name.isEmpty || name.contains("/") ? nil : name
        }
        let prefix = "arn:aws:sqs:\(configuration.region):"
        guard arn.hasPrefix(prefix) else { return nil }
        let rest = arn.dropFirst(prefix.count)
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        let account = rest[..<colon]
        let name = rest[rest.index(after: colon)...]
        guard AccountScope.isAccountId(account), !name.isEmpty, !name.contains("/"), !name.contains(":") else {
            return nil
        }
        return AccountScope.name(String(name), account: String(account), ownAccount: configuration.accountId)
    }

    /// Runs `body` on the named queue in place, after bringing its timers up to the engine clock.
    mutating func withQueue<Result>(
        _ name: String, _ body: (inout QueueState) throws(QueueError) -> Result
    ) throws(QueueError) -> Result {
        guard queues[name] != nil else { throw .queueDoesNotExist() }
        queues[name]!.advance(to: clock)
        defer { queues[name]?.dropLeftoverTimers() }
        return try body(&queues[name]!)
    }

    /// Takes the next message sequence number.
    mutating func takeSequence() -> UInt64 {
        defer { nextMessageSequence += 1 }
        return nextMessageSequence
    }
}
