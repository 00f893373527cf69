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
/// Each change adds or removes one voter, and a joint configuration needs a majority of both the old and
/// the new voters, which differ by one node. A change is proposed only when the voters after it have a
/// majority among the members heard from lately (a dead voter leaves before a live one; a shrink that would
/// leave the group needing a dead node waits), and a newcomer is promoted only while it is heard from.
package enum MoveStep: Sendable, Equatable {
    /// The voters are the target's and no learner is left over.
    case settled
    /// A membership change is in the log and not applied yet (the leader leaves a joint configuration on
    /// its own once it is applied), or a leadership transfer is under way.
    case waitForMembership
    /// Add the newcomer as a learner (a non-voting member that receives the log).
    case addLearner(NodeID)
    /// The learner (or, before a hand-over, the voter to lead) is not yet close enough to the commit index,
    /// or not heard from lately.
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
    /// Removing voter `remove` now would leave voters without a majority among the members heard from
    /// lately: wait for them (or for the target to change).
    case waitForLiveQuorum(remove: NodeID)

    /// The membership change this step proposes, if it is one.
    package var change: MembershipChange? {
        switch self {
        case .addLearner(let node): MembershipChange([.addLearner(node)])
        case .replace(let add, let remove): MembershipChange([.addVoter(add), .remove(remove)])
        case .addVoter(let node): MembershipChange([.addVoter(node)])
        case .removeVoter(let node), .removeLearner(let node): MembershipChange([.remove(node)])
        case .settled, .waitForMembership, .waitForCatchUp, .transferLeadership, .waitForLiveQuorum: nil
        }
    }
}

extension MoveStep: CustomStringConvertible {
    package var description: String {
        switch self {
        case .settled: "settled"
        case .waitForMembership: "waiting for a membership change to apply"
        case .addLearner(let node): "adding node \(node) as a learner"
        case .waitForCatchUp(let node): "waiting for node \(node) to catch up"
        case .transferLeadership(let node): "handing leadership to node \(node) before leaving"
        case .replace(let add, let remove): "replacing voter \(remove) with node \(add) (joint consensus)"
        case .addVoter(let node): "promoting learner \(node) to voter"
        case .removeVoter(let node): "removing voter \(node)"
        case .removeLearner(let node): "removing learner \(node), which the placement no longer names"
        case .waitForLiveQuorum(let node):
            "waiting to remove voter \(node): the voters left would need a node not heard from"
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
        let progress = followerProgress
        let live = Set(progress.filter { $0.value.recentActive }.keys).union([configuration.id])
        let joining = target.subtracting(voters)
        // A dead voter leaves first, then one that is not the leader (most moves need no hand-over).
        let leaving = voters.subtracting(target).sorted {
            (live.contains($0) ? 1 : 0, $0 == configuration.id ? 1 : 0, $0)
                < (live.contains($1) ? 1 : 0, $1 == configuration.id ? 1 : 0, $1)
        }
        // Carry on with a learner already under way before starting another.
        if let newcomer = joining.intersection(learners).min() ?? joining.min() {
            guard learners.contains(newcomer) else { return .addLearner(newcomer) }
            guard live.contains(newcomer), isCaughtUp(newcomer, lag: promotionLagMax) else {
                return .waitForCatchUp(newcomer)
            }
            guard let outgoing = leaving.first else { return .addVoter(newcomer) }
            let after = voters.subtracting([outgoing]).union([newcomer])
            guard Self.hasMajority(of: after, among: live) else { return .waitForLiveQuorum(remove: outgoing) }
            return handOverFirst(leaving: outgoing, staying: voters.intersection(target), lag: promotionLagMax)
                ?? .replace(add: newcomer, remove: outgoing)
        }
        if let outgoing = leaving.first {
            guard Self.hasMajority(of: voters.subtracting([outgoing]), among: live) else {
                return .waitForLiveQuorum(remove: outgoing)
            }
            return handOverFirst(leaving: outgoing, staying: voters.intersection(target), lag: promotionLagMax)
                ?? .removeVoter(outgoing)
        }
        return .settled
    }

    /// True when more than half of `voters` are in `live`.
    private static func hasMajority(of voters: Set<NodeID>, among live: Set<NodeID>) -> Bool {
        voters.intersection(live).count * 2 > voters.count
    }

    /// When the voter to leave is this leader and another stays: a leadership transfer to the staying voter
    /// furthest along among those heard from lately and caught up, or a wait for one to catch up (a
    /// transfer to a voter far behind would hold proposals for an election timeout and be dropped). A lone
    /// voter replaced by a newcomer removes itself and the newcomer is elected.
    private func handOverFirst(leaving: NodeID, staying: Set<NodeID>, lag: UInt64) -> MoveStep? {
        guard leaving == configuration.id else { return nil }
        let progress = followerProgress
        let others = staying.filter { $0 != configuration.id }
        guard !others.isEmpty else { return nil }
        let ready = others.filter { progress[$0]?.recentActive == true && isCaughtUp($0, lag: lag) }
        // Furthest along, then the lowest id.
        func rank(_ node: NodeID) -> (UInt64, Int64) { (progress[node]?.match ?? 0, -Int64(truncatingIfNeeded: node)) }
        guard let best = ready.max(by: { rank($0) < rank($1) }) else {
            return .waitForCatchUp(others.max { rank($0) < rank($1) }!)
        }
        return .transferLeadership(to: best)
    }
}
