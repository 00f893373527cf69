import Logging
import NIOCore
import QueueEngine
import SegmentLog
import Synchronization

/// The shell around one `QueueEngine`: stamps each command with the wall clock (never going back),
/// applies it under a lock, advances time periodically, and parks long-poll receivers until a message
/// may be available.
///
/// With a journal, every command is also written to the durable log in the order it was applied, and its
/// caller is answered only once the journal acknowledges it (after fdatasync under the default policy).
/// Queries wait until everything applied before them is acknowledged, so no answer shows state that a
/// crash could take back. The cluster replaces this with a proposal to the shard's Raft group without
/// changing callers.
public final class QueueHost: Sendable {
    /// Limits of the long-poll machinery.
    public enum Limits {
        /// Receivers that may wait at once; past this a long poll returns at once, empty.
        public static let waitersMax = 20_000
        /// How often time advances for every queue (delays, retention, move tasks), in milliseconds.
        public static let advanceIntervalMilliseconds: Int64 = 1_000
    }

    private struct Waiter {
        var continuation: CheckedContinuation<Applied?, Never>
        var timer: Scheduled<Void>?
    }

    /// A result and the journal index of the command that produced it (0 without a journal).
    private typealias Applied = (result: CommandResult, index: UInt64)

    private struct State: ~Copyable {
        var engine: QueueEngine
        var lastTimestamp: Int64 = 0
        var waiters: [String: [UInt64: Waiter]] = [:]
        var waiterCount = 0
        var nextWaiterId: UInt64 = 1
        var receiveAttemptCount = 0
        /// The journal index the last snapshot covers, and whether one is being written.
        var snapshotIndex: UInt64 = 0
        var isSnapshotting = false
    }

    private let state: Mutex<State>
    private let clock: any WallClock
    private let timerLoop: any EventLoop
    private let durability: Durability?
    private let logger: Logger

    /// The journal and how often to snapshot.
    public struct Durability: Sendable {
        public var journal: CommandJournal
        /// The log directory, where snapshots go.
        public var directory: String
        /// Take a snapshot once this many commands were journaled since the last one.
        public var snapshotEntriesMin: UInt64
        /// The journal index the newest snapshot covers (where replay started).
        public var snapshotIndex: UInt64
        public var fileSystem: any FileSystem

        public init(
            journal: CommandJournal, directory: String, snapshotEntriesMin: UInt64, snapshotIndex: UInt64,
            fileSystem: any FileSystem = PosixFileSystem()
        ) {
            self.journal = journal
            self.directory = directory
            self.snapshotEntriesMin = snapshotEntriesMin
            self.snapshotIndex = snapshotIndex
            self.fileSystem = fileSystem
        }
    }

    public init(
        engine: QueueEngine, clock: any WallClock = SystemWallClock(), timerLoop: any EventLoop,
        durability: Durability? = nil, logger: Logger = Logger(label: "ferry.host")
    ) {
        var initial = State(engine: engine)
        initial.lastTimestamp = engine.clock
        initial.snapshotIndex = durability?.snapshotIndex ?? 0
        self.state = Mutex(initial)
        self.clock = clock
        self.timerLoop = timerLoop
        self.durability = durability
        self.logger = logger
    }

    private static let unavailable = QueueError(
        .serviceUnavailable, "The request could not be made durable; the node is restarting. Retry the request.")
    private static let overloaded = QueueError(
        .serviceUnavailable, "The node is writing a backlog to disk. Retry the request.")

