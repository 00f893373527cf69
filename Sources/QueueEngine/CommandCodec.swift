import Placement

/// The tag byte of each `Command` case in a log entry. Values are part of the format: never renumber one.
enum CommandTag: UInt8, CaseIterable {
    case createQueue = 1
    case deleteQueue = 2
    case setQueueAttributes = 3
    case purgeQueue = 4
    case sendMessages = 5
    case receiveMessages = 6
    case deleteMessages = 7
    case changeMessageVisibility = 8
    case tagQueue = 9
    case untagQueue = 10
    case addPermission = 11
    case removePermission = 12
    case startMessageMoveTask = 13
    case cancelMessageMoveTask = 14
    case advanceTime = 15
    case importMessages = 16
    case settleOutbox = 17
    case adoptRules = 18
    case initializeCluster = 19
    case changeCluster = 20
}

extension Command {
    /// Roughly how many bytes the command encodes to, so the writer allocates once.
    var encodedSizeEstimate: Int {
        switch self {
        case .sendMessages(let queueName, let entries, _, _):
            return entries.reduce(64 + queueName.utf8.count) { $0 + 48 + $1.body.utf8.count }
        case .deleteMessages(_, let entries, _), .changeMessageVisibility(_, let entries, _):
            return 64 + entries.count * 200
        case .importMessages(_, let messages):
            return messages.reduce(64) { $0 + 256 + $1.body.utf8.count }
        case .initializeCluster(let metadata):
            return 64 + metadata.nodes.count * 48 + metadata.shards.count * 16
        default:
            return 128
        }
    }
}

extension BinaryWriter {
    mutating func writeCommand(_ command: Command) {
        switch command {
        case .createQueue(let name, let attributes, let tags):
            writeByte(CommandTag.createQueue.rawValue)
            writeString(name)
            writeStringMap(attributes)
            writeStringMap(tags)
        case .deleteQueue(let name):
            writeByte(CommandTag.deleteQueue.rawValue)
            writeString(name)
        case .setQueueAttributes(let name, let attributes):
            writeByte(CommandTag.setQueueAttributes.rawValue)
            writeString(name)
            writeStringMap(attributes)
        case .purgeQueue(let name):
            writeByte(CommandTag.purgeQueue.rawValue)
            writeString(name)
        case .sendMessages(let queueName, let entries, let senderId, let isBatch):
            writeByte(CommandTag.sendMessages.rawValue)
            writeString(queueName)
            writeCount(entries.count)
            for entry in entries { writeSendMessageEntry(entry) }
            writeString(senderId)
            writeBool(isBatch)
        case .receiveMessages(let request):
            writeByte(CommandTag.receiveMessages.rawValue)
            writeString(request.queueName)
            writeInt(request.maxNumberOfMessages)
            writeOptionalInt(request.visibilityTimeoutSeconds)
            writeStrings(request.messageSystemAttributeNames)
            writeStrings(request.messageAttributeNames)
            writeOptionalString(request.receiveRequestAttemptId)
        case .deleteMessages(let queueName, let entries, let isBatch):
            writeByte(CommandTag.deleteMessages.rawValue)
            writeReceiptEntries(queueName: queueName, entries: entries, isBatch: isBatch)
        case .changeMessageVisibility(let queueName, let entries, let isBatch):
            writeByte(CommandTag.changeMessageVisibility.rawValue)
            writeReceiptEntries(queueName: queueName, entries: entries, isBatch: isBatch)
        case .tagQueue(let name, let tags):
            writeByte(CommandTag.tagQueue.rawValue)
            writeString(name)
            writeStringMap(tags)
        case .untagQueue(let name, let tagKeys):
            writeByte(CommandTag.untagQueue.rawValue)
            writeString(name)
            writeStrings(tagKeys)
        case .addPermission(let name, let label, let accountIds, let actions):
            writeByte(CommandTag.addPermission.rawValue)
            writeString(name)
            writeString(label)
            writeStrings(accountIds)
            writeStrings(actions)
        case .removePermission(let name, let label):
            writeByte(CommandTag.removePermission.rawValue)
            writeString(name)
            writeString(label)
        case .startMessageMoveTask(let sourceArn, let destinationArn, let rate):
            writeByte(CommandTag.startMessageMoveTask.rawValue)
            writeString(sourceArn)
            writeOptionalString(destinationArn)
            writeOptionalInt(rate)
        case .cancelMessageMoveTask(let taskHandle):
            writeByte(CommandTag.cancelMessageMoveTask.rawValue)
            writeString(taskHandle)
        case .advanceTime:
            writeByte(CommandTag.advanceTime.rawValue)
        case .adoptRules(let version):
            writeByte(CommandTag.adoptRules.rawValue)
            writeByte(version)
        case .initializeCluster(let metadata):
            writeByte(CommandTag.initializeCluster.rawValue)
            writeClusterMetadata(metadata)
        case .changeCluster(let command):
            writeByte(CommandTag.changeCluster.rawValue)
            writeMetadataCommand(command)
        case .importMessages(let sourceShard, let messages):
            writeByte(CommandTag.importMessages.rawValue)
            writeVarint(sourceShard)
            writeCount(messages.count)
            for message in messages { writeTransferredMessage(message) }
        case .settleOutbox(let delivered, let returned):
            writeByte(CommandTag.settleOutbox.rawValue)
            writeCount(delivered.count)
            for id in delivered { writeVarint(id) }
            writeCount(returned.count)
            for id in returned { writeVarint(id) }
        }
    }

