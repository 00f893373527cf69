extension Raft {
    /// AppendEntries (§5.3): append if the logs match at (index, logTerm), else reject with a hint.
    mutating func handleAppend(_ message: Message) {
        if message.index < log.committed {
            send(Message(kind: .appendResponse, from: 0, to: message.from, index: log.committed))
            return
        }
        if let (lastNew, replacedFrom) = log.maybeAppend(
            index: message.index, term: message.logTerm, commit: message.commit, entries: message.entries)
        {
            if let replacedFrom {
                // Acknowledgments not yet sent of the entries just replaced would claim entries that never
                // reach this disk (a leader of an older term could count them toward a commit).
                outbox.removeAll { $0.kind == .appendResponse && !$0.reject && $0.index >= replacedFrom }
            }
            send(Message(kind: .appendResponse, from: 0, to: message.from, index: lastNew))
            return
        }
        // Fast backtracking: point the leader at our last entry whose term is at most the one it asked about.
        let hintIndex = log.lastIndex(atOrBefore: min(message.index, log.lastIndex), withTermAtMost: message.logTerm)
        send(
            Message(
                kind: .appendResponse, from: 0, to: message.from, logTerm: log.term(at: hintIndex) ?? 0,
                index: message.index, reject: true, rejectHint: hintIndex,
                context: isRepairing ? repairContext : []))
    }

    mutating func handleHeartbeat(_ message: Message) {
        // A heartbeat's commit index is the leader's, capped at what it counts as matched here. A replica
        // in repair lost entries it had acknowledged, and a cut-back log may hold stale entries of an old
        // term where the leader's differ: it commits only through appends, which check that the logs match.
        if !isRepairing { log.commitTo(min(message.commit, log.lastIndex)) }
        send(Message(kind: .heartbeatResponse, from: 0, to: message.from, context: message.context))
    }

    /// InstallSnapshot (§7): ignore what we already have; keep our log if it contains the snapshot's last
    /// entry; otherwise replace the log with the snapshot.
    mutating func handleSnapshot(_ message: Message) {
        guard let snapshot = message.snapshot else { return }
        if snapshot.index <= log.committed {
            send(Message(kind: .appendResponse, from: 0, to: message.from, index: log.committed))
            return
        }
        if log.matchTerm(snapshot.index, snapshot.term) {
            log.commitTo(snapshot.index)
            send(Message(kind: .appendResponse, from: 0, to: message.from, index: snapshot.index))
            return
        }
        log.restore(snapshot)
        membership = snapshot.membership
        latestSnapshot = snapshot
        send(Message(kind: .appendResponse, from: 0, to: message.from, index: log.lastIndex))
    }
}
