import NIOCore
import QueueEngine
import Synchronization

/// The shell around one `QueueEngine`: stamps each command with the wall clock (never going back),
/// applies it under a lock, advances time periodically, and parks long-poll receivers until a message
/// may be available.
///
/// In this single-node server every command is applied directly; the cluster replaces `apply` with a
/// proposal to the shard's Raft group without changing callers.
public final class QueueHost: Sendable {
    /// Limits of the long-poll machinery.
    public enum Limits {
        /// Receivers that may wait at once; past this a long poll returns at once, empty.
        public static let waitersMax = 20_000
        /// How often time advances for every queue (delays, retention, move tasks), in milliseconds.
        public static let advanceIntervalMilliseconds: Int64 = 1_000
    }

    private struct Waiter {
        var continuation: CheckedContinuation<CommandResult?, Never>
        var timer: Scheduled<Void>?
    }

    private struct State: ~Copyable {
        var engine: QueueEngine
        var lastTimestamp: Int64 = 0
        var waiters: [String: [UInt64: Waiter]] = [:]
        var waiterCount = 0
        var nextWaiterId: UInt64 = 1
        var receiveAttemptCount = 0
    }

    private let state: Mutex<State>
    private let clock: any WallClock
    private let timerLoop: any EventLoop

    public init(engine: QueueEngine, clock: any WallClock = SystemWallClock(), timerLoop: any EventLoop) {
        self.state = Mutex(State(engine: engine))
        self.clock = clock
        self.timerLoop = timerLoop
    }

    /// Applies a command stamped with the current time and wakes receivers it may interest.
    public func apply(_ command: Command) -> CommandResult {
        let now = clock.nowMilliseconds()
        var toWake: [Waiter] = []
        let result = state.withLock { state -> CommandResult in
            state.lastTimestamp = max(state.lastTimestamp, now)
            let result = state.engine.apply(command, timestampMilliseconds: state.lastTimestamp)
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
            return result
        }
        for waiter in toWake {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: nil)
        }
        return result
    }

    /// Reads engine state without changing it.
    public func read<Result>(_ body: (borrowing QueueEngine) throws(QueueError) -> Result) throws(QueueError) -> Result
    {
        try state.withLock { state throws(QueueError) in try body(state.engine) }
    }

    /// Reads engine state that cannot fail.
    public func peek<Result>(_ body: (borrowing QueueEngine) -> Result) -> Result {
        state.withLock { state in body(state.engine) }
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
                await withCheckedContinuation { (continuation: CheckedContinuation<CommandResult?, Never>) in
                    attemptOrPark(request, deadline: deadline, waitSeconds: waitSeconds, id: id, continuation)
                }
            } onCancel: {
                wake(request.queueName, id)
            }
            if let outcome { return outcome }
            if Task.isCancelled { return .received([]) }
        }
    }

    /// Tries the receive; resumes the continuation with its result, or parks it (resumed with nil on wake).
    private func attemptOrPark(
        _ request: ReceiveMessageRequest, deadline: Int64, waitSeconds: Int, id: UInt64,
        _ continuation: CheckedContinuation<CommandResult?, Never>
    ) {
        let now = clock.nowMilliseconds()
        let parkedUntil: Int64? = state.withLock { state -> Int64? in
            state.lastTimestamp = max(state.lastTimestamp, now)
            state.receiveAttemptCount += 1
            let result = state.engine.apply(.receiveMessages(request), timestampMilliseconds: state.lastTimestamp)
            let mayWait: Bool
            switch result {
            case .received(let messages): mayWait = messages.isEmpty
            case .failure(let error): mayWait = error.code == .overLimit && waitSeconds > 0
            default: mayWait = false
            }
            guard mayWait, now < deadline, state.waiterCount < Limits.waitersMax, !Task.isCancelled else {
                if case .failure(let error) = result, error.code == .overLimit, waitSeconds > 0 {
                    continuation.resume(returning: .received([]))
                } else {
                    continuation.resume(returning: result)
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
            _ = apply(.advanceTime)
        }
    }
}
