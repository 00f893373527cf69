import DequeModule
import HeapModule

extension SnapshotDecoder {
    /// A queue, with its state counters, ready and retention heaps, live timers, FIFO group orders and
    /// expiry queues rebuilt from its messages and records.
    static func decodeQueue(
        named name: String, limits: (nextMessageSequence: UInt64, nextIncarnation: UInt64),
        from reader: inout BinaryReader
    ) throws(EngineCodecError) -> QueueState {
        let incarnation = try reader.readVarint()
        guard incarnation < limits.nextIncarnation else {
            throw reader.malformed(
                "queue incarnation \(incarnation) is not below the next one, \(limits.nextIncarnation)")
        }
        let createdTimestamp = try reader.readSigned(in: timestampRange, "queue creation time")
        let lastModifiedTimestamp = try reader.readSigned(in: timestampRange, "queue modification time")
        let lastPurgeTimestamp = try reader.readOptionalSigned(in: timestampRange, "queue purge time")
        let configuration = try decodeConfiguration(from: &reader)
        var queue = QueueState(
            name: name, incarnation: incarnation, configuration: configuration, now: createdTimestamp)
        queue.lastModifiedTimestamp = lastModifiedTimestamp
        queue.lastPurgeTimestamp = lastPurgeTimestamp
        queue.tags = try reader.readStringMap()
        try decodeMessages(into: &queue, nextMessageSequence: limits.nextMessageSequence, from: &reader)
        try decodeStaleTimers(into: &queue, from: &reader)
        try decodeGroups(into: &queue, from: &reader)
        try decodeRecords(into: &queue, from: &reader)
        return queue
    }

    /// Messages in sequence order, and what `QueueState.insert`, `hide` and `makeAvailable` would have indexed.
    private static func decodeMessages(
        into queue: inout QueueState, nextMessageSequence: UInt64, from reader: inout BinaryReader
    ) throws(EngineCodecError) {
        let count = try reader.readCount(elementBytesMin: messageBytesMin)
        queue.messages.reserveCapacity(count)
        var timers: [MessageTimer] = []
        var ready: [ReadyMessage] = []
        var retention: [RetentionEntry] = []
        retention.reserveCapacity(count)
        var previous: UInt64?
        for _ in 0..<count {
            let message = try decodeMessage(nextMessageSequence: nextMessageSequence, from: &reader)
            let sequence = message.sequence
            if let previous, previous >= sequence {
                throw reader.malformed("message sequence \(sequence) follows \(previous)")
            }
            previous = sequence
            queue.messages[sequence] = message
            queue.storedBytes += message.sizeBytes
            retention.append(RetentionEntry(sentTimestamp: message.sentTimestamp, sequence: sequence))
            var groupId: String?
            if queue.isFifo, let messageGroupId = message.messageGroupId {
                groupId = messageGroupId
                queue.groups[messageGroupId, default: FifoGroup()].sequences.append(sequence)
            }
            switch message.state {
            case .delayed:
                queue.delayedCount += 1
                timers.append(
                    MessageTimer(
                        atMilliseconds: message.visibleAtMilliseconds, sequence: sequence, version: message.version))
            case .available:
                queue.availableCount += 1
                if groupId == nil { ready.append(ReadyMessage(sequence: sequence, version: message.version)) }
            case .inFlight:
                queue.inFlightCount += 1
                if let groupId { queue.groups[groupId]!.inFlightCount += 1 }
                timers.append(
                    MessageTimer(
                        atMilliseconds: message.visibleAtMilliseconds, sequence: sequence, version: message.version))
            }
        }
        queue.timers = Heap(timers)
        queue.ready = Heap(ready)
        queue.retention = Heap(retention)
    }

    /// Timers that will not fire for their message any more, sorted; kept because they set the next wake-up.
    private static func decodeStaleTimers(
        into queue: inout QueueState, from reader: inout BinaryReader
    ) throws(EngineCodecError) {
        let count = try reader.readCount(elementBytesMin: 3)
        var previous: MessageTimer?
        for _ in 0..<count {
            let timer = MessageTimer(
                atMilliseconds: try reader.readSigned(in: timestampRange, "timer deadline"),
                sequence: try reader.readVarint(), version: try reader.readUInt32())
            if let previous, SnapshotEncoder.timerOrder(timer, previous) { throw reader.malformed("timers not sorted") }
            guard !SnapshotEncoder.isLiveTimer(timer, in: queue) else {
                throw reader.malformed("stale timer of message \(timer.sequence) is live")
            }
            previous = timer
            queue.timers.insert(timer)
        }
    }

