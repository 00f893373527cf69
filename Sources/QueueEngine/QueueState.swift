import DequeModule
import HeapModule

/// A FIFO message group: its messages in send order (deleted ones are skipped lazily) and how many are
/// in flight. The group is receivable while its first message is visible (`readyHead`).
struct FifoGroup: Sendable {
    var sequences: Deque<UInt64> = []
    var inFlightCount = 0
    /// The head sequence of this group's entry in `readyGroups`, if one is there: avoids duplicates.
    var scheduledHead: UInt64?
}

/// A remembered FIFO deduplication id.
struct DeduplicationRecord: Sendable {
    var messageId: String
    var fifoSequenceNumber: UInt64
    var expiresAtMilliseconds: Int64
}

/// A remembered FIFO ReceiveRequestAttemptId: what that receive returned.
struct ReceiveAttempt: Sendable {
    var receipts: [Identifiers.Receipt]
    var expiresAtMilliseconds: Int64
}

/// One queue: configuration, tags, messages and the indexes that make receive, delete and visibility
/// changes cost O(log n) in the queue's depth.
struct QueueState: Sendable {
    let name: String
    let incarnation: UInt64
    let createdTimestamp: Int64
    var lastModifiedTimestamp: Int64
    var configuration: QueueConfiguration
    var tags: [String: String] = [:]
    var lastPurgeTimestamp: Int64?

    var messages = MessageStore()
    /// The `sizeBytes` of every message held (an index: not encoded, rebuilt on restore).
    var storedBytes = 0
    var availableCount = 0
    var inFlightCount = 0
    var delayedCount = 0
    /// Messages sent, received and deleted since this replica started or restored a snapshot: statistics
    /// for the console and metrics (not encoded, and read by nothing that changes state).
    var sentCount: UInt64 = 0
    var receivedCount: UInt64 = 0
    var deletedCount: UInt64 = 0

    /// Delay and visibility deadlines; entries whose version no longer matches are skipped.
    var timers = Heap<MessageTimer>()
    /// Standard queues: available messages, oldest first.
    var ready = Heap<ReadyMessage>()
    /// Retention deadlines.
    var retention = Heap<RetentionEntry>()
    /// FIFO queues: groups and the groups that may be ready.
    var groups: [String: FifoGroup] = [:]
    var readyGroups = Heap<ReadyGroup>()
    var deduplication: [String: DeduplicationRecord] = [:]
    var deduplicationExpiry: Deque<(expiresAtMilliseconds: Int64, key: String)> = []
    var receiveAttempts: [String: ReceiveAttempt] = [:]
    var receiveAttemptExpiry: Deque<(expiresAtMilliseconds: Int64, key: String)> = []

    var isFifo: Bool { configuration.fifoQueue }
    /// The engine's `rules`, which the queue's own behaviour follows (set by the engine; not encoded).
    var rules = Rules.current

    init(name: String, incarnation: UInt64, configuration: QueueConfiguration, now: Int64) {
        self.name = name
        self.incarnation = incarnation
        self.configuration = configuration
        self.createdTimestamp = now
        self.lastModifiedTimestamp = now
    }

    // MARK: Message lifecycle

    /// Adds a message in the state it carries (`delayed` or `available`).
    mutating func insert(_ message: StoredMessage) {
        precondition(message.state != .inFlight, "message \(message.sequence) inserted in flight")
        messages[message.sequence] = message
        storedBytes += message.sizeBytes
        retention.insert(RetentionEntry(sentTimestamp: message.sentTimestamp, sequence: message.sequence))
        if let groupId = message.messageGroupId, isFifo {
            groups[groupId, default: FifoGroup()].sequences.append(message.sequence)
        }
        switch message.state {
        case .delayed:
            delayedCount += 1
            timers.insert(
                MessageTimer(
                    atMilliseconds: message.visibleAtMilliseconds, sequence: message.sequence,
                    version: message.version))
        case .available:
            availableCount += 1
            enqueueAvailable(message)
        case .inFlight:
            break
        }
    }

    /// Removes a message in any state; returns it.
    @discardableResult
    mutating func remove(_ sequence: UInt64) -> StoredMessage? {
        guard let message = messages.removeValue(forKey: sequence) else { return nil }
        storedBytes -= message.sizeBytes
        // Keep the oldest retention entry a live message's (the oldest message's age); each stale entry is
        // dropped once.
        while let oldest = retention.min, messages[oldest.sequence] == nil { retention.removeMin() }
        switch message.state {
        case .delayed: delayedCount -= 1
        case .available: availableCount -= 1
        case .inFlight:
            inFlightCount -= 1
            if let groupId = message.messageGroupId, isFifo { groups[groupId]?.inFlightCount -= 1 }
        }
        if let groupId = message.messageGroupId, isFifo {
            removeFromGroup(groupId, sequence)
            scheduleGroup(groupId)
        }
        compactIfSparse()
        return message
    }

