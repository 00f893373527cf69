extension Raft {
    /// Appends entries of the current term to the leader's log (assigning indexes) and counts itself.
    mutating func appendEntries(_ newEntries: [Entry]) {
        var index = log.lastIndex
        let stamped = newEntries.map { entry -> Entry in
            index += 1
            return Entry(term: term, index: index, kind: entry.kind, data: entry.data)
        }
        log.truncateAndAppend(stamped)
        _ = progress[configuration.id]?.maybeUpdate(log.lastIndex)
        _ = maybeCommit()
    }

    /// Advances the commit index to what a quorum holds, if that entry is of the current term (§5.4.2).
    mutating func maybeCommit() -> Bool {
        let candidate = membership.committedIndex { node in progress[node]?.match ?? 0 }
        guard candidate > log.committed, candidate != .max, log.term(at: candidate) == term else { return false }
        log.commitTo(candidate)
        releaseDeferredReads()
        return true
    }

    mutating func broadcastAppend() {
        for node in progress.keys.sorted() where node != configuration.id { _ = sendAppend(to: node) }
    }

    mutating func broadcastHeartbeat(context: [UInt8] = []) {
        for node in progress.keys.sorted() where node != configuration.id {
            let commit = min(progress[node]!.match, log.committed)
            send(Message(kind: .heartbeat, from: 0, to: node, commit: commit, context: context))
        }
    }

    /// Sends the follower what it lacks: entries from `next` (or a snapshot when they were compacted).
    /// Returns false when nothing was sent (paused, or nothing new to send in replicate).
    @discardableResult
    mutating func sendAppend(to node: NodeID, allowEmpty: Bool = true) -> Bool {
        guard var peer = progress[node],
            !peer.isPaused(
                inflightMessagesMax: configuration.inflightMessagesMax, inflightBytesMax: configuration.inflightBytesMax
            )
        else { return false }
        defer { progress[node] = peer }
        let previousIndex = peer.next - 1
        guard let previousTerm = log.term(at: previousIndex),
            peer.next >= log.firstIndex || previousIndex == log.snapshotIndex
        else {
            guard let snapshot = latestSnapshot else { return false }
            send(Message(kind: .snapshot, from: 0, to: node, snapshot: snapshot))
            peer.becomeSnapshot(snapshot.index)
            return true
        }
        let entries =
            peer.next <= log.lastIndex
            ? log.slice(peer.next, log.lastIndex + 1, bytesMax: configuration.messageBytesMax) : []
        if entries.isEmpty && !allowEmpty { return false }
        if entries.isEmpty && peer.state == .replicate && !allowEmpty { return false }
        send(
            Message(
                kind: .append, from: 0, to: node, logTerm: previousTerm, index: previousIndex, entries: entries,
                commit: log.committed))
        peer.sent(
            lastIndex: entries.last?.index ?? previousIndex, bytes: entries.reduce(0) { $0 + $1.size },
            entryCount: entries.count)
        return true
    }

    mutating func tickLeader() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= configuration.electionTicks {
            electionElapsed = 0
            if configuration.checkQuorum {
                let active = Set(progress.filter { $0.key == configuration.id || $0.value.recentActive }.keys)
                guard membership.hasQuorum(active) else {
                    // Cut off from a quorum: step down rather than serve stale reads or take writes (§6.2).
                    becomeFollower(term: term, leader: 0)
                    return
                }
                for node in progress.keys where node != configuration.id { progress[node]!.recentActive = false }
            }
            // A transfer that did not finish within an election timeout is abandoned.
            transferee = 0
        }
        guard role == .leader, heartbeatElapsed >= configuration.heartbeatTicks else { return }
        heartbeatElapsed = 0
        broadcastHeartbeat()
    }

    mutating func stepLeader(_ message: Message) {
        switch message.kind {
        case .appendResponse:
            handleAppendResponse(message)
        case .heartbeatResponse:
            handleHeartbeatResponse(message)
        case .readIndex:
            handleReadIndexRequest(from: message.from, context: message.context)
        default:
            break
        }
    }

    mutating func handleAppendResponse(_ message: Message) {
        guard var peer = progress[message.from] else { return }
        peer.recentActive = true
        let lostAcknowledged =
            message.context == repairContext
            || (peer.state == .probe && message.index == peer.next - 1 && message.index <= peer.match)
        if message.reject && lostAcknowledged && message.rejectHint < peer.match {
            // The follower lost entries it had acknowledged (a damaged log cut back, or a disk that lost
            // synced writes): start over from where its log now ends instead of taking the rejection for a
            // stale one. Probing at `match` again would be refused forever. Its hint is only where the logs
            // may match, so nothing counts as matched until it answers again.
            peer.match = 0
            peer.becomeProbe()
            peer.next = message.rejectHint + 1
            progress[message.from] = peer
            sendAppend(to: message.from)
            return
        }
        if message.reject {
            // Fast backtracking: skip every entry of the follower's conflicting term at once.
            let hint = log.lastIndex(atOrBefore: message.rejectHint, withTermAtMost: message.logTerm)
            if peer.maybeDecrease(rejected: message.index, hint: hint) {
                if peer.state == .replicate { peer.becomeProbe() }
                progress[message.from] = peer
                sendAppend(to: message.from)
            } else {
                progress[message.from] = peer
            }
            return
        }
        let wasPaused = peer.isPaused(
            inflightMessagesMax: configuration.inflightMessagesMax, inflightBytesMax: configuration.inflightBytesMax)
        guard peer.maybeUpdate(message.index) else {
            progress[message.from] = peer
            return
        }
        switch peer.state {
        case .probe: peer.becomeReplicate()
        case .snapshot where peer.match >= peer.pendingSnapshot:
            peer.becomeProbe()
            peer.becomeReplicate()
        default: break
        }
        progress[message.from] = peer
        if maybeCommit() {
            broadcastAppend()
        } else if wasPaused {
            sendAppend(to: message.from)
        }
        // Keep the pipeline full.
        while progress[message.from].map({ $0.next <= log.lastIndex }) ?? false,
            sendAppend(to: message.from, allowEmpty: false)
        {}
        if message.from == transferee, progress[message.from]?.match == log.lastIndex {
            send(Message(kind: .timeoutNow, from: 0, to: message.from))
        }
    }

    mutating func handleHeartbeatResponse(_ message: Message) {
        guard var peer = progress[message.from] else { return }
        peer.recentActive = true
        peer.probeSent = false
        // A full window whose appends (or answers) were all lost would stall the follower for good: free one
        // slot so the next append goes out; a gap makes the follower reject it and the leader probe again.
        let paused = peer.isPaused(
            inflightMessagesMax: configuration.inflightMessagesMax, inflightBytesMax: configuration.inflightBytesMax)
        if paused { peer.freeFirstInflight() }
        progress[message.from] = peer
        if peer.match < log.lastIndex { sendAppend(to: message.from) }
        if !message.context.isEmpty { acknowledgeRead(message.context, from: message.from) }
    }

    /// Hands leadership to `target` (thesis §3.10): bring it up to date, then tell it to campaign now.
    public mutating func transferLeadership(to target: NodeID) {
        guard role == .leader, target != configuration.id, membership.allVoters.contains(target),
            progress[target] != nil
        else { return }
        transferee = target
        electionElapsed = 0
        if progress[target]!.match == log.lastIndex {
            send(Message(kind: .timeoutNow, from: 0, to: target))
        } else {
            sendAppend(to: target)
        }
    }
}
