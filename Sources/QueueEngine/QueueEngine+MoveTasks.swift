import HeapModule

extension QueueEngine {
    mutating func startMessageMoveTask(
        sourceArn: String, destinationArn: String?, maxNumberOfMessagesPerSecond: Int?
    ) throws(QueueError) -> String {
        guard let sourceName = queueName(fromArn: sourceArn), let sourceIsFifo = queues[sourceName]?.isFifo,
            let sourceCount = queues[sourceName]?.messages.count
        else { throw .moveSourceMissing }
        // With several shards the queues redriving here may live on others: the node checked those.
        guard configuration.shardCount > 1 || !queues(redrivingTo: sourceArn).isEmpty else {
            throw .moveSourceNotDeadLetterQueue(sourceArn)
        }
        if let destinationArn {
            guard let destinationName = queueName(fromArn: destinationArn) else { throw .moveDestinationMissing }
            let destinationIsFifo: Bool
            if remoteShard(of: destinationName) != nil {
                // On another shard, where the node checked it exists; its name tells its type.
                destinationIsFifo = destinationName.hasSuffix(".fifo")
            } else {
                guard let queue = queues[destinationName] else { throw .moveDestinationMissing }
                destinationIsFifo = queue.isFifo
            }
            guard destinationIsFifo == sourceIsFifo, destinationName != sourceName else {
                throw QueueError.invalidParameter(
                    "DestinationArn", destinationArn, reason: "Destination must be another queue of the same type.")
            }
        }
        if let rate = maxNumberOfMessagesPerSecond, !(1...QueueLimits.moveTaskMessagesPerSecondMax).contains(rate) {
            throw QueueError.invalidParameter(
                "MaxNumberOfMessagesPerSecond", String(rate), reason: "Must be between 1 and 500.")
        }
        if moveTasks[sourceName, default: []].contains(where: { $0.status == .running }) {
            throw QueueError(
                .invalidParameterValue,
                "There is already a task running. Only one active task is allowed for a source queue arn at a given time."
            )
        }
        let number = nextMoveTaskNumber
        nextMoveTaskNumber += 1
        let handle = PageToken.encode("\(number)|\(sourceArn)")
        let task = MessageMoveTask(
            taskHandle: handle, sourceName: sourceName, sourceArn: sourceArn, destinationArn: destinationArn,
            maxNumberOfMessagesPerSecond: maxNumberOfMessagesPerSecond, startedTimestamp: clock,
            lastSequenceAtStart: nextMessageSequence - 1, approximateNumberOfMessagesToMove: sourceCount)
        var history = moveTasks[sourceName, default: []]
        history.append(task)
        if history.count > QueueLimits.moveTaskHistoryMax {
            history.removeFirst(history.count - QueueLimits.moveTaskHistoryMax)
        }
        moveTasks[sourceName] = history
        progressMoveTasks()
        return handle
    }

    mutating func cancelMessageMoveTask(_ taskHandle: String) throws(QueueError) -> Int {
        for (sourceName, tasks) in moveTasks {
            guard let index = tasks.firstIndex(where: { $0.taskHandle == taskHandle }) else { continue }
            guard tasks[index].status == .running else {
                throw QueueError(.resourceNotFound, "Only a RUNNING task can be cancelled.")
            }
            moveTasks[sourceName]![index].status = .cancelled
            return tasks[index].approximateNumberOfMessagesMoved
        }
        throw QueueError(.resourceNotFound, "The task handle \(taskHandle) does not match a message move task.")
    }

    /// ListMessageMoveTasks: newest first, at most `maxResults` (1–10, default 1).
    public func messageMoveTasks(sourceArn: String, maxResults: Int?) throws(QueueError) -> [MessageMoveTaskInfo] {
        guard let sourceName = queueName(fromArn: sourceArn), queues[sourceName] != nil else {
            throw .moveSourceMissing
        }
        let limit = maxResults ?? 1
        guard (1...QueueLimits.moveTaskHistoryMax).contains(limit) else {
            throw QueueError.invalidParameter("MaxResults", String(limit), reason: "Must be between 1 and 10.")
        }
        return moveTasks[sourceName, default: []].reversed().prefix(limit).map(\.info)
    }

