import Foundation
import Placement

@testable import QueueEngine

/// SplitMix64: a small seeded generator, so every random test replays from its seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &self) < probability }

    mutating func pick<Element>(_ elements: [Element]) -> Element { elements.randomElement(using: &self)! }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
}

/// Seeds of the seeded codec tests. `FERRY_CODEC_SEED=n` replays one seed; `FERRY_CODEC_SEEDS=n` runs n
/// seeds instead of the default count.
enum CodecSeeds {
    static func seeds(defaultCount: Int, salt: UInt64) -> [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let text = environment["FERRY_CODEC_SEED"], let seed = UInt64(text) { return [seed] }
        let count = environment["FERRY_CODEC_SEEDS"].flatMap { Int($0) } ?? defaultCount
        return (0..<UInt64(max(1, count))).map { salt &* 1_000_003 &+ $0 }
    }
}

/// The engine configuration the codec tests use.
let codecTestConfiguration = QueueEngineConfiguration(
    region: "eu-west-3", accountId: "123456789012", shardId: 7, receiptHandleKey: Array(repeating: 9, count: 32))

/// One command of every case, with the awkward values: empty and non-ASCII strings, binary attribute values
/// holding every byte, absent and present optionals, extreme integers.
enum SampleCommands {
    static let unicode = "héllo wörld ✓ 日本語 🚢 \u{0}\t\r\n e\u{301}"

    static let attributes: MessageAttributes = [
        "Binary": MessageAttributeValue(dataType: "Binary", binaryValue: (0...255).map { UInt8($0) }),
        "Number.float": MessageAttributeValue(dataType: "Number.float", stringValue: "-1.5e3"),
        "Text": MessageAttributeValue(dataType: "String", stringValue: unicode),
        "émoji🚢": MessageAttributeValue(dataType: "String.label", stringValue: ""),
        "both": MessageAttributeValue(dataType: "Odd", stringValue: "s", binaryValue: []),
        "neither": MessageAttributeValue(dataType: ""),
    ]

