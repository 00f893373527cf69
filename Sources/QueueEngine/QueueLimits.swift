/// Every bound the queue engine enforces, in one place. Values follow Amazon SQS's published quotas
/// (SQSDeveloperGuide `quotas-messages`, `quotas-queues`, `quotas-fifo`).
public enum QueueLimits {
    /// Longest queue name, FIFO suffix included.
    public static let queueNameLengthMax = 80
    /// Largest message the queue attribute `MaximumMessageSize` may allow, in bytes.
    public static let messageSizeBytesMax = 1_048_576
    /// Smallest value of `MaximumMessageSize`, in bytes.
    public static let messageSizeBytesMin = 1_024
    /// Largest sum of message sizes in one batch, in bytes.
    public static let batchSizeBytesMax = 1_048_576
    /// Most entries in one batch request.
    public static let batchEntriesMax = 10
    /// Longest batch entry id.
    public static let batchEntryIdLengthMax = 80
    /// Most messages one receive returns.
    public static let receiveMessagesMax = 10
    /// Longest delay, per queue or per message, in seconds.
    public static let delaySecondsMax = 900
    /// Longest visibility timeout, in seconds (12 hours).
    public static let visibilityTimeoutSecondsMax = 43_200
    /// Retention bounds, in seconds (1 minute to 14 days).
    public static let retentionSecondsMin = 60
    public static let retentionSecondsMax = 1_209_600
    /// Longest long-poll wait, in seconds.
    public static let waitTimeSecondsMax = 20
    /// Most message attributes on one message.
    public static let messageAttributesMax = 10
    /// Longest message attribute name.
    public static let messageAttributeNameLengthMax = 256
    /// Longest message attribute data type, custom label included.
    public static let messageAttributeDataTypeLengthMax = 256
    /// Messages in flight per queue before a short-poll receive gets `OverLimit`.
    public static let inFlightMessagesMax = 120_000
    /// How long a deleted queue's name stays reserved, in milliseconds.
    public static let queueDeletedRecentlyMilliseconds: Int64 = 60_000
    /// How long after a purge another purge is refused, in milliseconds.
    public static let purgeIntervalMilliseconds: Int64 = 60_000
    /// FIFO deduplication window, in milliseconds (5 minutes).
    public static let deduplicationWindowMilliseconds: Int64 = 300_000
    /// How long a FIFO `ReceiveRequestAttemptId` is remembered, in milliseconds (5 minutes).
    public static let receiveAttemptWindowMilliseconds: Int64 = 300_000
    /// Longest deduplication id, group id and receive request attempt id.
    public static let fifoIdLengthMax = 128
    /// `maxReceiveCount` bounds in a RedrivePolicy.
    public static let maxReceiveCountMin = 1
    public static let maxReceiveCountMax = 1_000
    /// Most source queues a `byQueue` RedriveAllowPolicy may name.
    public static let redriveAllowSourceQueuesMax = 10
    /// Highest `MaxNumberOfMessagesPerSecond` of a message move task.
    public static let moveTaskMessagesPerSecondMax = 500
    /// Most messages one time advance moves for one move task, however long the gap.
    public static let moveTaskMessagesPerAdvanceMax = 1_000
    /// Finished move tasks remembered per source queue (ListMessageMoveTasks shows at most 10).
    public static let moveTaskHistoryMax = 10
    /// Messages waiting in a shard's outbox for a queue of another shard; past this, redrive to such a
    /// queue pauses (the message stays in its source queue) and move tasks wait.
    public static let outboxMessagesMax = 10_000
    /// Messages one import carries from a shard's outbox to another shard.
    public static let transferBatchMessagesMax = 64
    /// Message bytes one import carries (at least one message, whatever its size).
    public static let transferBatchBytesMax = 4 << 20
    /// Most results of a list action.
    public static let listResultsMax = 1_000
    /// Most tags per queue.
    public static let tagsMax = 50
    /// Longest tag key and value.
    public static let tagKeyLengthMax = 128
    public static let tagValueLengthMax = 256
    /// Longest permission label.
    public static let permissionLabelLengthMax = 80
    /// Longest `Policy` document, in bytes.
    public static let policyBytesMax = 20_480
    /// Latest timestamp the engine accepts (year ~2262 / 4): keeps deadline arithmetic far from overflow.
    public static let timestampMillisecondsMax: Int64 = Int64.max / 4
    /// Most queues one engine holds.
    public static let queuesMax = 1_000_000
}
