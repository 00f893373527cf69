import Foundation
import SegmentLog

/// When the journal acknowledges a command.
public enum JournalSyncPolicy: Sendable, Equatable, CustomStringConvertible {
    /// After fdatasync: nothing acknowledged is lost, even on power loss. Commands waiting together share
    /// one write and one fdatasync (group commit).
    case always
    /// After write(2), with an fdatasync at most `intervalMilliseconds` later: a process crash loses
    /// nothing; a power loss or kernel crash can lose what was acknowledged in the last interval.
    case batch(intervalMilliseconds: Int)
    /// After write(2); the kernel writes back when it likes (about 30 s on Linux): a process crash loses
    /// nothing; a power loss can lose the last half minute or more.
    case never

    public var description: String {
        switch self {
        case .always: "always"
        case .batch(let interval): "batch (\(interval) ms)"
        case .never: "never"
        }
    }
}

/// The journal could not make a command durable: the node must stop and recover from its log.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Appends commands to a `SegmentLog` from one writer thread, in the order they were enqueued, and tells
/// each waiting request when its command is durable. Everything enqueued while the thread writes goes into
/// the next append: one write and one fdatasync serve all of it.
///
/// `@unchecked Sendable`: every mutable field is guarded by `condition`; `log` is touched only by the writer
/// thread once it runs.
public final class CommandJournal: @unchecked Sendable {
    /// Bounds of the journal.
    public enum Limits {
        /// Bytes of enqueued commands not yet written before `isOverloaded` turns true: 64 MiB.
        public static let pendingBytesMax = 64 << 20
    }

    typealias Waiter = (index: UInt64, continuation: CheckedContinuation<JournalError?, Never>)

    let condition = NSCondition()
    let log: SegmentLog
    let policy: JournalSyncPolicy
    let term: UInt64
    var pending: [[UInt8]] = []
    var pendingBytes = 0
    var nextIndex: UInt64
    var acknowledgedIndex: UInt64
    var waiters: [Waiter] = []
    var jobs: [(SegmentLog) throws(SegmentLogError) -> Void] = []
    var failure: JournalError?
    var isStopping = false
    var hasStopped = false
    let onFailure: @Sendable (JournalError) -> Void

    /// Takes over `log` (opened and replayed by the caller); commands get indexes from `log.lastIndex + 1`.
    public init(
        log: SegmentLog, policy: JournalSyncPolicy, term: UInt64 = 1,
        onFailure: @escaping @Sendable (JournalError) -> Void
    ) {
        self.log = log
        self.policy = policy
        self.term = term
        self.nextIndex = log.lastIndex + 1
        self.acknowledgedIndex = log.lastIndex
        self.onFailure = onFailure
    }

    /// Starts the writer thread.
    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "ferry-journal"
        thread.start()
    }

    /// Queues a command's bytes; returns its log index. Call in the order commands were applied.
    public func enqueue(_ payload: [UInt8]) -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        let index = nextIndex
        nextIndex += 1
        pending.append(payload)
        pendingBytes += payload.count
        if pending.count == 1 { condition.signal() }
        return index
    }

    /// The index of the last command enqueued.
    public var lastEnqueuedIndex: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return nextIndex - 1
    }

    /// True while too many bytes wait to be written, or after a failure: take no new commands.
    public var isOverloaded: Bool {
        condition.lock()
        defer { condition.unlock() }
        return pendingBytes > Limits.pendingBytesMax || failure != nil
    }

    /// Waits until the command at `index` may be acknowledged under the sync policy; returns the failure
    /// that makes that impossible, or nil.
    public func waitUntilAcknowledged(_ index: UInt64) async -> JournalError? {
        await withCheckedContinuation { continuation in
            condition.lock()
            if let failure {
                condition.unlock()
                continuation.resume(returning: failure)
            } else if index <= acknowledgedIndex {
                condition.unlock()
                continuation.resume(returning: nil)
            } else if hasStopped {
                condition.unlock()
                continuation.resume(returning: JournalError(description: "the journal stopped"))
            } else {
                waiters.append((index, continuation))
                condition.unlock()
            }
        }
    }

    /// Runs `job` on the writer thread after the appends enqueued before it.
    public func perform(_ job: @escaping (SegmentLog) throws(SegmentLogError) -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Writes what is pending, syncs, closes the log and ends the thread; returns once it has.
    public func stop() {
        condition.lock()
        isStopping = true
        condition.signal()
        while !hasStopped { condition.wait() }
        condition.unlock()
    }
}
