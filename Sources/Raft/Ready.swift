/// Everything a node needs done after some inputs; see `Raft`'s driver contract.
public struct Ready: Sendable, Equatable {
    /// Set when leader or role changed.
    public var softState: SoftState?
    /// Set when term, vote or commit changed: persist it with `entries`.
    public var hardState: HardState?
    /// Answers to `readIndex` requests.
    public var readStates: [ReadState]
    /// Entries to persist, replacing stored entries from the first one's index on.
    public var entries: [Entry]
    /// A snapshot from the leader to persist and install.
    public var snapshot: Snapshot?
    /// Entries to apply to the state machine, in order (already persisted, or in `entries`).
    public var committedEntries: [Entry]
    /// Messages to send once `entries`, `snapshot` and `hardState` are durable.
    public var messages: [Message]

    /// True when something must be fsynced before the messages go out.
    public var mustSync: Bool { hardState != nil || !entries.isEmpty || snapshot != nil }
}

extension Raft {
    /// True when `ready()` has something for the driver.
    public var hasReady: Bool {
        softState != previousSoftState || hardState != previousHardState || !readStates.isEmpty
            || log.persistingIndex < log.lastIndex || log.pendingSnapshot != nil || !outbox.isEmpty
            || !log.nextCommittedEntries(bytesMax: 1).isEmpty
    }

    /// Takes what the driver must persist, send and apply; the node assumes it will be done.
    public mutating func ready() -> Ready {
        let soft = softState
        let hard = hardState
        let ready = Ready(
            softState: soft != previousSoftState ? soft : nil,
            hardState: hard != previousHardState ? hard : nil,
            readStates: readStates,
            entries: log.unpersistedEntries,
            snapshot: log.pendingSnapshot,
            committedEntries: log.nextCommittedEntries(bytesMax: configuration.committedBytesMax),
            messages: outbox)
        previousSoftState = soft
        previousHardState = hard
        readStates = []
        outbox = []
        log.persistingIndex = log.lastIndex
        log.pendingSnapshot = nil
        if let snapshot = ready.snapshot { log.applying = max(log.applying, snapshot.index) }
        if let last = ready.committedEntries.last { log.applying = max(log.applying, last.index) }
        return ready
    }

    /// The driver did what `ready` asked: its committed entries (and snapshot) are applied.
    public mutating func advance(_ ready: Ready) {
        if let snapshot = ready.snapshot { log.applied = max(log.applied, snapshot.index) }
        for entry in ready.committedEntries {
            log.applied = max(log.applied, entry.index)
            if entry.kind == .membershipChange { applyMembershipChange(entry) }
        }
        leaveJointConfigurationIfDue()
    }

    /// Applies a committed membership change (§6).
    mutating func applyMembershipChange(_ entry: Entry) {
        guard let change = MembershipChange(decoding: entry.data),
            case .success(let next) = change.applied(to: membership)
        else { return }
        membership = next
        guard role == .leader else { return }
        for node in next.members where progress[node] == nil {
            progress[node] = Progress(next: log.lastIndex + 1, isLearner: !next.allVoters.contains(node))
        }
        for node in Array(progress.keys) {
            if !next.members.contains(node) {
                progress[node] = nil
            } else {
                progress[node]!.isLearner = !next.allVoters.contains(node)
            }
        }
        if transferee != 0 && progress[transferee] == nil { transferee = 0 }
        guard next.allVoters.contains(configuration.id) else {
            // Removed (or demoted): a leader that is not a voter steps down; the others elect a new one.
            becomeFollower(term: term, leader: 0)
            return
        }
        if maybeCommit() { broadcastAppend() } else { broadcastAppend() }
    }

    /// The leader leaves a joint configuration once it is applied, with an empty change (§6).
    mutating func leaveJointConfigurationIfDue() {
        guard role == .leader, membership.isJoint, pendingMembershipIndex <= log.applied, transferee == 0 else {
            return
        }
        appendEntries([Entry(term: term, index: 0, kind: .membershipChange, data: MembershipChange([]).encoded())])
        pendingMembershipIndex = log.lastIndex
        broadcastAppend()
    }
}
