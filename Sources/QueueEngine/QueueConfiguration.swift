import Foundation

/// The settable attributes of one queue, with Amazon SQS's defaults (SQS-REFERENCE.md §3).
struct QueueConfiguration: Sendable, Equatable {
    var delaySeconds = 0
    var maximumMessageSize = QueueLimits.messageSizeBytesMax
    var messageRetentionPeriod = 345_600
    var receiveMessageWaitTimeSeconds = 0
    var visibilityTimeout = 30
    var policy: String?
    var redrivePolicy: RedrivePolicy?
    var redriveAllowPolicy: RedriveAllowPolicy?
    var kmsMasterKeyId: String?
    var kmsDataKeyReusePeriodSeconds = 300
    var sqsManagedSseEnabled = true
    var fifoQueue = false
    var contentBasedDeduplication = false
    var deduplicationScope = "queue"
    var fifoThroughputLimit = "perQueue"

    /// Names a caller may set (FifoQueue only at creation).
    static let settableNames: Set<String> = [
        "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout", "Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId",
        "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled", "FifoQueue", "ContentBasedDeduplication",
        "DeduplicationScope", "FifoThroughputLimit",
    ]
    /// Names that only FIFO queues have.
    static let fifoOnlyNames: Set<String> = [
        "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit",
    ]
    /// Read-only names GetQueueAttributes answers.
    static let readOnlyNames: Set<String> = [
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed",
        "CreatedTimestamp", "LastModifiedTimestamp", "QueueArn",
    ]

    /// Applies caller-given attributes, validating each; throws the SQS error for the first bad one.
    mutating func apply(_ attributes: [String: String], isCreate: Bool) throws(QueueError) {
        if isCreate, let fifo = attributes["FifoQueue"] { try set("FifoQueue", fifo, isCreate: true) }
        for name in attributes.keys.sorted() {
            let value = attributes[name]!
            guard Self.settableNames.contains(name) else {
                throw QueueError(.invalidAttributeName, "Unknown Attribute \(name).")
            }
            if name == "FifoQueue" && !isCreate {
                throw QueueError(
                    .invalidAttributeValue,
                    "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.")
            }
            if Self.fifoOnlyNames.contains(name) && !fifoQueue {
                // As AWS: a standard queue takes no FifoQueue at all (not even false), and names the
                // FIFO-only settings that need it.
                if name == "DeduplicationScope" || name == "FifoThroughputLimit" {
                    throw QueueError(
                        .invalidAttributeName, "You can specify the \(name) only when FifoQueue is set to true.")
                }
                throw QueueError(.invalidAttributeName, "Unknown Attribute \(name).")
            }
            try set(name, value, isCreate: isCreate)
        }
        if fifoThroughputLimit == "perMessageGroupId" && deduplicationScope != "messageGroup" {
            throw QueueError(
                .invalidAttributeValue,
                "Invalid value for the parameter FifoThroughputLimit. Reason: perMessageGroupId requires DeduplicationScope messageGroup."
            )
        }
    }

    private mutating func set(_ name: String, _ value: String, isCreate: Bool) throws(QueueError) {
        switch name {
        case "DelaySeconds":
            delaySeconds = try Self.integer(name, value, 0...QueueLimits.delaySecondsMax)
        case "MaximumMessageSize":
            maximumMessageSize = try Self.integer(
                name, value, QueueLimits.messageSizeBytesMin...QueueLimits.messageSizeBytesMax)
        case "MessageRetentionPeriod":
            messageRetentionPeriod = try Self.integer(
                name, value, QueueLimits.retentionSecondsMin...QueueLimits.retentionSecondsMax)
        case "ReceiveMessageWaitTimeSeconds":
            receiveMessageWaitTimeSeconds = try Self.integer(name, value, 0...QueueLimits.waitTimeSecondsMax)
        case "VisibilityTimeout":
            visibilityTimeout = try Self.integer(name, value, 0...QueueLimits.visibilityTimeoutSecondsMax)
        case "Policy":
            policy = try Self.policyDocument(value)
        case "RedrivePolicy":
            redrivePolicy = value.isEmpty ? nil : try RedrivePolicy(parsing: value)
        case "RedriveAllowPolicy":
            redriveAllowPolicy = value.isEmpty ? nil : try RedriveAllowPolicy(parsing: value)
        case "KmsMasterKeyId":
            kmsMasterKeyId = value.isEmpty ? nil : value
            if kmsMasterKeyId != nil { sqsManagedSseEnabled = false }
        case "KmsDataKeyReusePeriodSeconds":
            kmsDataKeyReusePeriodSeconds = try Self.integer(name, value, 60...86_400)
        case "SqsManagedSseEnabled":
            sqsManagedSseEnabled = try Self.boolean(name, value)
            if sqsManagedSseEnabled { kmsMasterKeyId = nil }
        case "FifoQueue":
            let requested = try Self.boolean(name, value)
            guard isCreate || requested == fifoQueue else {
                throw QueueError(
                    .invalidAttributeName, "Invalid attribute name FifoQueue: it can only be set at creation.")
            }
            fifoQueue = requested
        case "ContentBasedDeduplication":
            contentBasedDeduplication = try Self.boolean(name, value)
        case "DeduplicationScope":
            guard value == "queue" || value == "messageGroup" else { throw .invalidAttributeValue(name) }
            deduplicationScope = value
        case "FifoThroughputLimit":
            guard value == "perQueue" || value == "perMessageGroupId" else { throw .invalidAttributeValue(name) }
            fifoThroughputLimit = value
        default:
            throw QueueError(.invalidAttributeName, "Unknown Attribute \(name).")
        }
    }

