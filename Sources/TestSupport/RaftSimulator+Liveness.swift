import Raft

extension RaftSimulator {
    /// The liveness phase: every node up, no partitions, no network faults; then within
    /// `options.livenessTicksMax` ticks a leader must be elected and every member must have applied
    /// everything the leader holds (including a fresh proposal), outside joint consensus. Then no
    /// acknowledged payload may be missing on any member, and all logs must match. Returns the ticks taken.
    @discardableResult
    public mutating func healAndAwaitConvergence() throws(RaftSimulationFailure) -> Int {
        healNetwork()
        for node in nodeIDs where !isUp(node) { try restart(node) }
        for index in nodes.indices { nodes[index].crashDuringReady = nil }
        var marker: (id: UInt64, leader: NodeID, term: UInt64)?
        for tick in 1...options.livenessTicksMax {
            try runStep(faulty: false)
            guard let leader else { continue }
            let term = raft(leader).term
            if marker.map({ ($0.leader, $0.term) != (leader, term) && !record.acknowledged.contains($0.id) }) ?? true,
                case .taken(let ids) = propose(at: leader)
            {
                marker = (ids[0], leader, term)
            }
            guard let marker, record.acknowledged.contains(marker.id), hasConverged(on: leader) else { continue }
            report.livenessTicks = tick
            try checkNothingAcknowledgedIsLost(leader: leader)
            try checkLogsMatchPairwise()
            note("converged on leader \(leader) after \(tick) ticks")
            return tick
        }
        throw failure("liveness", "no convergence within \(options.livenessTicksMax) ticks after healing: \(summary)")
    }

    /// True when `leader` committed everything it holds in its term, outside joint consensus, and every
    /// member follows it and applied all of it.
    func hasConverged(on leader: NodeID) -> Bool {
        let leading = raft(leader)
        guard !leading.membership.isJoint, leading.commitIndex == leading.lastIndex,
            leading.term(at: leading.commitIndex) == leading.term
        else { return false }
        return leading.membership.members.allSatisfy { member in
            let node = nodes[Int(member) - 1]
            return node.isUp && node.raft.term == leading.term && node.raft.leader == leader
                && node.raft.lastIndex == leading.lastIndex && node.raft.appliedIndex == leading.commitIndex
                && node.stateMachine.appliedIndex == leading.commitIndex
        }
    }

    /// No acknowledged proposal lost: every payload applied anywhere is applied on every member.
    func checkNothingAcknowledgedIsLost(leader: NodeID) throws(RaftSimulationFailure) {
        for member in raft(leader).membership.members.sorted() {
            let missing = record.acknowledged.subtracting(nodes[Int(member) - 1].stateMachine.payloadIDs)
            guard missing.isEmpty else {
                throw failure(
                    "acknowledged proposal lost",
                    "member \(member) lacks \(missing.count) acknowledged payloads, e.g. \(missing.sorted().prefix(5))")
            }
        }
    }

    /// One line per node, for failures.
    public var summary: String {
        nodes.map { node in
            let raft = node.raft
            return "[node \(node.id) \(node.isUp ? "up" : "down") \(raft.role) term \(raft.term) leader \(raft.leader) "
                + "log \(raft.firstIndex)...\(raft.lastIndex) commit \(raft.commitIndex) applied \(raft.appliedIndex) "
                + "voters \(raft.membership.voters.sorted()) learners \(raft.membership.learners.sorted())"
                + (raft.membership.isJoint ? " outgoing \(raft.membership.outgoingVoters.sorted())" : "") + "]"
        }.joined(separator: " ")
    }
}
