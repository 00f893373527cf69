import Logging
import Raft

extension ShardDriver {
    // MARK: Events: placement

    /// The replicas the placement gives this shard now (every replica is told; only the leader acts): the
    /// leader moves the group's voters toward them one step at a time on its ticks (`MoveStep`). Nil
    /// leaves the membership as it is.
    package mutating func setTargetVoters(_ target: Set<NodeID>?) {
        precondition(target.map { !$0.isEmpty } ?? true, "a shard needs at least one replica")
        targetVoters = target
        lastMoveStep = nil
    }

    /// The leader's next move step toward `targetVoters`, carried out (a tick's work).
    mutating func driveMoves() {
        guard raft.role == .leader, let target = targetVoters else {
            lastMoveStep = nil
            return
        }
        let step = raft.nextMoveStep(toward: target, promotionLagMax: settings.promotionLagEntries)
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
