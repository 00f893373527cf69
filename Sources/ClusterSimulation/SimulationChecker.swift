import Cluster
import QueueEngine
import Raft

/// The invariants: answers are their own, nothing unexpected, no phantom receives, FIFO order within a
/// group, replicas agree, no acknowledged send lost, no acknowledged attribute or tag change reverted
/// (at the end, and in every read of them).
extension SimulationWorld {
    /// A receive's messages: each was sent to that queue (or redriven to it), with its body's MD5; its
    /// receive count is explained by receives that returned it or whose outcome is unknown; FIFO messages
    /// come after every earlier acknowledged message of their group.
    mutating func checkReceived(_ messages: [ReceivedMessage], operation: SimulationHistory.Operation) {
        let sources = operation.queue == "dlq" ? ["q", "dlq"] : [operation.queue]
        for message in messages {
            guard sources.contains(where: { history.sentBodies[$0]?.contains(message.body) == true }) else {
                return fail("op \(operation.id): \(operation.queue) returned \(message.body), never sent to it")
            }
            guard message.md5OfBody == SimulationHistory.md5(message.body) else {
                return fail("op \(operation.id): \(message.body) came with another body's MD5")
            }
            history.receivedCount[message.body, default: 0] += 1
            history.receipts.append((operation.queue, message.receiptHandle))
            if let count = message.attributes["ApproximateReceiveCount"].flatMap({ Int($0) }) {
                // Receives that returned it, or whose outcome is unknown, or that are still in flight (a
                // receive applies on every replica before its own node answers it).
                let inFlight = history.operations.values.filter {
                    $0.command == "receiveMessages" && $0.outcome == .pending && $0.id != operation.id
                        && (sources.contains($0.queue) || $0.queue == "q")
                }.count
                let explained =
                    history.receivedCount[message.body]! + inFlight
                    + ["q", "dlq", operation.queue].reduce(0) { $0 + history.unknownReceives[$1, default: 0] }
                guard count <= explained else {
                    return fail(
                        "op \(operation.id): phantom receive: \(message.body) has receive count \(count), but only \(explained) receives could have returned it"
                    )
                }
            }
            if let group = history.fifoGroups[message.body] {
                let invokedAt = history.operations.values.first { $0.body == message.body }?.invokedAt ?? 0
                for earlier in history.fifoAcknowledged[group, default: []] {
                    guard earlier != message.body else { break }
                    guard let acknowledgedAt = history.acknowledged[earlier]?.at, acknowledgedAt < invokedAt else {
                        continue
                    }
                    guard history.fifoDelivered.contains(earlier) else {
                        return fail(
                            "op \(operation.id): FIFO order: \(message.body) of \(group) delivered before \(earlier)")
                    }
                }
                history.fifoDelivered.insert(message.body)
            }
        }
    }

    /// A read of a register invoked at `readInvokedAt` and answered now sees the value of the last change
    /// acknowledged before the read began, or of a change that did not finish before that one began
    /// (concurrent with it, later, or of unknown outcome) and began before the read ended; before any
    /// acknowledged change, also the initial value. Anything else is a revert or a stale read.
    mutating func checkRegister(_ register: String, value: String?, readInvokedAt: Int64, by reader: String) {
        let changes = history.registerChanges[register, default: []]
        let acknowledged = changes.indices.filter { (changes[$0].okAt ?? .max) < readInvokedAt }
        let last = acknowledged.max { changes[$0].okAt! < changes[$1].okAt! }
        let allowed = changes.indices.filter { index in
            index == last
                || (changes[index].invokedAt <= now
                    && (last.map { (changes[index].okAt ?? .max) >= changes[$0].invokedAt } ?? true))
        }.map { changes[$0].value }
        if let value, allowed.contains(value) { return }
        if last == nil, !changes.contains(where: { $0.value == value }) { return }  // the initial value
        fail(
            "\(reader): \(register) is \(value ?? "absent"), not one of \(allowed)\(last == nil ? " or its initial value" : ""): a change was reverted or the read is stale"
        )
    }

    /// Replicas of a shard at the same applied index hold identical engine state and applied-request tables.
    mutating func checkReplicasAgree() {
        for shard in 0..<shardCount {
            var byIndex: [UInt64: (node: NodeID, engine: [UInt8], applied: AppliedRequests)] = [:]
            for node in nodes where node.isUp {
                guard let driver = node.drivers[shard] else { continue }
                let index = driver.raft.appliedIndex
                let engine = driver.engine.snapshot()
                if let other = byIndex[index] {
                    guard other.engine == engine, other.applied == driver.applied else {
                        return fail(
                            "replicas \(other.node) and \(node.id) of shard \(shard) differ at applied index \(index)")
                    }
                } else {
                    byIndex[index] = (node.id, engine, driver.applied)
                }
            }
        }
    }

    /// Every node is up and, shard by shard, has applied the same index.
    var replicasConverged: Bool {
        nodes.allSatisfy(\.isUp)
            && (0..<shardCount).allSatisfy { shard in
                Set(nodes.compactMap { $0.drivers[shard]?.raft.appliedIndex }).count == 1
            }
    }

    /// At the end: every acknowledged send was received; the last acknowledged attribute change stands
    /// (or one made after it began); every replica caught up and agrees.
    mutating func checkFinal() {
        for (body, sent) in history.acknowledged.sorted(by: { $0.key < $1.key })
        where history.receivedCount[body, default: 0] == 0 {
            return fail("lost: \(body), acknowledged on \(sent.queue) at \(sent.at) ms, was never received")
        }
        if let leader = leader(of: shard(of: "q")) {
            let attributes = (try? leader.engine.queueAttributes("q", names: ["MaximumMessageSize", "Policy"])) ?? [:]
            let tags = (try? leader.engine.queueTags("q")) ?? [:]
            for register in SimulationHistory.registers {
                let value = register.hasPrefix("tag:") ? tags[String(register.dropFirst(4))] : attributes[register]
                checkRegister(register, value: value, readInvokedAt: now + 1, by: "at the end, shard leader")
            }
        }
        guard replicasConverged else {
            return fail("liveness: after healing, replicas have not converged (\(nodeStates))")
        }
        checkReplicasAgree()
    }

    /// Each replica's Raft state, for failure messages.
    var nodeStates: String {
        nodes.map { node in
            guard node.isUp else { return "node \(node.id) down" }
            return node.drivers.sorted(by: { $0.key < $1.key }).map { shard, driver in
                let raft = driver.raft
                return
                    "node \(node.id) shard \(shard) \(raft.role) term \(raft.term) commit \(raft.commitIndex) applied \(raft.appliedIndex) first \(raft.firstIndex) last \(raft.lastIndex)\(raft.isRepairing ? " repairing" : "")"
            }.joined(separator: "; ")
        }.joined(separator: "; ")
    }
}
