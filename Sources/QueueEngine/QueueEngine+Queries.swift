/// Read-only questions. They change nothing; counters are as of the last applied command.
extension QueueEngine {
    /// Whether the queue exists (GetQueueUrl).
    public func queueExists(_ name: String) -> Bool { queues[name] != nil }

    /// ListQueues: names with `prefix`, sorted; pages of `maxResults` with a continuation token.
    public func listQueues(prefix: String?, maxResults: Int?, nextToken: String?) throws(QueueError) -> QueueNamePage {
        try page(
            queues.keys.filter { prefix == nil || $0.hasPrefix(prefix!) }, maxResults: maxResults, nextToken: nextToken)
    }

    /// ListDeadLetterSourceQueues: queues whose RedrivePolicy targets `name`.
    public func deadLetterSourceQueues(
        of name: String, maxResults: Int?, nextToken: String?
    ) throws(QueueError) -> QueueNamePage {
        guard queues[name] != nil else { throw .queueDoesNotExist() }
        let arn = queueArn(name)
        let sources = queues.values.filter { $0.configuration.redrivePolicy?.deadLetterTargetArn == arn }.map(\.name)
        return try page(sources, maxResults: maxResults, nextToken: nextToken)
    }

    /// The names of every queue with `prefix` (all without one), unsorted: a cluster merges every shard's.
    public func queueNames(prefix: String?) -> [String] {
        queues.keys.filter { prefix == nil || $0.hasPrefix(prefix!) }
    }

    private func page(_ names: [String], maxResults: Int?, nextToken: String?) throws(QueueError) -> QueueNamePage {
        try Self.queueNamePage(names, maxResults: maxResults, nextToken: nextToken)
    }

    /// One page of ListQueues over `names` (any order): sorted, after `nextToken`, at most `maxResults`.
    public static func queueNamePage(_ names: [String], maxResults: Int?, nextToken: String?) throws(QueueError)
        -> QueueNamePage
    {
        if let maxResults, !(1...QueueLimits.listResultsMax).contains(maxResults) {
            throw QueueError.invalidParameter(
                "MaxResults", String(maxResults), reason: "MaxResults must be an integer between 1 and 1000.")
        }
        var sorted = names.sorted()
        if let nextToken {
            guard let after = PageToken.decode(nextToken) else {
                throw QueueError.invalidParameter("NextToken", nextToken, reason: "Invalid NextToken value.")
            }
            sorted = Array(sorted.drop { $0 <= after })
        }
        let limit = maxResults ?? QueueLimits.listResultsMax
        let pageNames = Array(sorted.prefix(limit))
        let more = maxResults != nil && sorted.count > limit
        return QueueNamePage(queueNames: pageNames, nextToken: more ? PageToken.encode(pageNames.last!) : nil)
    }

    /// GetQueueAttributes: the requested names (`All` for every one). An unknown name is an error.
    /// The message counts are as of `time` (epoch milliseconds, the shard's time when the read is served;
    /// the engine clock when nil): a visibility timeout or delay that ended by then is counted as ended,
    /// although the engine applies it only with the next command.
    public func queueAttributes(_ name: String, names: [String], at time: Int64? = nil) throws(QueueError)
        -> [String: String]
    {
        guard let queue = queues[name] else { throw .queueDoesNotExist() }
        var wanted = Set<String>()
        for attributeName in names {
            if attributeName == "All" {
                wanted.formUnion(QueueConfiguration.settableNames)
                wanted.formUnion(QueueConfiguration.readOnlyNames)
            } else if QueueConfiguration.settableNames.contains(attributeName)
                || QueueConfiguration.readOnlyNames.contains(attributeName)
            {
                wanted.insert(attributeName)
            } else {
                throw QueueError(.invalidAttributeName, "Unknown Attribute \(attributeName).")
            }
        }
        var result: [String: String] = [:]
        let counts = queue.counts(at: max(clock, time ?? clock))
        for attributeName in wanted {
            switch attributeName {
            case "ApproximateNumberOfMessages": result[attributeName] = String(counts.available)
            case "ApproximateNumberOfMessagesNotVisible": result[attributeName] = String(counts.inFlight)
            case "ApproximateNumberOfMessagesDelayed": result[attributeName] = String(counts.delayed)
            case "CreatedTimestamp": result[attributeName] = String(queue.createdTimestamp / 1000)
            case "LastModifiedTimestamp": result[attributeName] = String(queue.lastModifiedTimestamp / 1000)
            case "QueueArn": result[attributeName] = queueArn(name)
            default: result[attributeName] = queue.configuration.value(of: attributeName)
            }
        }
        return result
    }

    /// ListQueueTags.
    public func queueTags(_ name: String) throws(QueueError) -> [String: String] {
        guard let queue = queues[name] else { throw .queueDoesNotExist() }
        return queue.tags
    }

    /// The queue's ReceiveMessageWaitTimeSeconds (the default long-poll wait), or nil if it does not exist.
    public func receiveWaitTimeSeconds(_ name: String) -> Int? {
        queues[name]?.configuration.receiveMessageWaitTimeSeconds
    }

    /// Whether the queue is FIFO, or nil if it does not exist.
    public func isFifoQueue(_ name: String) -> Bool? { queues[name]?.isFifo }

    /// The earliest time, epoch milliseconds, at which a message of the queue may become receivable
    /// without any new command: a long-poll waiter should look again then.
    public func nextWakeMilliseconds(_ name: String) -> Int64? { queues[name]?.nextTimerMilliseconds }

    /// Total messages held, for tests and status.
    public var messageCount: Int { queues.values.reduce(0) { $0 + $1.messages.count } }

    /// Messages and their bytes (`sizeBytes`: body and attributes) held by the queue named; nil when there is
    /// no such queue.
    public func storedTotals(ofQueue name: String) -> (messages: Int, bytes: Int)? {
        queues[name].map { ($0.messages.count, $0.storedBytes) }
    }

    /// Messages and their bytes held by every queue of the shard.
    public var storedTotals: (messages: Int, bytes: Int) {
        queues.values.reduce((0, 0)) { ($0.0 + $1.messages.count, $0.1 + $1.storedBytes) }
    }

    /// Names of all queues.
    public var queueNames: [String] { queues.keys.sorted() }
}

/// Opaque continuation tokens for list actions: the last name returned, hex-encoded.
public enum PageToken {
    public static func encode(_ name: String) -> String { MessageDigest.hex(Array(name.utf8)) }

    /// The text a token spells, if it is one of at most `hexCharactersMax` lowercase hex digits.
    public static func decode(_ token: String, hexCharactersMax: Int = 4 * QueueLimits.queueNameLengthMax) -> String? {
        let bytes = Array(token.utf8)
        guard bytes.count % 2 == 0, bytes.count <= hexCharactersMax else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let high = hexValue(bytes[index]), let low = hexValue(bytes[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
}

extension QueueEngine {
    /// Messages of the queue that can be received now (as of the last applied command).
    public func availableMessageCount(_ name: String) -> Int { queues[name]?.availableCount ?? 0 }

    /// Whether a receive applied at `time` (epoch milliseconds) could return a message of the queue: one
    /// is available, or a delay or visibility timeout ends by then (a stale timer may answer true: the
    /// receive then comes back empty).
    public func mayReceive(_ name: String, at time: Int64) -> Bool {
        guard let queue = queues[name] else { return false }
        return queue.availableCount > 0 || (queue.nextTimerMilliseconds ?? .max) <= max(clock, time)
    }
}