    /// Every FIFO group with its scheduled head, then the ready groups, sorted. A group with messages must be
    /// listed; one without is kept as the engine had it.
    private static func decodeGroups(
        into queue: inout QueueState, from reader: inout BinaryReader
    ) throws(EngineCodecError) {
        let withMessages = queue.groups.count
        var listedWithMessages = 0
        let scheduledHeads = try reader.readMap { reader throws(EngineCodecError) in
            try reader.readOptional { reader throws(EngineCodecError) in try reader.readVarint() }
        }
        for (groupId, scheduledHead) in scheduledHeads {
            if queue.groups[groupId] != nil { listedWithMessages += 1 }
            queue.groups[groupId, default: FifoGroup()].scheduledHead = scheduledHead
        }
        guard listedWithMessages == withMessages else {
            throw reader.malformed("\(withMessages - listedWithMessages) FIFO groups with messages are not listed")
        }
        let count = try reader.readCount(elementBytesMin: 2)
        var entries: [ReadyGroup] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            // Format 3 writes when the head became visible.
            let visibleAt = reader.readyGroupsCarryTimes ? try reader.readSigned() : nil
            let head = try reader.readVarint()
            // Before format 3 groups went by head alone (the first rules): time 0 keeps that order.
            let entry = ReadyGroup(
                visibleAtMilliseconds: visibleAt ?? 0, headSequence: head, groupId: try reader.readString())
            if let previous = entries.last, SnapshotEncoder.readyGroupOrder(entry, previous) {
                throw reader.malformed("ready groups not sorted")
            }
            entries.append(entry)
        }
        queue.readyGroups = Heap(entries)
    }

    /// FIFO deduplication ids and receive attempts, and their expiry queues in deadline order.
    private static func decodeRecords(
        into queue: inout QueueState, from reader: inout BinaryReader
    ) throws(EngineCodecError) {
        queue.deduplication = try reader.readMap { reader throws(EngineCodecError) in
            DeduplicationRecord(
                messageId: try reader.readString(), fifoSequenceNumber: try reader.readVarint(),
                expiresAtMilliseconds: try reader.readSigned(in: timestampRange, "deduplication expiry"))
        }
        queue.deduplicationExpiry = Deque(
            expiryOrder(
                queue.deduplication.map { (expiresAtMilliseconds: $0.value.expiresAtMilliseconds, key: $0.key) }))
        queue.receiveAttempts = try reader.readMap { reader throws(EngineCodecError) in
            let expiresAt = try reader.readSigned(in: timestampRange, "receive attempt expiry")
            let count = try reader.readCount(elementBytesMin: 3)
            var receipts: [Identifiers.Receipt] = []
            receipts.reserveCapacity(count)
            for _ in 0..<count {
                receipts.append(
                    Identifiers.Receipt(
                        queueIncarnation: try reader.readVarint(), sequence: try reader.readVarint(),
                        receiveCount: try reader.readUInt32()))
            }
            return ReceiveAttempt(receipts: receipts, expiresAtMilliseconds: expiresAt)
        }
        queue.receiveAttemptExpiry = Deque(
            expiryOrder(
                queue.receiveAttempts.map { (expiresAtMilliseconds: $0.value.expiresAtMilliseconds, key: $0.key) }))
    }

    private static func expiryOrder(
        _ entries: [(expiresAtMilliseconds: Int64, key: String)]
    ) -> [(expiresAtMilliseconds: Int64, key: String)] {
        entries.sorted { left, right in
            left.expiresAtMilliseconds != right.expiresAtMilliseconds
                ? left.expiresAtMilliseconds < right.expiresAtMilliseconds : MessageDigest.utf8Less(left.key, right.key)
        }
    }
}
