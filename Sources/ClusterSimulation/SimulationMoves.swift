import Cluster
import Placement
import Raft

/// A replica move under way: the shard's voters go from `leaving` to `joining` (a newcomer that never
/// hosted the shard), as `ClusterMetadata`'s rebalancer would point them when a node is added or drained.
struct SimulatedMove {
    var shard: Int
    var leaving: NodeID
    var joining: NodeID
    /// The voters after the move, preferred leader first.
    var target: [NodeID]
    var startedAt: Int64
}

/// Replica moves, a fault like the others when the seed has more nodes than replicas: the newcomer's
/// replica starts (a learner, caught up by snapshot and entries), every replica is given the new target,
/// and the shard's leader drives the move (`MoveStep`: learner, catch-up, joint consensus, hand-over if
/// the leader leaves) through whatever crashes, partitions and disk damage the seed brings. The move is
/// done when every new voter has applied the target membership (until then one may still need the old
/// voters' majority to elect a leader); the leaving node's replica is then stopped and its files deleted,
/// and calls for the shard go to the new voters.
extension SimulationWorld {
    /// Starts a move of one shard's replica to a node that never hosted it, when none is under way.
    mutating func startMove() {
        guard move == nil else { return }
        var candidates: [(shard: Int, leaving: NodeID, joining: NodeID)] = []
        for shard in 0..<shardCount {
            let voters = replicaSets[shard]!
            let newcomers = nodes.map(\.id).filter { !everHosted[shard, default: []].contains($0) }
            for leaving in voters { for joining in newcomers { candidates.append((shard, leaving, joining)) } }
        }
        guard !candidates.isEmpty else { return }
        let chosen = faultRandom.pick(candidates)
        let before = replicaSets[chosen.shard]!
        // The newcomer takes the leaving voter's place in the order (so it is preferred where that one was).
        let target = before.map { $0 == chosen.leaving ? chosen.joining : $0 }
        let joining = nodes.first { $0.id == chosen.joining }!
        do {
            try joining.host(
                chosen.shard, genesis: Set(placement.replicas(of: ShardID(UInt32(chosen.shard)))), target: target,
                trueTime: now)
        } catch {
            // A disk fault armed for the node's next sync (a power loss mid-write) hit the new replica's
            // first write: the node goes down as it would have at its next persist, and starts the replica
            // when it restarts.
            record("node \(chosen.joining) failed starting a replica of shard \(chosen.shard): \(error)")
            joining.powerLoss()
            crashed(joining, reason: "power loss while starting a replica")
        }
        everHosted[chosen.shard, default: []].insert(chosen.joining)
        for node in nodes { node.retarget(chosen.shard, to: target) }
        move = SimulatedMove(
            shard: chosen.shard, leaving: chosen.leaving, joining: chosen.joining, target: target, startedAt: now)
        faults.injected["replica move", default: 0] += 1
        record(
            "move of shard \(chosen.shard): node \(chosen.leaving) → node \(chosen.joining), voters \(before) → \(target)"
        )
    }

    /// Ends the move once every new voter has applied the target membership: the leaving replica stops
    /// (its pending requests have unknown outcomes, as in a crash of that replica), calls go to the new
    /// voters.
    mutating func checkMove() {
        guard let move else { return }
        let target = Membership(voters: Set(move.target))
        let done = move.target.allSatisfy { id in
            guard let node = nodes.first(where: { $0.id == id }), node.isUp, let driver = node.drivers[move.shard]
            else { return false }
            return driver.raft.membership == target
        }
        guard done else { return }
        let leaving = nodes.first { $0.id == move.leaving }!
        leaving.unhost(move.shard)
        // Requests its replica took; not those it passed to another node as calls before it hosted the
        // shard (those end with their call).
        let calling = Set(leaving.calls.pending.values.map(\.waiter))
        for (id, operation) in history.operations
        where operation.node == leaving.id && operation.outcome == .pending && !calling.contains(id)
            && Int(Placement.shard(forQueue: operation.queue, shardCount: shardCount).rawValue) == move.shard
        {
            leaving.clients.remove(id)
            settleUnknown(id)
        }
        leaving.served = leaving.served.filter { Int($0.value.shard) != move.shard }
        // A step of a move of outbox messages that this replica took ends as failed (the source shard's
        // leader tries again), or the source would wait for it forever.
        for (id, transfer) in transfers.sorted(by: { $0.key < $1.key })
        where transfer.node == leaving.id && !calling.contains(id)
            && (transfer.step == .importing ? transfer.target : transfer.source) == move.shard
        {
            transfers[id] = nil
            leaving.clients.remove(id)
            finishTransfer(transfer, on: leaving, succeeded: false)
        }
        replicaSets[move.shard] = move.target
        movesCompleted += 1
        record("move of shard \(move.shard) done in \(now - move.startedAt) ms: node \(move.leaving) left")
        self.move = nil
    }
}
