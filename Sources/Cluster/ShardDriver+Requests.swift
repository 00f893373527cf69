import Logging
import PeerTransport
import Placement
import QueueEngine
import Raft

extension ShardDriver {
    static let unavailable = QueueError(.serviceUnavailable, "The shard has no leader right now. Retry the request.")
    static let overloaded = QueueError(
        .serviceUnavailable, "Too many requests are waiting for this shard's log. Retry the request.")
    static let timedOut = QueueError(
        .serviceUnavailable, "The request was not committed in time; it may or may not have taken effect. Retry it.")
    /// Receivers parked at once on one replica; past this a long poll answers empty at once.
    static let parkedMax = 20_000

    // MARK: Events: client requests

    /// A client's command: proposed at the end of this round, answered when its entry applies here.
    package mutating func clientCommand(_ command: Command, client: ClientHandle, now: ShardTime) -> [ShardAction] {
        enqueue(command, client: client, waitUntil: nil, now: now)
        return takeActions()
    }

    /// ReceiveMessage, long-polling up to `waitSeconds` (nil: the queue's setting). When the queue has
    /// nothing available, answers empty at once (no wait) or parks without touching the log.
    package mutating func clientReceive(
        _ request: ReceiveMessageRequest, waitSeconds requested: Int?, client: ClientHandle, now: ShardTime
    ) -> [ShardAction] {
        let waitSeconds = requested ?? engine.receiveWaitTimeSeconds(request.queueName) ?? 0
        do throws(QueueError) {
            try engine.validateReceive(request)
        } catch {
            actions.append(.answer(client, .failure(error)))
            return takeActions()
        }
        let waitUntil = waitSeconds > 0 ? now.monotonicMilliseconds + Int64(waitSeconds) * 1_000 : nil
        if engine.queueExists(request.queueName), !engine.mayReceive(request.queueName, at: shardTime(now: now)),
            request.receiveRequestAttemptId == nil
        {
            if let waitUntil, parkedCount < Self.parkedMax {
                park(request, client: client, waitUntil: waitUntil)
            } else {
                actions.append(.answer(client, .received([])))
            }
            return takeActions()
        }
        enqueue(.receiveMessages(request), client: client, waitUntil: waitUntil, now: now)
        return takeActions()
    }

    /// A linearizable read: served (`.serveRead`) once a read index confirmed by a quorum has applied.
    package mutating func clientRead(client: ClientHandle, now: ShardTime) -> [ShardAction] {
        let sequence = takeSequence()
        reads[sequence] = PendingRead(
            client: client, index: nil,
            deadlineMilliseconds: now.monotonicMilliseconds + Int64(settings.proposalTimeoutMilliseconds))
        requestReadIndex(sequence)
        return takeActions()
    }

    /// Records a client command to be proposed in this round's batch.
    mutating func enqueue(_ command: Command, client: ClientHandle, waitUntil: Int64?, now: ShardTime) {
        guard pending.count < settings.pendingMax else {
            actions.append(.answer(client, .failure(Self.overloaded)))
            return
        }
        if let refusal = capacityRefusal(command) {
            actions.append(.answer(client, .failure(refusal)))
            return
        }
        if case .receiveMessages = command { receiveProposals += 1 }
        let sequence = takeSequence()
        let envelope = ProposalEnvelope(
            proposer: nodeID, incarnation: incarnation, id: sequence, timestampMilliseconds: 0,
            command: LoggedCommand(command: command, timestampMilliseconds: 0).encoded())
        pending[sequence] = PendingProposal(
            client: client, command: command, envelope: envelope,
            deadlineMilliseconds: now.monotonicMilliseconds + Int64(settings.proposalTimeoutMilliseconds),
            waitUntilMilliseconds: waitUntil)
        unproposed.append(sequence)
    }

