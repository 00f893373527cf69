extension QueueEngine {
    /// SendMessage / SendMessageBatch. A batch's request-level errors throw; per-entry errors are results.
    /// A single send's entry error throws.
    mutating func sendMessages(
        queueName: String, entries: [SendMessageEntry], senderId: String, isBatch: Bool
    ) throws(QueueError) -> [BatchEntryResult<SentMessage>] {
        guard queues[queueName] != nil else { throw .queueDoesNotExist() }
        if isBatch {
            try MessageValidation.validateBatch(ids: entries.map(\.id), entryName: "SendMessageBatchRequestEntry")
            let total = entries.reduce(0) { sum, entry in
                sum + entry.body.utf8.count
                    + entry.messageAttributes.reduce(0) { $0 + $1.value.sizeBytes(name: $1.key) }
            }
            guard total <= QueueLimits.batchSizeBytesMax else {
                throw QueueError(
                    .batchRequestTooLong,
                    "Batch requests cannot be longer than \(QueueLimits.batchSizeBytesMax) bytes. You have sent \(total) bytes."
                )
            }
            // On a FIFO queue an entry without a group, or without a deduplication id the queue cannot
            // derive, fails the whole request (as AWS answers), not just its entry.
            if let configuration = queues[queueName]?.configuration, configuration.fifoQueue {
                for entry in entries {
                    if let missing = Self.missingFifoIdentity(entry, configuration) {
                        throw missing(.invalidParameterValue)
                    }
                }
            }
        } else if entries.count != 1 {
            throw QueueError(
                .invalidParameterValue, "A single SendMessage carries exactly one message, not \(entries.count).")
        }
        var results: [BatchEntryResult<SentMessage>] = []
        results.reserveCapacity(entries.count)
        for entry in entries {
            do {
                let sent = try sendOne(entry, queueName: queueName, senderId: senderId)
                results.append(BatchEntryResult(id: entry.id ?? "", outcome: .success(sent)))
            } catch {
                if !isBatch { throw error }
                results.append(BatchEntryResult(id: entry.id ?? "", outcome: .failure(error)))
            }
        }
        return results
    }

    private mutating func sendOne(
        _ entry: SendMessageEntry, queueName: String, senderId: String
    ) throws(QueueError) -> SentMessage {
        let now = clock
        // Read only what is needed: a copy of the whole queue would make the mutation below copy it.
        guard let configuration = queues[queueName]?.configuration else { throw .queueDoesNotExist() }
        guard !entry.body.isEmpty else {
            throw QueueError(.missingParameter, "The request must contain the parameter MessageBody.")
        }
        guard MessageValidation.hasOnlyAllowedCharacters(entry.body) else {
            throw QueueError(.invalidMessageContents, MessageValidation.invalidCharactersMessage)
        }
        let attributesSize = try MessageValidation.validateAttributes(entry.messageAttributes)
        for name in entry.messageSystemAttributes.keys.sorted() {
            let value = entry.messageSystemAttributes[name]!
            guard name == "AWSTraceHeader", value.dataType == "String", let text = value.stringValue, !text.isEmpty
            else {
                throw QueueError(
                    .invalidParameterValue,
                    "Message system attribute name '\(name)' is invalid: only AWSTraceHeader of type String is supported."
                )
            }
        }
        let size = entry.body.utf8.count + attributesSize
        guard size <= configuration.maximumMessageSize else {
            throw QueueError(
                .invalidParameterValue,
                "One or more parameters are invalid. Reason: Message must be shorter than \(configuration.maximumMessageSize) bytes."
            )
        }
        if let delay = entry.delaySeconds {
            guard (0...QueueLimits.delaySecondsMax).contains(delay) else {
                throw QueueError.invalidParameter(
                    "DelaySeconds", String(delay),
                    reason: "DelaySeconds must be >= 0 and <= \(QueueLimits.delaySecondsMax).")
            }
            if configuration.fifoQueue && delay != 0 {
                throw QueueError.invalidParameter(
                    "DelaySeconds", String(delay),
                    reason: "The request include parameter that is not valid for this queue type.")
            }
        }
        if let groupId = entry.messageGroupId {
            try MessageValidation.validateFifoId(groupId, parameter: "MessageGroupId")
        }
        let md5OfBody = MessageDigest.md5(ofBody: entry.body)
        let md5OfAttributes = MessageDigest.md5(ofAttributes: entry.messageAttributes)
        let md5OfSystemAttributes = MessageDigest.md5(ofAttributes: entry.messageSystemAttributes)

        var deduplicationKey: String?
        if configuration.fifoQueue {
            if let missing = Self.missingFifoIdentity(entry, configuration) {
                throw missing(entry.messageGroupId == nil ? .missingParameter : .invalidParameterValue)
            }
            let groupId = entry.messageGroupId!
            let deduplicationId: String
            if let given = entry.messageDeduplicationId {
                try MessageValidation.validateFifoId(given, parameter: "MessageDeduplicationId")
                deduplicationId = given
            } else {
                deduplicationId = MessageDigest.sha256(ofBody: entry.body)
            }
            let key =
                configuration.deduplicationScope == "messageGroup"
                ? groupId + "\u{0}" + deduplicationId : deduplicationId
            if let record = queues[queueName]?.deduplication[key], record.expiresAtMilliseconds > now {
                return SentMessage(
                    messageId: record.messageId, md5OfMessageBody: md5OfBody, md5OfMessageAttributes: md5OfAttributes,
                    md5OfMessageSystemAttributes: md5OfSystemAttributes,
                    sequenceNumber: Self.formatSequenceNumber(record.fifoSequenceNumber))
            }
            deduplicationKey = key
        } else if let given = entry.messageDeduplicationId {
            throw QueueError.invalidParameter(
                "MessageDeduplicationId", given,
                reason: "The request include parameter that is not valid for this queue type.")
        }

        let sequence = takeSequence()
        // A FIFO queue takes no per-message delay: its DelaySeconds=0 means the queue's delay, as on AWS.
        let delaySeconds =
            configuration.fifoQueue ? configuration.delaySeconds : entry.delaySeconds ?? configuration.delaySeconds
        let messageId = identifiers.messageId(sequence: sequence)
        let message = StoredMessage(
            sequence: sequence, messageId: messageId, body: entry.body,
            md5OfBody: md5OfBody, messageAttributes: entry.messageAttributes, md5OfMessageAttributes: md5OfAttributes,
            systemAttributes: entry.messageSystemAttributes, md5OfSystemAttributes: md5OfSystemAttributes,
            senderId: senderId, sentTimestamp: now, messageGroupId: entry.messageGroupId,
            messageDeduplicationId: configuration.fifoQueue
                ? (entry.messageDeduplicationId ?? MessageDigest.sha256(ofBody: entry.body)) : nil,
            fifoSequenceNumber: configuration.fifoQueue ? sequence : nil, sizeBytes: size,
            state: delaySeconds > 0 ? .delayed : .available,
            visibleAtMilliseconds: now + Int64(delaySeconds) * 1000)
        try withQueue(queueName) { queue in
            queue.insert(message)
            queue.sentCount += 1
            if let deduplicationKey {
                let expiresAt = now + QueueLimits.deduplicationWindowMilliseconds
                queue.deduplication[deduplicationKey] = DeduplicationRecord(
                    messageId: messageId, fifoSequenceNumber: sequence, expiresAtMilliseconds: expiresAt)
                queue.deduplicationExpiry.append((expiresAt, deduplicationKey))
            }
        }
        return SentMessage(
            messageId: messageId, md5OfMessageBody: md5OfBody, md5OfMessageAttributes: md5OfAttributes,
            md5OfMessageSystemAttributes: md5OfSystemAttributes,
            sequenceNumber: configuration.fifoQueue ? Self.formatSequenceNumber(sequence) : nil)
    }

    /// FIFO sequence numbers are 20-digit decimal strings, as SQS's are.
    static func formatSequenceNumber(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }
}

extension QueueEngine {
    /// What a FIFO send entry lacks, as an error of the code the caller gives (a single send and a batch
    /// answer the missing group with different codes), or nil when it has its group and a deduplication id.
    static func missingFifoIdentity(
        _ entry: SendMessageEntry, _ configuration: QueueConfiguration
    ) -> ((QueueError.Code) -> QueueError)? {
        if entry.messageGroupId == nil {
            return { QueueError($0, "The request must contain the parameter MessageGroupId.") }
        }
        if entry.messageDeduplicationId == nil && !configuration.contentBasedDeduplication {
            return {
                QueueError(
                    $0,
                    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
                )
            }
        }
        return nil
    }
}
