/// A message move task: moves the messages a dead-letter queue held when the task started, at an
/// optional rate, to a destination queue or each back to the queue it came from.
struct MessageMoveTask: Sendable {
    enum Status: String, Sendable {
        case running = "RUNNING"
        case completed = "COMPLETED"
        case cancelled = "CANCELLED"
        case failed = "FAILED"
    }

    let taskHandle: String
    let sourceName: String
    let sourceArn: String
    let destinationArn: String?
    let maxNumberOfMessagesPerSecond: Int?
    let startedTimestamp: Int64
    /// Messages with a sequence up to this one were in the queue at the start and are moved.
    let lastSequenceAtStart: UInt64
    let approximateNumberOfMessagesToMove: Int
    var approximateNumberOfMessagesMoved = 0
    var status = Status.running
    var failureReason: String?

    mutating func fail(_ reason: String) {
        status = .failed
        failureReason = reason
    }

    /// How many more messages the rate allows by `now`.
    func allowance(now: Int64) -> Int {
        guard let rate = maxNumberOfMessagesPerSecond else { return QueueLimits.moveTaskMessagesPerAdvanceMax }
        let elapsedMilliseconds = max(0, now - startedTimestamp)
        let allowedTotal = Int(Int64(rate) * (elapsedMilliseconds / 1000 + 1))
        return min(QueueLimits.moveTaskMessagesPerAdvanceMax, max(0, allowedTotal - approximateNumberOfMessagesMoved))
    }

    var info: MessageMoveTaskInfo {
        MessageMoveTaskInfo(
            taskHandle: status == .running ? taskHandle : nil, status: status.rawValue, sourceArn: sourceArn,
            destinationArn: destinationArn, maxNumberOfMessagesPerSecond: maxNumberOfMessagesPerSecond,
            approximateNumberOfMessagesMoved: approximateNumberOfMessagesMoved,
            approximateNumberOfMessagesToMove: approximateNumberOfMessagesToMove, failureReason: failureReason,
            startedTimestamp: startedTimestamp)
    }
}
