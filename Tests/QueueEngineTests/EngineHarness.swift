@testable import QueueEngine

/// Drives a `QueueEngine` with a manual clock, in milliseconds.
struct EngineHarness {
    var engine = QueueEngine(configuration: QueueEngineConfiguration(receiptHandleKey: Array(repeating: 7, count: 32)))
    var now: Int64 = 1_700_000_000_000

    @discardableResult
    mutating func apply(_ command: Command) -> CommandResult {
        engine.apply(command, timestampMilliseconds: now)
    }

    /// Moves the clock forward and lets time pass in the engine.
    mutating func advance(seconds: Double) {
        now += Int64(seconds * 1000)
        apply(.advanceTime)
    }

    @discardableResult
    mutating func create(_ name: String, _ attributes: [String: String] = [:]) -> CommandResult {
        apply(.createQueue(name: name, attributes: attributes, tags: [:]))
    }

    @discardableResult
    mutating func send(
        _ queue: String, _ body: String, delay: Int? = nil, group: String? = nil, deduplicationId: String? = nil,
        attributes: MessageAttributes = [:]
    ) -> SentMessage? {
        let entry = SendMessageEntry(
            body: body, delaySeconds: delay, messageAttributes: attributes, messageGroupId: group,
            messageDeduplicationId: deduplicationId)
        guard
            case .sent(let results) = apply(
                .sendMessages(queueName: queue, entries: [entry], senderId: "AKID", isBatch: false)),
            case .success(let sent) = results.first?.outcome
        else { return nil }
        return sent
    }

    mutating func sendError(_ queue: String, _ entry: SendMessageEntry) -> QueueError? {
        if case .failure(let error) = apply(
            .sendMessages(queueName: queue, entries: [entry], senderId: "AKID", isBatch: false))
        {
            return error
        }
        return nil
    }

    mutating func receive(
        _ queue: String, max: Int = 10, visibility: Int? = nil, systemAttributes: [String] = [],
        messageAttributes: [String] = [], attemptId: String? = nil
    ) -> [ReceivedMessage] {
        let request = ReceiveMessageRequest(
            queueName: queue, maxNumberOfMessages: max, visibilityTimeoutSeconds: visibility,
            messageSystemAttributeNames: systemAttributes, messageAttributeNames: messageAttributes,
            receiveRequestAttemptId: attemptId)
        guard case .received(let messages) = apply(.receiveMessages(request)) else { return [] }
        return messages
    }

    mutating func receiveResult(_ queue: String, max: Int = 10) -> CommandResult {
        apply(.receiveMessages(ReceiveMessageRequest(queueName: queue, maxNumberOfMessages: max)))
    }

    @discardableResult
    mutating func delete(_ queue: String, _ handle: String) -> CommandResult {
        apply(.deleteMessages(queueName: queue, entries: [ReceiptEntry(receiptHandle: handle)], isBatch: false))
    }

    @discardableResult
    mutating func changeVisibility(_ queue: String, _ handle: String, _ seconds: Int) -> CommandResult {
        apply(
            .changeMessageVisibility(
                queueName: queue, entries: [ReceiptEntry(receiptHandle: handle, visibilityTimeoutSeconds: seconds)],
                isBatch: false))
    }

    func attribute(_ queue: String, _ name: String) -> String? {
        (try? engine.queueAttributes(queue, names: [name]))?[name]
    }

    func arn(_ queue: String) -> String { engine.queueArn(queue) }
}

extension CommandResult {
    var error: QueueError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
