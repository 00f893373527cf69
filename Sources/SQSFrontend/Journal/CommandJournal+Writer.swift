import Foundation
import SegmentLog

extension CommandJournal {
    /// The writer thread: take everything pending, append it in one write (and one fdatasync under
    /// `always`), acknowledge it, run queued jobs; until stopped or a write fails.
    func run() {
        var lastSync = ContinuousClock.now
        var unsynced = false
        while true {
            let (batch, firstIndex, queuedJobs, stopping) = takeWork(unsynced: unsynced, lastSync: lastSync)
            do throws(SegmentLogError) {
                if !batch.isEmpty {
                    var index = firstIndex
                    let entries = batch.map { payload in
                        defer { index += 1 }
                        return LogEntry(index: index, term: term, payload: payload)
                    }
                    try log.append(entries)
                    unsynced = policy != .always
                }
                if case .batch(let interval) = policy, unsynced,
                    ContinuousClock.now - lastSync >= .milliseconds(interval)
                {
                    try log.synchronize()
                    lastSync = ContinuousClock.now
                    unsynced = false
                }
                if !batch.isEmpty { acknowledge(through: firstIndex + UInt64(batch.count) - 1) }
                for job in queuedJobs { try job(log) }
                if stopping {
                    try log.synchronize()
                    log.close()
                    finish(nil)
                    return
                }
            } catch {
                log.close()
                finish(JournalError(description: "\(error)"))
                return
            }
        }
    }

    /// Waits for work (or, under `batch`, for the next sync time) and takes it.
    private func takeWork(
        unsynced: Bool, lastSync: ContinuousClock.Instant
    ) -> (batch: [[UInt8]], firstIndex: UInt64, jobs: [(SegmentLog) throws(SegmentLogError) -> Void], stopping: Bool) {
        condition.lock()
        defer { condition.unlock() }
        while pending.isEmpty, jobs.isEmpty, !isStopping {
            guard case .batch(let interval) = policy, unsynced else {
                condition.wait()
                continue
            }
            let remaining = lastSync + .milliseconds(interval) - ContinuousClock.now
            if remaining <= .zero { break }
            let seconds = Double(remaining.components.seconds) + Double(remaining.components.attoseconds) / 1e18
            _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
        }
        let batch = pending
        pending = []
        pendingBytes = 0
        let queuedJobs = jobs
        jobs = []
        return (batch, nextIndex - UInt64(batch.count), queuedJobs, isStopping)
    }

    private func acknowledge(through index: UInt64) {
        condition.lock()
        acknowledgedIndex = index
        var ready: [CheckedContinuation<JournalError?, Never>] = []
        waiters.removeAll { waiter in
            guard waiter.index <= index else { return false }
            ready.append(waiter.continuation)
            return true
        }
        condition.unlock()
        for continuation in ready { continuation.resume(returning: nil) }
    }

    /// Ends the thread: on failure every waiter (and every later one) gets the error.
    private func finish(_ error: JournalError?) {
        condition.lock()
        if let error { failure = error }
        let stranded = waiters
        waiters = []
        hasStopped = true
        condition.broadcast()
        condition.unlock()
        let outcome = error ?? JournalError(description: "the journal stopped")
        for waiter in stranded { waiter.continuation.resume(returning: outcome) }
        if let error { onFailure(error) }
    }
}
