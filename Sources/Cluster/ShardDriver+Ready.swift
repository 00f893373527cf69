import Logging
import PeerTransport
import Placement
import QueueEngine
import Raft

extension ShardDriver {
    // MARK: Events: persist and apply

    /// The next batch to persist, or nil when Raft has nothing. A leader whose term and vote did not change
    /// may send its appends first (Raft thesis §10.2.1; see `Raft`'s driver contract).
    package mutating func takeReady() -> ShardReady? {
        guard raft.hasReady else { return nil }
        let ready = raft.ready()
        let termOrVoteChanged =
            ready.hardState.map { $0.term != persistedTerm || $0.votedFor != persistedVote } ?? false
        let sendsFirst = raft.role == .leader && ready.snapshot == nil && !termOrVoteChanged
        return ShardReady(
            ready: ready, sendsBeforePersisting: sendsFirst ? sendActions(ready.messages) : [],
            termOrVoteChanged: termOrVoteChanged)
    }

    /// The shell persisted `shardReady`: install its snapshot, send its messages, apply its committed
    /// entries (answering this node's clients), and advance Raft.
    package mutating func persisted(_ shardReady: ShardReady, now: ShardTime) -> [ShardAction] {
        let ready = shardReady.ready
        if let hardState = ready.hardState { (persistedTerm, persistedVote) = (hardState.term, hardState.votedFor) }
        if let snapshot = ready.snapshot, !install(snapshot, now: now) { return takeActions() }
        if shardReady.sendsBeforePersisting.isEmpty {
            let sends = sendActions(ready.messages)
            actions += sends
        }
        for entry in ready.committedEntries { apply(entry, now: now) }
        raft.advance(ready)
        reportMembership()
        if isRepairLogged && !raft.isRepairing {
            isRepairLogged = false
            actions.append(.log(.notice, "\(shard): repair complete at commit index \(raft.commitIndex); voting again"))
            actions.append(.repairFinished)
        }
        if let soft = ready.softState { leadershipChanged(soft, now: now) }
        for state in ready.readStates { readIndexReady(state) }
        serveReads()
        maybeSnapshot()
        return takeActions()
    }

    /// Raft messages as send actions, one per peer (peers in order, so the trace is deterministic); a
    /// snapshot message starts a stream of pieces instead.
    mutating func sendActions(_ messages: [Message]) -> [ShardAction] {
        guard !messages.isEmpty else { return [] }
        var byPeer: [NodeID: [PeerFrame]] = [:]
        for message in messages {
            if message.kind == .snapshot {
                byPeer[message.to, default: []] += startSnapshotStream(message)
            } else {
                byPeer[message.to, default: []].append(
                    PeerFrame(kind: .raft, shard: shard.rawValue, payload: RaftWireCodec.encode(message)))
            }
        }
        return byPeer.keys.sorted().map { peer in .send(to: peer, byPeer[peer]!) }
    }

    /// Replaces the replicated state with a leader's snapshot; false (and a fatal action) if it does not
    /// restore.
    private mutating func install(_ snapshot: Snapshot, now: ShardTime) -> Bool {
        do {
            let decoded = try ShardSnapshotCodec.decode(snapshot.data)
            engine = try QueueEngine(configuration: engineConfiguration, snapshot: decoded.engineSnapshot)
            applied = decoded.applied
            snapshotIndex = snapshot.index
            snapshotBytes = snapshot.data.count
            snapshotClockMilliseconds = engine.clock
            observeStamp(engine.clock, now: now)
            actions.append(.log(.info, "\(shard): installed snapshot at \(snapshot.index) from the leader"))
            return true
        } catch {
            actions.append(.fatal("\(shard): snapshot at \(snapshot.index) from the leader does not restore: \(error)"))
            return false
        }
    }

