import Foundation
import Logging
import NIOCore
import PeerTransport
import Placement
import QueueEngine
import Raft
import SegmentLog
import Synchronization

/// One replica of one shard: a Raft group member whose log is a `SegmentLog` and whose state machine is
/// a `QueueEngine`. A single thread owns all of it and runs the drive loop:
///
/// 1. take every input that arrived (peer messages, client commands, reads, ticks) — group commit;
/// 2. step Raft, propose the commands as one batch (or forward them to the leader);
/// 3. for each `Ready`: persist snapshot, entries and hard state with one fdatasync, then send the
///    messages, apply committed entries to the engine in order, answer the clients whose commands
///    applied, serve reads whose read index is applied, and advance Raft.
///
/// Other threads only post inputs. Client commands are answered when their entry applies on the node
/// that took the request (every replica applies every entry, so forwarded commands need no reply frame).
final class ShardReplica: @unchecked Sendable {
    // @unchecked: after init, every stored var below is touched only by the drive thread; inputs cross
    // threads through `inbox`, guarded by `condition`.

    let shard: ShardID
    let nodeID: NodeID
    let settings: ShardSettings
    let logger: Logger
    private let engineConfiguration: QueueEngineConfiguration
    let send: @Sendable (NodeID, [PeerFrame]) -> Bool
    private let onFatal: @Sendable (String) -> Void
    /// Carries outbox messages to the target shard and settles them here; posts `.transferFinished`.
    let transfer: @Sendable (_ target: ShardID, _ messages: [TransferredMessage]) -> Void

    private let condition = NSCondition()
    private var inbox: [ShardInput] = []
    private var isStopping = false
    private var thread: Thread?
    private let stopped = NSCondition()
    private var hasStopped = false

    var raft: Raft
    /// The leader as the drive thread last saw it, readable from any thread.
    let leaderBox = Mutex<NodeID>(0)
    /// Counters readable from any thread: receivers parked now, receives proposed so far.
    let statistics = Mutex<(parkedReceives: Int, receiveProposals: Int)>((0, 0))
    var knownLeader: NodeID { leaderBox.withLock { $0 } }
    var engine: QueueEngine
    let storage: ShardStorage
    var pending: [UInt64: PendingProposal] = [:]
    var unproposed: [UInt64] = []
    var waitingForLeader: [UInt64] = []
    var reads: [UInt64: PendingRead] = [:]
    var parked: [String: [UInt64: ParkedReceive]] = [:]
    var parkedCount = 0
    var nextID: UInt64 = 1
    var lastStampMilliseconds: Int64 = 0
    var nextAdvanceMilliseconds: Int64 = 0
    var snapshotIndex: UInt64 = 0
    var isSnapshotting = false
    var failed = false
    var lastSyncMilliseconds: Int64 = 0
    var isRepairLogged = false
    var isTransferring = false
    /// Target shards whose last transfer failed: not tried again before the time (ms), and the back-off.
    var transferBackoff: [UInt32: (retryAt: Int64, delay: Int64)] = [:]
    /// Term and vote as last persisted: a Ready that changes them is persisted before its messages go.
    var persistedTerm: UInt64 = 0
    var persistedVote: NodeID = 0

    init(
        shard: ShardID, nodeID: NodeID, voters: Set<NodeID>, storage: ShardStorage,
        engineConfiguration: QueueEngineConfiguration, settings: ShardSettings, raftConfiguration: RaftConfiguration,
        seed: UInt64, logger: Logger, send: @escaping @Sendable (NodeID, [PeerFrame]) -> Bool,
        onFatal: @escaping @Sendable (String) -> Void, repair: Bool = false,
        transfer: @escaping @Sendable (ShardID, [TransferredMessage]) -> Void = { _, _ in }
    ) throws {
        self.shard = shard
        self.nodeID = nodeID
        self.settings = settings
        self.logger = logger
        self.engineConfiguration = engineConfiguration
        self.send = send
        self.onFatal = onFatal
        self.transfer = transfer
        self.storage = storage
        let persisted = try storage.load()
        var engine = QueueEngine(configuration: engineConfiguration)
        if let snapshot = persisted.snapshot {
            engine = try QueueEngine(configuration: engineConfiguration, snapshot: snapshot.data)
            snapshotIndex = snapshot.index
        }
        self.engine = engine
        self.raft = Raft(
            configuration: raftConfiguration, membership: Membership(voters: voters), persisted: persisted, seed: seed)
        self.lastStampMilliseconds = engine.clock
        (persistedTerm, persistedVote) = (persisted.hardState.term, persisted.hardState.votedFor)
        if repair {
            raft.beginRepair()
            isRepairLogged = true
        }
        logger.info(
            "\(shard): restored snapshot at \(persisted.snapshot?.index ?? 0), \(persisted.entries.count) log entries, term \(persisted.hardState.term)"
        )
    }

    // MARK: Inputs from other threads

