import HeapModule

/// Writes the body of an engine snapshot: everything between the header and the checksum (the layout is
/// described on `QueueEngine.snapshot()`). `SnapshotDecoder` reads it back.
enum SnapshotEncoder {
    static func encode(_ engine: QueueEngine, into writer: inout BinaryWriter) {
        writer.writeVarint(engine.configuration.shardId)
        writer.writeString(engine.configuration.region)
        writer.writeString(engine.configuration.accountId)
        writer.writeSigned(engine.clock)
        writer.writeVarint(engine.nextMessageSequence)
        writer.writeVarint(engine.nextQueueIncarnation)
        writer.writeVarint(engine.nextMoveTaskNumber)
        writer.writeOptionalSigned(engine.lastAdvanceMilliseconds)
        writer.writeMap(engine.deletedQueues) { $0.writeSigned($1) }
        writer.writeMap(engine.queues) { encode($1, into: &$0) }
        writer.writeMap(engine.moveTasks) { writer, tasks in
            writer.writeCount(tasks.count)
            for task in tasks { encode(task, into: &writer) }
        }
        writer.writeVarint(engine.nextTransferId)
        writer.writeCount(engine.outbox.count)
        for message in engine.outbox { writer.writeTransferredMessage(message) }
        writer.writeCount(engine.imports.count)
        for shard in engine.imports.keys.sorted() {
            let record = engine.imports[shard]!
            writer.writeVarint(shard)
            writer.writeVarint(record.throughId)
            writer.writeCount(record.missing.count)
            for id in record.missing { writer.writeVarint(id) }
        }
        writer.writeByte(engine.rules)
        writer.writeOptional(engine.clusterMetadata) { $0.writeClusterMetadata($1) }
    }

    /// A queue (its name is the map key): identity and timestamps, configuration, tags, messages by
    /// sequence, stale timers, FIFO groups, ready groups, deduplication ids and receive attempts.
    static func encode(_ queue: QueueState, into writer: inout BinaryWriter) {
        writer.writeVarint(queue.incarnation)
        writer.writeSigned(queue.createdTimestamp)
        writer.writeSigned(queue.lastModifiedTimestamp)
        writer.writeOptionalSigned(queue.lastPurgeTimestamp)
        encode(queue.configuration, into: &writer)
        writer.writeStringMap(queue.tags)

        writer.writeCount(queue.messages.count)
        for sequence in queue.messages.keys.sorted() { encode(queue.messages[sequence]!, into: &writer) }

        let staleTimers = queue.timers.unordered.filter { !isLiveTimer($0, in: queue) }.sorted(by: timerOrder)
        writer.writeCount(staleTimers.count)
        for timer in staleTimers {
            writer.writeSigned(timer.atMilliseconds)
            writer.writeVarint(timer.sequence)
            writer.writeVarint(timer.version)
        }

        writer.writeMap(queue.groups) { $0.writeOptional($1.scheduledHead) { $0.writeVarint($1) } }
        let readyGroups = queue.readyGroups.unordered.sorted(by: readyGroupOrder)
        writer.writeCount(readyGroups.count)
        for entry in readyGroups {
            writer.writeSigned(entry.visibleAtMilliseconds)
            writer.writeVarint(entry.headSequence)
            writer.writeString(entry.groupId)
        }

        writer.writeMap(queue.deduplication) { writer, record in
            writer.writeString(record.messageId)
            writer.writeVarint(record.fifoSequenceNumber)
            writer.writeSigned(record.expiresAtMilliseconds)
        }
        writer.writeMap(queue.receiveAttempts) { writer, attempt in
            writer.writeSigned(attempt.expiresAtMilliseconds)
            writer.writeCount(attempt.receipts.count)
            for receipt in attempt.receipts {
                writer.writeVarint(receipt.queueIncarnation)
                writer.writeVarint(receipt.sequence)
                writer.writeVarint(receipt.receiveCount)
            }
        }
    }

    /// Whether a timer is the one that will make its delayed or in-flight message available: the decoder
    /// rebuilds those from the messages.
    static func isLiveTimer(_ timer: MessageTimer, in queue: QueueState) -> Bool {
        guard let message = queue.messages[timer.sequence] else { return false }
        return message.state != .available && message.version == timer.version
            && message.visibleAtMilliseconds == timer.atMilliseconds
    }

