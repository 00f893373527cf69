/// Reads the body of an engine snapshot that `SnapshotEncoder` wrote, and rebuilds the indexes it leaves
/// out from the messages, exactly as the engine would have built them.
///
/// Besides the reader's checks, it refuses values the engine could not have produced and that could trap
/// later: timestamps and counters out of range, messages out of order or numbered past the next sequence,
/// a FIFO group with messages but no record, a stale timer that is in fact live.
enum SnapshotDecoder {
    /// Timestamps and deadlines, epoch milliseconds: the clock's bound leaves room for any delay or window.
    static let timestampRange: ClosedRange<Int64> = 0...(Int64.max / 2)
    /// Counts of messages kept in move tasks and sizes: far from overflow when added to.
    static let countRange: ClosedRange<Int> = 0...(Int.max / 4)
    /// A message's size (`StoredMessage` holds it in 32 bits).
    static let messageSizeRange = 0...Int(UInt32.max)
    /// The fewest bytes a message takes: 22 fields of at least one byte.
    static let messageBytesMin = 22
    /// The fewest bytes a move task takes: 10 fields of at least one byte.
    static let moveTaskBytesMin = 10

    static func decodeEngine(
        configuration: QueueEngineConfiguration, version: UInt8, from reader: inout BinaryReader
    ) throws(EngineCodecError) -> QueueEngine {
        let shardId = try reader.readUInt32()
        let region = try reader.readString()
        let accountId = try reader.readString()
        guard shardId == configuration.shardId, region == configuration.region, accountId == configuration.accountId
        else {
            throw reader.error(
                .wrongShard,
                "the snapshot is of shard \(shardId) of account \(accountId) in \(region); this engine serves shard \(configuration.shardId) of account \(configuration.accountId) in \(configuration.region)"
            )
        }
        var engine = QueueEngine(configuration: configuration)
        engine.clock = try reader.readSigned(in: 0...QueueLimits.timestampMillisecondsMax, "clock")
        engine.nextMessageSequence = try readCounter("next message sequence", from: &reader)
        engine.nextQueueIncarnation = try readCounter("next queue incarnation", from: &reader)
        engine.nextMoveTaskNumber = try readCounter("next move task number", from: &reader)
        engine.lastAdvanceMilliseconds = try reader.readOptionalSigned(in: timestampRange, "last advance time")
        engine.deletedQueues = try reader.readMap { reader throws(EngineCodecError) in
            try reader.readSigned(in: timestampRange, "queue deletion time")
        }
        let limits = (nextMessageSequence: engine.nextMessageSequence, nextIncarnation: engine.nextQueueIncarnation)
        engine.queues = try reader.readKeyedMap { reader, name throws(EngineCodecError) in
            try decodeQueue(named: name, limits: limits, from: &reader)
        }
        engine.moveTasks = try reader.readKeyedMap { reader, sourceName throws(EngineCodecError) in
            let count = try reader.readCount(elementBytesMin: moveTaskBytesMin)
            var tasks: [MessageMoveTask] = []
            tasks.reserveCapacity(count)
            for _ in 0..<count { tasks.append(try decodeMoveTask(sourceName: sourceName, from: &reader)) }
            return tasks
        }
        if version >= 2 { try decodeTransfers(into: &engine, from: &reader) }
        // Format 3 ends with the rules the engine applies commands with; earlier ones were written under
        // the first rules.
        engine.rules = Rules.first
        if version >= 3 {
            let rules = try reader.readByte()
            guard (Rules.first...Rules.current).contains(rules) else {
                throw reader.error(.unsupportedVersion, "rules \(rules), this build applies 1 to \(Rules.current)")
            }
            engine.rules = rules
        }
        for name in engine.queues.keys.sorted() { engine.queues[name]!.rules = engine.rules }
        // Format 4 ends with the cluster's configuration, if the engine holds one (the metadata group's).
        if version >= 4 {
            engine.clusterMetadata = try reader.readOptional { reader throws(EngineCodecError) in
                try reader.readClusterMetadata()
            }
        }
        return engine
    }

