@testable import QueueEngine

/// A seeded random workload over standard and FIFO queues with dead-letter queues: sends (single and batch,
/// delayed, with attributes, duplicate deduplication ids), receives (with and without attempt ids),
/// deletes, visibility changes, purges, queue deletes and re-creates, attribute changes, tags, permissions,
/// move tasks, time passing — and a clock that moves forward by random amounts, sometimes not at all and
/// sometimes backwards. It remembers receipt handles and task handles from the results it is shown.
struct WorkloadGenerator {
    static let standardQueues = ["alpha", "beta", "dead"]
    static let fifoQueues = ["one.fifo", "two.fifo", "dead.fifo"]
    static let queueNames = standardQueues + fifoQueues + ["ghost"]

    var random: SeededGenerator
    /// The latest timestamp handed out, epoch milliseconds.
    private(set) var now: Int64 = 1_700_000_000_000
    private let arnPrefix: String
    private var creations: [String: [String: String]] = [:]
    private var pending: [Command] = []
    private var handles: [String: [String]] = [:]
    private var attemptIds: [String] = []
    private var taskHandles: [String] = []
    /// Queues deleted and not yet created again.
    private var deletedNames: [String] = []
    private var counter = 0

    init(seed: UInt64, configuration: QueueEngineConfiguration) {
        random = SeededGenerator(seed: seed)
        arnPrefix = "arn:aws:sqs:\(configuration.region):\(configuration.accountId):"
        creations = [
            "dead": [:],
            "dead.fifo": ["FifoQueue": "true", "ContentBasedDeduplication": "true"],
            "alpha": [
                "RedrivePolicy": redrivePolicy(to: "dead", maxReceiveCount: random.int(1...3)),
                "VisibilityTimeout": String(random.int(1...30)),
            ],
            "beta": ["MessageRetentionPeriod": "60", "DelaySeconds": String(random.int(0...3))],
            "one.fifo": [
                "FifoQueue": "true", "ContentBasedDeduplication": random.chance(0.5) ? "true" : "false",
                "RedrivePolicy": redrivePolicy(to: "dead.fifo", maxReceiveCount: random.int(1...3)),
            ],
            "two.fifo": [
                "FifoQueue": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId",
                "VisibilityTimeout": String(random.int(1...10)),
            ],
        ]
        pending = ["dead", "dead.fifo", "alpha", "beta", "one.fifo", "two.fifo"].map {
            .createQueue(name: $0, attributes: creations[$0]!, tags: ["created": "yes"])
        }
    }

    func arn(_ name: String) -> String { arnPrefix + name }

    private func redrivePolicy(to name: String, maxReceiveCount: Int) -> String {
        "{\"deadLetterTargetArn\":\"\(arn(name))\",\"maxReceiveCount\":\(maxReceiveCount)}"
    }

    /// The next command and the timestamp to apply it with.
    mutating func next() -> (command: Command, timestampMilliseconds: Int64) {
        let timestamp = nextTimestamp()
        if !pending.isEmpty { return (pending.removeFirst(), timestamp) }
        return (nextCommand(), timestamp)
    }

    /// Learns receipt and task handles from what a command returned, and sometimes follows a command up at
    /// once: retries a FIFO receive with its attempt id, purges again, re-creates a deleted queue.
    mutating func observe(_ command: Command, _ result: CommandResult) {
        switch (command, result) {
        case (.receiveMessages(let request), .received(let messages)):
            handles[request.queueName, default: []].append(contentsOf: messages.map(\.receiptHandle))
            if handles[request.queueName]!.count > 40 { handles[request.queueName]!.removeFirst(20) }
            if request.receiveRequestAttemptId != nil && !messages.isEmpty && random.chance(0.5) {
                pending.append(command)
            }
        case (.purgeQueue, .done):
            if random.chance(0.3) { pending.append(command) }
        case (.deleteQueue(let name), .done):
            deletedNames.append(name)
            if random.chance(0.5) { pending.append(.createQueue(name: name, attributes: creations[name]!, tags: [:])) }
        case (.createQueue(let name, _, _), .queueCreated):
            deletedNames.removeAll { $0 == name }
        case (_, .moveTaskStarted(let handle)):
            taskHandles.append(handle)
        default:
            break
        }
    }

