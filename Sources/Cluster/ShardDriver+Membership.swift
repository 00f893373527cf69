import Logging
import Raft

extension ShardDriver {
    // MARK: Events: placement

    /// The replicas the placement gives this shard now, its preferred leader first (every replica is told;
    /// only the leader acts): the leader moves the group's voters toward them one step at a time on its
    /// ticks (`MoveStep`), then hands leadership to the preferred leader. Nil leaves the membership and
    /// the leadership as they are.
    package mutating func setTargetVoters(_ target: [NodeID]?) {
        precondition(target.map { !$0.isEmpty && Set($0).count == $0.count } ?? true, "distinct replicas, at least one")
        guard target != targetVoters else { return }
        targetVoters = target
        lastMoveStep = nil
        settledLeaderSince = nil
    }

    /// The leader's next move step toward `targetVoters`, carried out, then leader balancing (a tick's work).
    mutating func driveMoves(now: ShardTime) {
        guard raft.role == .leader, let target = targetVoters else {
            lastMoveStep = nil
            settledLeaderSince = nil
            // A hand-over that took, or leadership lost otherwise: the retry wait is for one that did not.
            lastBalanceTransfer = nil
            return
        }
        let step = raft.nextMoveStep(toward: Set(target), promotionLagMax: settings.promotionLagEntries)
        if step != lastMoveStep {
            if step != .settled || lastMoveStep != nil {
                actions.append(.log(.info, "\(shard): \(step)"))
            }
            lastMoveStep = step
        }
        if let change = step.change {
            do {
                try raft.proposeMembershipChange(change)
            } catch {
                actions.append(.log(.warning, "\(shard): \(step) refused: \(error)"))
            }
        } else if case .transferLeadership(let node) = step {
            raft.transferLeadership(to: node)
        }
        guard step == .settled else {
            settledLeaderSince = nil
            return
        }
        balanceLeadership(preferred: target[0], now: now.monotonicMilliseconds)
    }

    /// Hands leadership to the preferred leader once this node has led a settled group for
    /// `leaderBalanceDelayMilliseconds` and the preferred one is caught up and heard from lately; a hand-over
    /// that did not take is tried again after `leaderBalanceRetryMilliseconds`.
    private mutating func balanceLeadership(preferred: NodeID, now: Int64) {
        let since = settledLeaderSince ?? now
        settledLeaderSince = since
        guard preferred != nodeID, now - since >= settings.leaderBalanceDelayMilliseconds,
            lastBalanceTransfer.map({ now - $0 >= settings.leaderBalanceRetryMilliseconds }) ?? true,
            let peer = raft.followerProgress[preferred], !peer.isLearner, peer.recentActive,
            raft.isCaughtUp(preferred, lag: settings.promotionLagEntries)
        else { return }
        lastBalanceTransfer = now
        actions.append(.log(.info, "\(shard): handing leadership to node \(preferred), its preferred leader"))
        raft.transferLeadership(to: preferred)
    }

    /// Reports the membership when what this replica applied changed it.
    mutating func reportMembership() {
        guard raft.membership != reportedMembership else { return }
        reportedMembership = raft.membership
        let membership = raft.membership
        actions.append(.membershipChanged(membership))
        if !membership.members.contains(nodeID) {
            actions.append(
                .log(.notice, "\(shard): this replica left the group (members \(membership.members.sorted()))"))
        }
    }
}