    /// The value GetQueueAttributes reports for a settable name, or nil when it has none.
    func value(of name: String) -> String? {
        switch name {
        case "DelaySeconds": return String(delaySeconds)
        case "MaximumMessageSize": return String(maximumMessageSize)
        case "MessageRetentionPeriod": return String(messageRetentionPeriod)
        case "ReceiveMessageWaitTimeSeconds": return String(receiveMessageWaitTimeSeconds)
        case "VisibilityTimeout": return String(visibilityTimeout)
        case "Policy": return policy
        case "RedrivePolicy": return redrivePolicy?.json
        case "RedriveAllowPolicy": return redriveAllowPolicy?.json
        case "KmsMasterKeyId": return kmsMasterKeyId
        case "KmsDataKeyReusePeriodSeconds": return kmsMasterKeyId == nil ? nil : String(kmsDataKeyReusePeriodSeconds)
        case "SqsManagedSseEnabled": return sqsManagedSseEnabled ? "true" : "false"
        case "FifoQueue": return fifoQueue ? "true" : nil
        case "ContentBasedDeduplication": return fifoQueue ? (contentBasedDeduplication ? "true" : "false") : nil
        case "DeduplicationScope": return fifoQueue ? deduplicationScope : nil
        case "FifoThroughputLimit": return fifoQueue ? fifoThroughputLimit : nil
        default: return nil
        }
    }

    static func integer(_ name: String, _ value: String, _ range: ClosedRange<Int>) throws(QueueError) -> Int {
        guard let number = Int(value.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            throw .invalidAttributeValue(name)
        }
        return number
    }

    static func boolean(_ name: String, _ value: String) throws(QueueError) -> Bool {
        switch value.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .invalidAttributeValue(name)
        }
    }

    static func policyDocument(_ value: String) throws(QueueError) -> String? {
        if value.isEmpty { return nil }
        guard value.utf8.count <= QueueLimits.policyBytesMax,
            let object = try? JSONSerialization.jsonObject(with: Data(value.utf8)), object is [String: Any]
        else {
            throw QueueError(.invalidAttributeValue, "Invalid value for the parameter Policy.")
        }
        return value
    }
}

/// A queue's RedrivePolicy: where messages go after `maxReceiveCount` receives.
struct RedrivePolicy: Sendable, Equatable {
    var deadLetterTargetArn: String
    var maxReceiveCount: Int

    init(deadLetterTargetArn: String, maxReceiveCount: Int) {
        self.deadLetterTargetArn = deadLetterTargetArn
        self.maxReceiveCount = maxReceiveCount
    }

    init(parsing text: String) throws(QueueError) {
        let invalid = QueueError(
            .invalidAttributeValue,
            "Value \(text) for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map.")
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw invalid
        }
        guard let arn = object["deadLetterTargetArn"] as? String, !arn.isEmpty else {
            throw QueueError(
                .invalidAttributeValue,
                "Value \(text) for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory attribute: deadLetterTargetArn."
            )
        }
        let count: Int?
        switch object["maxReceiveCount"] {
        case let string as String: count = Int(string)
        case let number as Int: count = number
        case let number as Double where number == number.rounded() && abs(number) < 1e9: count = Int(number)
        case nil: count = 10
        default: count = nil
        }
        guard let count, (QueueLimits.maxReceiveCountMin...QueueLimits.maxReceiveCountMax).contains(count) else {
            throw QueueError(
                .invalidAttributeValue,
                "Value \(text) for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: \(object["maxReceiveCount"].map { "\($0)" } ?? ""), valid values are from 1 to 1000 both inclusive."
            )
        }
        self.init(deadLetterTargetArn: arn, maxReceiveCount: count)
    }

    var json: String {
        "{\"deadLetterTargetArn\":\"\(JSONText.escape(deadLetterTargetArn))\",\"maxReceiveCount\":\(maxReceiveCount)}"
    }
}

/// A dead-letter queue's RedriveAllowPolicy: which source queues may use it.
struct RedriveAllowPolicy: Sendable, Equatable {
    var redrivePermission: String
    var sourceQueueArns: [String]

    init(parsing text: String) throws(QueueError) {
        let invalid = QueueError(.invalidAttributeValue, "Invalid value for the parameter RedriveAllowPolicy.")
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
            let permission = object["redrivePermission"] as? String,
            ["allowAll", "denyAll", "byQueue"].contains(permission)
        else { throw invalid }
        let arns = object["sourceQueueArns"] as? [String] ?? []
        if object["sourceQueueArns"] != nil && !(object["sourceQueueArns"] is [String]) { throw invalid }
        if permission == "byQueue" {
            guard !arns.isEmpty, arns.count <= QueueLimits.redriveAllowSourceQueuesMax else { throw invalid }
        } else if !arns.isEmpty {
            throw invalid
        }
        redrivePermission = permission
        sourceQueueArns = arns
    }

    func allows(sourceArn: String) -> Bool {
        switch redrivePermission {
        case "denyAll": return false
        case "byQueue": return sourceQueueArns.contains(sourceArn)
        default: return true
        }
    }

    var json: String {
        if sourceQueueArns.isEmpty { return "{\"redrivePermission\":\"\(redrivePermission)\"}" }
        let arns = sourceQueueArns.map { "\"\(JSONText.escape($0))\"" }.joined(separator: ",")
        return "{\"redrivePermission\":\"\(redrivePermission)\",\"sourceQueueArns\":[\(arns)]}"
    }
}

/// Minimal JSON string escaping for documents the engine renders itself.
enum JSONText {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