    /// Applies a command stamped with the current time, wakes receivers it may interest, and returns once
    /// the journal acknowledges it.
    public func apply(_ command: Command) async -> CommandResult {
        if let journal = durability?.journal, journal.isOverloaded { return .failure(Self.overloaded) }
        let now = clock.nowMilliseconds()
        var toWake: [Waiter] = []
        var snapshot: (engine: QueueEngine, index: UInt64)?
        let (result, index) = state.withLock { state -> Applied in
            state.lastTimestamp = max(state.lastTimestamp, now)
            let result = state.engine.apply(command, timestampMilliseconds: state.lastTimestamp)
            let index = journal(command, &state)
            if let durability, !state.isSnapshotting, index >= state.snapshotIndex + durability.snapshotEntriesMin {
                state.isSnapshotting = true
                snapshot = (state.engine, index)
            }
            for queueName in Self.queuesWithNewMessages(command, result) {
                if let waiting = state.waiters.removeValue(forKey: queueName) {
                    state.waiterCount -= waiting.count
                    toWake.append(contentsOf: waiting.values)
                }
            }
            if case .advanceTime = command {
                for queueName in Array(state.waiters.keys) where state.engine.availableMessageCount(queueName) != 0 {
                    let waiting = state.waiters.removeValue(forKey: queueName)!
                    state.waiterCount -= waiting.count
                    toWake.append(contentsOf: waiting.values)
                }
            }
            return (result, index)
        }
        for waiter in toWake {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: nil)
        }
        if let snapshot {
            Task.detached { await self.writeSnapshot(snapshot.engine, index: snapshot.index) }
        }
        return await acknowledged(result, index: index)
    }

    /// Writes an applied command to the journal (under the state lock, so log order is apply order).
    private func journal(_ command: Command, _ state: inout State) -> UInt64 {
        guard let journal = durability?.journal else { return 0 }
        return journal.enqueue(LoggedCommand(command: command, timestampMilliseconds: state.lastTimestamp).encoded())
    }

    /// The result once the journal acknowledges `index`; ServiceUnavailable if it cannot.
    private func acknowledged(_ result: CommandResult, index: UInt64) async -> CommandResult {
        guard let journal = durability?.journal, index > 0 else { return result }
        if let failure = await journal.waitUntilAcknowledged(index) {
            logger.error("not acknowledging a command: \(failure)")
            return .failure(Self.unavailable)
        }
        return result
    }

    /// Waits until everything applied so far is acknowledged.
    private func barrier(_ index: UInt64?) async throws(QueueError) {
        guard let journal = durability?.journal, let index, index > 0 else { return }
        if await journal.waitUntilAcknowledged(index) != nil { throw Self.unavailable }
    }

    /// Reads engine state without changing it, once everything it may reflect is durable.
    public func read<Result>(_ body: (borrowing QueueEngine) throws(QueueError) -> Result) async throws(QueueError)
        -> Result
    {
        let (value, index) = try state.withLock { state throws(QueueError) in
            (try body(state.engine), durability?.journal.lastEnqueuedIndex)
        }
        try await barrier(index)
        return value
    }

    /// Reads engine state that cannot fail, without waiting for the journal (for settings a command then
    /// uses, not for answers).
    public func peek<Result>(_ body: (borrowing QueueEngine) -> Result) -> Result {
        state.withLock { state in body(state.engine) }
    }

    /// Encodes a copy of the engine off the request path, writes it as a snapshot, then has the journal's
    /// thread adopt it and drop the log segments it covers.
    private func writeSnapshot(_ engine: QueueEngine, index: UInt64) async {
        guard let durability else { return }
        var succeeded = false
        defer {
            state.withLock { state in
                state.isSnapshotting = false
                if succeeded { state.snapshotIndex = index }
            }
        }
        guard await durability.journal.waitUntilAcknowledged(index) == nil else { return }
        let start = ContinuousClock.now
        let data = engine.snapshot()
        do {
            try SegmentLog.writeSnapshot(
                LogSnapshot(index: index, term: 1, data: data), directory: durability.directory,
                fileSystem: durability.fileSystem)
        } catch {
            logger.error("snapshot at \(index) failed: \(error)")
            return
        }
        let logger = logger
        durability.journal.perform { log throws(SegmentLogError) in
            try log.snapshotWritten(index: index, term: 1)
            try log.compact(through: index)
            logger.info("snapshot at \(index): \(data.count) bytes in \(ContinuousClock.now - start)")
        }
        succeeded = true
    }

    /// The queues a command may have made messages available in.
    private static func queuesWithNewMessages(_ command: Command, _ result: CommandResult) -> [String] {
        switch command {
        case .sendMessages(let queueName, _, _, _): return [queueName]
        case .changeMessageVisibility(let queueName, _, _): return [queueName]
        case .setQueueAttributes(let name, _): return [name]
        default: return []
        }
    }

    /// ReceiveMessage with long polling: waits up to `waitSeconds` for a message, returning as soon as
    /// one is received. While waiting, the receiver holds no thread and costs no CPU. The receive attempt
    /// and the parking happen under one lock, so a message sent in between cannot be missed.
    public func receive(_ request: ReceiveMessageRequest, waitSeconds: Int) async -> CommandResult {
        let deadline = clock.nowMilliseconds() + Int64(waitSeconds) * 1000
        while true {
            let id = state.withLock { state in
                defer { state.nextWaiterId += 1 }
                return state.nextWaiterId
            }
            let outcome = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Applied?, Never>) in
                    attemptOrPark(request, deadline: deadline, waitSeconds: waitSeconds, id: id, continuation)
                }
            } onCancel: {
                wake(request.queueName, id)
            }
            if let outcome { return await acknowledged(outcome.result, index: outcome.index) }
            if Task.isCancelled { return .received([]) }
        }
    }

    /// Tries the receive; resumes the continuation with its result, or parks it (resumed with nil on wake).
    private func attemptOrPark(
        _ request: ReceiveMessageRequest, deadline: Int64, waitSeconds: Int, id: UInt64,
        _ continuation: CheckedContinuation<Applied?, Never>
    ) {
        if let journal = durability?.journal, journal.isOverloaded {
            continuation.resume(returning: (.failure(Self.overloaded), 0))
            return
        }
        let now = clock.nowMilliseconds()
        let parkedUntil: Int64? = state.withLock { state -> Int64? in
            state.lastTimestamp = max(state.lastTimestamp, now)
            state.receiveAttemptCount += 1
            let result = state.engine.apply(.receiveMessages(request), timestampMilliseconds: state.lastTimestamp)
            let index = journal(.receiveMessages(request), &state)
            let mayWait: Bool
            switch result {
            case .received(let messages): mayWait = messages.isEmpty
            case .failure(let error): mayWait = error.code == .overLimit && waitSeconds > 0
            default: mayWait = false
            }
            guard mayWait, now < deadline, state.waiterCount < Limits.waitersMax, !Task.isCancelled else {
                if case .failure(let error) = result, error.code == .overLimit, waitSeconds > 0 {
                    continuation.resume(returning: (.received([]), index))
                } else {
                    continuation.resume(returning: (result, index))
                }
                return nil
            }
            state.waiters[request.queueName, default: [:]][id] = Waiter(continuation: continuation, timer: nil)
            state.waiterCount += 1
            let hint = state.engine.nextWakeMilliseconds(request.queueName) ?? deadline
            return min(deadline, max(now + 1, hint))
        }
        guard let parkedUntil else { return }
        let queueName = request.queueName
        let timer = timerLoop.scheduleTask(in: .milliseconds(max(1, parkedUntil - now))) { [weak self] in
            guard let self else { return }
            self.wake(queueName, id)
        }
        let stillParked = state.withLock { state -> Bool in
            guard state.waiters[queueName]?[id] != nil else { return false }
            state.waiters[queueName]![id]!.timer = timer
            return true
        }
        if !stillParked { timer.cancel() }
    }

    private func wake(_ queueName: String, _ id: UInt64) {
        let waiter: Waiter? = state.withLock { state in
            guard let waiter = state.waiters[queueName]?.removeValue(forKey: id) else { return nil }
            state.waiterCount -= 1
            if state.waiters[queueName]?.isEmpty == true { state.waiters[queueName] = nil }
            return waiter
        }
        waiter?.timer?.cancel()
        waiter?.continuation.resume(returning: nil)
    }

    /// Receive attempts made by long polls so far (a parked receiver makes none until woken).
    public var receiveAttemptCount: Int { state.withLock { $0.receiveAttemptCount } }

    /// Receivers parked right now.
    public var waiterCount: Int { state.withLock { $0.waiterCount } }

    /// Advances time every `advanceIntervalMilliseconds` until the task is cancelled.
    public func runTimeAdvance() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Limits.advanceIntervalMilliseconds))
            _ = await apply(.advanceTime)
        }
    }
}
