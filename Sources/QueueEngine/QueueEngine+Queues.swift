extension QueueEngine {
    /// Whether `name` is a valid queue name: 1–80 characters of `[A-Za-z0-9_-]`, plus `.fifo` for FIFO.
    /// A queue of another account (`ACCOUNT/NAME`, `AccountScope`; from rules 3) is checked by its bare name.
    static func isValidQueueName(_ stored: String, fifo: Bool, rules: UInt8 = Rules.current) -> Bool {
        let (account, name) = AccountScope.split(stored)
        if let account, rules < 3 || !AccountScope.isAccountId(account) { return false }
        guard !name.isEmpty, name.utf8.count <= QueueLimits.queueNameLengthMax else { return false }
        var base = Substring(name)
        if fifo {
            guard name.hasSuffix(".fifo") else { return false }
            base = base.dropLast(5)
        }
        guard !base.isEmpty else { return false }
        return base.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == 0x2d || byte == 0x5f
        }
    }

    mutating func createQueue(name: String, attributes: [String: String], tags: [String: String]) throws(QueueError) {
        let wantsFifo = (attributes["FifoQueue"]?.lowercased() == "true")
        guard Self.isValidQueueName(name, fifo: wantsFifo, rules: rules) else {
            if name.hasSuffix(".fifo") && !wantsFifo {
                throw QueueError(
                    .invalidParameterValue,
                    "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length. A FIFO queue name ends with .fifo and needs the FifoQueue attribute."
                )
            }
            throw QueueError(
                .invalidParameterValue,
                wantsFifo
                    ? "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
                    : "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
        }
        if let existing = queues[name] {
            var requested = existing.configuration
            try requested.apply(attributes, isCreate: existing.configuration.fifoQueue == wantsFifo)
            guard requested == existing.configuration else {
                // AWS names the first attribute whose value differs; ones equal to the queue's do not count.
                var differing = attributes.keys.sorted().first { key in
                    var single = existing.configuration
                    return (try? single.apply([key: attributes[key]!], isCreate: true)) != nil
                        && single != existing.configuration
                }
                if differing == nil { differing = attributes.keys.sorted().first }
                throw QueueError(
                    .queueNameExists,
                    "A queue already exists with the same name and a different value for attribute \(differing ?? "")")
            }
            return
        }
        if let deletedAt = deletedQueues[name], clock - deletedAt < QueueLimits.queueDeletedRecentlyMilliseconds {
            throw QueueError(
                .queueDeletedRecently,
                "You must wait 60 seconds after deleting a queue before you can create another with the same name.")
        }
        guard queues.count < QueueLimits.queuesMax else {
            throw QueueError(.overLimit, "The maximum number of queues (\(QueueLimits.queuesMax)) has been reached.")
        }
        var configuration = QueueConfiguration()
        try configuration.apply(attributes, isCreate: true)
        try validateTags(tags)
        if let redrive = configuration.redrivePolicy {
            try validateRedrive(redrive, sourceName: name, sourceIsFifo: configuration.fifoQueue)
        }
        var queue = QueueState(name: name, incarnation: nextQueueIncarnation, configuration: configuration, now: clock)
        queue.rules = rules
        queue.tags = tags
        nextQueueIncarnation += 1
        queues[name] = queue
        deletedQueues[name] = nil
    }

    mutating func deleteQueue(name: String) throws(QueueError) {
        guard queues.removeValue(forKey: name) != nil else { throw .queueDoesNotExist() }
        deletedQueues[name] = clock
        moveTasks[name] = nil
    }

    mutating func setQueueAttributes(name: String, attributes: [String: String]) throws(QueueError) {
        let now = clock
        guard let existing = queues[name]?.configuration else { throw .queueDoesNotExist() }
        var configuration = existing
        try configuration.apply(attributes, isCreate: false)
        if let redrive = configuration.redrivePolicy, redrive != existing.redrivePolicy {
            try validateRedrive(redrive, sourceName: name, sourceIsFifo: configuration.fifoQueue)
        }
        try withQueue(name) { queue in
            queue.configuration = configuration
            queue.lastModifiedTimestamp = now
            queue.advance(to: now)
        }
    }

    /// Checks a RedrivePolicy: the dead-letter queue exists, has the same type, and allows this source.
    /// A dead-letter queue on another shard is checked there by the node before it proposes the policy;
    /// here only its type, which its name tells.
    func validateRedrive(_ policy: RedrivePolicy, sourceName: String, sourceIsFifo: Bool) throws(QueueError) {
        guard let targetName = queueName(fromArn: policy.deadLetterTargetArn) else {
            throw .deadLetterTargetMissing(policy.json)
        }
        let targetIsFifo: Bool
        if remoteShard(of: targetName) != nil {
            targetIsFifo = targetName.hasSuffix(".fifo")
        } else {
            guard let target = queues[targetName] else { throw .deadLetterTargetMissing(policy.json) }
            targetIsFifo = target.isFifo
        }
        // A dead-letter queue belongs to its source's account, as in SQS.
        guard AccountScope.split(targetName).account == AccountScope.split(sourceName).account else {
            throw .deadLetterTargetMissing(policy.json)
        }
        guard targetIsFifo == sourceIsFifo else {
            throw QueueError(
                .invalidParameterValue,
                "Value \(policy.json) for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be the same type of queue as the source."
            )
        }
        if remoteShard(of: targetName) == nil {
            try checkDeadLetterTarget(targetName, sourceArn: queueArn(sourceName), policyJSON: policy.json)
        }
    }

    mutating func purgeQueue(name: String) throws(QueueError) {
        let now = clock
        try withQueue(name) { queue throws(QueueError) in
            if let last = queue.lastPurgeTimestamp, now - last < QueueLimits.purgeIntervalMilliseconds {
                throw QueueError(
                    .purgeQueueInProgress,
                    "Only one PurgeQueue operation on \(name) is allowed every 60 seconds.")
            }
            queue.lastPurgeTimestamp = now
            queue.purge()
        }
    }

    // MARK: Tags

    func validateTags(_ tags: [String: String]) throws(QueueError) {
        for key in tags.keys.sorted() {
            let value = tags[key]!
            guard !key.isEmpty, key.count <= QueueLimits.tagKeyLengthMax, value.count <= QueueLimits.tagValueLengthMax
            else { throw QueueError(.invalidParameterValue, "Tag key or value is out of range: \(key).") }
            guard !key.hasPrefix("aws:") else {
                throw QueueError(.invalidParameterValue, "Tag keys cannot start with the reserved prefix aws:.")
            }
        }
        guard tags.count <= QueueLimits.tagsMax else {
            throw QueueError(
                .invalidParameterValue, "Too many tags added for queue. The maximum is \(QueueLimits.tagsMax).")
        }
    }

    mutating func tagQueue(name: String, tags: [String: String]) throws(QueueError) {
        guard let existing = queues[name]?.tags else { throw .queueDoesNotExist() }
        guard !tags.isEmpty else { throw QueueError(.missingParameter, "The request must contain the parameter Tags.") }
        let merged = existing.merging(tags) { _, new in new }
        try validateTags(merged)
        queues[name]!.tags = merged
    }

    mutating func untagQueue(name: String, tagKeys: [String]) throws(QueueError) {
        guard queues[name] != nil else { throw .queueDoesNotExist() }
        guard !tagKeys.isEmpty else {
            throw QueueError(.missingParameter, "The request must contain the parameter TagKeys.")
        }
        for key in tagKeys { queues[name]!.tags[key] = nil }
    }
}
