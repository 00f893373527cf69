import Placement

/// A message leaving this shard for a queue of another shard (redrive to a dead-letter queue there, or a
/// move task's destination there): what the target needs to enqueue it, and what this shard needs to put
/// it back if the target queue is gone.
public struct TransferredMessage: Sendable, Equatable, Codable {
    /// Numbers the source shard's transfers, increasing: the target imports each at most once.
    public var id: UInt64
    /// The queue on the target shard.
    public var queueName: String
    /// The queue it was taken from, on the source shard.
    public var returnQueueName: String
    public var messageId: String
    public var body: String
    public var md5OfBody: String
    public var messageAttributes: MessageAttributes
    public var md5OfMessageAttributes: String?
    public var systemAttributes: MessageAttributes
    public var md5OfSystemAttributes: String?
    public var senderId: String
    public var sentTimestamp: Int64
    public var messageGroupId: String?
    public var messageDeduplicationId: String?
    public var sizeBytes: Int
    /// `DeadLetterQueueSourceArn` and origin queue it gets in the target queue.
    public var deadLetterQueueSourceArn: String?
    public var originQueueName: String?
    /// The same, as it had them in its source queue (restored if it comes back).
    public var returnDeadLetterQueueSourceArn: String?
    public var returnOriginQueueName: String?
    /// How often it was received, and when first: a dead-letter queue keeps them (log format 2 and
    /// snapshot format 3 carry them; earlier ones read as never received).
    public var receiveCount: UInt32 = 0
    public var firstReceiveTimestamp: Int64?

    /// Every field, as the log codec reads them back.
    init(
        id: UInt64, queueName: String, returnQueueName: String, messageId: String, body: String, md5OfBody: String,
        messageAttributes: MessageAttributes, md5OfMessageAttributes: String?, systemAttributes: MessageAttributes,
        md5OfSystemAttributes: String?, senderId: String, sentTimestamp: Int64, messageGroupId: String?,
        messageDeduplicationId: String?, sizeBytes: Int, deadLetterQueueSourceArn: String?, originQueueName: String?,
        returnDeadLetterQueueSourceArn: String?, returnOriginQueueName: String?, receiveCount: UInt32 = 0,
        firstReceiveTimestamp: Int64? = nil
    ) {
        self.receiveCount = receiveCount
        self.firstReceiveTimestamp = firstReceiveTimestamp
        self.id = id
        self.queueName = queueName
        self.returnQueueName = returnQueueName
        self.messageId = messageId
        self.body = body
        self.md5OfBody = md5OfBody
        self.messageAttributes = messageAttributes
        self.md5OfMessageAttributes = md5OfMessageAttributes
        self.systemAttributes = systemAttributes
        self.md5OfSystemAttributes = md5OfSystemAttributes
        self.senderId = senderId
        self.sentTimestamp = sentTimestamp
        self.messageGroupId = messageGroupId
        self.messageDeduplicationId = messageDeduplicationId
        self.sizeBytes = sizeBytes
        self.deadLetterQueueSourceArn = deadLetterQueueSourceArn
        self.originQueueName = originQueueName
        self.returnDeadLetterQueueSourceArn = returnDeadLetterQueueSourceArn
        self.returnOriginQueueName = returnOriginQueueName
    }

    init(
        id: UInt64, message: StoredMessage, from source: String, to target: String, deadLetterSourceArn: String?,
        originQueueName: String?
    ) {
        self.init(
            id: id, queueName: target, returnQueueName: source, messageId: message.messageId, body: message.body,
            md5OfBody: message.md5OfBody, messageAttributes: message.messageAttributes,
            md5OfMessageAttributes: message.md5OfMessageAttributes, systemAttributes: message.systemAttributes,
            md5OfSystemAttributes: message.md5OfSystemAttributes, senderId: message.senderId,
            sentTimestamp: message.sentTimestamp, messageGroupId: message.messageGroupId,
            messageDeduplicationId: message.messageDeduplicationId, sizeBytes: message.sizeBytes,
            deadLetterQueueSourceArn: deadLetterSourceArn, originQueueName: originQueueName,
            returnDeadLetterQueueSourceArn: message.deadLetterQueueSourceArn,
            returnOriginQueueName: message.originQueueName, receiveCount: message.receiveCount,
            firstReceiveTimestamp: message.firstReceiveTimestamp)
    }