    /// Format 2: the outbox (ids increasing, below the next id) and the import records by source shard.
    private static func decodeTransfers(
        into engine: inout QueueEngine, from reader: inout BinaryReader
    ) throws(EngineCodecError) {
        engine.nextTransferId = try readCounter("next transfer id", from: &reader)
        let count = try reader.readCount(elementBytesMin: reader.transferredMessageBytesMin)
        guard count <= QueueLimits.outboxMessagesMax else { throw reader.malformed("outbox of \(count) messages") }
        var previous: UInt64 = 0
        for _ in 0..<count {
            let message = try reader.readTransferredMessage()
            guard message.id > previous, message.id < engine.nextTransferId else {
                throw reader.malformed("outbox transfer id \(message.id) out of order")
            }
            previous = message.id
            engine.outbox.append(message)
        }
        let shards = try reader.readCount(elementBytesMin: 3)
        var last: UInt32?
        for _ in 0..<shards {
            let shard = try reader.readUInt32()
            guard last.map({ shard > $0 }) ?? true else { throw reader.malformed("import records out of order") }
            last = shard
            var record = ImportRecord(throughId: try reader.readVarint())
            let missing = try reader.readCount()
            for _ in 0..<missing { record.missing.append(try reader.readVarint()) }
            engine.imports[shard] = record
        }
    }

    /// A counter that is incremented after use: at least 1, and never at the top of its range.
    private static func readCounter(_ name: String, from reader: inout BinaryReader) throws(EngineCodecError) -> UInt64
    {
        let value = try reader.readVarint()
        guard value >= 1, value < UInt64.max / 2 else { throw reader.malformed("\(name) \(value) out of range") }
        return value
    }

    static func decodeConfiguration(from reader: inout BinaryReader) throws(EngineCodecError) -> QueueConfiguration {
        var configuration = QueueConfiguration()
        configuration.delaySeconds = try reader.readInt(in: 0...QueueLimits.delaySecondsMax, "DelaySeconds")
        configuration.maximumMessageSize = try reader.readInt(
            in: QueueLimits.messageSizeBytesMin...QueueLimits.messageSizeBytesMax, "MaximumMessageSize")
        configuration.messageRetentionPeriod = try reader.readInt(
            in: QueueLimits.retentionSecondsMin...QueueLimits.retentionSecondsMax, "MessageRetentionPeriod")
        configuration.receiveMessageWaitTimeSeconds = try reader.readInt(
            in: 0...QueueLimits.waitTimeSecondsMax, "ReceiveMessageWaitTimeSeconds")
        configuration.visibilityTimeout = try reader.readInt(
            in: 0...QueueLimits.visibilityTimeoutSecondsMax, "VisibilityTimeout")
        configuration.policy = try reader.readOptionalString()
        configuration.redrivePolicy = try reader.readOptional { reader throws(EngineCodecError) in
            RedrivePolicy(
                deadLetterTargetArn: try reader.readString(),
                maxReceiveCount: try reader.readInt(
                    in: QueueLimits.maxReceiveCountMin...QueueLimits.maxReceiveCountMax, "maxReceiveCount"))
        }
        configuration.redriveAllowPolicy = try reader.readOptional { reader throws(EngineCodecError) in
            RedriveAllowPolicy(redrivePermission: try reader.readString(), sourceQueueArns: try reader.readStrings())
        }
        configuration.kmsMasterKeyId = try reader.readOptionalString()
        configuration.kmsDataKeyReusePeriodSeconds = try reader.readInt(in: 60...86_400, "KmsDataKeyReusePeriodSeconds")
        configuration.sqsManagedSseEnabled = try reader.readBool()
        configuration.fifoQueue = try reader.readBool()
        configuration.contentBasedDeduplication = try reader.readBool()
        configuration.deduplicationScope = try reader.readString()
        configuration.fifoThroughputLimit = try reader.readString()
        return configuration
    }