    /// Makes a delayed or in-flight message available, from `time` (when its delay or visibility timeout
    /// ended, or when its visibility was set to 0).
    mutating func makeAvailable(_ sequence: UInt64, at time: Int64) {
        guard var message = messages[sequence], message.state != .available else { return }
        let wasInFlight = message.state == .inFlight
        if wasInFlight { inFlightCount -= 1 } else { delayedCount -= 1 }
        message.state = .available
        if rules >= 2 { message.visibleAtMilliseconds = time }
        message.version &+= 1
        availableCount += 1
        messages[sequence] = message
        if wasInFlight, isFifo, let groupId = message.messageGroupId {
            groups[groupId]?.inFlightCount -= 1
        }
        enqueueAvailable(message)
    }

    /// Hides a message until `visibleAt`; it becomes in flight (a receive or a visibility change).
    mutating func hide(_ sequence: UInt64, until visibleAt: Int64) {
        guard var message = messages[sequence] else { return }
        switch message.state {
        case .delayed: delayedCount -= 1
        case .available: availableCount -= 1
        case .inFlight: inFlightCount -= 1
        }
        if message.state != .inFlight, isFifo, let groupId = message.messageGroupId {
            groups[groupId]?.inFlightCount += 1
        }
        message.state = .inFlight
        message.visibleAtMilliseconds = visibleAt
        message.version &+= 1
        inFlightCount += 1
        messages[sequence] = message
        timers.insert(MessageTimer(atMilliseconds: visibleAt, sequence: sequence, version: message.version))
    }

    private mutating func enqueueAvailable(_ message: StoredMessage) {
        if isFifo, let groupId = message.messageGroupId {
            scheduleGroup(groupId)
        } else {
            ready.insert(ReadyMessage(sequence: message.sequence, version: message.version))
        }
    }

    // MARK: FIFO groups

    /// Drops deleted messages from the front of a group, in place; forgets an empty group.
    mutating func trimGroup(_ groupId: String) {
        guard let index = groups.index(forKey: groupId) else { return }
        while let first = groups.values[index].sequences.first, messages[first] == nil {
            groups.values[index].sequences.removeFirst()
        }
        if groups.values[index].sequences.isEmpty && groups.values[index].inFlightCount == 0 {
            groups.remove(at: index)
        }
    }

    /// Removes a message from its group's order, in place. Removed messages are almost always near the
    /// front (in flight, expiring or moved), so this costs O(log n) to find plus a short shift.
    mutating func removeFromGroup(_ groupId: String, _ sequence: UInt64) {
        guard let index = groups.index(forKey: groupId) else { return }
        let position = groups.values[index].sequences.firstIndex(atLeast: sequence)
        if position < groups.values[index].sequences.count, groups.values[index].sequences[position] == sequence {
            groups.values[index].sequences.remove(at: position)
        }
    }

    /// A ready-group entry was taken out of `readyGroups`.
    mutating func readyGroupPopped(_ entry: ReadyGroup) {
        guard let index = groups.index(forKey: entry.groupId) else { return }
        if groups.values[index].scheduledHead == entry.headSequence { groups.values[index].scheduledHead = nil }
    }

    /// The head message of a group, when it can be received now: a group is receivable while its first
    /// message is visible (a later one in flight only ends what a receive takes from it).
    func readyHead(of groupId: String) -> UInt64? {
        guard let group = groups[groupId], rules >= 2 || group.inFlightCount == 0 else { return nil }
        for sequence in group.sequences {
            guard let message = messages[sequence] else { continue }
            return message.state == .available ? sequence : nil
        }
        return nil
    }

    /// Marks a group ready if its head can be received.
    mutating func scheduleGroup(_ groupId: String) {
        trimGroup(groupId)
        guard let head = readyHead(of: groupId), groups[groupId]?.scheduledHead != head else { return }
        groups[groupId]!.scheduledHead = head
        // Under the first rules groups go by head sequence alone.
        let visibleAt = rules >= 2 ? messages[head]!.visibleAtMilliseconds : 0
        readyGroups.insert(ReadyGroup(visibleAtMilliseconds: visibleAt, headSequence: head, groupId: groupId))
    }

    // MARK: Time

