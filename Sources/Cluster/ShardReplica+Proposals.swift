import Logging
import NIOCore
import PeerTransport
import Placement
import QueueEngine
import Raft
import Synchronization

extension ShardReplica {
    static let unavailable = QueueError(.serviceUnavailable, "The shard has no leader right now. Retry the request.")
    static let overloaded = QueueError(
        .serviceUnavailable, "Too many requests are waiting for this shard's log. Retry the request.")
    static let timedOut = QueueError(
        .serviceUnavailable, "The request was not committed in time; it may or may not have taken effect. Retry it.")

    func handle(_ input: ShardInput) {
        switch input {
        case .raft(let message):
            raft.step(message)
        case .command(let command, let continuation):
            enqueue(command, continuation, waitUntil: nil)
        case .receive(let request, let waitSeconds, let continuation):
            receive(request, waitSeconds: waitSeconds, continuation)
        case .read(let body):
            let id = takeID()
            reads[id] = PendingRead(
                run: body, index: nil,
                deadlineMilliseconds: Self.nowMilliseconds() + Int64(settings.proposalTimeoutMilliseconds))
            requestReadIndex(id)
        case .forwarded(let from, let envelopes):
            forwarded(envelopes, from: from)
        case .forwardRejected(let rejection):
            rejected(rejection)
        case .snapshotEncoded(let snapshot):
            snapshotEncoded(snapshot)
        case .transferFinished(let target, let succeeded):
            transferFinished(target: target, succeeded: succeeded)
        }
    }

    func takeID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    /// Records a client command to be proposed in this round's batch.
    func enqueue(_ command: Command, _ continuation: CheckedContinuation<CommandResult, Never>, waitUntil: Int64?) {
        guard pending.count < settings.pendingMax else {
            continuation.resume(returning: .failure(Self.overloaded))
            return
        }
        if case .receiveMessages = command { statistics.withLock { $0.receiveProposals += 1 } }
        let id = takeID()
        let envelope = ProposalEnvelope(
            proposer: nodeID, id: id, timestampMilliseconds: 0,
            command: LoggedCommand(command: command, timestampMilliseconds: 0).encoded())
        pending[id] = PendingProposal(
            command: command, envelope: envelope, continuation: continuation,
            deadlineMilliseconds: Self.nowMilliseconds() + Int64(settings.proposalTimeoutMilliseconds),
            waitUntilMilliseconds: waitUntil)
        unproposed.append(id)
    }

    /// Proposes this round's commands as one batch when leading, forwards them to the leader when
    /// following one, or holds them until a leader is known.
    func proposeQueued() {
        guard !unproposed.isEmpty else { return }
        let ids = unproposed.filter { pending[$0] != nil }
        unproposed = []
        guard !ids.isEmpty else { return }
        if raft.role == .leader {
            propose(ids.map { pending[$0]!.envelope }, localIDs: ids)
        } else if raft.leader != 0 {
            forward(ids, to: raft.leader)
        } else {
            waitingForLeader.append(contentsOf: ids)
        }
    }

    /// Stamps envelopes with the leader's clock (never going back) and proposes them as one batch.
    private func propose(_ envelopes: [ProposalEnvelope], localIDs: [UInt64]) {
        let stamp = max(Self.nowMilliseconds(), lastStampMilliseconds)
        lastStampMilliseconds = stamp
        let batch = envelopes.map { envelope in
            var stamped = envelope
            stamped.timestampMilliseconds = stamp
            return stamped.encoded()
        }
        do {
            try raft.propose(batch)
        } catch {
            // Leadership moved between the check and the proposal (a transfer): hold them.
            waitingForLeader.append(contentsOf: localIDs)
        }
    }

    private func forward(_ ids: [UInt64], to leader: NodeID) {
        var envelopes: [ProposalEnvelope] = []
        for id in ids {
            pending[id]!.forwardAttempts += 1
            envelopes.append(pending[id]!.envelope)
        }
        let frame = PeerFrame(kind: .forward, shard: shard.rawValue, payload: ProposalEnvelope.encodeBatch(envelopes))
        if !send(leader, [frame]) { waitingForLeader.append(contentsOf: ids) }
    }

