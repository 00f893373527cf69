import QueueEngine
import SQSWire

extension SQSHandler {
    /// One message to send. Without an `AWSTraceHeader` system attribute of its own it takes the request's
    /// `X-Amzn-Trace-Id` header as that attribute.
    func sendEntry(_ parameters: WireParameters, id: String?, _ request: SQSRequest) throws(QueueError)
        -> SendMessageEntry
    {
        var systemAttributes = try parameters.messageAttributes("MessageSystemAttributes")
        if let traceHeader = request.traceHeader, systemAttributes["AWSTraceHeader"] == nil {
            systemAttributes["AWSTraceHeader"] = MessageAttributeValue(dataType: "String", stringValue: traceHeader)
        }
        return SendMessageEntry(
            id: id, body: try parameters.string("MessageBody") ?? "",
            delaySeconds: try parameters.integer("DelaySeconds"),
            messageAttributes: try parameters.messageAttributes("MessageAttributes"),
            messageSystemAttributes: systemAttributes, messageGroupId: try parameters.string("MessageGroupId"),
            messageDeduplicationId: try parameters.string("MessageDeduplicationId"))
    }

    static func sentFields(_ sent: SentMessage, into object: inout WireObject) {
        object["MD5OfMessageBody"] = .string(sent.md5OfMessageBody)
        if let md5 = sent.md5OfMessageAttributes { object["MD5OfMessageAttributes"] = .string(md5) }
        if let md5 = sent.md5OfMessageSystemAttributes { object["MD5OfMessageSystemAttributes"] = .string(md5) }
        object["MessageId"] = .string(sent.messageId)
        if let sequence = sent.sequenceNumber { object["SequenceNumber"] = .string(sequence) }
    }

    func sendMessage(_ parameters: WireParameters, _ request: SQSRequest) async throws(QueueError) -> WireObject {
        let name = try queueName(parameters, request)
        guard parameters.value("MessageBody") != nil else { throw WireParameters.missing("MessageBody") }
        let entry = try sendEntry(parameters, id: nil, request)
        switch await host.apply(
            .sendMessages(queueName: name, entries: [entry], senderId: request.senderId, isBatch: false))
        {
        case .failure(let error): throw error
        case .sent(let results):
            switch results.first?.outcome {
            case .success(let sent):
                var object = WireObject()
                Self.sentFields(sent, into: &object)
                return object
            case .failure(let error): throw error
            case nil: throw QueueError(.internalFailure, "No result.")
            }
        default: throw QueueError(.internalFailure, "Unexpected result.")
        }
    }

    func sendMessageBatch(_ parameters: WireParameters, _ request: SQSRequest) async throws(QueueError) -> WireObject {
        let name = try queueName(parameters, request)
        let entries = try parameters.objectList("Entries").map { entry throws(QueueError) in
            try sendEntry(entry, id: try entry.string("Id"), request)
        }
        switch await host.apply(
            .sendMessages(queueName: name, entries: entries, senderId: request.senderId, isBatch: true))
        {
        case .failure(let error): throw error
        case .sent(let results):
            return Self.batchResult(results) { sent, object in Self.sentFields(sent, into: &object) }
        default: throw QueueError(.internalFailure, "Unexpected result.")
        }
    }

    static func batchResult<Success>(
        _ results: [BatchEntryResult<Success>], fields: (Success, inout WireObject) -> Void
    ) -> WireObject {
        var successful: [WireValue] = []
        var failed: [WireValue] = []
        for result in results {
            switch result.outcome {
            case .success(let value):
                var object: WireObject = ["Id": .string(result.id)]
                fields(value, &object)
                successful.append(.object(object))
            case .failure(let error):
                let shape = SQSErrorShape(error.code)
                failed.append(
                    .object([
                        "Id": .string(result.id), "SenderFault": .boolean(shape.fault == "Sender"),
                        "Code": .string(shape.shape), "Message": .string(error.message),
                    ]))
            }
        }
        // AWS leaves out a list that would be empty (a batch where every entry succeeded has no `Failed`).
        var object = WireObject()
        if !successful.isEmpty { object["Successful"] = .list(successful) }
        if !failed.isEmpty { object["Failed"] = .list(failed) }
        return object
    }