    /// Time passes for every queue: delays and visibility timeouts run out, retention expires messages,
    /// recently-deleted names are released, and move tasks make progress.
    /// `adoptRules`: from now on, commands apply with `version` (at most this build's; never back).
    mutating func adoptRules(_ version: UInt8) {
        let adopted = min(max(rules, version), Rules.current)
        guard adopted != rules else { return }
        rules = adopted
        for name in queues.keys.sorted() {
            queues[name]!.rules = adopted
            // Groups the new rules make receivable (a visible head before a message in flight).
            for groupId in queues[name]!.groups.keys.sorted() { queues[name]!.scheduleGroup(groupId) }
        }
    }

    mutating func advanceTime() {
        let now = clock
        for name in Array(queues.keys) { queues[name]!.advance(to: now) }
        deletedQueues = deletedQueues.filter { now - $0.value < QueueLimits.queueDeletedRecentlyMilliseconds }
        progressMoveTasks()
    }

    private mutating func progressMoveTasks() {
        for sourceName in moveTasks.keys.sorted() {
            guard let index = moveTasks[sourceName]!.lastIndex(where: { $0.status == .running }) else { continue }
            progress(taskAt: index, of: sourceName)
        }
    }

    private mutating func progress(taskAt index: Int, of sourceName: String) {
        let now = clock
        let task = moveTasks[sourceName]![index]
        guard queues[sourceName] != nil else {
            moveTasks[sourceName]![index].fail("The source queue no longer exists.")
            return
        }
        queues[sourceName]!.advance(to: now)
        var budget = task.allowance(now: now)
        var cursor = CandidateCursor()
        var moved = 0
        var finished = false
        var failure: String?
        var skippedGroups: [String] = []
        let isFifo = queues[sourceName]!.isFifo
        while budget > 0 {
            guard let sequence = cursor.next(in: &queues[sourceName]!) else {
                finished = true
                break
            }
            let message = queues[sourceName]!.messages[sequence]!
            guard sequence <= task.lastSequenceAtStart else {
                if isFifo, let groupId = message.messageGroupId {
                    // Later messages of this group arrived after the task started; other groups may
                    // still hold older ones.
                    cursor.leaveGroup()
                    skippedGroups.append(groupId)
                    continue
                }
                requeue(sequence, in: sourceName)
                finished = true
                break
            }
            let destinationName = task.destinationArn.flatMap(queueName(fromArn:)) ?? message.originQueueName
            if let destinationName, remoteShard(of: destinationName) != nil {
                guard outboxHasRoom else {
                    // The outbox is full: carry on once the other shards took some.
                    requeue(sequence, in: sourceName)
                    break
                }
                queues[sourceName]!.remove(sequence)
                sendAway(
                    message, from: sourceName, to: destinationName, deadLetterSourceArn: nil, originQueueName: nil)
                moved += 1
                budget -= 1
                continue
            }
            guard let destinationName, queues[destinationName] != nil else {
                requeue(sequence, in: sourceName)
                failure = "The destination queue for message \(message.messageId) does not exist."
                break
            }
            queues[sourceName]!.remove(sequence)
            enqueueMoved(
                message, into: destinationName, deadLetterSourceArn: nil, originQueueName: nil, keepsReceives: false)
            moved += 1
            budget -= 1
        }
        for groupId in skippedGroups { queues[sourceName]!.scheduleGroup(groupId) }
        moveTasks[sourceName]![index].approximateNumberOfMessagesMoved += moved
        if let failure {
            moveTasks[sourceName]![index].fail(failure)
        } else if finished {
            moveTasks[sourceName]![index].status = .completed
        }
    }

    /// Puts back an available message the cursor took but did not move.
    private mutating func requeue(_ sequence: UInt64, in queueName: String) {
        guard let message = queues[queueName]!.messages[sequence] else { return }
        if let groupId = message.messageGroupId, queues[queueName]!.isFifo {
            queues[queueName]!.scheduleGroup(groupId)
        } else {
            queues[queueName]!.ready.insert(ReadyMessage(sequence: sequence, version: message.version))
        }
    }
}
