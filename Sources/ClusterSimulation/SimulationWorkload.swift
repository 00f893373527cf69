import Cluster
import QueueEngine
import Raft

/// The simulated clients: SQS commands against random nodes, and what their answers say.
extension SimulationWorld {
    static let deadLetterArn = "arn:aws:sqs:us-east-1:000000000000:dlq"

    mutating func issueOperations() {
        let inFlight = history.operations.values.lazy.filter { $0.outcome == .pending }.count
        guard inFlight < Self.inFlightMax else { return }
        let up = nodes.filter(\.isUp)
        guard !up.isEmpty else { return }
        if queuesCreated.count < Self.queues.count {
            if now % 500 == 0 { createQueues(on: workloadRandom.pick(up)) }
            return
        }
        guard isDraining || workloadRandom.chance(0.4) else { return }
        let node = workloadRandom.pick(up)
        if isDraining {
            if now % 100 == 0 {
                for queue in Self.queues {
                    submit(
                        receive: ReceiveMessageRequest(
                            queueName: queue, maxNumberOfMessages: 10, visibilityTimeoutSeconds: 30,
                            messageSystemAttributeNames: ["All"]), waitSeconds: 0, on: workloadRandom.pick(up))
                }
            }
            deleteReceived(on: node)
            return
        }
        switch workloadRandom.int(0...99) {
        case 0..<35:
            let id = nextOperation
            let body = "s\(seed)-\(id)"
            submit(
                .sendMessages(
                    queueName: "q", entries: [SendMessageEntry(id: "e", body: body)], senderId: "A", isBatch: false),
                queue: "q", body: body, on: node)
        case 35..<50:
            let id = nextOperation
            let body = "f\(seed)-\(id)"
            let group = "g\(workloadRandom.int(0...2))"
            submit(
                .sendMessages(
                    queueName: "f.fifo",
                    entries: [
                        SendMessageEntry(id: "e", body: body, messageGroupId: group, messageDeduplicationId: body)
                    ], senderId: "A", isBatch: false), queue: "f.fifo", body: body, group: group, on: node)
        case 50..<78:
            let queue = workloadRandom.pick(Self.queues)
            submit(
                receive: ReceiveMessageRequest(
                    queueName: queue, maxNumberOfMessages: workloadRandom.int(1...10),
                    visibilityTimeoutSeconds: workloadRandom.pick([nil, 0, 1, 2]),
                    messageSystemAttributeNames: ["All"]), waitSeconds: workloadRandom.pick([0, 0, 1, 2]), on: node)
        case 78..<90:
            deleteReceived(on: node)
        case 90..<95:
            guard let receipt = history.receipts.isEmpty ? nil : workloadRandom.pick(history.receipts) else { return }
            submit(
                .changeMessageVisibility(
                    queueName: receipt.queue,
                    entries: [
                        ReceiptEntry(receiptHandle: receipt.handle, visibilityTimeoutSeconds: workloadRandom.int(0...2))
                    ],
                    isBatch: false), queue: receipt.queue, on: node)
        case 95..<98:
            changeRegister(on: node)
        default:
            readRegisters(on: node)
        }
    }

    /// Sets one of queue q's registers (an attribute or a tag) to a value no change used before.
    mutating func changeRegister(on node: SimulatedNode) {
        let register = workloadRandom.pick(SimulationHistory.registers)
        let serial = history.registerChanges.values.reduce(0) { $0 + $1.count }
        let value: String
        let command: Command
        switch register {
        case "MaximumMessageSize":
            value = "\(1_024 + serial)"
            command = .setQueueAttributes(name: "q", attributes: [register: value])
        case "Policy":
            value = "{\"Version\":\"2012-10-17\",\"Id\":\"p\(serial)\",\"Statement\":[]}"
            command = .setQueueAttributes(name: "q", attributes: [register: value])
        default:
            value = "v\(serial)"
            command = .tagQueue(name: "q", tags: ["t": value])
        }
        history.registerChanges[register, default: []].append(.init(invokedAt: now, value: value))
        let index = history.registerChanges[register]!.count - 1
        submit(command, queue: "q", body: "register:\(register):\(index)", on: node)
    }