    static let all: [Command] = [
        .createQueue(name: "q", attributes: [:], tags: [:]),
        .createQueue(
            name: "f.fifo", attributes: ["FifoQueue": "true", "ContentBasedDeduplication": "true", "Zé": unicode],
            tags: ["team": "ferry", "": "", "ключ": "значение"]),
        .deleteQueue(name: ""),
        .setQueueAttributes(name: "q", attributes: ["VisibilityTimeout": "12", "Policy": "{\"a\":[1,2]}"]),
        .purgeQueue(name: unicode),
        .sendMessages(
            queueName: "q",
            entries: [
                SendMessageEntry(body: "plain"),
                SendMessageEntry(
                    id: "e-1", body: unicode, delaySeconds: Int.min, messageAttributes: attributes,
                    messageSystemAttributes: [
                        "AWSTraceHeader": MessageAttributeValue(dataType: "String", stringValue: "Root=1-abc")
                    ], messageGroupId: "group", messageDeduplicationId: "dedup"),
                SendMessageEntry(id: "", body: String(repeating: "x", count: 300), delaySeconds: Int.max),
            ], senderId: "AKIDEXAMPLE", isBatch: true),
        .sendMessages(queueName: "q", entries: [], senderId: "", isBatch: false),
        .receiveMessages(ReceiveMessageRequest(queueName: "q")),
        .receiveMessages(
            ReceiveMessageRequest(
                queueName: "f.fifo", maxNumberOfMessages: -3, visibilityTimeoutSeconds: 0,
                messageSystemAttributeNames: ["All", "SentTimestamp"], messageAttributeNames: [".*", "a.*", unicode],
                receiveRequestAttemptId: "attempt-1")),
        .deleteMessages(queueName: "q", entries: [ReceiptEntry(receiptHandle: "AQID")], isBatch: false),
        .deleteMessages(
            queueName: "q",
            entries: [
                ReceiptEntry(id: "a", receiptHandle: "x", visibilityTimeoutSeconds: 5),
                ReceiptEntry(id: "b", receiptHandle: ""),
            ], isBatch: true),
        .changeMessageVisibility(
            queueName: "q", entries: [ReceiptEntry(id: "1", receiptHandle: "h", visibilityTimeoutSeconds: 43_200)],
            isBatch: true),
        .changeMessageVisibility(queueName: "q", entries: [ReceiptEntry(receiptHandle: "h")], isBatch: false),
        .tagQueue(name: "q", tags: ["a": "1", "b": ""]),
        .untagQueue(name: "q", tagKeys: ["a", "a", ""]),
        .untagQueue(name: "q", tagKeys: []),
        .addPermission(name: "q", label: "label", accountIds: ["111122223333"], actions: ["SendMessage", "*"]),
        .removePermission(name: "q", label: unicode),
        .startMessageMoveTask(
            sourceArn: "arn:aws:sqs:eu-west-3:123456789012:dlq", destinationArn: nil, maxNumberOfMessagesPerSecond: nil),
        .startMessageMoveTask(
            sourceArn: "arn:aws:sqs:eu-west-3:123456789012:dlq",
            destinationArn: "arn:aws:sqs:eu-west-3:123456789012:q", maxNumberOfMessagesPerSecond: 0),
        .cancelMessageMoveTask(taskHandle: "6162"),
        .advanceTime,
        .adoptRules(2),
        .importMessages(
            sourceShard: 3,
            messages: [
                TransferredMessage(
                    id: 1, queueName: "dlq", returnQueueName: unicode, messageId: "id-1", body: unicode,
                    md5OfBody: "0123", messageAttributes: attributes, md5OfMessageAttributes: "4567",
                    systemAttributes: [:], md5OfSystemAttributes: nil, senderId: "AKID",
                    sentTimestamp: 1_700_000_000_000,
                    messageGroupId: "g", messageDeduplicationId: nil, sizeBytes: 42,
                    deadLetterQueueSourceArn: "arn:aws:sqs:eu-west-3:123456789012:q", originQueueName: "q",
                    returnDeadLetterQueueSourceArn: nil, returnOriginQueueName: "origin"),
                TransferredMessage(
                    id: UInt64.max, queueName: "", returnQueueName: "", messageId: "", body: "", md5OfBody: "",
                    messageAttributes: [:], md5OfMessageAttributes: nil, systemAttributes: attributes,
                    md5OfSystemAttributes: "89", senderId: "", sentTimestamp: 0, messageGroupId: nil,
                    messageDeduplicationId: "d", sizeBytes: 0, deadLetterQueueSourceArn: nil, originQueueName: nil,
                    returnDeadLetterQueueSourceArn: "arn", returnOriginQueueName: nil),
            ]),
        .importMessages(sourceShard: 0, messages: []),
        .settleOutbox(delivered: [1, 2, UInt64.max], returned: []),
        .settleOutbox(delivered: [], returned: [7]),
        .initializeCluster(metadata),
        .changeCluster(.addNode(id: 4, peerAddress: "[::1]:7004", sqsAddress: "node-4.example:9324")),
        .changeCluster(.addNode(id: 0, peerAddress: "", sqsAddress: "")),
        .changeCluster(.activate(UInt64.max)),
        .changeCluster(.removeNode(2)),
        .changeCluster(
            .setTargets([ShardTarget(shard: ShardID(0), voters: [3, 1]), ShardTarget(shard: ShardID(4), voters: [2])])),
        .changeCluster(.setTargets([])),
        .changeCluster(.reportVoters(shard: ShardID(UInt32.max), voters: [1, 2, 3, 1, 2, 3], index: UInt64.max)),
    ]

    /// A cluster's configuration with one of everything its encoding holds: nodes in every state (a removed
    /// one among them), a shard moving, a report of joint voters at an index.
    static let metadata: ClusterMetadata = {
        let nodes = (1...3).map { id in
            NodeRecord(
                id: NodeID(id), peerAddress: "10.0.0.\(id):7000", sqsAddress: "sqs-\(id).example:9324", state: .joining)
        }
        var metadata = try! ClusterMetadata(shardCount: 4, replicationFactor: 3, nodes: nodes)
        try! metadata.apply(.addNode(id: 200, peerAddress: "[fe80::1]:7000", sqsAddress: "[fe80::1]:9324"))
        try! metadata.apply(.addNode(id: 9, peerAddress: "9.example:7000", sqsAddress: "9.example:9324"))
        try! metadata.apply(.activate(9))
        try! metadata.apply(.removeNode(9))
        try! metadata.apply(.addNode(id: 5, peerAddress: "5.example:7000", sqsAddress: "5.example:9324"))
        try! metadata.apply(.activate(5))
        try! metadata.apply(.setTargets([ShardTarget(shard: ShardID(1), voters: [5, 1, 2])]))
        let voters = metadata.shards[1].voters
        try! metadata.apply(.reportVoters(shard: ShardID(1), voters: voters + [5], index: 300))
        try! metadata.apply(.removeNode(3))
        return metadata
    }()

    static let timestamps: [Int64] = [0, 1, -1, 1_700_000_000_000, Int64.min, Int64.max]

    /// The tag each sample encodes to, to check that every case is covered.
    static func tag(of command: Command) -> CommandTag {
        var writer = BinaryWriter()
        writer.writeCommand(command)
        return CommandTag(rawValue: writer.bytes[0])!
    }
}