    /// Runs out delays and visibility timeouts due by `now`, and expires messages past retention.
    mutating func advance(to now: Int64) {
        while let timer = timers.min, timer.atMilliseconds <= now {
            timers.removeMin()
            guard let message = messages[timer.sequence], message.version == timer.version,
                message.state != .available
            else { continue }
            makeAvailable(timer.sequence, at: timer.atMilliseconds)
        }
        let retentionMilliseconds = Int64(configuration.messageRetentionPeriod) * 1000
        while let entry = retention.min, entry.sentTimestamp + retentionMilliseconds <= now {
            retention.removeMin()
            remove(entry.sequence)
        }
        while let first = deduplicationExpiry.first, first.expiresAtMilliseconds <= now {
            deduplicationExpiry.removeFirst()
            if let record = deduplication[first.key], record.expiresAtMilliseconds <= now {
                deduplication[first.key] = nil
            }
        }
        while let first = receiveAttemptExpiry.first, first.expiresAtMilliseconds <= now {
            receiveAttemptExpiry.removeFirst()
            if let attempt = receiveAttempts[first.key], attempt.expiresAtMilliseconds <= now {
                receiveAttempts[first.key] = nil
            }
        }
    }

    /// The earliest time a delayed or in-flight message may become available (a long-poll wake-up hint).
    var nextTimerMilliseconds: Int64? { timers.min?.atMilliseconds }

    /// Drops timers that can no longer fire (their message deleted, received again or made visible) from
    /// the front of the heap, so that the next timer is a live one: a long poll is not woken for a message
    /// that is gone. Under the first rules leftovers stay until they come due.
    mutating func dropLeftoverTimers() {
        guard rules >= 2 else { return }
        while let timer = timers.min {
            if let message = messages[timer.sequence], message.version == timer.version, message.state != .available {
                return
            }
            timers.removeMin()
        }
    }

    /// The message counts as `advance(to: time)` would leave them, without changing anything: what a
    /// request at `time` sees. Scans the timers and retention deadlines only when one is due.
    func counts(at time: Int64) -> (available: Int, inFlight: Int, delayed: Int) {
        var counts = (available: availableCount, inFlight: inFlightCount, delayed: delayedCount)
        let retentionMilliseconds = Int64(configuration.messageRetentionPeriod) * 1000
        let timersDue = (timers.min?.atMilliseconds ?? .max) <= time
        let expiryDue = retention.min.map { $0.sentTimestamp + retentionMilliseconds <= time } ?? false
        guard timersDue || expiryDue else { return counts }
        var madeAvailable = Set<UInt64>()
        if timersDue {
            for timer in timers.unordered where timer.atMilliseconds <= time {
                guard let message = messages[timer.sequence], message.version == timer.version,
                    message.state != .available, madeAvailable.insert(timer.sequence).inserted
                else { continue }
                if message.state == .delayed { counts.delayed -= 1 } else { counts.inFlight -= 1 }
                counts.available += 1
            }
        }
        if expiryDue {
            for entry in retention.unordered where entry.sentTimestamp + retentionMilliseconds <= time {
                guard let message = messages[entry.sequence] else { continue }
                if message.state == .available || madeAvailable.contains(entry.sequence) {
                    counts.available -= 1
                } else if message.state == .delayed {
                    counts.delayed -= 1
                } else {
                    counts.inFlight -= 1
                }
            }
        }
        return counts
    }

    /// Removes every message (PurgeQueue) and, as AWS does, forgets FIFO deduplication ids.
    mutating func purge() {
        deduplication = [:]
        deduplicationExpiry = []
        messages = MessageStore()
        storedBytes = 0
        availableCount = 0
        inFlightCount = 0
        delayedCount = 0
        timers = Heap()
        ready = Heap()
        retention = Heap()
        groups = [:]
        readyGroups = Heap()
        receiveAttempts = [:]
        receiveAttemptExpiry = []
    }

    /// Rebuilds lazily-pruned indexes when stale entries outnumber live ones, keeping removal O(1)
    /// amortized and memory proportional to the live messages.
    private mutating func compactIfSparse() {
        let live = messages.count
        let slack = 4096
        if timers.count > 2 * (inFlightCount + delayedCount) + slack {
            timers = Heap(timers.unordered.filter { messages[$0.sequence]?.version == $0.version })
        }
        if ready.count > 2 * availableCount + slack {
            ready = Heap(ready.unordered.filter { messages[$0.sequence]?.version == $0.version })
        }
        if retention.count > 2 * live + slack {
            retention = Heap(retention.unordered.filter { messages[$0.sequence] != nil })
        }
        if readyGroups.count > 2 * groups.count + slack {
            var kept: [ReadyGroup] = []
            for index in groups.indices { groups.values[index].scheduledHead = nil }
            for entry in readyGroups.unordered
            where readyHead(of: entry.groupId) == entry.headSequence && groups[entry.groupId]?.scheduledHead == nil {
                groups[entry.groupId]!.scheduledHead = entry.headSequence
                kept.append(entry)
            }
            readyGroups = Heap(kept)
        }
    }
}