    /// A send that would take its queue or shard past what it may hold (`ShardSettings.queueMessagesMax`
    /// and the other bounds), judged on this replica's state before anything is logged; nil when it fits.
    /// Sends already proposed and not applied are not counted, so a bound is passed by at most what is in
    /// flight.
    func capacityRefusal(_ command: Command) -> QueueError? {
        guard case .sendMessages(let name, let entries, _, _) = command,
            let queue = engine.storedTotals(ofQueue: name)
        else { return nil }
        let bytes = entries.reduce(0) { $0 + $1.body.utf8.count }
        let shard = engine.storedTotals
        let full: String? =
            if queue.messages + entries.count > settings.queueMessagesMax {
                "the queue holds \(queue.messages) messages, at most \(settings.queueMessagesMax)"
            } else if queue.bytes + bytes > settings.queueBytesMax {
                "the queue holds \(queue.bytes) bytes, at most \(settings.queueBytesMax)"
            } else if shard.messages + entries.count > settings.shardMessagesMax {
                "its shard holds \(shard.messages) messages, at most \(settings.shardMessagesMax)"
            } else if shard.bytes + bytes > settings.shardBytesMax {
                "its shard holds \(shard.bytes) bytes, at most \(settings.shardBytesMax)"
            } else {
                nil
            }
        return full.map { QueueError(.requestThrottled, "The queue is full: \($0). Retry after messages are deleted.") }
    }

    // MARK: Events: the end of a round

    /// Every queued input was handed over: propose this round's commands as one batch when leading,
    /// forward them to the leader when following one, or hold them until a leader is known.
    package mutating func inputsDrained(now: ShardTime) -> [ShardAction] {
        wakeParkedOnTimers(now: now)
        proposeQueued(now: now)
        return takeActions()
    }

    mutating func proposeQueued(now: ShardTime) {
        guard !unproposed.isEmpty else { return }
        let sequences = unproposed.filter { pending[$0] != nil }
        unproposed = []
        guard !sequences.isEmpty else { return }
        if raft.role == .leader {
            propose(sequences.map { pending[$0]!.envelope }, local: sequences, now: now)
        } else if raft.leader != 0 {
            forward(sequences, to: raft.leader)
        } else {
            waitingForLeader.append(contentsOf: sequences)
        }
    }

    /// Stamps envelopes with the shard's time and proposes them as one batch; each carries this node's
    /// current sequence floor when it is this node's own.
    mutating func propose(_ envelopes: [ProposalEnvelope], local: [UInt64], now: ShardTime) {
        let stamp = nextStamp(now: now)
        let floor = sequenceFloor
        let batch = envelopes.map { envelope in
            var stamped = envelope
            stamped.timestampMilliseconds = stamp
            if stamped.proposer == nodeID && stamped.incarnation == incarnation {
                stamped.sequenceFloor = max(stamped.sequenceFloor, floor)
            }
            return stamped.encoded()
        }
        do {
            try raft.propose(batch)
        } catch {
            // Leadership moved between the check and the proposal (a transfer): hold them.
            waitingForLeader.append(contentsOf: local)
        }
    }

    mutating func forward(_ sequences: [UInt64], to leader: NodeID) {
        let floor = sequenceFloor
        var envelopes: [ProposalEnvelope] = []
        for sequence in sequences {
            pending[sequence]!.forwardAttempts += 1
            var envelope = pending[sequence]!.envelope
            envelope.sequenceFloor = floor
            envelopes.append(envelope)
        }
        let frame = PeerFrame(kind: .forward, shard: shard.rawValue, payload: ProposalEnvelope.encodeBatch(envelopes))
        actions.append(.send(to: leader, [frame]))
    }

    // MARK: Events: frames from peers

    /// Any frame a peer's driver sends, decoded and given to the event it carries (for shells that hand
    /// frames over whole; `NodeRouter` decodes them on its event loop instead). Throws for a frame that
    /// does not decode, or of a kind no driver sends.
    package mutating func peerFrame(_ frame: PeerFrame, from peer: NodeID, now: ShardTime) throws(RaftWireError)
        -> [ShardAction]
    {
        switch frame.kind {
        case .raft:
            let message = try RaftWireCodec.decodeMessage(frame.payload)
            guard message.from == peer else {
                throw RaftWireError("message from \(message.from) on node \(peer)'s link")
            }
            return peerMessage(message)
        case .forward: return forwarded(try ProposalEnvelope.decodeBatch(frame.payload), from: peer, now: now)
        case .forwardRejected:
            return forwardRejected(try ForwardRejection(decoding: frame.payload, proposer: nodeID), now: now)
        case .snapshotChunk: return snapshotChunk(try SnapshotChunk(decoding: frame.payload), from: peer, now: now)
        case .snapshotAck: return snapshotAck(try SnapshotAck(decoding: frame.payload), from: peer, now: now)
        case .hello, .ping, .call, .reply: throw RaftWireError("a \(frame.kind) frame is not for a shard driver")
        }
    }