    /// Queues an input for the drive thread. Client inputs are refused (false) when the inbox is full or
    /// the replica stopped; peer messages are dropped then (Raft resends).
    @discardableResult
    func post(_ input: ShardInput) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !isStopping,
            input.isControl || inbox.count < (input.isClientRequest ? settings.inboxMax : settings.inboxMax * 4)
        else {
            return false
        }
        inbox.append(input)
        condition.signal()
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
        let outcome: Swift.Result<Result, QueueError> = await withCheckedContinuation { continuation in
            let run: ReadBody = { engine, error in
                if let error { return continuation.resume(returning: .failure(error)) }
                switch engine {
                case .some(let engine):
                    do throws(QueueError) {
                        continuation.resume(returning: .success(try body(engine)))
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
        condition.lock()
        defer { condition.unlock() }
        guard thread == nil, !isStopping else { return }
        let thread = Thread { [self] in runLoop() }
        thread.name = "ferry-\(shard.rawValue)"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    /// Stops the drive thread, answering everything pending with ServiceUnavailable, and closes the log.
    func stop() {
        condition.lock()
        isStopping = true
        condition.signal()
        condition.unlock()
        stopped.lock()
        while !hasStopped && thread != nil { stopped.wait() }
        stopped.unlock()
    }

    private func takeInputs(until deadline: Date) -> (inputs: [ShardInput], stopping: Bool) {
        condition.lock()
        defer { condition.unlock() }
        while inbox.isEmpty && !isStopping {
            if !condition.wait(until: deadline) { break }
        }
        let inputs = inbox
        inbox.removeAll(keepingCapacity: true)
        return (inputs, isStopping)
    }

    // MARK: The drive loop

    static func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    private func runLoop() {
        var nextTick = Date().addingTimeInterval(Double(settings.tickMilliseconds) / 1000)
        while true {
            let (inputs, stopping) = takeInputs(until: nextTick)
            if stopping { break }
            for input in inputs { handle(input) }
            if Date() >= nextTick {
                raft.tick()
                onTick()
                nextTick = Date().addingTimeInterval(Double(settings.tickMilliseconds) / 1000)
            }
            proposeQueued()
            processReady()
            synchronizeIfDue()
            if failed { break }
        }
        condition.lock()
        isStopping = true  // a failed log takes nothing more
        condition.unlock()
        failEverything(QueueError(.serviceUnavailable, "The node is shutting down. Retry the request."))
        storage.log.close()
        stopped.lock()
        hasStopped = true
        stopped.broadcast()
        stopped.unlock()
    }

    /// Under `--fsync batch`, syncs the log once the interval passed since the last sync.
    private func synchronizeIfDue() {
        guard let interval = settings.syncIntervalMilliseconds, storage.log.options.syncPolicy == .deferred else {
            return
        }
        let now = Self.nowMilliseconds()
        guard now - lastSyncMilliseconds >= Int64(interval) else { return }
        lastSyncMilliseconds = now
        do {
            try storage.log.synchronize()
        } catch {
            failed = true
            onFatal("\(shard): the log failed to sync: \(error)")
        }
    }

    /// Handles every Ready Raft has: persist, send, apply, advance.
    func processReady() {
        while raft.hasReady && !failed {
            let ready = raft.ready()
            // A leader's appends go out before its own fdatasync, which then overlaps the followers'
            // (their answers are stepped only after it, on this thread). Votes and terms persist first.
            let sendsFirst =
                raft.role == .leader && ready.snapshot == nil
                && ready.hardState.map { $0.term == persistedTerm && $0.votedFor == persistedVote } ?? true
            if sendsFirst { sendMessages(ready.messages) }
            do {
                try storage.persist(snapshot: ready.snapshot, entries: ready.entries, hardState: ready.hardState)
            } catch {
                failed = true
                let reason = "\(shard): the log failed: \(error)"
                logger.critical("\(reason)")
                onFatal(reason)
                return
            }
            if let hardState = ready.hardState {
                (persistedTerm, persistedVote) = (hardState.term, hardState.votedFor)
            }
            if let snapshot = ready.snapshot { installSnapshot(snapshot) }
            if !sendsFirst { sendMessages(ready.messages) }
            for entry in ready.committedEntries { apply(entry) }
            raft.advance(ready)
            if isRepairLogged && !raft.isRepairing {
                isRepairLogged = false
                logger.notice("\(shard): repair complete at commit index \(raft.commitIndex); voting again")
            }
            if let soft = ready.softState { leadershipChanged(soft) }
            for state in ready.readStates { readIndexReady(state) }
            serveReads()
        }
        maybeSnapshot()
    }

    private func sendMessages(_ messages: [Message]) {
        guard !messages.isEmpty else { return }
        var byPeer: [NodeID: [PeerFrame]] = [:]
        for message in messages {
            byPeer[message.to, default: []].append(
                PeerFrame(kind: .raft, shard: shard.rawValue, payload: RaftWireCodec.encode(message)))
        }
        for (peer, frames) in byPeer {
            let sent = send(peer, frames)
            if !sent { raft.reportUnreachable(peer) }
            for frame in frames where frame.payload.getInteger(at: 0, as: UInt8.self) == MessageKind.snapshot.rawValue {
                if sent { raft.reportSnapshotSent(peer) } else { raft.reportSnapshotFailed(peer) }
            }
        }
    }

    private func installSnapshot(_ snapshot: Snapshot) {
        do {
            engine = try QueueEngine(configuration: engineConfiguration, snapshot: snapshot.data)
            snapshotIndex = snapshot.index
            lastStampMilliseconds = max(lastStampMilliseconds, engine.clock)
            logger.info("\(shard): installed snapshot at \(snapshot.index) from the leader")
        } catch {
            failed = true
            onFatal("\(shard): snapshot at \(snapshot.index) from the leader does not restore: \(error)")
        }
    }

    private func failEverything(_ error: QueueError) {
        for (_, proposal) in pending { proposal.continuation.resume(returning: .failure(error)) }
        pending = [:]
        for (_, read) in reads { read.run(nil, error) }
        reads = [:]
        for (_, waiting) in parked {
            for (_, receive) in waiting { receive.continuation.resume(returning: .failure(error)) }
        }
        parked = [:]
        condition.lock()
        let leftover = inbox
        inbox = []
        condition.unlock()
        for input in leftover { input.refuse(error) }
    }
}