    /// The message as a queue stores it before `enqueueMoved` renumbers it.
    var storedMessage: StoredMessage {
        var message = StoredMessage(
            sequence: 0, messageId: messageId, body: body, md5OfBody: md5OfBody, messageAttributes: messageAttributes,
            md5OfMessageAttributes: md5OfMessageAttributes, systemAttributes: systemAttributes,
            md5OfSystemAttributes: md5OfSystemAttributes, senderId: senderId, sentTimestamp: sentTimestamp,
            messageGroupId: messageGroupId, messageDeduplicationId: messageDeduplicationId, fifoSequenceNumber: nil,
            sizeBytes: sizeBytes, state: .available, visibleAtMilliseconds: 0)
        message.receiveCount = receiveCount
        message.firstReceiveTimestamp = firstReceiveTimestamp
        return message
    }
}

/// What a target shard remembers of one source shard's imports: the highest transfer id imported, and
/// which of the latest ones found no queue, so a retried import gets the same answer.
struct ImportRecord: Sendable, Equatable {
    var throughId: UInt64 = 0
    var missing: [UInt64] = []
}

/// Moving messages between shards. Redrive and move tasks take a message out of its queue into the
/// outbox when the queue it goes to hashes to another shard. The leader of this shard sends the outbox
/// in batches to the target shard (`importMessages`, idempotent by transfer id), then settles them here
/// (`settleOutbox`): imported ones are dropped, ones whose queue no longer exists go back to the queue
/// they came from. A message is in exactly one log's state at every point, or briefly in two (never in
/// none): delivery stays at-least-once.
extension QueueEngine {
    /// The shard that holds `queueName`, when it is not this one.
    func remoteShard(of queueName: String) -> UInt32? {
        guard configuration.shardCount > 1 else { return nil }
        let shard = Placement.shard(forQueue: queueName, shardCount: configuration.shardCount).rawValue
        return shard == configuration.shardId ? nil : shard
    }

    /// Whether the outbox has room for another message.
    var outboxHasRoom: Bool { outbox.count < QueueLimits.outboxMessagesMax }

    /// Puts a message taken out of `source` into the outbox for `target` on another shard.
    mutating func sendAway(
        _ message: StoredMessage, from source: String, to target: String, deadLetterSourceArn: String?,
        originQueueName: String?
    ) {
        outbox.append(
            TransferredMessage(
                id: nextTransferId, message: message, from: source, to: target,
                deadLetterSourceArn: deadLetterSourceArn, originQueueName: originQueueName))
        nextTransferId += 1
    }

    /// Messages waiting to leave for other shards.
    public var outboxCount: Int { outbox.count }

    /// The next batch to send: the oldest waiting message bound for a shard not in `excluded`, and the
    /// ones after it bound for the same shard, within the batch bounds. Nil when there is none.
    public func nextTransferBatch(excluding excluded: Set<UInt32> = []) -> (
        shard: UInt32, messages: [TransferredMessage]
    )? {
        guard
            let shard = outbox.lazy.compactMap({ self.remoteShard(of: $0.queueName) }).first(where: {
                !excluded.contains($0)
            })
        else { return nil }
        var batch: [TransferredMessage] = []
        var bytes = 0
        for message in outbox where remoteShard(of: message.queueName) == shard {
            guard batch.count < QueueLimits.transferBatchMessagesMax,
                batch.isEmpty || bytes + message.sizeBytes <= QueueLimits.transferBatchBytesMax
            else { break }
            batch.append(message)
            bytes += message.sizeBytes
        }
        return (shard, batch)
    }

    /// Imports messages another shard's outbox sent, each at most once; answers the ids whose queue
    /// does not exist here (the source puts those back).
    mutating func importMessages(from sourceShard: UInt32, _ messages: [TransferredMessage]) throws(QueueError)
        -> [UInt64]
    {
        guard sourceShard != configuration.shardId, Int(sourceShard) < configuration.shardCount else {
            throw QueueError(.invalidParameterValue, "Imports come from another shard of this cluster.")
        }
        guard messages.count <= QueueLimits.transferBatchMessagesMax,
            zip(messages, messages.dropFirst()).allSatisfy({ $0.id < $1.id })
        else {
            throw QueueError(.invalidParameterValue, "An import holds a bounded batch in transfer order.")
        }
        var record = imports[sourceShard] ?? ImportRecord()
        // Ids below the batch's first were settled by the source: their answers are no longer needed.
        var missing = record.missing.filter { id in messages.first.map { id >= $0.id } ?? false }
        for message in messages where message.id > record.throughId {
            if queues[message.queueName] != nil, remoteShard(of: message.queueName) == nil {
                enqueueMoved(
                    message.storedMessage, into: message.queueName,
                    deadLetterSourceArn: message.deadLetterQueueSourceArn, originQueueName: message.originQueueName,
                    keepsReceives: message.deadLetterQueueSourceArn != nil)
            } else {
                missing.append(message.id)
            }
            record.throughId = message.id
        }
        record.missing = missing
        imports[sourceShard] = record
        let ids = Set(messages.map(\.id))
        return missing.filter { ids.contains($0) }
    }