    /// Reads queue q's attributes or tags (GetQueueAttributes, ListQueueTags: linearizable queries).
    mutating func readRegisters(on node: SimulatedNode) {
        let tags = workloadRandom.chance(0.5)
        let query: ShardQuery =
            tags ? .queueTags(name: "q") : .queueAttributes(name: "q", names: ["MaximumMessageSize", "Policy"])
        let id = begin(
            command: "query", queue: "q", body: tags ? "read:tag:t" : "read:MaximumMessageSize,Policy", node: node)
        dispatch(.query(shard: UInt32(shard(of: "q")), query), handle: id, on: node)
    }

    mutating func createQueues(on node: SimulatedNode) {
        let redrive = "{\"deadLetterTargetArn\":\"\(Self.deadLetterArn)\",\"maxReceiveCount\":\"3\"}"
        let attributes: [String: [String: String]] = [
            "dlq": [:], "q": ["VisibilityTimeout": "1", "RedrivePolicy": redrive],
            "f.fifo": ["FifoQueue": "true", "VisibilityTimeout": "1"],
        ]
        for queue in Self.queues where !queuesCreated.contains(queue) {
            submit(.createQueue(name: queue, attributes: attributes[queue]!, tags: [:]), queue: queue, on: node)
            if queue == "dlq" { return }  // the others name it in their redrive policy
        }
    }

    mutating func deleteReceived(on node: SimulatedNode) {
        guard !history.receipts.isEmpty else { return }
        let receipt = history.receipts.removeFirst()
        submit(
            .deleteMessages(
                queueName: receipt.queue, entries: [ReceiptEntry(receiptHandle: receipt.handle)], isBatch: false),
            queue: receipt.queue, on: node)
    }

    // MARK: Submitting

    mutating func submit(
        _ command: Command, queue: String, body: String? = nil, group: String? = nil, on node: SimulatedNode
    ) {
        if let body, let group {
            history.sentBodies[queue, default: []].insert(body)
            history.fifoGroups[body] = group
        } else if let body, SimulationHistory.isMessageBody(body) {
            history.sentBodies[queue, default: []].insert(body)
        }
        let id = begin(
            command: "\(command)".prefix(while: { $0 != "(" }).description, queue: queue, body: body, node: node)
        dispatch(.command(shard: UInt32(shard(of: queue)), command), handle: id, on: node)
    }

    mutating func submit(receive request: ReceiveMessageRequest, waitSeconds: Int, on node: SimulatedNode) {
        let id = begin(command: "receiveMessages", queue: request.queueName, body: nil, node: node)
        dispatch(
            .receive(shard: UInt32(shard(of: request.queueName)), request, waitSeconds: waitSeconds), handle: id,
            on: node)
    }

    mutating func begin(command: String, queue: String, body: String?, node: SimulatedNode) -> UInt64 {
        let id = nextOperation
        nextOperation += 1
        history.operations[id] = SimulationHistory.Operation(
            id: id, command: command, queue: queue, body: body, node: node.id, invokedAt: now)
        node.clients.insert(id)
        let group = body.flatMap { history.fifoGroups[$0] }.map { " (\($0))" } ?? ""
        record("op \(id) \(command) \(queue) \(body ?? "")\(group) on node \(node.id)")
        return id
    }

    // MARK: Answers

    mutating func settleUnknown(_ id: UInt64) {
        guard var operation = history.operations[id], operation.outcome == .pending else { return }
        operation.outcome = .unknown
        operation.answeredAt = now
        history.operations[id] = operation
        if operation.command == "receiveMessages" { history.unknownReceives[operation.queue, default: 0] += 1 }
    }