    /// Applies one committed entry to the engine (once, however often its command was proposed) and
    /// answers its client if this incarnation proposed it.
    mutating func apply(_ entry: Entry, now: ShardTime) {
        guard entry.kind == .normal, !entry.data.isEmpty else { return }
        let envelope: ProposalEnvelope
        let logged: LoggedCommand
        do {
            envelope = try ProposalEnvelope(decoding: entry.data)
            logged = try LoggedCommand(decoding: envelope.command)
        } catch {
            // Every replica skips the same entry, so they stay identical.
            actions.append(.log(.error, "\(shard): entry \(entry.index) does not decode (\(error)); skipped"))
            return
        }
        observeStamp(envelope.timestampMilliseconds, now: now)
        guard applied.admit(envelope) else { return }  // a copy of a command already applied
        let isOurs = envelope.proposer == nodeID && envelope.incarnation == incarnation
        // Only the node that took the request answers it: the others skip building receive results.
        let result = engine.apply(
            logged.command, timestampMilliseconds: envelope.timestampMilliseconds, rendersResults: isOurs)
        if case .advanceTime = logged.command { applied.timeAdvanced() }
        wakeParked(after: logged.command, now: now)
        guard isOurs, let proposal = pending[envelope.id] else { return }
        guard proposal.envelope.command == envelope.command else {
            actions.append(
                .log(.critical, "\(shard): entry \(entry.index) carries request \(envelope.id) with another command"))
            return
        }
        pending[envelope.id] = nil
        if let waitUntil = proposal.waitUntilMilliseconds, case .received(let messages) = result, messages.isEmpty,
            case .receiveMessages(let request) = proposal.command, waitUntil > now.monotonicMilliseconds
        {
            park(request, client: proposal.client, waitUntil: waitUntil)
            return
        }
        actions.append(.answer(proposal.client, result))
    }

    // MARK: Long polling

    mutating func park(_ request: ReceiveMessageRequest, client: ClientHandle, waitUntil: Int64) {
        let sequence = takeSequence()
        parked[request.queueName, default: [:]][sequence] = ParkedReceive(
            client: client, request: request, waitUntilMilliseconds: waitUntil)
        parkedCount += 1
    }

    /// After a command that may make messages available, proposes the receives parked on its queue.
    mutating func wakeParked(after command: Command, now: ShardTime) {
        guard parkedCount > 0 else { return }
        let queues: [String]
        switch command {
        case .sendMessages(let name, _, _, _), .changeMessageVisibility(let name, _, _),
            .setQueueAttributes(let name, _):
            queues = [name]
        case .advanceTime, .startMessageMoveTask, .settleOutbox:
            queues = parked.keys.sorted().filter { engine.availableMessageCount($0) != 0 || !engine.queueExists($0) }
        case .importMessages(_, let messages):
            queues = Set(messages.map(\.queueName)).sorted()
        case .deleteQueue(let name), .purgeQueue(let name):
            queues = [name]
        case .receiveMessages(let request):
            // A receive that took messages brought its queue's timers up to its stamp: messages it left
            // available go to the receivers still waiting. (One that took none wakes nobody: on a FIFO
            // queue available messages may sit behind a group's head in flight, and two empty receives
            // must not wake each other forever.)
            let tookSome = engine.lastReceiveTaken > 0 && engine.availableMessageCount(request.queueName) > 0
            queues = tookSome ? [request.queueName] : []
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
            for sequence in waiting.keys.sorted().prefix(wanted) {
                let receive = parked[name]!.removeValue(forKey: sequence)!
                parkedCount -= 1
                enqueue(
                    .receiveMessages(receive.request), client: receive.client,
                    waitUntil: receive.waitUntilMilliseconds, now: now)
            }
            if parked[name]?.isEmpty == true { parked[name] = nil }
        }
    }

    /// Proposes a receive of the longest-waiting receiver parked on each queue whose next delay or
    /// visibility timeout has ended by the shard's time now (once per timer: `timerWakes`). Its apply
    /// brings the queue's timers up to date and wakes the others if more messages are left.
    mutating func wakeParkedOnTimers(now: ShardTime) {
        if !timerWakes.isEmpty {
            // A wake is remembered while its queue's next timer is the one that woke it.
            timerWakes = timerWakes.filter { engine.nextWakeMilliseconds($0.key) == $0.value }
        }
        guard parkedCount > 0 else { return }
        let time = shardTime(now: now)
        for name in parked.keys.sorted() {
            guard let timer = engine.nextWakeMilliseconds(name), timer <= time, timerWakes[name] != timer,
                let sequence = parked[name]!.keys.min()
            else { continue }
            timerWakes[name] = timer
            let receive = parked[name]!.removeValue(forKey: sequence)!
            parkedCount -= 1
            if parked[name]!.isEmpty { parked[name] = nil }
            enqueue(
                .receiveMessages(receive.request), client: receive.client, waitUntil: receive.waitUntilMilliseconds,
                now: now)
        }
    }

    /// Answers parked receivers whose wait is over.
    mutating func expireParked(now: ShardTime) {
        guard parkedCount > 0 else { return }
        for name in parked.keys.sorted() {
            for sequence in parked[name]!.keys.sorted()
            where parked[name]![sequence]!.waitUntilMilliseconds <= now.monotonicMilliseconds {
                let receive = parked[name]!.removeValue(forKey: sequence)!
                parkedCount -= 1
                actions.append(.answer(receive.client, .received([])))
            }
            if parked[name]?.isEmpty == true { parked[name] = nil }
        }
    }
}
