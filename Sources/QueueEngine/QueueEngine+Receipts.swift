extension QueueEngine {
    /// DeleteMessage / DeleteMessageBatch. Any receipt handle of the message deletes it, also one from
    /// before it was received again (what SQS does, whatever its documentation suggests); a message
    /// already gone succeeds too. On a FIFO queue a handle whose visibility timeout ended (the message is
    /// visible again, or received again since) is refused as expired.
    mutating func deleteMessages(
        queueName: String, entries: [ReceiptEntry], isBatch: Bool
    ) throws(QueueError) -> [BatchEntryResult<Acknowledged>] {
        guard queues[queueName] != nil else { throw .queueDoesNotExist() }
        if isBatch {
            try MessageValidation.validateBatch(ids: entries.map(\.id), entryName: "DeleteMessageBatchRequestEntry")
        }
        let identifiers = self.identifiers
        let anyHandle = rules >= 2
        return try withQueue(queueName) { queue throws(QueueError) in
            var results: [BatchEntryResult<Acknowledged>] = []
            for entry in entries {
                let outcome: BatchEntryResult<Acknowledged>.Outcome
                if let receipt = identifiers.receipt(fromHandle: entry.receiptHandle, queueName: queueName),
                    receipt.queueIncarnation == queue.incarnation
                {
                    if !anyHandle {
                        // The first rules: only the latest handle deletes; an older one succeeds without.
                        if queue.messages[receipt.sequence]?.receiveCount == receipt.receiveCount,
                            queue.remove(receipt.sequence) != nil
                        {
                            queue.deletedCount += 1
                        }
                        outcome = .success(Acknowledged())
                    } else if let message = queue.messages[receipt.sequence], queue.isFifo,
                        message.state != .inFlight || message.receiveCount != receipt.receiveCount
                    {
                        let error = QueueError.invalidParameter(
                            "ReceiptHandle", entry.receiptHandle, reason: "The receipt handle has expired.")
                        if !isBatch { throw error }
                        outcome = .failure(error)
                    } else {
                        if queue.remove(receipt.sequence) != nil { queue.deletedCount += 1 }
                        outcome = .success(Acknowledged())
                    }
                } else {
                    let error = Self.invalidReceiptHandle(entry.receiptHandle)
                    if !isBatch { throw error }
                    outcome = .failure(error)
                }
                results.append(BatchEntryResult(id: entry.id ?? "", outcome: outcome))
            }
            return results
        }
    }

    /// ChangeMessageVisibility / ChangeMessageVisibilityBatch: the message becomes visible again
    /// `visibilityTimeoutSeconds` from now (0: now). As AWS does, any handle of the message is accepted:
    /// the latest of a message whose timeout already ran out, and one from before it was received again.
    mutating func changeMessageVisibility(
        queueName: String, entries: [ReceiptEntry], isBatch: Bool
    ) throws(QueueError) -> [BatchEntryResult<Acknowledged>] {
        guard queues[queueName] != nil else { throw .queueDoesNotExist() }
        if isBatch {
            try MessageValidation.validateBatch(
                ids: entries.map(\.id), entryName: "ChangeMessageVisibilityBatchRequestEntry")
        }
        let identifiers = self.identifiers
        let now = clock
        let anyHandle = rules >= 2
        return try withQueue(queueName) { queue throws(QueueError) in
            var results: [BatchEntryResult<Acknowledged>] = []
            for entry in entries {
                do throws(QueueError) {
                    try Self.changeVisibility(
                        of: entry, in: &queue, identifiers: identifiers, now: now, anyHandle: anyHandle)
                    results.append(BatchEntryResult(id: entry.id ?? "", outcome: .success(Acknowledged())))
                } catch {
                    if !isBatch { throw error }
                    results.append(BatchEntryResult(id: entry.id ?? "", outcome: .failure(error)))
                }
            }
            return results
        }
    }

    private static func changeVisibility(
        of entry: ReceiptEntry, in queue: inout QueueState, identifiers: Identifiers, now: Int64, anyHandle: Bool
    ) throws(QueueError) {
        guard let timeout = entry.visibilityTimeoutSeconds else {
            throw QueueError(.missingParameter, "The request must contain the parameter VisibilityTimeout.")
        }
        guard (0...QueueLimits.visibilityTimeoutSecondsMax).contains(timeout) else {
            throw QueueError.invalidParameter(
                "VisibilityTimeout", String(timeout), reason: "Must be between 0 and 43200.")
        }
        guard let receipt = identifiers.receipt(fromHandle: entry.receiptHandle, queueName: queue.name),
            receipt.queueIncarnation == queue.incarnation
        else { throw invalidReceiptHandle(entry.receiptHandle) }
        guard let message = queue.messages[receipt.sequence] else {
            throw QueueError.invalidParameter(
                "ReceiptHandle", entry.receiptHandle,
                reason: "Message does not exist or is not available for visibility timeout change.")
        }
        guard anyHandle || message.receiveCount == receipt.receiveCount else {
            throw QueueError(.messageNotInflight, "The message referred to by this receipt handle is not in flight.")
        }
        let receivedAt = message.lastReceiveTimestamp ?? now
        let deadline = now + Int64(timeout) * 1000
        guard deadline - receivedAt <= Int64(QueueLimits.visibilityTimeoutSecondsMax) * 1000 else {
            throw QueueError.invalidParameter(
                "VisibilityTimeout", String(timeout),
                reason: "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]")
        }
        if timeout == 0 {
            queue.makeAvailable(receipt.sequence, at: now)
        } else {
            queue.hide(receipt.sequence, until: deadline)
        }
    }

    static func invalidReceiptHandle(_ handle: String) -> QueueError {
        QueueError(.receiptHandleIsInvalid, "The input receipt handle \"\(handle)\" is not a valid receipt handle.")
    }
}