    /// Commands another node forwarded: propose them if leading, else tell it who leads.
    private func forwarded(_ envelopes: [ProposalEnvelope], from peer: NodeID) {
        guard raft.role == .leader else {
            let rejection = ForwardRejection(ids: envelopes.map(\.id), leader: raft.leader)
            _ = send(peer, [PeerFrame(kind: .forwardRejected, shard: shard.rawValue, payload: rejection.encoded())])
            return
        }
        propose(envelopes, localIDs: [])
    }

    private func rejected(_ rejection: ForwardRejection) {
        for id in rejection.ids {
            guard let proposal = pending[id] else { continue }
            if proposal.forwardAttempts >= settings.forwardAttemptsMax {
                pending[id] = nil
                proposal.continuation.resume(returning: .failure(Self.unavailable))
            } else {
                waitingForLeader.append(id)
            }
        }
        retryWaiting()
    }

    /// Sends held commands and reads on once a leader is known.
    func retryWaiting() {
        guard raft.leader != 0 else { return }
        let ids = waitingForLeader.filter { pending[$0] != nil }
        waitingForLeader = []
        unproposed.append(contentsOf: ids)
        proposeQueued()
        for (id, read) in reads where read.index == nil { requestReadIndex(id) }
    }

    func leadershipChanged(_ soft: SoftState) {
        logger.info("\(shard): \(soft.role), leader \(soft.leader), term \(raft.term)")
        let previous = leaderBox.withLock { leader in
            defer { leader = soft.leader }
            return leader
        }
        if soft.leader != 0 && soft.leader != previous {
            // Commands in flight went to (or were appended by) the old leader and may never commit: send
            // them to the new one now rather than letting their clients wait for the timeout. A command
            // that commits twice is answered once, by the first; SQS is at-least-once anyway.
            let waiting = Set(waitingForLeader).union(unproposed)
            waitingForLeader.append(contentsOf: pending.keys.filter { !waiting.contains($0) }.sorted())
        }
        if soft.role == .leader { nextAdvanceMilliseconds = Self.nowMilliseconds() }
        retryWaiting()
    }

    /// Once a tick: expire what waited too long, let the leader advance queue time.
    func onTick() {
        let now = Self.nowMilliseconds()
        for (id, proposal) in pending where proposal.deadlineMilliseconds <= now {
            pending[id] = nil
            proposal.continuation.resume(returning: .failure(Self.timedOut))
        }
        for (id, read) in reads where read.deadlineMilliseconds <= now {
            reads[id] = nil
            read.run(nil, Self.unavailable)
        }
        expireParked(now)
        if raft.role == .leader && now >= nextAdvanceMilliseconds {
            nextAdvanceMilliseconds = now + Int64(settings.advanceTimeMilliseconds)
            let envelope = ProposalEnvelope(
                proposer: 0, id: 0, timestampMilliseconds: 0,
                command: LoggedCommand(command: .advanceTime, timestampMilliseconds: 0).encoded())
            propose([envelope], localIDs: [])
        }
        if !waitingForLeader.isEmpty { retryWaiting() }
        if raft.role == .leader, !isTransferring, engine.outboxCount > 0 {
            // One transfer at a time per shard, from its leader; a new leader starts over from the outbox
            // (imports are idempotent). A target that failed waits out its back-off while others go on.
            let waiting = Set(transferBackoff.filter { $0.value.retryAt > now }.keys)
            if let batch = engine.nextTransferBatch(excluding: waiting) {
                isTransferring = true
                transfer(ShardID(batch.shard), batch.messages)
            }
        }
    }

    /// Transfer back-off after a failure: doubling from one second up to thirty.
    static let transferBackoffMilliseconds: ClosedRange<Int64> = 1_000...30_000

    func transferFinished(target: ShardID, succeeded: Bool) {
        isTransferring = false
        if succeeded {
            transferBackoff[target.rawValue] = nil
            return
        }
        let delay = min(
            (transferBackoff[target.rawValue]?.delay).map { $0 * 2 } ?? Self.transferBackoffMilliseconds.lowerBound,
            Self.transferBackoffMilliseconds.upperBound)
        transferBackoff[target.rawValue] = (Self.nowMilliseconds() + delay, delay)
        if delay == Self.transferBackoffMilliseconds.upperBound {
            logger.warning(
                "\(shard): \(target) has taken no messages for a while; \(engine.outboxCount) wait in the outbox")
        }
    }
}
