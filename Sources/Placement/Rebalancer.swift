extension ClusterMetadata {
    /// Where placement puts `shard` over the active nodes (preferred leader first); empty when no node is
    /// active.
    public func placedReplicas(of shard: ShardID) -> [NodeID] {
        placement?.replicas(of: shard) ?? []
    }

    /// The targets the metadata group's leader sets next (`MetadataCommand.setTargets`), so that every
    /// shard's voters go where placement over the active nodes puts them, one bounded batch at a time:
    /// - a moving shard whose target placement no longer agrees with (a node added or removed again) is
    ///   pointed at the new place at once — its leader gives up a step not yet joint, or finishes it and
    ///   moves on;
    /// - a settled shard out of place starts moving while fewer than `movingMax` shards move, those
    ///   with a replica on a node that is not active (draining, or dead and removed) first, then by shard.
    /// Empty when every shard is where it belongs or is moving there. Consistent hashing keeps the moves
    /// few: adding or removing one node changes only the replicas it wins or held.
    public func nextTargets(movingMax: Int) -> [ShardTarget] {
        precondition(movingMax > 0, "movingMax must be positive")
        guard placement != nil else { return [] }
        var retargeted: [ShardTarget] = []
        var waiting: [(atRisk: Bool, target: ShardTarget)] = []
        var moving = 0
        for index in shards.indices {
            let shard = ShardID(UInt32(index))
            let replicas = shards[index]
            let placed = placedReplicas(of: shard)
            if replicas.isMoving {
                moving += 1
                if Set(replicas.target) != Set(placed) { retargeted.append(ShardTarget(shard: shard, voters: placed)) }
            } else if Set(replicas.voters) != Set(placed) {
                let atRisk = replicas.voters.contains { nodes[$0]?.state != .active }
                waiting.append((atRisk, ShardTarget(shard: shard, voters: placed)))
            }
        }
        let started = waiting.enumerated()
            .sorted { ($0.element.atRisk ? 0 : 1, $0.offset) < ($1.element.atRisk ? 0 : 1, $1.offset) }
            .prefix(max(0, movingMax - moving)).map(\.element.target)
        return retargeted + started.sorted { $0.shard < $1.shard }
    }

    /// The replicas moved to bring every shard from its voters to where placement puts it: nodes gained,
    /// summed over shards (each also loses one, but for a shard that grows).
    public var replicasToMove: Int {
        shards.indices.reduce(0) { total, index in
            total + Set(placedReplicas(of: ShardID(UInt32(index)))).subtracting(shards[index].voters).count
        }
    }
}