    static func decodeMessage(
        nextMessageSequence: UInt64, from reader: inout BinaryReader
    ) throws(EngineCodecError) -> StoredMessage {
        let sequence = try reader.readVarint()
        guard sequence < nextMessageSequence else {
            throw reader.malformed("message sequence \(sequence) is not below the next one, \(nextMessageSequence)")
        }
        return StoredMessage(
            sequence: sequence, messageId: try reader.readString(), body: try reader.readString(),
            md5OfBody: try reader.readString(), messageAttributes: try reader.readMessageAttributes(),
            md5OfMessageAttributes: try reader.readOptionalString(),
            systemAttributes: try reader.readMessageAttributes(),
            md5OfSystemAttributes: try reader.readOptionalString(), senderId: try reader.readString(),
            sentTimestamp: try reader.readSigned(in: timestampRange, "sent timestamp"),
            messageGroupId: try reader.readOptionalString(), messageDeduplicationId: try reader.readOptionalString(),
            fifoSequenceNumber: try reader.readOptional { reader throws(EngineCodecError) in try reader.readVarint() },
            sizeBytes: try reader.readInt(in: messageSizeRange, "message size"),
            deadLetterQueueSourceArn: try reader.readOptionalString(), originQueueName: try reader.readOptionalString(),
            state: try decodeState(from: &reader),
            visibleAtMilliseconds: try reader.readSigned(in: timestampRange, "visibility deadline"),
            receiveCount: try decodeReceiveCount(from: &reader),
            firstReceiveTimestamp: try reader.readOptionalSigned(in: timestampRange, "first receive timestamp"),
            lastReceiveTimestamp: try reader.readOptionalSigned(in: timestampRange, "last receive timestamp"),
            version: try reader.readUInt32())
    }

    private static func decodeState(from reader: inout BinaryReader) throws(EngineCodecError) -> MessageState {
        switch try reader.readByte() {
        case 0: return .delayed
        case 1: return .available
        case 2: return .inFlight
        case let other: throw reader.malformed("message state \(other)")
        }
    }

    /// A receive count, which a receive increments: below `UInt32.max`.
    private static func decodeReceiveCount(from reader: inout BinaryReader) throws(EngineCodecError) -> UInt32 {
        let count = try reader.readUInt32()
        guard count < UInt32.max else { throw reader.malformed("receive count \(count) out of range") }
        return count
    }

    static func decodeMoveTask(
        sourceName: String, from reader: inout BinaryReader
    ) throws(EngineCodecError) -> MessageMoveTask {
        var task = MessageMoveTask(
            taskHandle: try reader.readString(), sourceName: sourceName, sourceArn: try reader.readString(),
            destinationArn: try reader.readOptionalString(),
            maxNumberOfMessagesPerSecond: try reader.readOptional { reader throws(EngineCodecError) in
                try reader.readInt(in: 1...QueueLimits.moveTaskMessagesPerSecondMax, "MaxNumberOfMessagesPerSecond")
            },
            startedTimestamp: try reader.readSigned(in: timestampRange, "move task start"),
            lastSequenceAtStart: try reader.readVarint(),
            approximateNumberOfMessagesToMove: try reader.readInt(in: countRange, "messages to move"))
        task.approximateNumberOfMessagesMoved = try reader.readInt(in: countRange, "messages moved")
        switch try reader.readByte() {
        case 0: task.status = .running
        case 1: task.status = .completed
        case 2: task.status = .cancelled
        case 3: task.status = .failed
        case let other: throw reader.malformed("move task status \(other)")
        }
        task.failureReason = try reader.readOptionalString()
        return task
    }
}

extension RedriveAllowPolicy {
    init(redrivePermission: String, sourceQueueArns: [String]) {
        self.redrivePermission = redrivePermission
        self.sourceQueueArns = sourceQueueArns
    }
}
