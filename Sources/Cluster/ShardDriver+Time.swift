import Logging
import Placement
import QueueEngine
import Raft

extension ShardDriver {
    // MARK: Events: time

    /// One Raft tick: expire what waited too long, let the leader advance the shard's time and start a
    /// transfer of outbox messages.
    package mutating func tick(now: ShardTime) -> [ShardAction] {
        raft.tick()
        let monotonic = now.monotonicMilliseconds
        for sequence in pending.keys.sorted() where pending[sequence]!.deadlineMilliseconds <= monotonic {
            actions.append(.answer(pending.removeValue(forKey: sequence)!.client, .failure(Self.timedOut)))
        }
        for sequence in reads.keys.sorted() where reads[sequence]!.deadlineMilliseconds <= monotonic {
            actions.append(.failRead(reads.removeValue(forKey: sequence)!.client, Self.unavailable))
        }
        expireParked(now: now)
        tickSnapshotStreams(now: now)
        if raft.role == .leader && monotonic >= nextAdvanceMilliseconds {
            nextAdvanceMilliseconds = monotonic + Int64(settings.advanceTimeMilliseconds)
            let envelope = ProposalEnvelope(
                proposer: 0, id: 0, timestampMilliseconds: 0,
                command: LoggedCommand(command: .advanceTime, timestampMilliseconds: 0).encoded())
            propose([envelope], local: [], now: now)
        }
        if !waitingForLeader.isEmpty { retryWaiting(now: now) }
        driveMoves(now: now)
        if raft.role == .leader, !isTransferring, engine.outboxCount > 0 {
            // One transfer at a time per shard, from its leader; a new leader starts over from the outbox
            // (imports are idempotent). A target that failed waits out its back-off while others go on.
            let waiting = Set(transferBackoff.filter { $0.value.retryAt > monotonic }.keys)
            if let batch = engine.nextTransferBatch(excluding: waiting) {
                isTransferring = true
                actions.append(.startTransfer(target: ShardID(batch.shard), messages: batch.messages))
            }
        }
        return takeActions()
    }

    /// The shard time for a batch this leader proposes now: the newest stamp it knows, advanced by its
    /// monotonic clock since (bounded), never going back. A new shard starts from the wall clock.
    mutating func nextStamp(now: ShardTime) -> Int64 {
        lastStampMilliseconds = shardTime(now: now)
        monotonicAtLastStamp = now.monotonicMilliseconds
        return lastStampMilliseconds
    }

    /// The shard's time now, as a batch proposed now would be stamped (on a follower, as the newest stamp
    /// it applied plus its monotonic clock since, which trails the leader's by the replication delay),
    /// without taking a stamp. What a receive or a read sees is decided at this time, to the millisecond.
    package func shardTime(now: ShardTime) -> Int64 {
        guard lastStampMilliseconds != 0 else { return now.wallMilliseconds }
        let elapsed = min(
            max(0, now.monotonicMilliseconds - monotonicAtLastStamp), settings.stampAdvanceMaxMilliseconds)
        return lastStampMilliseconds + elapsed
    }

    /// When (monotonic milliseconds) a parked long poll's queue next has a delay or visibility timeout
    /// ending, if any: the shell wakes the driver then (`inputsDrained`), not at its next tick.
    package var nextTimerWakeMonotonic: Int64? {
        guard parkedCount > 0, lastStampMilliseconds != 0 else { return nil }
        // Shard time runs at most `stampAdvanceMaxMilliseconds` past the last stamp: a timer beyond that
        // waits for the next stamp (an input), or the loop would wake at once, again and again.
        let reachable = lastStampMilliseconds + settings.stampAdvanceMaxMilliseconds
        var earliest: Int64?
        for name in parked.keys {
            guard let timer = engine.nextWakeMilliseconds(name), timerWakes[name] != timer, timer <= reachable
            else { continue }
            earliest = min(earliest ?? .max, timer)
        }
        return earliest.map { monotonicAtLastStamp + max(0, $0 - lastStampMilliseconds) }
    }

    /// A stamp seen in an applied entry or snapshot: the shard's time is at least that now.
    mutating func observeStamp(_ stamp: Int64, now: ShardTime) {
        guard stamp > lastStampMilliseconds else { return }
        lastStampMilliseconds = stamp
        monotonicAtLastStamp = now.monotonicMilliseconds
    }

    func leaderChangeLine(_ soft: SoftState) -> String {
        "\(shard): \(soft.role), leader \(soft.leader), term \(raft.term)"
    }