    private mutating func nextTimestamp() -> Int64 {
        let roll = random.int(0...99)
        switch roll {
        case 0..<20: break
        case 20..<60: now += Int64(random.int(1...999))
        case 60..<85: now += Int64(random.int(1_000...10_000))
        case 85..<96: now += Int64(random.int(10_000...90_000))
        case 96..<99: now += Int64(random.int(120_000...900_000))
        default: return now - Int64(random.int(1...5_000))
        }
        return now
    }

    private mutating func nextCommand() -> Command {
        let roll = random.int(0...999)
        switch roll {
        case 0..<260: return send()
        case 260..<470: return receive()
        case 470..<590: return acknowledge(changeVisibility: false)
        case 590..<690: return acknowledge(changeVisibility: true)
        case 690..<790: return .advanceTime
        case 790..<840: return setAttributes()
        case 840..<855: return .purgeQueue(name: queueName())
        case 855..<865: return .deleteQueue(name: queueName())
        case 865..<890:
            let name =
                deletedNames.isEmpty || random.chance(0.2) ? random.pick(creations.keys.sorted()) : deletedNames[0]
            return .createQueue(name: name, attributes: creations[name]!, tags: [:])
        case 890..<910: return .tagQueue(name: queueName(), tags: ["k\(random.int(0...5))": "v\(counterValue())"])
        case 910..<925: return .untagQueue(name: queueName(), tagKeys: ["k\(random.int(0...5))", "created"])
        case 925..<935:
            return .addPermission(
                name: queueName(), label: "p\(random.int(0...3))", accountIds: ["111122223333"],
                actions: [random.pick(["SendMessage", "ReceiveMessage", "*"])])
        case 935..<942: return .removePermission(name: queueName(), label: "p\(random.int(0...3))")
        case 942..<985: return startMoveTask()
        default:
            let handle = taskHandles.isEmpty || random.chance(0.2) ? "bogus" : random.pick(taskHandles)
            return .cancelMessageMoveTask(taskHandle: handle)
        }
    }

    private mutating func counterValue() -> Int {
        counter += 1
        return counter
    }

    private mutating func queueName() -> String {
        random.chance(0.03) ? "ghost" : random.pick(Self.standardQueues + Self.fifoQueues)
    }

    private mutating func send() -> Command {
        let name = queueName()
        let fifo = name.hasSuffix(".fifo")
        let count = random.chance(0.5) ? 1 : random.int(1...10)
        let isBatch = count > 1 || random.chance(0.3)
        let entries = (0..<count).map { index in
            SendMessageEntry(
                id: isBatch ? "e\(index)" : nil, body: body(),
                delaySeconds: !fifo && random.chance(0.2) ? random.int(0...8) : (random.chance(0.01) ? 5 : nil),
                messageAttributes: random.chance(0.3) ? messageAttributes() : [:],
                messageSystemAttributes: random.chance(0.05)
                    ? ["AWSTraceHeader": MessageAttributeValue(dataType: "String", stringValue: "Root=1-\(counter)")]
                    : [:],
                messageGroupId: fifo || random.chance(0.05) ? "g\(random.int(0...3))" : nil,
                messageDeduplicationId: fifo && random.chance(0.6) ? "d\(random.int(0...40))" : nil)
        }
        return .sendMessages(queueName: name, entries: entries, senderId: "AKID\(random.int(0...2))", isBatch: isBatch)
    }

    private mutating func body() -> String {
        switch random.int(0...9) {
        case 0: return "same body"
        case 1: return "héllo 🚢 \(counterValue())"
        case 2: return String(repeating: "x", count: 256)
        case 3: return random.chance(0.1) ? "" : "short"
        default: return "message \(counterValue())"
        }
    }

    private mutating func messageAttributes() -> MessageAttributes {
        var attributes: MessageAttributes = [:]
        for _ in 0..<random.int(1...3) {
            switch random.int(0...2) {
            case 0: attributes["a.text"] = MessageAttributeValue(dataType: "String", stringValue: "t\(counterValue())")
            case 1:
                attributes["a.number"] = MessageAttributeValue(dataType: "Number", stringValue: "\(random.int(-9...9))")
            default:
                attributes["bin"] = MessageAttributeValue(
                    dataType: "Binary.raw",
                    binaryValue: (0..<random.int(1...20)).map { _ in UInt8.random(in: 0...255, using: &random) })
            }
        }
        return attributes
    }