    mutating func answered(_ id: UInt64, _ result: CommandResult) {
        guard var operation = history.operations[id] else { return fail("an answer for operation \(id), never made") }
        guard operation.outcome == .pending else { return fail("operation \(id) answered twice") }
        if case .failure = result {
            record("op \(id) failed: \(result)")
            return settleUnknown(id)
        }
        operation.outcome = .ok
        operation.answeredAt = now
        history.operations[id] = operation
        switch (operation.command, result) {
        case ("createQueue", .queueCreated(let name)):
            guard name == operation.queue else { return fail("op \(id) created \(name), not \(operation.queue)") }
            queuesCreated.insert(name)
        case ("sendMessages", .sent(let entries)):
            guard let body = operation.body, entries.count == 1, case .success(let sent) = entries[0].outcome else {
                return fail("op \(id): a send answered \(result)")
            }
            guard sent.md5OfMessageBody == SimulationHistory.md5(body) else {
                return fail("op \(id): the send of \(body) was answered with another message's MD5")
            }
            guard sentMessageIds.insert(sent.messageId).inserted || operation.queue == "f.fifo" else {
                return fail(
                    "op \(id): the send of \(body) was answered with message id \(sent.messageId), already given")
            }
            if let known = history.messageIds[body], known != sent.messageId {
                return fail(
                    "op \(id): the send of \(body) was answered with id \(sent.messageId), but it is stored as \(known)"
                )
            }
            history.messageIds[body] = sent.messageId
            history.acknowledged[body] = (operation.queue, now)
            if let group = history.fifoGroups[body] { history.fifoAcknowledged[group, default: []].append(body) }
        case ("receiveMessages", .received(let messages)):
            if !messages.isEmpty { record("op \(id) received \(messages.map(\.body).joined(separator: " "))") }
            checkReceived(messages, operation: operation)
        case ("setQueueAttributes", .done), ("tagQueue", .done):
            // "register:NAME:INDEX" (a name may hold a colon).
            guard let label = operation.body?.dropFirst("register:".count), let colon = label.lastIndex(of: ":"),
                let index = Int(label[label.index(after: colon)...]),
                history.registerChanges[String(label[..<colon])]?.indices.contains(index) == true
            else { return fail("op \(id) (\(operation.command)) changed no register") }
            history.registerChanges[String(label[..<colon])]![index].okAt = now
        case ("deleteMessages", _), ("changeMessageVisibility", _):
            break
        default:
            fail("op \(id) (\(operation.command)) was answered with \(result): another request's answer")
        }
        record("op \(id) ok")
    }

    /// A query's answer: an answer to this query (its keys), and no register reverted (see `checkRegister`).
    mutating func queryAnswered(_ id: UInt64, _ answer: ShardAnswer) {
        guard var operation = history.operations[id], operation.outcome == .pending, let body = operation.body else {
            return fail("a query answer for operation \(id), which waits for none")
        }
        operation.outcome = .ok
        operation.answeredAt = now
        history.operations[id] = operation
        let registers = body.dropFirst("read:".count).split(separator: ",").map(String.init)
        let isTags = registers == ["tag:t"]
        guard case .map(let values) = answer, values["MaximumMessageSize"] == nil || !isTags,
            values["MaximumMessageSize"] != nil || isTags
        else { return fail("op \(id) (\(body)) was answered with \(answer): another request's answer") }
        for register in registers {
            let key = register.hasPrefix("tag:") ? String(register.dropFirst("tag:".count)) : register
            checkRegister(register, value: values[key], readInvokedAt: operation.invokedAt, by: "op \(id)")
        }
        record("op \(id) ok")
    }

    /// The drain is over once every acknowledged send was received and no queue of any shard holds a
    /// message, nor any outbox one on its way to another shard.
    var isDrained: Bool {
        guard queuesCreated.count == Self.queues.count,
            history.acknowledged.keys.allSatisfy({ history.receivedCount[$0, default: 0] > 0 }),
            history.receipts.isEmpty
        else { return false }
        return (0..<shardCount).allSatisfy { shard in
            guard let leader = leader(of: shard) else { return false }
            return leader.engine.messageCount == 0 && leader.engine.outboxCount == 0
        }
    }

    /// What the drain still waits for (for a liveness failure's message).
    var drainState: String {
        let unreceived = history.acknowledged.keys.filter { history.receivedCount[$0, default: 0] == 0 }.sorted()
        let shards = (0..<shardCount).map { shard in
            guard let leader = leader(of: shard) else { return "shard \(shard): no leader" }
            return
                "shard \(shard): \(leader.engine.messageCount) messages, \(leader.engine.outboxCount) in the outbox, "
                + "leader \(leader.raft.membership)"
        }
        return "acknowledged and not received \(unreceived.prefix(5)) (\(unreceived.count)), receipts "
            + "\(history.receipts.count), move \(move.map { "of shard \($0.shard) to \($0.target)" } ?? "none"); "
            + shards.joined(separator: "; ")
    }

    /// The driver of `shard` on the node that leads it, if one does.
    func leader(of shard: Int) -> ShardDriver? {
        nodes.lazy.filter(\.isUp).compactMap { $0.drivers[shard] }.first { $0.raft.role == .leader }
    }
}
