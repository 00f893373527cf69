import DequeModule
import HeapModule

extension QueueEngine {
    /// ReceiveMessage: up to `maxNumberOfMessages` messages become in flight with a new receipt handle each.
    /// Messages received `maxReceiveCount` times are moved to the dead-letter queue instead.
    mutating func receiveMessages(_ request: ReceiveMessageRequest, rendering: Bool = true) throws(QueueError)
        -> [ReceivedMessage]
    {
        let now = clock
        try validateReceive(request)
        guard let configuration = queues[request.queueName]?.configuration else { throw .queueDoesNotExist() }
        var deadLetterTarget: (name: String, maxReceiveCount: Int, isRemote: Bool)?
        if let policy = configuration.redrivePolicy, let target = queueName(fromArn: policy.deadLetterTargetArn),
            target != request.queueName
        {
            if remoteShard(of: target) != nil {
                // On another shard: through the outbox, while it has room (else the message stays here).
                deadLetterTarget = (target, policy.maxReceiveCount, true)
            } else if queues[target] != nil {
                deadLetterTarget = (target, policy.maxReceiveCount, false)
            }
        }
        var outboxRoom = QueueLimits.outboxMessagesMax - outbox.count
        let selection = AttributeSelection(request)
        let visibilityMilliseconds =
            Int64(request.visibilityTimeoutSeconds ?? configuration.visibilityTimeout) * 1000
        let identifiers = self.identifiers
        var redriven: [StoredMessage] = []
        var taken = 0
        lastReceiveTaken = 0
        let received = try withQueue(request.queueName) { queue throws(QueueError) -> [ReceivedMessage] in
            if queue.isFifo, let attemptId = request.receiveRequestAttemptId,
                let attempt = queue.receiveAttempts[attemptId], attempt.expiresAtMilliseconds > now
            {
                let repeated = attempt.receipts.filter { receipt in
                    guard let message = queue.messages[receipt.sequence] else { return false }
                    return message.state == .inFlight && message.receiveCount == receipt.receiveCount
                }
                if !repeated.isEmpty {
                    guard rendering else { return [] }
                    return repeated.map { receipt in
                        selection.render(
                            queue.messages[receipt.sequence]!,
                            receiptHandle: identifiers.receiptHandle(receipt, queueName: queue.name))
                    }
                }
            }
            guard queue.inFlightCount < QueueLimits.inFlightMessagesMax else {
                throw QueueError(
                    .overLimit,
                    "You have reached the in-flight limit of \(QueueLimits.inFlightMessagesMax) messages for this queue."
                )
            }
            var results: [ReceivedMessage] = []
            var receipts: [Identifiers.Receipt] = []
            var candidates = CandidateCursor()
            while receipts.count < request.maxNumberOfMessages, let sequence = candidates.next(in: &queue) {
                let message = queue.messages[sequence]!
                if let deadLetterTarget, message.receiveCount >= deadLetterTarget.maxReceiveCount,
                    !deadLetterTarget.isRemote || outboxRoom > 0
                {
                    if let removed = queue.remove(sequence) { redriven.append(removed) }
                    if deadLetterTarget.isRemote { outboxRoom -= 1 }
                    continue
                }
                queue.hide(sequence, until: now + visibilityMilliseconds)
                queue.messages.update(sequence) { message in
                    message.receiveCount += 1
                    if message.firstReceiveTimestamp == nil { message.firstReceiveTimestamp = now }
                    message.lastReceiveTimestamp = now
                }
                let updated = queue.messages[sequence]!
                let receipt = Identifiers.Receipt(
                    queueIncarnation: queue.incarnation, sequence: sequence, receiveCount: updated.receiveCount)
                receipts.append(receipt)
                if rendering {
                    results.append(
                        selection.render(
                            updated, receiptHandle: identifiers.receiptHandle(receipt, queueName: queue.name)))
                }
            }
            taken = receipts.count
            queue.receivedCount += UInt64(receipts.count)
            if queue.isFifo, let attemptId = request.receiveRequestAttemptId, !receipts.isEmpty {
                let expiresAt = now + QueueLimits.receiveAttemptWindowMilliseconds
                queue.receiveAttempts[attemptId] = ReceiveAttempt(receipts: receipts, expiresAtMilliseconds: expiresAt)
                queue.receiveAttemptExpiry.append((expiresAt, attemptId))
            }
            return results
        }
        lastReceiveTaken = taken
        if let deadLetterTarget {
            let sourceArn = queueArn(request.queueName)
            for message in redriven {
                if deadLetterTarget.isRemote {
                    sendAway(
                        message, from: request.queueName, to: deadLetterTarget.name, deadLetterSourceArn: sourceArn,
                        originQueueName: request.queueName)
                } else {
                    enqueueMoved(
                        message, into: deadLetterTarget.name, deadLetterSourceArn: sourceArn,
                        originQueueName: request.queueName, keepsReceives: true)
                }
            }
        }
        return received
    }