    mutating func leadershipChanged(_ soft: SoftState, now: ShardTime) {
        actions.append(.log(.info, leaderChangeLine(soft)))
        let previous = knownLeader
        knownLeader = soft.leader
        if soft.leader != 0 && soft.leader != previous {
            // Commands in flight went to (or were appended by) the old leader and may never commit: send
            // them to the new one now rather than letting their clients wait for the timeout. A command
            // whose two copies both commit applies once (`AppliedRequests`).
            let waiting = Set(waitingForLeader).union(unproposed)
            waitingForLeader.append(contentsOf: pending.keys.filter { !waiting.contains($0) }.sorted())
        }
        if soft.role == .leader {
            nextAdvanceMilliseconds = now.monotonicMilliseconds
            if engine.rules < Rules.current {
                // Every replica switches to this build's rules at this entry (a no-op if one already did).
                let envelope = ProposalEnvelope(
                    proposer: 0, id: 0, timestampMilliseconds: 0,
                    command: LoggedCommand(command: .adoptRules(Rules.current), timestampMilliseconds: 0).encoded())
                propose([envelope], local: [], now: now)
            }
            // Alone, catch the shard's time up to this node's clock if it is ahead (the time it was down). In a
            // group, one node's clock is not trusted to step the shard's time: a clock an hour fast would
            // make in-flight messages visible and expire retained ones early. Time goes on from the
            // newest stamp by this leader's monotonic clock; a full outage of the group pauses it.
            if raft.membership.allVoters.count == 1, now.wallMilliseconds > lastStampMilliseconds {
                lastStampMilliseconds = now.wallMilliseconds
                monotonicAtLastStamp = now.monotonicMilliseconds
            }
        }
        retryWaiting(now: now)
    }

    // MARK: Events: transfers

    /// Transfer back-off after a failure: doubling from one second up to thirty.
    static let transferBackoffMilliseconds: ClosedRange<Int64> = 1_000...30_000

    /// A transfer to `target` finished: imported and settled, or failed (that target waits a back-off).
    package mutating func transferFinished(target: ShardID, succeeded: Bool, now: ShardTime) -> [ShardAction] {
        isTransferring = false
        if succeeded {
            transferBackoff[target.rawValue] = nil
            return takeActions()
        }
        let delay = min(
            (transferBackoff[target.rawValue]?.delay).map { $0 * 2 } ?? Self.transferBackoffMilliseconds.lowerBound,
            Self.transferBackoffMilliseconds.upperBound)
        transferBackoff[target.rawValue] = (now.monotonicMilliseconds + delay, delay)
        if delay == Self.transferBackoffMilliseconds.upperBound {
            actions.append(
                .log(
                    .warning,
                    "\(shard): \(target) has taken no messages for a while; \(engine.outboxCount) wait in the outbox"))
        }
        return takeActions()
    }

    // MARK: Events: snapshots

    /// Once enough entries applied since the last snapshot, asks the shell to take one off the driving thread.
    mutating func maybeSnapshot() {
        let appliedIndex = raft.appliedIndex
        guard !isSnapshotting, appliedIndex >= snapshotIndex + settings.snapshotEntries,
            let term = raft.term(at: appliedIndex)
        else { return }
        isSnapshotting = true
        snapshottingClockMilliseconds = engine.clock
        actions.append(
            .startSnapshot(
                SnapshotJob(
                    index: appliedIndex, term: term, membership: raft.membership, engine: engine, applied: applied)))
    }

    /// The shell wrote the snapshot and adopted it in the log: Raft drops the entries it covers, but keeps
    /// the compaction margin, and every entry after a snapshot still streaming to a follower (the
    /// follower needs them once it installs that one; without them a follower whose stream takes longer
    /// than the leader takes to snapshot again would need a new snapshot forever).
    package mutating func snapshotWritten(_ snapshot: Snapshot) -> [ShardAction] {
        isSnapshotting = false
        var margin = settings.compactionMarginEntries
        if let streaming = outgoingSnapshots.values.map(\.snapshotIndex).min(), streaming < snapshot.index {
            margin = max(margin, snapshot.index - streaming)
        }
        raft.compact(snapshot, keepingEntries: margin)
        if snapshot.index > snapshotIndex {
            snapshotBytes = snapshot.data.count
            snapshotClockMilliseconds = snapshottingClockMilliseconds
        }
        snapshotIndex = max(snapshotIndex, snapshot.index)
        actions.append(.log(.info, "\(shard): snapshot at \(snapshot.index), \(snapshot.data.count) bytes"))
        return takeActions()
    }

    /// Taking a snapshot failed; the next applied entry tries again.
    package mutating func snapshotFailed(_ reason: String) -> [ShardAction] {
        isSnapshotting = false
        actions.append(.log(.error, "\(shard): snapshot failed: \(reason)"))
        return takeActions()
    }
}