    func receiveMessage(_ parameters: WireParameters, _ request: SQSRequest) async throws(QueueError) -> WireObject {
        let name = try queueName(parameters, request)
        var systemNames = try parameters.stringList("MessageSystemAttributeNames")
        systemNames.append(contentsOf: try parameters.stringList("AttributeNames"))
        let receive = ReceiveMessageRequest(
            queueName: name, maxNumberOfMessages: try parameters.integer("MaxNumberOfMessages") ?? 1,
            visibilityTimeoutSeconds: try parameters.integer("VisibilityTimeout"),
            messageSystemAttributeNames: systemNames,
            messageAttributeNames: try parameters.stringList("MessageAttributeNames"),
            receiveRequestAttemptId: try parameters.string("ReceiveRequestAttemptId"))
        let wait = try parameters.integer("WaitTimeSeconds")
        if let wait, !(0...QueueLimits.waitTimeSecondsMax).contains(wait) {
            throw QueueError(
                .invalidParameterValue,
                "Value \(wait) for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.")
        }
        let result = await host.receive(receive, waitSeconds: wait)
        switch result {
        case .failure(let error): throw error
        case .received(let messages):
            var object = WireObject()
            if !messages.isEmpty { object["Messages"] = .list(messages.map(Self.messageValue)) }
            return object
        default: throw QueueError(.internalFailure, "Unexpected result.")
        }
    }

    static func messageValue(_ message: ReceivedMessage) -> WireValue {
        var object: WireObject = [
            "MessageId": .string(message.messageId), "ReceiptHandle": .string(message.receiptHandle),
            "MD5OfBody": .string(message.md5OfBody), "Body": .string(message.body),
        ]
        if !message.attributes.isEmpty { object["Attributes"] = .stringMap(message.attributes) }
        if let md5 = message.md5OfMessageAttributes { object["MD5OfMessageAttributes"] = .string(md5) }
        if !message.messageAttributes.isEmpty {
            object["MessageAttributes"] = .messageAttributes(message.messageAttributes)
        }
        return .object(object)
    }

    func deleteMessageBatch(_ parameters: WireParameters, _ request: SQSRequest) async throws(QueueError) -> WireObject
    {
        let name = try queueName(parameters, request)
        let entries = try parameters.objectList("Entries").map { entry throws(QueueError) in
            ReceiptEntry(id: try entry.string("Id"), receiptHandle: try entry.string("ReceiptHandle") ?? "")
        }
        switch await host.apply(.deleteMessages(queueName: name, entries: entries, isBatch: true)) {
        case .failure(let error): throw error
        case .acknowledged(let results): return Self.batchResult(results) { _, _ in }
        default: throw QueueError(.internalFailure, "Unexpected result.")
        }
    }

    func changeMessageVisibilityBatch(_ parameters: WireParameters, _ request: SQSRequest) async throws(QueueError)
        -> WireObject
    {
        let name = try queueName(parameters, request)
        let entries = try parameters.objectList("Entries").map { entry throws(QueueError) in
            ReceiptEntry(
                id: try entry.string("Id"), receiptHandle: try entry.string("ReceiptHandle") ?? "",
                visibilityTimeoutSeconds: try entry.integer("VisibilityTimeout"))
        }
        switch await host.apply(.changeMessageVisibility(queueName: name, entries: entries, isBatch: true)) {
        case .failure(let error): throw error
        case .acknowledged(let results): return Self.batchResult(results) { _, _ in }
        default: throw QueueError(.internalFailure, "Unexpected result.")
        }
    }
}