    private mutating func receive() -> Command {
        let name = queueName()
        var attemptId: String?
        if name.hasSuffix(".fifo") && random.chance(0.3) {
            if !attemptIds.isEmpty && random.chance(0.5) {
                attemptId = random.pick(attemptIds)
            } else {
                attemptId = "attempt-\(counterValue())"
                attemptIds.append(attemptId!)
                if attemptIds.count > 10 { attemptIds.removeFirst() }
            }
        }
        return .receiveMessages(
            ReceiveMessageRequest(
                queueName: name, maxNumberOfMessages: random.chance(0.02) ? 11 : random.int(1...10),
                visibilityTimeoutSeconds: random.pick([nil, 0, 1, 3, 10, 40]),
                messageSystemAttributeNames: random.pick([[], ["All"], ["SentTimestamp", "ApproximateReceiveCount"]]),
                messageAttributeNames: random.pick([[], ["All"], [".*"], ["a.*"], ["bin"]]),
                receiveRequestAttemptId: attemptId))
    }

    private mutating func acknowledge(changeVisibility: Bool) -> Command {
        let name = queueName()
        let known = handles[name, default: []]
        let count = random.chance(0.6) ? 1 : random.int(1...4)
        let isBatch = count > 1 || random.chance(0.3)
        let entries = (0..<count).map { index in
            ReceiptEntry(
                id: isBatch ? "r\(index)" : nil,
                receiptHandle: known.isEmpty || random.chance(0.05) ? "bogus" : random.pick(known),
                visibilityTimeoutSeconds: changeVisibility ? random.pick([0, 0, 1, 5, 30, 120, 50_000]) : nil)
        }
        return changeVisibility
            ? .changeMessageVisibility(queueName: name, entries: entries, isBatch: isBatch)
            : .deleteMessages(queueName: name, entries: entries, isBatch: isBatch)
    }

    private mutating func setAttributes() -> Command {
        let name = queueName()
        let fifo = name.hasSuffix(".fifo")
        var choices: [[String: String]] = [
            ["VisibilityTimeout": String(random.int(0...40))],
            ["ReceiveMessageWaitTimeSeconds": String(random.int(0...20))],
            ["MessageRetentionPeriod": random.pick(["60", "120", "345600"])],
            ["Policy": "{\"Version\":\"2012-10-17\"}"],
        ]
        if fifo {
            choices.append(["ContentBasedDeduplication": random.chance(0.5) ? "true" : "false"])
            choices.append(["DeduplicationScope": random.pick(["queue", "messageGroup"])])
            choices.append(["RedrivePolicy": redrivePolicy(to: "dead.fifo", maxReceiveCount: random.int(1...4))])
        } else {
            choices.append(["DelaySeconds": String(random.int(0...5))])
            choices.append([
                "RedrivePolicy": random.chance(0.2) ? "" : redrivePolicy(to: "dead", maxReceiveCount: random.int(1...4))
            ])
            choices.append([
                "RedriveAllowPolicy": random.pick([
                    "{\"redrivePermission\":\"allowAll\"}",
                    "{\"redrivePermission\":\"byQueue\",\"sourceQueueArns\":[\"\(arn("alpha"))\"]}",
                ])
            ])
        }
        return .setQueueAttributes(name: name, attributes: random.pick(choices))
    }

    private mutating func startMoveTask() -> Command {
        let fifo = random.chance(0.4)
        let source = random.chance(0.1) ? "alpha" : (fifo ? "dead.fifo" : "dead")
        let destinations: [String?] = fifo ? [nil, nil, "two.fifo", "ghost.fifo"] : [nil, nil, "beta", "ghost"]
        return .startMessageMoveTask(
            sourceArn: arn(source), destinationArn: random.pick(destinations).map { arn($0) },
            maxNumberOfMessagesPerSecond: random.chance(0.3) ? nil : random.int(1...2))
    }
}
