import Placement
import Testing

@Suite struct PlacementTests {
    @Test func rejectsBadConfigurations() {
        #expect(throws: PlacementError.self) { try Placement(shardCount: 0, replicationFactor: 3, nodes: [1]) }
        #expect(throws: PlacementError.self) { try Placement(shardCount: 4_097, replicationFactor: 3, nodes: [1]) }
        #expect(throws: PlacementError.self) { try Placement(shardCount: 8, replicationFactor: 0, nodes: [1]) }
        #expect(throws: PlacementError.self) { try Placement(shardCount: 8, replicationFactor: 3, nodes: []) }
        #expect(throws: PlacementError.self) { try Placement(shardCount: 8, replicationFactor: 3, nodes: [1, 0]) }
        #expect(throws: PlacementError.self) { try Placement(shardCount: 8, replicationFactor: 3, nodes: [1, 2, 1]) }
    }

    @Test func answersAreStableAcrossProcessesAndNodeOrder() throws {
        let placement = try Placement(shardCount: 16, replicationFactor: 3, nodes: [3, 1, 2, 5, 4])
        let reordered = try Placement(shardCount: 16, replicationFactor: 3, nodes: [5, 4, 3, 2, 1])
        #expect(placement == reordered)
        // Pinned values: a change here moves every queue of every existing cluster.
        #expect(placement.shard(forQueue: "orders") == ShardID(8))
        #expect(placement.shard(forQueue: "orders-dlq") == ShardID(4))
        #expect(placement.replicas(of: ShardID(0)) == [3, 5, 2])
        for shard in placement.shards {
            #expect(placement.replicas(of: shard) == reordered.replicas(of: shard))
        }
    }

    @Test func aShardHasDistinctReplicasAndFewerOnlyWithFewerNodes() throws {
        let small = try Placement(shardCount: 32, replicationFactor: 3, nodes: [7, 9])
        let large = try Placement(shardCount: 32, replicationFactor: 3, nodes: Array(1...9))
        for shard in small.shards {
            #expect(Set(small.replicas(of: shard)) == [7, 9])
            #expect(Set(large.replicas(of: shard)).count == 3)
        }
        #expect(small.shards(hostedBy: 7).count == 32)
    }

    @Test func queuesSpreadEvenlyOverShards() throws {
        let placement = try Placement(shardCount: 16, replicationFactor: 3, nodes: [1, 2, 3])
        var counts = [Int](repeating: 0, count: 16)
        for index in 0..<100_000 { counts[Int(placement.shard(forQueue: "queue-\(index)").rawValue)] += 1 }
        let mean = 100_000 / 16
        print("queues per shard (mean \(mean)): min \(counts.min()!) max \(counts.max()!)")
        #expect(counts.allSatisfy { abs($0 - mean) < mean / 20 }, "counts \(counts)")
    }

    @Test func replicasAndPreferredLeadersSpreadEvenlyOverNodes() throws {
        for nodeCount in [3, 5, 7, 10] {
            let placement = try Placement(shardCount: 1_024, replicationFactor: 3, nodes: Array(1...NodeID(nodeCount)))
            var replicas: [NodeID: Int] = [:]
            var leaders: [NodeID: Int] = [:]
            for shard in placement.shards {
                let chosen = placement.replicas(of: shard)
                for node in chosen { replicas[node, default: 0] += 1 }
                leaders[chosen[0], default: 0] += 1
            }
            let replicaMean = Double(1_024 * 3) / Double(nodeCount)
            let leaderMean = 1_024.0 / Double(nodeCount)
            let replicaSpread = Double(replicas.values.max()! - replicas.values.min()!) / replicaMean
            let leaderSpread = Double(leaders.values.max()! - leaders.values.min()!) / leaderMean
            print(
                "\(nodeCount) nodes: replicas/node \(replicas.values.sorted()), leaders/node \(leaders.values.sorted())"
            )
            #expect(replicas.count == nodeCount)
            #expect(replicaSpread < 0.25, "replicas per node \(replicas)")
            #expect(leaderSpread < 0.45, "preferred leaders per node \(leaders)")
        }
    }

    @Test func addingANodeMovesAboutOneNthOfTheReplicas() throws {
        for nodeCount in [3, 5, 8] {
            let before = try Placement(shardCount: 1_024, replicationFactor: 3, nodes: Array(1...NodeID(nodeCount)))
            let newNode = NodeID(nodeCount + 1)
            let after = try before.with(nodes: before.nodes + [newNode])
            let moves = before.moves(to: after)
            let moved = moves.reduce(0) { $0 + $1.added.count }
            let ideal = Double(1_024 * 3) / Double(nodeCount + 1)
            print("\(nodeCount) → \(nodeCount + 1) nodes: \(moved) replicas move (ideal \(Int(ideal)))")
            for move in moves {
                #expect(move.added == [newNode], "only the new node gains replicas: \(move)")
                #expect(move.removed.count == 1)
            }
            #expect(Double(moved) < ideal * 1.15 && Double(moved) > ideal * 0.85)
        }
    }

    @Test func removingANodeMovesOnlyItsReplicas() throws {
        let before = try Placement(shardCount: 1_024, replicationFactor: 3, nodes: Array(1...6))
        let after = try before.with(nodes: [1, 2, 3, 5, 6])
        let moves = before.moves(to: after)
        #expect(moves.count == before.shards(hostedBy: 4).count)
        for move in moves {
            #expect(move.removed == [4])
            #expect(move.added.count == 1)
        }
        let survivors = Set(after.nodes)
        for shard in before.shards where !before.replicas(of: shard).contains(4) {
            #expect(before.replicas(of: shard) == after.replicas(of: shard))
            #expect(Set(after.replicas(of: shard)).isSubset(of: survivors))
        }
    }

    @Test func shardCountChangesMoveFewQueues() throws {
        let sixteen = try Placement(shardCount: 16, replicationFactor: 3, nodes: [1, 2, 3])
        let seventeen = try Placement(shardCount: 17, replicationFactor: 3, nodes: [1, 2, 3])
        var moved = 0
        for index in 0..<10_000 where sixteen.shard(forQueue: "q\(index)") != seventeen.shard(forQueue: "q\(index)") {
            #expect(seventeen.shard(forQueue: "q\(index)") == ShardID(16))
            moved += 1
        }
        #expect(moved < 10_000 / 17 * 12 / 10)
    }
}