    /// The target shard answered an import: drop the delivered messages from the outbox and put the
    /// returned ones back into the queue they came from (if it still exists).
    mutating func settleOutbox(delivered: [UInt64], returned: [UInt64]) {
        let delivered = Set(delivered)
        let returned = Set(returned)
        var kept: [TransferredMessage] = []
        kept.reserveCapacity(outbox.count)
        for message in outbox {
            if returned.contains(message.id) {
                enqueueMoved(
                    message.storedMessage, into: message.returnQueueName,
                    deadLetterSourceArn: message.returnDeadLetterQueueSourceArn,
                    originQueueName: message.returnOriginQueueName, keepsReceives: false)
            } else if !delivered.contains(message.id) {
                kept.append(message)
            }
        }
        outbox = kept
    }

    /// The queues whose RedrivePolicy names `arn` as their dead-letter queue (unsorted): a cluster
    /// merges every shard's for ListDeadLetterSourceQueues.
    public func queues(redrivingTo arn: String) -> [String] {
        queues.values.filter { $0.configuration.redrivePolicy?.deadLetterTargetArn == arn }.map(\.name)
    }

    /// Checks that `name` can be the dead-letter queue of `sourceName` (it exists, and its
    /// RedriveAllowPolicy lets the source in); the source's shard checks the type. `policyJSON` is quoted
    /// in the error.
    public func checkDeadLetterTarget(_ name: String, sourceArn: String, policyJSON: String) throws(QueueError) {
        guard let target = queues[name] else { throw .deadLetterTargetMissing(policyJSON) }
        try checkDeadLetterTarget(target, sourceArn: sourceArn, policyJSON: policyJSON)
    }

    /// `checkDeadLetterTarget` for the queue an ARN names.
    public func checkDeadLetterTarget(arn: String, sourceArn: String, policyJSON: String) throws(QueueError) {
        guard let name = queueName(fromArn: arn) else { throw .deadLetterTargetMissing(policyJSON) }
        try checkDeadLetterTarget(name, sourceArn: sourceArn, policyJSON: policyJSON)
    }

    /// Whether the queue an ARN names exists here.
    public func queueExists(arn: String) -> Bool {
        queueName(fromArn: arn).map { queues[$0] != nil } ?? false
    }

    private func checkDeadLetterTarget(_ target: QueueState, sourceArn: String, policyJSON: String) throws(QueueError) {
        if let allow = target.configuration.redriveAllowPolicy, !allow.allows(sourceArn: sourceArn) {
            throw .deadLetterTargetRefuses(policyJSON)
        }
    }
}

extension QueueError {
    public static func deadLetterTargetMissing(_ policyJSON: String) -> QueueError {
        QueueError(
            .invalidParameterValue,
            "Value \(policyJSON) for parameter RedrivePolicy is invalid. Reason: Dead-letter target does not exist.")
    }

    static func deadLetterTargetRefuses(_ policyJSON: String) -> QueueError {
        QueueError(
            .invalidParameterValue,
            "Value \(policyJSON) for parameter RedrivePolicy is invalid. Reason: Dead-letter target's RedriveAllowPolicy does not allow this source queue."
        )
    }

    /// StartMessageMoveTask's source does not exist.
    public static let moveSourceMissing = QueueError(
        .resourceNotFound, "The resource that you specified for the SourceArn parameter doesn't exist.")

    /// StartMessageMoveTask's destination does not exist.
    public static let moveDestinationMissing = QueueError(
        .resourceNotFound, "The resource that you specified for the DestinationArn parameter doesn't exist.")

    /// StartMessageMoveTask's source is no queue's dead-letter queue.
    public static func moveSourceNotDeadLetterQueue(_ arn: String) -> QueueError {
        .invalidParameter("SourceArn", arn, reason: "Source queue must be configured as a Dead Letter Queue.")
    }
}
