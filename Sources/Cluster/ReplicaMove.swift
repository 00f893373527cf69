import Raft

/// The next thing a shard's leader does to bring the group's voters to the replicas the placement names
/// (`ShardDriver.targetVoters`). One voter changes at a time: a newcomer joins as a learner and catches
/// up (by a streamed snapshot, then entries), then joint consensus swaps it in for the voter it replaces;
/// a leader that is to leave first hands its leadership to a voter that stays.
///
/// The step is computed afresh from the replicated membership each time, so a move needs no record of
/// its own: after the crash of any node involved, or a new leader, the next leader carries on from what
/// the log says. Until the joint step is proposed a move can be given up (the target no longer names the
/// newcomer: its learner is removed); once proposed, the joint configuration is always left forward.
/// Quorum is never at risk beyond a single node's: each change adds or removes one voter, and a joint
/// configuration needs a majority of both the old and the new voters, which differ by one node.
package enum MoveStep: Sendable, Equatable {
    /// The voters are the target's and no learner is left over.
    case settled
    /// A membership change is in the log and not applied yet (the leader leaves a joint configuration on
    /// its own once it is applied), or a leadership transfer is under way.
    case waitForMembership
    /// Add the newcomer as a learner (a non-voting member that receives the log).
    case addLearner(NodeID)
    /// The learner is not yet close enough to the commit index to be promoted without stalling commits.
    case waitForCatchUp(NodeID)
    /// The leader is the voter to leave: hand leadership to `to`, a voter that stays.
    case transferLeadership(to: NodeID)
    /// Swap the caught-up learner `add` in for the voter `remove`, with joint consensus.
    case replace(add: NodeID, remove: NodeID)
    /// A caught-up learner becomes a voter (the target has more replicas than the group has voters).
    case addVoter(NodeID)
    /// A voter leaves (the target has fewer replicas than the group has voters).
    case removeVoter(NodeID)
    /// A learner the target does not name (a move given up before its joint step) is removed.
    case removeLearner(NodeID)

    /// The membership change this step proposes, if it is one.
    package var change: MembershipChange? {
        switch self {
        case .addLearner(let node): MembershipChange([.addLearner(node)])
        case .replace(let add, let remove): MembershipChange([.addVoter(add), .remove(remove)])
        case .addVoter(let node): MembershipChange([.addVoter(node)])
        case .removeVoter(let node), .removeLearner(let node): MembershipChange([.remove(node)])
        case .settled, .waitForMembership, .waitForCatchUp, .transferLeadership: nil
        }
    }
}

extension MoveStep: CustomStringConvertible {
    package var description: String {
        switch self {
        case .settled: "settled"
        case .waitForMembership: "waiting for a membership change to apply"
        case .addLearner(let node): "adding node \(node) as a learner"
        case .waitForCatchUp(let node): "waiting for learner \(node) to catch up"
        case .transferLeadership(let node): "handing leadership to node \(node) before leaving"
        case .replace(let add, let remove): "replacing voter \(remove) with node \(add) (joint consensus)"
        case .addVoter(let node): "promoting learner \(node) to voter"
        case .removeVoter(let node): "removing voter \(node)"
        case .removeLearner(let node): "removing learner \(node), which the placement no longer names"
        }
    }
}

extension Raft {
    /// The next step of this leader's group toward `target` voters (see `MoveStep`); `waitForMembership`
    /// when this node does not lead. A learner is promoted once it is at most `promotionLagMax` entries
    /// behind the commit index.
    package func nextMoveStep(toward target: Set<NodeID>, promotionLagMax: UInt64) -> MoveStep {
        guard role == .leader, !target.isEmpty else { return .waitForMembership }
        if isMembershipChangePending || membership.isJoint || leadershipTransferee != 0 { return .waitForMembership }
        let voters = membership.voters
        let learners = membership.learners.union(membership.learnersNext)
        if let stray = learners.subtracting(target).min() { return .removeLearner(stray) }
        let joining = target.subtracting(voters)
        // A voter that is not the leader leaves first, so most moves need no leadership transfer.
        let leaving = voters.subtracting(target).sorted { ($0 == leader ? 1 : 0, $0) < ($1 == leader ? 1 : 0, $1) }
        // Carry on with a learner already under way before starting another.
        if let newcomer = joining.intersection(learners).min() ?? joining.min() {
            guard learners.contains(newcomer) else { return .addLearner(newcomer) }
            guard isCaughtUp(newcomer, lag: promotionLagMax) else { return .waitForCatchUp(newcomer) }
            guard let outgoing = leaving.first else { return .addVoter(newcomer) }
            return handOverFirst(leaving: outgoing, staying: voters.intersection(target))
                ?? .replace(add: newcomer, remove: outgoing)
        }
        if let outgoing = leaving.first {
            return handOverFirst(leaving: outgoing, staying: voters.intersection(target)) ?? .removeVoter(outgoing)
        }
        return .settled
    }

    /// A leadership transfer to the staying voter furthest along, when the voter to leave is this leader
    /// and one stays (a lone voter replaced by a newcomer removes itself and the newcomer is elected).
    private func handOverFirst(leaving: NodeID, staying: Set<NodeID>) -> MoveStep? {
        guard leaving == configuration.id else { return nil }
        let progress = followerProgress
        // Heard from lately first, then furthest along, then the lowest id.
        func rank(_ node: NodeID) -> (Int, UInt64, Int64) {
            let peer = progress[node]
            return (peer?.recentActive == true ? 1 : 0, peer?.match ?? 0, -Int64(truncatingIfNeeded: node))
        }
        let best = staying.filter { $0 != configuration.id }.max { rank($0) < rank($1) }
        return best.map { .transferLeadership(to: $0) }
    }
}
