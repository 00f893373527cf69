import Foundation
import Logging
import QueueEngine
import Raft
import Synchronization

extension ShardReplica {
    /// Applies one committed entry to the engine and answers its client if it was proposed here.
    func apply(_ entry: Entry) {
        guard entry.kind == .normal, !entry.data.isEmpty else { return }
        let envelope: ProposalEnvelope
        let logged: LoggedCommand
        do {
            envelope = try ProposalEnvelope(decoding: entry.data)
            logged = try LoggedCommand(decoding: envelope.command)
        } catch {
            // Every replica skips the same entry, so they stay identical.
            logger.error("\(shard): entry \(entry.index) does not decode (\(error)); skipped")
            return
        }
        // Only the node that took the request answers it: the others skip building receive results.
        let result = engine.apply(
            logged.command, timestampMilliseconds: envelope.timestampMilliseconds,
            rendersResults: envelope.proposer == nodeID)
        lastStampMilliseconds = max(lastStampMilliseconds, envelope.timestampMilliseconds)
        wakeParked(after: logged.command)
        guard envelope.proposer == nodeID, let proposal = pending.removeValue(forKey: envelope.id) else { return }
        if let waitUntil = proposal.waitUntilMilliseconds, case .received(let messages) = result, messages.isEmpty,
            case .receiveMessages(let request) = proposal.command, waitUntil > Self.nowMilliseconds()
        {
            park(request, proposal.continuation, waitUntil: waitUntil)
            return
        }
        proposal.continuation.resume(returning: result)
    }

    // MARK: Long polling

    /// ReceiveMessage: when the queue has nothing available, answer empty at once (no wait) or park the
    /// receiver without touching the log; otherwise propose the receive.
    func receive(
        _ request: ReceiveMessageRequest, waitSeconds requested: Int?,
        _ continuation: CheckedContinuation<CommandResult, Never>
    ) {
        let waitSeconds = requested ?? engine.receiveWaitTimeSeconds(request.queueName) ?? 0
        let now = Self.nowMilliseconds()
        do throws(QueueError) {
            try engine.validateReceive(request)
        } catch {
            continuation.resume(returning: .failure(error))
            return
        }
        let waitUntil = waitSeconds > 0 ? now + Int64(waitSeconds) * 1_000 : nil
        if engine.queueExists(request.queueName), engine.availableMessageCount(request.queueName) == 0,
            request.receiveRequestAttemptId == nil
        {
            if let waitUntil, parkedCount < ShardReplica.parkedMax {
                park(request, continuation, waitUntil: waitUntil)
            } else {
                continuation.resume(returning: .received([]))
            }
            return
        }
        enqueue(.receiveMessages(request), continuation, waitUntil: waitUntil)
    }

    /// Receivers parked at once on one replica; past this a long poll answers empty at once.
    static let parkedMax = 20_000

    func park(
        _ request: ReceiveMessageRequest, _ continuation: CheckedContinuation<CommandResult, Never>, waitUntil: Int64
    ) {
        let id = takeID()
        parked[request.queueName, default: [:]][id] = ParkedReceive(
            request: request, continuation: continuation, waitUntilMilliseconds: waitUntil)
        parkedCount += 1
        statistics.withLock { $0.parkedReceives = parkedCount }
    }

    /// After a command that may make messages available, re-proposes the receives parked on its queue.
    private func wakeParked(after command: Command) {
        guard parkedCount > 0 else { return }
        let queues: [String]
        switch command {
        case .sendMessages(let name, _, _, _), .changeMessageVisibility(let name, _, _),
            .setQueueAttributes(let name, _):
            queues = [name]
        case .advanceTime, .startMessageMoveTask, .settleOutbox:
            queues = parked.keys.filter { engine.availableMessageCount($0) != 0 || !engine.queueExists($0) }
        case .importMessages(_, let messages):
            queues = Array(Set(messages.map(\.queueName)))
        case .deleteQueue(let name), .purgeQueue(let name):
            queues = [name]
        default:
            queues = []
        }
        let wakesAll: Bool
        switch command {
        case .deleteQueue, .purgeQueue, .setQueueAttributes: wakesAll = true
        default: wakesAll = false
        }
        for name in queues {
            guard let waiting = parked[name] else { continue }
            // Wake the longest-waiting receivers, as many as there are messages to take (at least one):
            // the rest stay parked instead of each proposing a receive that comes back empty.
            let wanted = wakesAll ? waiting.count : max(1, min(waiting.count, engine.availableMessageCount(name)))
            for id in waiting.keys.sorted().prefix(wanted) {
                let receive = parked[name]!.removeValue(forKey: id)!
                parkedCount -= 1
                enqueue(
                    .receiveMessages(receive.request), receive.continuation, waitUntil: receive.waitUntilMilliseconds)
            }
            if parked[name]?.isEmpty == true { parked[name] = nil }
            statistics.withLock { $0.parkedReceives = parkedCount }
        }
    }

    /// Answers parked receivers whose wait is over.
    func expireParked(_ now: Int64) {
        guard parkedCount > 0 else { return }
        for (name, waiting) in parked {
            for (id, receive) in waiting where receive.waitUntilMilliseconds <= now {
                parked[name]![id] = nil
                parkedCount -= 1
                statistics.withLock { $0.parkedReceives = parkedCount }
                receive.continuation.resume(returning: .received([]))
            }
            if parked[name]?.isEmpty == true { parked[name] = nil }
        }
    }

    // MARK: Reads

    func requestReadIndex(_ id: UInt64) {
        var context = [UInt8]()
        withUnsafeBytes(of: id.littleEndian) { context.append(contentsOf: $0) }
        do {
            try raft.readIndex(context)
        } catch {
            // No leader yet: retried when one is known.
        }
    }

    func readIndexReady(_ state: ReadState) {
        guard state.context.count == 8 else { return }
        let id = state.context.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        reads[id]?.index = state.index
    }

    /// Runs the reads whose read index has applied.
    func serveReads() {
        guard !reads.isEmpty else { return }
        let applied = raft.appliedIndex
        for (id, read) in reads {
            guard let index = read.index, index <= applied else { continue }
            reads[id] = nil
            read.run(engine, nil)
        }
    }

    // MARK: Snapshots

    /// Once enough entries applied since the last snapshot, encodes a copy of the engine on another thread.
    func maybeSnapshot() {
        let applied = raft.appliedIndex
        guard !isSnapshotting, applied >= snapshotIndex + settings.snapshotEntries, let term = raft.term(at: applied)
        else { return }
        isSnapshotting = true
        let copy = engine
        let membership = raft.membership
        Thread.detachNewThread { [self] in
            let snapshot = Snapshot(index: applied, term: term, membership: membership, data: copy.snapshot())
            if !post(.snapshotEncoded(snapshot)) { return }
        }
    }

    func snapshotEncoded(_ snapshot: Snapshot) {
        isSnapshotting = false
        do {
            try storage.saveLocalSnapshot(snapshot)
            raft.compact(snapshot)
            snapshotIndex = snapshot.index
            logger.info("\(shard): snapshot at \(snapshot.index), \(snapshot.data.count) bytes")
        } catch {
            logger.error("\(shard): snapshot at \(snapshot.index) failed: \(error)")
        }
    }
}