    mutating func writeTransferredMessage(_ message: TransferredMessage) {
        writeVarint(message.id)
        writeString(message.queueName)
        writeString(message.returnQueueName)
        writeString(message.messageId)
        writeString(message.body)
        writeString(message.md5OfBody)
        writeMessageAttributes(message.messageAttributes)
        writeOptionalString(message.md5OfMessageAttributes)
        writeMessageAttributes(message.systemAttributes)
        writeOptionalString(message.md5OfSystemAttributes)
        writeString(message.senderId)
        writeSigned(message.sentTimestamp)
        writeOptionalString(message.messageGroupId)
        writeOptionalString(message.messageDeduplicationId)
        writeInt(message.sizeBytes)
        writeOptionalString(message.deadLetterQueueSourceArn)
        writeOptionalString(message.originQueueName)
        writeOptionalString(message.returnDeadLetterQueueSourceArn)
        writeOptionalString(message.returnOriginQueueName)
        writeVarint(UInt64(message.receiveCount))
        writeOptionalSigned(message.firstReceiveTimestamp)
    }

    private mutating func writeSendMessageEntry(_ entry: SendMessageEntry) {
        writeOptionalString(entry.id)
        writeString(entry.body)
        writeOptionalInt(entry.delaySeconds)
        writeMessageAttributes(entry.messageAttributes)
        writeMessageAttributes(entry.messageSystemAttributes)
        writeOptionalString(entry.messageGroupId)
        writeOptionalString(entry.messageDeduplicationId)
    }

    private mutating func writeReceiptEntries(queueName: String, entries: [ReceiptEntry], isBatch: Bool) {
        writeString(queueName)
        writeCount(entries.count)
        for entry in entries {
            writeOptionalString(entry.id)
            writeString(entry.receiptHandle)
            writeOptionalInt(entry.visibilityTimeoutSeconds)
        }
        writeBool(isBatch)
    }

    /// Data type, then the optional string and binary values.
    mutating func writeMessageAttributes(_ attributes: MessageAttributes) {
        writeMap(attributes) { writer, value in
            writer.writeString(value.dataType)
            writer.writeOptionalString(value.stringValue)
            writer.writeOptional(value.binaryValue) { $0.writeBytes($1) }
        }
    }
}

