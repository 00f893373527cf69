/// The leader's view of one follower: how much of the log it has and how to send it more (etcd's Progress).
struct Progress: Sendable, Equatable {
    /// How the leader replicates to this follower.
    enum State: Sendable, Equatable {
        /// Where the logs match is unknown: one append at a time until one is accepted.
        case probe
        /// Logs match up to `match`: appends are pipelined, bounded by the in-flight limits.
        case replicate
        /// A snapshot at `pendingSnapshot` is on its way; nothing else is sent until it is acknowledged.
        case snapshot
    }

    /// The highest index known replicated on the follower (matchIndex, Figure 2).
    var match: UInt64 = 0
    /// The next index to send (nextIndex, Figure 2).
    var next: UInt64
    var state = State.probe
    var pendingSnapshot: UInt64 = 0
    /// Heard from since the last quorum check.
    var recentActive = false
    /// In probe: an append was sent and no answer came yet (cleared by a heartbeat response).
    var probeSent = false
    /// Appends in flight in replicate: (last index, bytes), oldest first.
    var inflights: [(index: UInt64, bytes: Int)] = []
    var inflightBytes = 0
    var isLearner = false

    init(next: UInt64, isLearner: Bool) {
        self.next = next
        self.isLearner = isLearner
    }

    static func == (left: Progress, right: Progress) -> Bool {
        left.match == right.match && left.next == right.next && left.state == right.state
            && left.pendingSnapshot == right.pendingSnapshot && left.recentActive == right.recentActive
            && left.probeSent == right.probeSent && left.inflights.map(\.index) == right.inflights.map(\.index)
            && left.inflightBytes == right.inflightBytes && left.isLearner == right.isLearner
    }

    mutating func becomeProbe() {
        if state == .snapshot {
            next = max(match + 1, pendingSnapshot + 1)
        } else {
            next = match + 1
        }
        state = .probe
        pendingSnapshot = 0
        probeSent = false
        inflights = []
        inflightBytes = 0
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match + 1
        pendingSnapshot = 0
        probeSent = false
        inflights = []
        inflightBytes = 0
    }

    mutating func becomeSnapshot(_ index: UInt64) {
        state = .snapshot
        pendingSnapshot = index
        probeSent = false
        inflights = []
        inflightBytes = 0
    }

    /// Records an acknowledged index; returns true when it advanced.
    mutating func maybeUpdate(_ index: UInt64) -> Bool {
        var updated = false
        if match < index {
            match = index
            updated = true
            probeSent = false
        }
        next = max(next, index + 1)
        while let first = inflights.first, first.index <= index {
            inflightBytes -= first.bytes
            inflights.removeFirst()
        }
        return updated
    }

    /// Handles a rejected append of `rejected` with the follower's hint; returns true when `next` moved.
    mutating func maybeDecrease(rejected: UInt64, hint: UInt64) -> Bool {
        if state == .replicate {
            // Stale rejection: already past it.
            guard rejected > match else { return false }
            next = match + 1
            return true
        }
        // Probe: only the answer to the append we sent counts.
        guard next - 1 == rejected else { return false }
        next = max(min(rejected, hint + 1), match + 1)
        probeSent = false
        return true
    }

    /// In replicate, forgets the oldest append in flight (see `Raft.handleHeartbeatResponse`).
    mutating func freeFirstInflight() {
        guard state == .replicate, !inflights.isEmpty else { return }
        inflightBytes -= inflights.removeFirst().bytes
    }

    /// True when no more appends should be sent now.
    func isPaused(inflightMessagesMax: Int, inflightBytesMax: Int) -> Bool {
        switch state {
        case .probe: probeSent
        case .replicate: inflights.count >= inflightMessagesMax || inflightBytes >= inflightBytesMax
        case .snapshot: true
        }
    }

    /// Records an append sent with entries up to `lastIndex`.
    mutating func sent(lastIndex: UInt64, bytes: Int, entryCount: Int) {
        switch state {
        case .replicate:
            if entryCount > 0 {
                next = lastIndex + 1
                inflights.append((lastIndex, bytes))
                inflightBytes += bytes
            }
        case .probe:
            probeSent = true
        case .snapshot:
            break
        }
    }
}
