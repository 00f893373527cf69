import CoreMetrics
import Dispatch
import Foundation
import Logging
import NIOCore
import PeerTransport
import Placement
import QueueEngine
import Raft
import SegmentLog
import Synchronization

/// The shell of one shard replica: a thread that owns a `ShardDriver` (the deterministic state machine),
/// the client continuations, and the shard's `ShardStorage`. It reads the clocks, feeds the driver its
/// inputs and carries out its actions:
///
/// 1. take every input that arrived (peer messages, client requests, reads, ticks) — group commit;
/// 2. tell the driver the round's inputs are drained (it proposes them as one batch or forwards them);
/// 3. for each `ShardReady`: send what may go first, persist snapshot, entries and hard state with one
///    fdatasync (term and vote always synced), report it persisted, then carry out the actions: send,
///    answer clients, serve reads, start snapshots and transfers.
///
/// Other threads only post inputs.
final class ShardReplica: @unchecked Sendable {
    // @unchecked: after init, `driver`, `clients` and `nextHandle` are touched only by the drive thread;
    // inputs cross threads through `inbox`, a Mutex.

    let shard: ShardID
    let nodeID: NodeID
    let settings: ShardSettings
    let logger: Logger
    let send: @Sendable (NodeID, [PeerFrame]) -> Bool
    private let onFatal: @Sendable (String) -> Void
    /// Carries outbox messages to the target shard and settles them here; posts `.transferFinished`.
    let transfer: @Sendable (_ target: ShardID, _ messages: [TransferredMessage]) -> Void
    let storage: ShardStorage

    private struct Inbox {
        var inputs: [ShardInput] = []
        var isStopping = false
        var isSleeping = false
    }
    private let inbox = Mutex(Inbox())
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    private let thread = Mutex<Thread?>(nil)

    private var driver: ShardDriver
    private var clients: [ClientHandle: ClientWaiter] = [:]
    private var nextHandle: ClientHandle = 1
    private var failed = false
    private var lastSyncMilliseconds: Int64 = 0
    /// The wall clock when this shell started, and the monotonic clock then (see `ShardTime`).
    private let wallAtStart: Int64
    private let monotonicAtStart: Int64
    /// How long each persist (entries and hard state, one fdatasync under `--fsync always`) takes; a no-op
    /// unless the process bootstrapped a metrics backend (`ferry serve`: Prometheus).
    private let persistTimer: CoreMetrics.Timer

    /// The leader as the drive thread last saw it, readable from any thread.
    let leaderBox = Mutex<NodeID>(0)
    /// Counters readable from any thread: receivers parked now, receives proposed so far.
    let statistics = Mutex<(parkedReceives: Int, receiveProposals: Int)>((0, 0))
    var knownLeader: NodeID { leaderBox.withLock { $0 } }
    /// The replica's Raft state as of its last tick, readable from any thread (`ferry cluster status`,
    /// membership reports).
    let statusBox: Mutex<ReplicaStatus>
    var status: ReplicaStatus { statusBox.withLock { $0 } }

    /// A replica over `storage`; `voters` are recorded as the group's first voters when its directory has
    /// none yet (see `ShardStorage.genesisVoters`). `target`: the replicas placement gives the shard,
    /// preferred leader first (`ShardDriver.setTargetVoters`); nil leaves membership and leadership alone.
    init(
        shard: ShardID, nodeID: NodeID, voters: Set<NodeID>, target: [NodeID]? = nil, storage: ShardStorage,
        engineConfiguration: QueueEngineConfiguration, settings: ShardSettings, raftConfiguration: RaftConfiguration,
        seed: UInt64, logger: Logger, send: @escaping @Sendable (NodeID, [PeerFrame]) -> Bool,
        onFatal: @escaping @Sendable (String) -> Void, repair: Bool = false,
        transfer: @escaping @Sendable (ShardID, [TransferredMessage]) -> Void = { _, _ in }
    ) throws {
        self.shard = shard
        self.nodeID = nodeID
        self.settings = settings
        self.logger = logger
        self.send = send
        self.onFatal = onFatal
        self.transfer = transfer
        self.storage = storage
        monotonicAtStart = Self.monotonicMilliseconds()
        persistTimer = CoreMetrics.Timer(
            label: "ferry_log_persist_duration_seconds", dimensions: [("shard", "\(shard.rawValue)")],
            preferredDisplayUnit: .seconds)
        wallAtStart = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let persisted = try storage.load()
        driver = try ShardDriver(
            shard: shard, nodeID: nodeID, incarnation: UInt64.random(in: 1...UInt64.max),
            voters: try storage.genesisVoters(recording: voters, persisted: persisted),
            persisted: persisted, engineConfiguration: engineConfiguration, settings: settings,
            raftConfiguration: raftConfiguration, seed: seed, repair: repair,
            now: ShardTime(monotonicMilliseconds: monotonicAtStart, wallMilliseconds: wallAtStart))
        driver.setTargetVoters(target)
        statusBox = Mutex(ReplicaStatus(shard: shard, driver: driver))
        logger.info(
            "\(shard): restored snapshot at \(persisted.snapshot?.index ?? 0), \(persisted.entries.count) log entries, term \(persisted.hardState.term)"
        )
    }

