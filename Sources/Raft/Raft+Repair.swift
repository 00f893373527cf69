/// The context of an append rejection from a replica in repair: its log lost entries it had acknowledged.
let repairContext: [UInt8] = Array("repair".utf8)

extension Raft {
    /// Puts a replica whose log lost entries (a corrupt log cut back to its last valid record) into
    /// repair: it neither campaigns nor grants votes or pre-votes, so it cannot help elect a leader that
    /// lacks entries it had acknowledged. It still accepts entries from a leader. The first append or
    /// snapshot it receives names the leader's commit index; once this replica has committed that far, it
    /// holds everything it may have lost and repair ends.
    ///
    /// Call right after `init`, before any input. The hard state it restarted with may also be older than
    /// what was lost (a vote in a later term): the votes it refuses while repairing keep it from voting
    /// twice in the terms the cluster is using.
    public mutating func beginRepair() {
        isRepairing = true
        repairTargetIndex = 0
    }

    /// Learns the commit index to reach from a leader's message, and ends repair once it is reached.
    mutating func advanceRepair(after message: Message) {
        guard isRepairing else { return }
        if repairTargetIndex == 0 {
            switch message.kind {
            case .append where message.from == leader: repairTargetIndex = max(1, message.commit)
            case .snapshot where message.from == leader: repairTargetIndex = max(1, message.snapshot?.index ?? 1)
            default: break
            }
        }
        if repairTargetIndex != 0 && log.committed >= repairTargetIndex {
            isRepairing = false
            resetTimers()
        }
    }
}