    /// A Raft message from a peer.
    package mutating func peerMessage(_ message: Message) -> [ShardAction] {
        raft.step(message)
        return takeActions()
    }

    /// Commands another node forwarded: propose them if leading, else tell it who leads.
    package mutating func forwarded(_ envelopes: [ProposalEnvelope], from peer: NodeID, now: ShardTime) -> [ShardAction]
    {
        guard raft.role == .leader else {
            let rejection = ForwardRejection(keys: envelopes.map(\.key), leader: raft.leader)
            actions.append(
                .send(
                    to: peer, [PeerFrame(kind: .forwardRejected, shard: shard.rawValue, payload: rejection.encoded())]))
            return takeActions()
        }
        propose(envelopes, local: [], now: now)
        return takeActions()
    }

    /// The node this one forwarded commands to is not the leader.
    package mutating func forwardRejected(_ rejection: ForwardRejection, now: ShardTime) -> [ShardAction] {
        for key in rejection.keys where key.incarnation == incarnation {
            guard let proposal = pending[key.sequence] else { continue }
            if proposal.forwardAttempts >= settings.forwardAttemptsMax {
                pending[key.sequence] = nil
                actions.append(.answer(proposal.client, .failure(Self.unavailable)))
            } else {
                waitingForLeader.append(key.sequence)
            }
        }
        retryWaiting(now: now)
        return takeActions()
    }

    /// A send the shell could not carry out (no link, or its queue full): the leader probes the peer
    /// again. Snapshot pieces are resent when their acknowledgments do not come.
    package mutating func sent(to peer: NodeID, delivered: Bool) -> [ShardAction] {
        if !delivered { raft.reportUnreachable(peer) }
        return takeActions()
    }

    /// Sends held commands and reads on once a leader is known.
    mutating func retryWaiting(now: ShardTime) {
        guard raft.leader != 0 else { return }
        let sequences = waitingForLeader.filter { pending[$0] != nil }
        waitingForLeader = []
        unproposed.append(contentsOf: sequences)
        proposeQueued(now: now)
        for sequence in reads.keys.sorted() where reads[sequence]!.index == nil { requestReadIndex(sequence) }
    }

    // MARK: Reads

    /// Asks Raft for a read index; the context names this incarnation and sequence, so it cannot be taken
    /// for another read of this node, now or after a restart.
    mutating func requestReadIndex(_ sequence: UInt64) {
        var context = [UInt8]()
        withUnsafeBytes(of: incarnation.littleEndian) { context.append(contentsOf: $0) }
        withUnsafeBytes(of: sequence.littleEndian) { context.append(contentsOf: $0) }
        do {
            try raft.readIndex(context)
        } catch {
            // No leader yet: retried when one is known.
        }
    }

    mutating func readIndexReady(_ state: ReadState) {
        guard state.context.count == 16 else { return }
        let (contextIncarnation, sequence) = state.context.withUnsafeBytes {
            (
                UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            )
        }
        guard contextIncarnation == incarnation else { return }
        reads[sequence]?.index = state.index
    }

    /// Serves the reads whose read index has applied.
    mutating func serveReads() {
        guard !reads.isEmpty else { return }
        let appliedIndex = raft.appliedIndex
        for sequence in reads.keys.sorted() {
            guard let index = reads[sequence]!.index, index <= appliedIndex else { continue }
            actions.append(.serveRead(reads.removeValue(forKey: sequence)!.client))
        }
    }
}