    /// Puts a message taken from another queue (redrive or move task) into `queueName` as available,
    /// keeping its id, body, attributes and sent time. With `keepsReceives` (a move to a dead-letter
    /// queue, as SQS does) it keeps its receive count and first receive time; otherwise (a move task, or
    /// a return from a queue that is gone, which must not send it straight back) they start again.
    mutating func enqueueMoved(
        _ message: StoredMessage, into queueName: String, deadLetterSourceArn: String?, originQueueName: String?,
        keepsReceives: Bool
    ) {
        guard queues[queueName] != nil else { return }
        let sequence = takeSequence()
        let isFifo = queues[queueName]!.isFifo
        var moved = StoredMessage(
            sequence: sequence, messageId: message.messageId, body: message.body, md5OfBody: message.md5OfBody,
            messageAttributes: message.messageAttributes, md5OfMessageAttributes: message.md5OfMessageAttributes,
            systemAttributes: message.systemAttributes, md5OfSystemAttributes: message.md5OfSystemAttributes,
            senderId: message.senderId, sentTimestamp: message.sentTimestamp,
            messageGroupId: message.messageGroupId ?? (isFifo ? "default" : nil),
            messageDeduplicationId: message.messageDeduplicationId,
            fifoSequenceNumber: isFifo ? sequence : nil, sizeBytes: message.sizeBytes,
            state: .available, visibleAtMilliseconds: clock)
        moved.deadLetterQueueSourceArn = deadLetterSourceArn
        moved.originQueueName = originQueueName
        if keepsReceives && rules >= 2 {
            moved.receiveCount = message.receiveCount
            moved.firstReceiveTimestamp = message.firstReceiveTimestamp
        }
        let now = clock
        queues[queueName]!.advance(to: now)
        queues[queueName]!.insert(moved)
    }
}

/// Walks the receivable messages of a queue in order: oldest first for standard queues; for FIFO, the
/// ready groups oldest head first, and within a group its messages in order until one is not available.
struct CandidateCursor {
    /// The group being read and the last sequence taken from it.
    private var currentGroup: (id: String, after: UInt64?)?

    mutating func next(in queue: inout QueueState) -> UInt64? {
        if !queue.isFifo {
            while let entry = queue.ready.popMin() {
                if let message = queue.messages[entry.sequence], message.version == entry.version,
                    message.state == .available
                {
                    return entry.sequence
                }
            }
            return nil
        }
        while true {
            if let group = currentGroup, let groupState = queue.groups[group.id] {
                // Group sequences are increasing; find the first after the last one taken.
                var position = group.after.map { groupState.sequences.firstIndex(atLeast: $0 + 1) } ?? 0
                while position < groupState.sequences.count {
                    let sequence = groupState.sequences[position]
                    position += 1
                    guard let message = queue.messages[sequence] else { continue }
                    guard message.state == .available else { break }
                    currentGroup = (group.id, sequence)
                    return sequence
                }
                currentGroup = nil
            }
            guard let ready = queue.readyGroups.popMin() else { return nil }
            queue.readyGroupPopped(ready)
            guard queue.readyHead(of: ready.groupId) == ready.headSequence else { continue }
            currentGroup = (ready.groupId, nil)
        }
    }