extension BinaryReader {
    mutating func readCommand() throws(EngineCodecError) -> Command {
        let tagByte = try readByte()
        guard let tag = CommandTag(rawValue: tagByte) else { throw malformed("unknown command tag \(tagByte)") }
        switch tag {
        case .createQueue:
            return .createQueue(name: try readString(), attributes: try readStringMap(), tags: try readStringMap())
        case .deleteQueue:
            return .deleteQueue(name: try readString())
        case .setQueueAttributes:
            return .setQueueAttributes(name: try readString(), attributes: try readStringMap())
        case .purgeQueue:
            return .purgeQueue(name: try readString())
        case .sendMessages:
            let queueName = try readString()
            let count = try readCount(elementBytesMin: 7)
            var entries: [SendMessageEntry] = []
            entries.reserveCapacity(count)
            for _ in 0..<count { entries.append(try readSendMessageEntry()) }
            return .sendMessages(
                queueName: queueName, entries: entries, senderId: try readString(), isBatch: try readBool())
        case .receiveMessages:
            return .receiveMessages(
                ReceiveMessageRequest(
                    queueName: try readString(), maxNumberOfMessages: try readInt(),
                    visibilityTimeoutSeconds: try readOptionalInt(), messageSystemAttributeNames: try readStrings(),
                    messageAttributeNames: try readStrings(), receiveRequestAttemptId: try readOptionalString()))
        case .deleteMessages:
            let (queueName, entries, isBatch) = try readReceiptEntries()
            return .deleteMessages(queueName: queueName, entries: entries, isBatch: isBatch)
        case .changeMessageVisibility:
            let (queueName, entries, isBatch) = try readReceiptEntries()
            return .changeMessageVisibility(queueName: queueName, entries: entries, isBatch: isBatch)
        case .tagQueue:
            return .tagQueue(name: try readString(), tags: try readStringMap())
        case .untagQueue:
            return .untagQueue(name: try readString(), tagKeys: try readStrings())
        case .addPermission:
            return .addPermission(
                name: try readString(), label: try readString(), accountIds: try readStrings(),
                actions: try readStrings())
        case .removePermission:
            return .removePermission(name: try readString(), label: try readString())
        case .startMessageMoveTask:
            return .startMessageMoveTask(
                sourceArn: try readString(), destinationArn: try readOptionalString(),
                maxNumberOfMessagesPerSecond: try readOptionalInt())
        case .cancelMessageMoveTask:
            return .cancelMessageMoveTask(taskHandle: try readString())
        case .advanceTime:
            return .advanceTime
        case .adoptRules:
            return .adoptRules(try readByte())
        case .initializeCluster:
            return .initializeCluster(try readClusterMetadata())
        case .changeCluster:
            return .changeCluster(try readMetadataCommand())
        case .importMessages:
            let sourceShard = try readUInt32()
            let count = try readCount(elementBytesMin: transferredMessageBytesMin)
            var messages: [TransferredMessage] = []
            messages.reserveCapacity(count)
            for _ in 0..<count { messages.append(try readTransferredMessage()) }
            return .importMessages(sourceShard: sourceShard, messages: messages)
        case .settleOutbox:
            return .settleOutbox(delivered: try readIds(), returned: try readIds())
        }
    }

    /// The fewest bytes a transferred message takes: 19 fields of at least one byte.
    var transferredMessageBytesMin: Int { 19 }

    private mutating func readIds() throws(EngineCodecError) -> [UInt64] {
        let count = try readCount()
        var ids: [UInt64] = []
        ids.reserveCapacity(count)
        for _ in 0..<count { ids.append(try readVarint()) }
        return ids
    }

    mutating func readTransferredMessage() throws(EngineCodecError) -> TransferredMessage {
        var message = TransferredMessage(
            id: try readVarint(), queueName: try readString(), returnQueueName: try readString(),
            messageId: try readString(), body: try readString(), md5OfBody: try readString(),
            messageAttributes: try readMessageAttributes(), md5OfMessageAttributes: try readOptionalString(),
            systemAttributes: try readMessageAttributes(), md5OfSystemAttributes: try readOptionalString(),
            senderId: try readString(),
            sentTimestamp: try readSigned(in: SnapshotDecoder.timestampRange, "sent timestamp"),
            messageGroupId: try readOptionalString(), messageDeduplicationId: try readOptionalString(),
            sizeBytes: try readInt(in: SnapshotDecoder.messageSizeRange, "message size"),
            deadLetterQueueSourceArn: try readOptionalString(), originQueueName: try readOptionalString(),
            returnDeadLetterQueueSourceArn: try readOptionalString(), returnOriginQueueName: try readOptionalString())
        if transfersCarryReceives {
            message.receiveCount = try readUInt32()
            guard message.receiveCount < UInt32.max else { throw malformed("receive count out of range") }
            message.firstReceiveTimestamp = try readOptionalSigned(
                in: SnapshotDecoder.timestampRange, "first receive timestamp")
        }
        return message
    }

    private mutating func readSendMessageEntry() throws(EngineCodecError) -> SendMessageEntry {
        SendMessageEntry(
            id: try readOptionalString(), body: try readString(), delaySeconds: try readOptionalInt(),
            messageAttributes: try readMessageAttributes(), messageSystemAttributes: try readMessageAttributes(),
            messageGroupId: try readOptionalString(), messageDeduplicationId: try readOptionalString())
    }

    private mutating func readReceiptEntries() throws(EngineCodecError) -> (String, [ReceiptEntry], Bool) {
        let queueName = try readString()
        let count = try readCount(elementBytesMin: 3)
        var entries: [ReceiptEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            entries.append(
                ReceiptEntry(
                    id: try readOptionalString(), receiptHandle: try readString(),
                    visibilityTimeoutSeconds: try readOptionalInt()))
        }
        return (queueName, entries, try readBool())
    }

    mutating func readMessageAttributes() throws(EngineCodecError) -> MessageAttributes {
        try readMap { reader throws(EngineCodecError) in
            MessageAttributeValue(
                dataType: try reader.readString(), stringValue: try reader.readOptionalString(),
                binaryValue: try reader.readOptional { reader throws(EngineCodecError) in try reader.readBytes() })
        }
    }
}
