import Histogram
import Synchronization

/// The request types whose latency is recorded.
public enum RequestType: String, Sendable, CaseIterable, Codable {
    case sendMessage = "SendMessage"
    case sendMessageBatch = "SendMessageBatch"
    case receiveMessage = "ReceiveMessage"
    case deleteMessageBatch = "DeleteMessageBatch"
}

/// Everything the workers share: the delivery check, latency histograms, counters and errors.
final class BenchState: Sendable {
    struct Values {
        var checker = DeliveryChecker()
        var histograms: [RequestType: Histogram<UInt64>] = [:]
        var errors: [String: Int] = [:]
        var nextSequence = 0
        var producersRunning = 0
        var inFlightRequests = 0
        var deleted = 0
        /// Messages received, whatever their run.
        var consumed = 0
        var lastReceiveAt: UInt64?
        var emptyReceives = 0
        /// Monotonic microseconds.
        var startedAt: UInt64 = 0
        var produceEndedAt: UInt64?
        var firstReceiveAt: UInt64?
        var lastProgressAt: UInt64 = 0
    }

    let values: Mutex<Values>
    let messageLimit: Int?
    let deadline: UInt64?

    init(messageLimit: Int?, durationSeconds: Double?, producers: Int) {
        let now = MonotonicTime.microseconds()
        var values = Values()
        values.startedAt = now
        values.lastProgressAt = now
        values.producersRunning = producers
        self.values = Mutex(values)
        self.messageLimit = messageLimit
        self.deadline = durationSeconds.map { now + UInt64($0 * 1_000_000) }
    }

    /// Claims the next `count` sequence numbers to send, or nil when the run's bound is reached.
    func claimSequences(_ count: Int) -> Range<Int>? {
        if let deadline, MonotonicTime.microseconds() >= deadline { return nil }
        return values.withLock { values in
            let start = values.nextSequence
            let end = messageLimit.map { min(start + count, $0) } ?? start + count
            guard end > start else { return nil }
            values.nextSequence = end
            return start..<end
        }
    }

    func record(_ type: RequestType, microseconds: UInt64) {
        values.withLock { values in
            if values.histograms[type] == nil {
                values.histograms[type] = Histogram(
                    highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
            }
            _ = values.histograms[type]!.record(max(1, microseconds))
        }
    }

    func error(_ code: String, count: Int = 1) {
        values.withLock { $0.errors[code, default: 0] += count }
    }

    func sent(_ sequences: [Int]) {
        let now = MonotonicTime.microseconds()
        values.withLock { values in
            for sequence in sequences { values.checker.sent(sequence) }
            values.lastProgressAt = now
        }
    }

    /// `count` messages arrived; `sequences` are those of this run (checked for delivery).
    func received(_ sequences: [Int], count: Int, deleted: Int) {
        let now = MonotonicTime.microseconds()
        values.withLock { values in
            for sequence in sequences { values.checker.receivedMessage(sequence) }
            values.consumed += count
            values.deleted += deleted
            if values.firstReceiveAt == nil && count > 0 { values.firstReceiveAt = now }
            if count > 0 {
                values.lastProgressAt = now
                values.lastReceiveAt = now
            }
        }
    }

    func producerFinished() {
        let now = MonotonicTime.microseconds()
        values.withLock { values in
            values.producersRunning -= 1
            if values.producersRunning == 0 {
                values.produceEndedAt = now
                values.lastProgressAt = max(values.lastProgressAt, now)
            }
        }
    }

    func requestStarted() { values.withLock { $0.inFlightRequests += 1 } }
    func requestEnded() { values.withLock { $0.inFlightRequests -= 1 } }

    /// Whether consumers should stop: producers are done and either every acknowledged message came
    /// back (full cycle) or nothing arrived for `drainTimeoutSeconds`.
    func consumersShouldStop(workload: BenchConfiguration.Workload, drainTimeoutSeconds: Double) -> Bool {
        let now = MonotonicTime.microseconds()
        return values.withLock { values in
            guard values.producersRunning == 0 else { return false }
            if workload == .fullCycle {
                let summary = values.checker.summary
                if summary.sent - summary.lost == summary.sent { return true }
            }
            if workload == .consume, let deadline, now >= deadline { return true }
            // Progress may be stamped after `now` was read (another task, between the two).
            let idle = now > values.lastProgressAt ? now - values.lastProgressAt : 0
            return Double(idle) / 1e6 >= drainTimeoutSeconds
        }
    }
}