    static func timerOrder(_ left: MessageTimer, _ right: MessageTimer) -> Bool {
        (left.atMilliseconds, left.sequence, left.version) < (right.atMilliseconds, right.sequence, right.version)
    }

    static func readyGroupOrder(_ left: ReadyGroup, _ right: ReadyGroup) -> Bool { left < right }

    static func encode(_ configuration: QueueConfiguration, into writer: inout BinaryWriter) {
        writer.writeInt(configuration.delaySeconds)
        writer.writeInt(configuration.maximumMessageSize)
        writer.writeInt(configuration.messageRetentionPeriod)
        writer.writeInt(configuration.receiveMessageWaitTimeSeconds)
        writer.writeInt(configuration.visibilityTimeout)
        writer.writeOptionalString(configuration.policy)
        writer.writeOptional(configuration.redrivePolicy) { writer, policy in
            writer.writeString(policy.deadLetterTargetArn)
            writer.writeInt(policy.maxReceiveCount)
        }
        writer.writeOptional(configuration.redriveAllowPolicy) { writer, policy in
            writer.writeString(policy.redrivePermission)
            writer.writeStrings(policy.sourceQueueArns)
        }
        writer.writeOptionalString(configuration.kmsMasterKeyId)
        writer.writeInt(configuration.kmsDataKeyReusePeriodSeconds)
        writer.writeBool(configuration.sqsManagedSseEnabled)
        writer.writeBool(configuration.fifoQueue)
        writer.writeBool(configuration.contentBasedDeduplication)
        writer.writeString(configuration.deduplicationScope)
        writer.writeString(configuration.fifoThroughputLimit)
    }

    static func encode(_ message: StoredMessage, into writer: inout BinaryWriter) {
        writer.writeVarint(message.sequence)
        writer.writeString(message.messageId)
        writer.writeString(message.body)
        writer.writeString(message.md5OfBody)
        writer.writeMessageAttributes(message.messageAttributes)
        writer.writeOptionalString(message.md5OfMessageAttributes)
        writer.writeMessageAttributes(message.systemAttributes)
        writer.writeOptionalString(message.md5OfSystemAttributes)
        writer.writeString(message.senderId)
        writer.writeSigned(message.sentTimestamp)
        writer.writeOptionalString(message.messageGroupId)
        writer.writeOptionalString(message.messageDeduplicationId)
        writer.writeOptional(message.fifoSequenceNumber) { $0.writeVarint($1) }
        writer.writeInt(message.sizeBytes)
        writer.writeOptionalString(message.deadLetterQueueSourceArn)
        writer.writeOptionalString(message.originQueueName)
        writer.writeByte(stateCode(message.state))
        writer.writeSigned(message.visibleAtMilliseconds)
        writer.writeVarint(message.receiveCount)
        writer.writeOptionalSigned(message.firstReceiveTimestamp)
        writer.writeOptionalSigned(message.lastReceiveTimestamp)
        writer.writeVarint(message.version)
    }

    static func stateCode(_ state: MessageState) -> UInt8 {
        switch state {
        case .delayed: 0
        case .available: 1
        case .inFlight: 2
        }
    }

    /// A move task (its source queue name is the map key).
    static func encode(_ task: MessageMoveTask, into writer: inout BinaryWriter) {
        writer.writeString(task.taskHandle)
        writer.writeString(task.sourceArn)
        writer.writeOptionalString(task.destinationArn)
        writer.writeOptionalInt(task.maxNumberOfMessagesPerSecond)
        writer.writeSigned(task.startedTimestamp)
        writer.writeVarint(task.lastSequenceAtStart)
        writer.writeInt(task.approximateNumberOfMessagesToMove)
        writer.writeInt(task.approximateNumberOfMessagesMoved)
        writer.writeByte(statusCode(task.status))
        writer.writeOptionalString(task.failureReason)
    }

    static func statusCode(_ status: MessageMoveTask.Status) -> UInt8 {
        switch status {
        case .running: 0
        case .completed: 1
        case .cancelled: 2
        case .failed: 3
        }
    }
}