    /// Stops reading the current group; the next call takes the next ready group.
    mutating func leaveGroup() { currentGroup = nil }
}

/// Which attributes a receive returns, and how a message is rendered with them.
struct AttributeSelection {
    static let systemNames: [String] = [
        "AWSTraceHeader", "ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount", "DeadLetterQueueSourceArn",
        "MessageDeduplicationId", "MessageGroupId", "SenderId", "SentTimestamp", "SequenceNumber",
    ]
    var systemNames: Set<String>
    var allMessageAttributes = false
    var messageAttributeNames: Set<String> = []
    var messageAttributePrefixes: [String] = []

    init(_ request: ReceiveMessageRequest) {
        if request.messageSystemAttributeNames.contains("All") {
            systemNames = Set(Self.systemNames)
        } else {
            systemNames = Set(request.messageSystemAttributeNames)
        }
        for name in request.messageAttributeNames {
            if name == "All" || name == ".*" || name == "*" {
                allMessageAttributes = true
            } else if name.hasSuffix(".*") {
                messageAttributePrefixes.append(String(name.dropLast(2)))
            } else {
                messageAttributeNames.insert(name)
            }
        }
    }

    func render(_ message: StoredMessage, receiptHandle: String) -> ReceivedMessage {
        var attributes: [String: String] = [:]
        for name in systemNames {
            switch name {
            case "SenderId": attributes[name] = message.senderId
            case "SentTimestamp": attributes[name] = String(message.sentTimestamp)
            case "ApproximateReceiveCount": attributes[name] = String(message.receiveCount)
            case "ApproximateFirstReceiveTimestamp":
                attributes[name] = String(message.firstReceiveTimestamp ?? message.sentTimestamp)
            case "SequenceNumber":
                attributes[name] = message.fifoSequenceNumber.map(QueueEngine.formatSequenceNumber)
            case "MessageDeduplicationId": attributes[name] = message.messageDeduplicationId
            case "MessageGroupId": attributes[name] = message.messageGroupId
            case "AWSTraceHeader": attributes[name] = message.systemAttributes["AWSTraceHeader"]?.stringValue
            case "DeadLetterQueueSourceArn": attributes[name] = message.deadLetterQueueSourceArn
            default: break
            }
        }
        var selected: MessageAttributes = [:]
        if allMessageAttributes {
            selected = message.messageAttributes
        } else if !messageAttributeNames.isEmpty || !messageAttributePrefixes.isEmpty {
            for (name, value) in message.messageAttributes
            where messageAttributeNames.contains(name) || messageAttributePrefixes.contains(where: name.hasPrefix) {
                selected[name] = value
            }
        }
        return ReceivedMessage(
            messageId: message.messageId, receiptHandle: receiptHandle, md5OfBody: message.md5OfBody,
            body: message.body,
            attributes: attributes, messageAttributes: selected,
            md5OfMessageAttributes: selected.count == message.messageAttributes.count
                ? message.md5OfMessageAttributes : MessageDigest.md5(ofAttributes: selected))
    }

}

extension QueueEngine {
    /// The checks ReceiveMessage makes before touching any message, in its order: a receive that fails
    /// them fails the same way whether or not the queue has messages.
    public func validateReceive(_ request: ReceiveMessageRequest) throws(QueueError) {
        guard (1...QueueLimits.receiveMessagesMax).contains(request.maxNumberOfMessages) else {
            throw QueueError.invalidParameter(
                "MaxNumberOfMessages", String(request.maxNumberOfMessages),
                reason: "Must be between 1 and 10, if provided.")
        }
        if let visibility = request.visibilityTimeoutSeconds,
            !(0...QueueLimits.visibilityTimeoutSecondsMax).contains(visibility)
        {
            throw QueueError.invalidParameter(
                "VisibilityTimeout", String(visibility), reason: "Must be between 0 and 43200, if provided.")
        }
        guard queues[request.queueName] != nil else { throw .queueDoesNotExist() }
        if let attemptId = request.receiveRequestAttemptId {
            try MessageValidation.validateFifoId(attemptId, parameter: "ReceiveRequestAttemptId")
        }
    }
}