    static func monotonicMilliseconds() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }

    private func now() -> ShardTime {
        let monotonic = Self.monotonicMilliseconds()
        return ShardTime(monotonicMilliseconds: monotonic, wallMilliseconds: wallAtStart + monotonic - monotonicAtStart)
    }

    // MARK: Inputs from other threads

    /// Queues an input for the drive thread. Client inputs are refused (false) when the inbox is full or
    /// the replica stopped; peer messages are dropped then (Raft resends).
    @discardableResult
    func post(_ input: ShardInput) -> Bool {
        let wakes = inbox.withLock { inbox -> Bool? in
            guard !inbox.isStopping,
                input.isControl
                    || inbox.inputs.count < (input.isClientRequest ? settings.inboxMax : settings.inboxMax * 4)
            else { return nil }
            inbox.inputs.append(input)
            defer { inbox.isSleeping = false }
            return inbox.isSleeping
        }
        guard let wakes else { return false }
        if wakes { wake.signal() }
        return true
    }

    /// The answer to a client input the inbox has no room for.
    static let busy = QueueError(.serviceUnavailable, "The node is overloaded. Retry the request.")

    /// Posts a command and waits for its result (ServiceUnavailable when the replica takes no more).
    func run(_ command: Command) async -> CommandResult {
        await withCheckedContinuation { continuation in
            if !post(.command(command, continuation)) {
                continuation.resume(returning: .failure(Self.busy))
            }
        }
    }

    /// ReceiveMessage, long-polling up to `waitSeconds` (nil: the queue's setting).
    func runReceive(_ request: ReceiveMessageRequest, waitSeconds: Int?) async -> CommandResult {
        await withCheckedContinuation { continuation in
            if !post(.receive(request, waitSeconds: waitSeconds, continuation)) {
                continuation.resume(returning: .failure(Self.busy))
            }
        }
    }

    /// A linearizable read (ReadIndex) of the engine.
    func read<Result: Sendable>(
        _ body: @escaping @Sendable (borrowing QueueEngine) throws(QueueError) -> Result
    ) async throws(QueueError) -> Result {
        try await read(atShardTime: { engine, _ throws(QueueError) in try body(engine) })
    }

    /// A linearizable read (ReadIndex) of the engine, with the shard's time when it is served (epoch
    /// milliseconds: what time-dependent answers, such as message counts, are computed at).
    func read<Result: Sendable>(
        atShardTime body: @escaping @Sendable (borrowing QueueEngine, Int64) throws(QueueError) -> Result
    ) async throws(QueueError) -> Result {
        let outcome: Swift.Result<Result, QueueError> = await withCheckedContinuation { continuation in
            let run: ReadBody = { engine, time, error in
                if let error { return continuation.resume(returning: .failure(error)) }
                switch engine {
                case .some(let engine):
                    do throws(QueueError) {
                        continuation.resume(returning: .success(try body(engine, time)))
                    } catch {
                        continuation.resume(returning: .failure(error))
                    }
                case .none:
                    continuation.resume(returning: .failure(Self.busy))
                }
            }
            if !post(.read(run)) { continuation.resume(returning: .failure(Self.busy)) }
        }
        return try outcome.get()
    }

    /// Starts the drive thread (once; later calls do nothing).
    func start() {
        thread.withLock { thread in
            guard thread == nil, !inbox.withLock({ $0.isStopping }) else { return }
            let newThread = Thread { [self] in runLoop() }
            newThread.name = "ferry-\(shard.rawValue)"
            newThread.stackSize = 8 << 20
            thread = newThread
            newThread.start()
        }
    }

    /// Stops the drive thread, answering everything pending with ServiceUnavailable, and closes the log.
    func stop() {
        let running = thread.withLock { thread -> Bool in
            inbox.withLock { $0.isStopping = true }
            return thread != nil
        }
        guard running else { return }
        wake.signal()
        stopped.wait()
        stopped.signal()  // later stop() calls return at once
    }

    /// Waits for inputs until the monotonic deadline; returns them and whether the replica is stopping.
    private func takeInputs(untilMonotonic deadline: Int64) -> (inputs: [ShardInput], stopping: Bool) {
        let ready = inbox.withLock { inbox -> Bool in
            if !inbox.inputs.isEmpty || inbox.isStopping { return true }
            inbox.isSleeping = true
            return false
        }
        if !ready {
            let remaining = max(0, deadline - Self.monotonicMilliseconds())
            _ = wake.wait(timeout: .now() + .milliseconds(Int(remaining)))
        }
        return inbox.withLock { inbox in
            inbox.isSleeping = false
            defer { inbox.inputs.removeAll(keepingCapacity: true) }
            return (inbox.inputs, inbox.isStopping)
        }
    }

    // MARK: The drive loop

    private func runLoop() {
        var nextTick = Self.monotonicMilliseconds() + Int64(settings.tickMilliseconds)
        while true {
            // A long poll waits for a message's timeout to end: wake then, not at the next tick.
            let (inputs, stopping) = takeInputs(untilMonotonic: min(nextTick, driver.nextTimerWakeMonotonic ?? .max))
            if stopping { break }
            for input in inputs { handle(input) }
            var time = now()
            if time.monotonicMilliseconds >= nextTick {
                carryOut(driver.tick(now: time))
                nextTick = time.monotonicMilliseconds + Int64(settings.tickMilliseconds)
                let status = ReplicaStatus(shard: shard, driver: driver)
                statusBox.withLock { $0 = status }
            }
            carryOut(driver.inputsDrained(now: time))
            while !failed, let ready = driver.takeReady() {
                carryOut(ready.sendsBeforePersisting)
                do {
                    let began = DispatchTime.now().uptimeNanoseconds
                    try storage.persist(ready)
                    persistTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - began))
                } catch {
                    fail("\(shard): the log failed: \(error)")
                    break
                }
                time = now()
                carryOut(driver.persisted(ready, now: time))
            }
            publishStatistics()
            synchronizeIfDue()
            if failed { break }
        }
        inbox.withLock { $0.isStopping = true }  // a failed log takes nothing more
        failEverything(QueueError(.serviceUnavailable, "The node is shutting down. Retry the request."))
        storage.log.close()
        stopped.signal()
    }

    private func handle(_ input: ShardInput) {
        let time = now()
        switch input {
        case .raft(let message):
            carryOut(driver.peerMessage(message))
        case .command(let command, let continuation):
            carryOut(driver.clientCommand(command, client: register(.command(continuation)), now: time))
        case .receive(let request, let waitSeconds, let continuation):
            carryOut(
                driver.clientReceive(
                    request, waitSeconds: waitSeconds, client: register(.command(continuation)), now: time))
        case .read(let body):
            carryOut(driver.clientRead(client: register(.read(body)), now: time))
        case .forwarded(let from, let envelopes):
            carryOut(driver.forwarded(envelopes, from: from, now: time))
        case .forwardRejected(let rejection):
            carryOut(driver.forwardRejected(rejection, now: time))
        case .snapshotChunk(let from, let chunk):
            carryOut(driver.snapshotChunk(chunk, from: from, now: time))
        case .snapshotAck(let from, let ack):
            carryOut(driver.snapshotAck(ack, from: from, now: time))
        case .snapshotWritten(let snapshot):
            do {
                try storage.adoptLocalSnapshot(snapshot)
                carryOut(driver.snapshotWritten(snapshot))
                // The entries the snapshot covers and the one it replaces are freed now.
                DispatchQueue.global(qos: .background).async { Self.returnFreedMemory() }
            } catch {
                carryOut(driver.snapshotFailed("\(error)"))
            }
        case .snapshotFailed(let reason):
            carryOut(driver.snapshotFailed(reason))
        case .transferFinished(let target, let succeeded):
            carryOut(driver.transferFinished(target: target, succeeded: succeeded, now: time))
        case .setTarget(let target):
            driver.setTargetVoters(target)
        }
    }

    private func register(_ waiter: ClientWaiter) -> ClientHandle {
        defer { nextHandle += 1 }
        clients[nextHandle] = waiter
        return nextHandle
    }

    /// Carries out the driver's actions in order.
    private func carryOut(_ actions: [ShardAction]) {
        for action in actions {
            switch action {
            case .send(let peer, let frames):
                if !send(peer, frames) { carryOut(driver.sent(to: peer, delivered: false)) }
            case .answer(let client, let result):
                guard case .command(let continuation) = clients.removeValue(forKey: client) else { continue }
                continuation.resume(returning: result)
            case .serveRead(let client):
                guard case .read(let body) = clients.removeValue(forKey: client) else { continue }
                body(driver.engine, driver.shardTime(now: now()), nil)
            case .failRead(let client, let error):
                clients.removeValue(forKey: client)?.fail(error)
            case .startSnapshot(let job):
                startSnapshot(job)
            case .startTransfer(let target, let messages):
                transfer(target, messages)
            case .repairFinished:
                do {
                    try storage.repairFinished()
                } catch {
                    logger.error("\(shard): cannot remove the repair marker (the next start repairs again): \(error)")
                }
            case .membershipChanged(let membership):
                logger.info("\(shard): members \(membership.members.sorted()), voters \(membership.voters.sorted())")
            case .log(let level, let line):
                logger.log(level: level, "\(line)")
            case .fatal(let reason):
                fail(reason)
            }
        }
    }

    private func fail(_ reason: String) {
        failed = true
        logger.critical("\(reason)")
        onFatal(reason)
    }

    private func publishStatistics() {
        let leader = driver.knownLeader
        leaderBox.withLock { $0 = leader }
        let counts = (driver.parkedCount, driver.receiveProposals)
        statistics.withLock { $0 = counts }
    }

    /// Encodes and writes a snapshot on another thread (the log is synced first when it defers syncs, so
    /// the snapshot never reaches the disk ahead of the entries it follows).
    private func startSnapshot(_ job: SnapshotJob) {
        if storage.log.options.syncPolicy == .deferred {
            do {
                try storage.log.synchronize()
            } catch {
                return fail("\(shard): the log failed to sync: \(error)")
            }
        }
        let log = storage.log
        let (directory, fileSystem, compress) = (log.directory, log.fileSystem, log.options.compressionBytesMin != .max)
        let pending = PendingSnapshotJob(job)
        Thread.detachNewThread { [self] in
            let snapshot = pending.take().encode()
            do {
                try ShardStorage.writeSnapshot(
                    snapshot, directory: directory, fileSystem: fileSystem, compress: compress)
                post(.snapshotWritten(snapshot))
            } catch {
                post(.snapshotFailed("\(error)"))
            }
        }
    }

    /// Hands freed memory back to the system where the allocator keeps it (glibc's `malloc_trim`; off
    /// the drive thread, since it walks the heap): after a snapshot, the log entries it covers, the snapshot
    /// it replaces and what encoding it took are otherwise kept by the process.
    static func returnFreedMemory() {
        #if os(Linux) && canImport(Glibc)
            _ = glibcMallocTrim(0)
        #endif
    }

    /// Under `--fsync batch`, syncs the log once the interval passed since the last sync.
    private func synchronizeIfDue() {
        guard let interval = settings.syncIntervalMilliseconds, storage.log.options.syncPolicy == .deferred else {
            return
        }
        let now = Self.monotonicMilliseconds()
        guard now - lastSyncMilliseconds >= Int64(interval) else { return }
        lastSyncMilliseconds = now
        do {
            try storage.log.synchronize()
        } catch {
            fail("\(shard): the log failed to sync: \(error)")
        }
    }

    private func failEverything(_ error: QueueError) {
        for handle in clients.keys.sorted() { clients[handle]!.fail(error) }
        clients = [:]
        let leftover = inbox.withLock { inbox in
            defer { inbox.inputs = [] }
            return inbox.inputs
        }
        for input in leftover { input.refuse(error) }
    }
}

#if os(Linux) && canImport(Glibc)
    /// glibc's `int malloc_trim(size_t pad)`, which its Swift module does not expose (malloc.h).
    @_silgen_name("malloc_trim")
    private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// A snapshot job handed to the thread that encodes it, which lets it go as soon as it has encoded it (the
/// engine state the job holds is a copy that the drive thread's changes made whole).
private final class PendingSnapshotJob: @unchecked Sendable {
    // @unchecked: taken once, by the one thread that encodes it.
    private var job: SnapshotJob?

    init(_ job: SnapshotJob) { self.job = job }

    func take() -> SnapshotJob {
        defer { job = nil }
        return job!
    }
}
